// @autobind: a method is bound to its instance the first time it is read
// from that instance. On a class, every prototype method is autobound.

function isPrototypeObject(obj) {
    return Object.prototype.hasOwnProperty.call(obj, 'constructor') &&
        typeof obj.constructor === 'function' &&
        obj.constructor.prototype === obj;
}

// The object in obj's prototype chain that owns the property `key`.
function findOwner(obj, key) {
    while (obj !== null && !Object.prototype.hasOwnProperty.call(obj, key)) {
        obj = Object.getPrototypeOf(obj);
    }
    return obj;
}

function autobindMethod(target, key, descriptor) {
    var fn = descriptor.value;
    if (typeof fn !== 'function') {
        throw new TypeError('@autobind can only be used on methods, not on "' + String(key) + '"');
    }

    function get() {
        // Read from a prototype (ours or a subclass's): hand out the plain method.
        if (this === null || typeof this !== 'object' || isPrototypeObject(this)) {
            return fn;
        }
        var bound = fn.bind(this);
        // Cache only if this getter is what `this[key]` resolves to. Otherwise we
        // were reached through super.method() and caching would shadow the override.
        var owner = findOwner(this, key);
        var ownerDesc = owner && Object.getOwnPropertyDescriptor(owner, key);
        if (ownerDesc && ownerDesc.get === get) {
            Object.defineProperty(this, key, {
                value: bound,
                writable: true,
                configurable: true,
                enumerable: descriptor.enumerable
            });
        }
        return bound;
    }

    // Assigning on an instance replaces the method there, like a plain property.
    function set(value) {
        Object.defineProperty(this, key, {
            value: value,
            writable: true,
            configurable: true,
            enumerable: descriptor.enumerable
        });
    }

    return {
        configurable: descriptor.configurable,
        enumerable: descriptor.enumerable,
        get: get,
        set: set
    };
}

function autobindClass(klass) {
    var proto = klass.prototype;
    var keys = Object.getOwnPropertyNames(proto).concat(Object.getOwnPropertySymbols(proto));
    keys.forEach(function (key) {
        if (key === 'constructor') {
            return;
        }
        var descriptor = Object.getOwnPropertyDescriptor(proto, key);
        if (typeof descriptor.value === 'function' && descriptor.configurable) {
            Object.defineProperty(proto, key, autobindMethod(proto, key, descriptor));
        }
    });
    return klass;
}

module.exports = function autobind(target, key, descriptor) {
    if (arguments.length === 1 && typeof target === 'function') {
        return autobindClass(target);
    }
    return autobindMethod(target, key, descriptor);
};
