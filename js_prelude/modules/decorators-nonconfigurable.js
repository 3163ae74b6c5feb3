// @nonconfigurable: the property can no longer be deleted or redefined.
module.exports = function nonconfigurable(target, key, descriptor) {
    descriptor.configurable = false;
    return descriptor;
};
