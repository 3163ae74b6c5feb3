// @enumerable: the property shows up in for..in and Object.keys.
module.exports = function enumerable(target, key, descriptor) {
    descriptor.enumerable = true;
    return descriptor;
};
