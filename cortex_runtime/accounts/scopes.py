"""Auth scopes (rest-api-auth.md §5.6): validation, the compiled tree, and ``inAuthScope``.

A scope is a dot-separated chain; ``*`` at a level matches any part there, and a chain grants
everything below its last part (``script`` = ``script.execute`` = ``script.execute.*``). A list
of scopes compiles to a tree of nested dicts: ``['object.read.c_a', 'view']`` ->
``{'object': {'read': {'c_a': {}}}, 'view': {}}``; an empty dict under a key is a leaf, which
grants everything below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..faults import Fault

__all__ = ["ScopeTree", "compile_scope", "in_auth_scope", "scope_strings", "validate_scope"]

ScopeTree = dict[str, Any]

_NAME = re.compile(r"^[a-z0-9_-]{1,40}(#[a-z0-9_-]{1,40})?$", re.IGNORECASE)
_FQPP = re.compile(r"^[a-z0-9_-]{1,40}(\[\])?(#[a-z0-9_-]{1,40})?$", re.IGNORECASE)
_INSTANCE = re.compile(r"^[0-9a-f]{24}$", re.IGNORECASE)
_IDENT = re.compile(r"^[A-Za-z0-9_\-#@:]{1,128}$")

# The fixed levels of each root; a level is a tuple of words or a pattern. ``None`` after the
# fixed levels means "no more parts"; "fqpp" means any number of property parts may follow.
_CHAINS: dict[str, tuple[Any, ...]] = {
    "object": (("create", "read", "update", "delete"), _NAME, _INSTANCE, "fqpp"),
    "script": (("execute",), ("route", "runner"), _IDENT, None),
    "view": (("execute",), _NAME, None),
    "deployment": (("execute",), _IDENT, None),
    "admin": (("read", "update"), None),
    # The websocket bridge's room scopes (events.md §3, ws.room.join.after); inferred grammar.
    "ws": (("subscribe", "publish"), _IDENT, None),
}


def _invalid(scope: Any, reason: str) -> Fault:
    return Fault("cortex.invalidArgument.authScope", reason=reason, path=str(scope))


def validate_scope(scope: Any) -> str:
    """``scope`` when it follows the grammar, else ``cortex.invalidArgument.authScope``."""
    if not isinstance(scope, str) or not scope:
        raise _invalid(scope, "A scope is a non-empty string.")
    parts = scope.split(".")
    if any(not part for part in parts):
        raise _invalid(scope, "A scope has no empty parts.")
    root, rest = parts[0], parts[1:]
    if root == "*":
        if rest:
            raise _invalid(scope, "Nothing follows a top-level *.")
        return scope
    levels = _CHAINS.get(root)
    if levels is None:
        raise _invalid(scope, f"Unknown scope root {root}.")
    for index, part in enumerate(rest):
        level = levels[index] if index < len(levels) else levels[-1]
        if level is None:
            raise _invalid(scope, f"The {root} scope has at most {index + 1} parts.")
        if part == "*":
            continue
        if level == "fqpp":
            if not _FQPP.match(part):
                raise _invalid(scope, f"{part} is not a property path part.")
        elif isinstance(level, tuple):
            if part not in level:
                raise _invalid(scope, f"{part} is not one of {', '.join(level)}.")
        elif not level.match(part):
            raise _invalid(scope, f"{part} is not valid here.")
    return scope


def compile_scope(scopes: Iterable[Any]) -> ScopeTree:
    """The tree of validated ``scopes``; a chain under a leaf adds nothing (the leaf grants it)."""
    tree: ScopeTree = {}
    for scope in scopes:
        parts = validate_scope(scope).split(".")
        node = tree
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            child = node.get(part)
            if child is None:
                node[part] = child = {}
            elif not child:
                break  # an earlier chain ends here: it grants everything below
            elif last:
                child.clear()  # this chain ends here: a leaf
            node = child
    return tree


def scope_strings(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The chains of a compiled tree, sorted (the inverse of ``compile_scope``)."""
    out: list[str] = []
    for key in sorted(tree):
        chain = f"{prefix}.{key}" if prefix else key
        child = tree[key]
        if isinstance(child, Mapping) and child:
            out.extend(scope_strings(child, chain))
        else:
            out.append(chain)
    return out


def _covers(node: Mapping[str, Any]) -> bool:
    """Whether ``node`` grants everything below it: a leaf, or ``*`` down to a leaf."""
    if not node:
        return True
    star = node.get("*")
    return isinstance(star, Mapping) and _covers(star)


def _match(node: Mapping[str, Any], parts: list[str], index: int, match_prefix: bool) -> bool:
    if index == len(parts):
        # The whole chain was walked: with matchPrefix any scope at or below it counts;
        # without, the scope must grant the whole chain.
        return match_prefix or _covers(node)
    for key in (parts[index], "*"):
        child = node.get(key)
        if isinstance(child, Mapping):
            if not child:
                return True  # a leaf grants everything below it
            if _match(child, parts, index + 1, match_prefix):
                return True
    return False


def in_auth_scope(compiled: Any, scope: Any, match_prefix: bool = True) -> bool:
    """``accounts.inAuthScope(compiledScope, scopeString, matchPrefix = true)``.

    ``compiled`` is a principal's compiled scope (or a list of scope strings, compiled here);
    with ``match_prefix`` a chain is in scope when some scope starts with it or grants it
    (``object.read.c_messages`` is in ``object.read.c_messages.*.c_subject``); without, only
    when a scope grants the whole chain. A principal with no scope (``null``) is in no scope.
    """
    if not isinstance(scope, str) or not scope:
        raise Fault("cortex.invalidArgument.authScope", reason="A scope string is required.", path="scope")
    if compiled is None:
        return False
    if isinstance(compiled, (list, tuple)):
        compiled = compile_scope(compiled)
    if not isinstance(compiled, Mapping):
        raise Fault("cortex.invalidArgument.authScope", reason="A compiled scope is an object.", path="compiledScope")
    if not compiled:
        return False
    return _match(compiled, scope.split("."), 0, bool(match_prefix))
