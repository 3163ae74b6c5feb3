// @deprecate / @deprecate(message) / @deprecate(message, { url }):
// every call of the method prints a deprecation warning.

var DEFAULT_MESSAGE = 'This function will be removed in future versions.';

function isDescriptor(obj) {
    return !!obj && typeof obj === 'object' &&
        ('value' in obj || 'get' in obj || 'set' in obj || 'initializer' in obj);
}

function warn(text) {
    if (typeof console !== 'undefined' && typeof console.warn === 'function') {
        console.warn(text);
    }
}

function decorator(message, options) {
    return function (target, key, descriptor) {
        var fn = descriptor.value;
        if (typeof fn !== 'function') {
            throw new TypeError('@deprecate can only be used on methods, not on "' + String(key) + '"');
        }
        // Static methods are decorated on the class itself, instance methods on its prototype.
        var className = typeof target === 'function' ? target.name : target.constructor.name;
        var text = 'DEPRECATION ' + className + '#' + String(key) + ': ' + message;
        if (options && options.url) {
            text += '\n\n    See ' + options.url + ' for more details.\n\n';
        }
        descriptor.value = function () {
            warn(text);
            return fn.apply(this, arguments);
        };
        return descriptor;
    };
}

module.exports = function deprecate() {
    // Used bare, as @deprecate, we are handed (target, key, descriptor) directly.
    if (arguments.length === 3 && isDescriptor(arguments[2])) {
        return decorator(DEFAULT_MESSAGE).apply(this, arguments);
    }
    var message = arguments[0] === undefined ? DEFAULT_MESSAGE : arguments[0];
    return decorator(message, arguments[1]);
};
