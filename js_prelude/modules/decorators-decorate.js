// @decorate(fn, ...args): the member is replaced by fn(member, ...args).
// Works on methods, getters/setters and class properties (on the value
// the initializer produces).
module.exports = function decorate(fn) {
    if (typeof fn !== 'function') {
        throw new TypeError('@decorate needs a function as its first argument');
    }
    var args = Array.prototype.slice.call(arguments, 1);

    function wrap(member) {
        return fn.apply(undefined, [member].concat(args));
    }

    return function (target, key, descriptor) {
        if (typeof descriptor.initializer === 'function') {
            var initializer = descriptor.initializer;
            descriptor.initializer = function () {
                return wrap(initializer.call(this));
            };
        } else if (descriptor.get || descriptor.set) {
            if (descriptor.get) descriptor.get = wrap(descriptor.get);
            if (descriptor.set) descriptor.set = wrap(descriptor.set);
        } else {
            descriptor.value = wrap(descriptor.value);
        }
        return descriptor;
    };
};
