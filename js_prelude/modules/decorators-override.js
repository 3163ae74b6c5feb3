// @override / @override(): asserts that a parent class already has a
// member with this name, so a typo or a renamed parent member is caught
// when the class is defined instead of silently adding a new member.

function isDescriptor(obj) {
    return !!obj && typeof obj === 'object' &&
        ('value' in obj || 'get' in obj || 'set' in obj || 'initializer' in obj);
}

function check(target, key, descriptor) {
    var parent = Object.getPrototypeOf(target);
    if (parent === null || !(key in parent)) {
        // Static members are decorated on the class, instance members on its prototype.
        var className = typeof target === 'function' ? target.name : target.constructor.name;
        throw new SyntaxError('No ' + String(key) + ' found in the parent classes of ' + className +
            ', so @override on ' + className + '#' + String(key) + ' does not override anything.');
    }
    return descriptor;
}

module.exports = function override(target, key, descriptor) {
    if (arguments.length === 3 && isDescriptor(descriptor)) {
        return check(target, key, descriptor);
    }
    return check;
};
