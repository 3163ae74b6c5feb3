// @nonenumerable: the property is hidden from for..in and Object.keys.
module.exports = function nonenumerable(target, key, descriptor) {
    descriptor.enumerable = false;
    return descriptor;
};
