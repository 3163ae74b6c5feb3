// @extendDescriptor / @extendDescriptor(): fill in what this member's
// descriptor lacks from the same member further up the prototype chain,
// e.g. define only a setter and keep the parent's getter.

function isDescriptor(obj) {
    return !!obj && typeof obj === 'object' &&
        ('value' in obj || 'get' in obj || 'set' in obj || 'initializer' in obj);
}

function findParentDescriptor(target, key) {
    var proto = Object.getPrototypeOf(target);
    while (proto !== null) {
        var descriptor = Object.getOwnPropertyDescriptor(proto, key);
        if (descriptor) {
            return descriptor;
        }
        proto = Object.getPrototypeOf(proto);
    }
    return undefined;
}

function extend(target, key, descriptor) {
    var parent = findParentDescriptor(target, key);
    var isAccessor = !!(descriptor.get || descriptor.set);
    // A getter and a value cannot share one descriptor, so only accessor pairs merge.
    if (!parent || !isAccessor || !(parent.get || parent.set)) {
        return descriptor;
    }
    return {
        configurable: descriptor.configurable,
        enumerable: descriptor.enumerable,
        get: descriptor.get || parent.get,
        set: descriptor.set || parent.set
    };
}

module.exports = function extendDescriptor(target, key, descriptor) {
    if (arguments.length === 3 && isDescriptor(descriptor)) {
        return extend(target, key, descriptor);
    }
    return extend;
};
