// @readonly: the property can no longer be assigned.
// Class properties keep their initializer; Babel defines the instance
// property with writable: false, so assignment throws in strict mode.
module.exports = function readonly(target, key, descriptor) {
    // Accessors have no "writable" flag; defining one would be an error.
    if (!descriptor.get && !descriptor.set) {
        descriptor.writable = false;
    }
    return descriptor;
};
