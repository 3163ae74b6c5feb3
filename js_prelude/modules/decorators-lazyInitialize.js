// @lazyInitialize: a class property's initializer runs on the first read,
// and the result is then stored as an own property of the instance.
module.exports = function lazyInitialize(target, key, descriptor) {
    var initializer = descriptor.initializer;
    if (typeof initializer !== 'function') {
        throw new TypeError('@lazyInitialize can only be used on class properties with an initializer, not on "' + String(key) + '"');
    }

    function define(instance, value) {
        Object.defineProperty(instance, key, {
            value: value,
            writable: descriptor.writable !== false,
            configurable: descriptor.configurable,
            enumerable: descriptor.enumerable
        });
    }

    // Returning an accessor (no initializer) makes Babel put it on the
    // prototype instead of defining a value on each instance.
    return {
        configurable: true,
        enumerable: descriptor.enumerable,
        get: function () {
            if (this === target) {
                return undefined;
            }
            var value = initializer.call(this);
            define(this, value);
            return value;
        },
        set: function (value) {
            if (descriptor.writable === false) {
                throw new TypeError('Cannot assign to read only property "' + String(key) + '"');
            }
            define(this, value);
        }
    };
};
