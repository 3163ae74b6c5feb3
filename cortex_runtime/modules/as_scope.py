"""Scopes inside ``script.as(principal, {principal: {scope}}, fn)`` (fidelity.md §8).

A scoped principal reaches an object only as far as its compiled scope reaches
(``accounts.scopes``): lists and cursors need ``object.read.<object>``; an instance read needs
``object.read.<object>.<id>`` (in a list an instance out of scope is left out, inferred from the
platform narrowing its load to the scoped ids); a property out of
``object.read.<object>.<id>.<prop>`` is left out of whole-instance reads and refused in a
single-path read; properties used in ``where``/``sort`` or a pipeline's ``$match``/``$sort``
need read scope on every instance; creates need ``object.create.<object>[#type]``; updates
``object.update.<object>.<id>.<prop>``; deletes ``object.delete.<object>`` or
``object.delete.<object>[#type].<id>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..accounts.scopes import ScopeTree, in_auth_scope
from ..faults import Fault

__all__ = ["ScopeGuard"]

# Keys every read keeps: what names the instance.
_IDENTITY = ("_id", "object", "type")


def _fields(where: Any) -> Iterator[str]:
    """Top-level property names a where (or $match) document filters on."""
    if isinstance(where, Mapping):
        for key, value in where.items():
            if key in ("$and", "$or", "$nor") and isinstance(value, list):
                for item in value:
                    yield from _fields(item)
            elif isinstance(key, str) and not key.startswith("$"):
                yield key.split(".")[0]


def _written(update: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(update, Mapping):
        for op, body in update.items():
            if isinstance(body, Mapping):
                names.update(str(key).split(".")[0] for key in body)
            elif isinstance(op, str) and not op.startswith("$"):
                names.add(op.split(".")[0])
    elif isinstance(update, list):  # patch ops
        names.update(str(op.get("path") or "").replace("/", ".").strip(".").split(".")[0] for op in update if isinstance(op, Mapping))
    names.discard("")
    return names


class ScopeGuard:
    """The checks of one compiled scope against one object (``name`` is its singular name)."""

    def __init__(self, tree: ScopeTree, name: str) -> None:
        self.tree = tree
        self.name = name

    def _has(self, chain: str, prefix: bool = True) -> bool:
        return in_auth_scope(self.tree, chain, prefix)

    # ---- reads ----------------------------------------------------------------------

    def check_list(self, options: Mapping[str, Any]) -> None:
        chain = f"object.read.{self.name}"
        if not self._has(chain):
            raise Fault("cortex.accessDenied.scope", path=chain)
        for component in ("where", "sort"):
            self._check_fields(component, _fields(options.get(component)))
        for stage in options.get("pipeline") or []:
            if isinstance(stage, Mapping):
                for op in ("$match", "$sort"):
                    if op in stage:
                        self._check_fields(op, _fields(stage[op]))

    def _check_fields(self, component: str, names: Iterable[str]) -> None:
        for prop in names:
            if prop in _IDENTITY:
                continue
            if not self._has(f"object.read.{self.name}.*.{prop}"):
                raise Fault("cortex.accessDenied.scope", reason=f"Scoped access denied for {self.name}.{prop}", path=component)

    def readable(self, doc: Any) -> bool:
        return not isinstance(doc, Mapping) or self._has(f"object.read.{self.name}.{doc.get('_id')}")

    def shaped(self, doc: Any) -> Any:
        """``doc`` without the properties out of scope."""
        if not isinstance(doc, Mapping):
            return doc
        base = f"object.read.{self.name}.{doc.get('_id')}"
        return {k: v for k, v in doc.items() if k in _IDENTITY or self._has(f"{base}.{k}")}

    def filtered(self, docs: Iterable[Any]) -> Iterator[Any]:
        for doc in docs:
            if self.readable(doc):
                yield self.shaped(doc)

    def instance(self, doc: Any, path: str | None = None) -> Any:
        """One instance read (readOne, pathRead): out of scope is ``instanceRead``; an explicit
        path out of scope is ``propertyRead``."""
        if not self.readable(doc):
            raise Fault("cortex.accessDenied.instanceRead", path=self.name)
        prop = str(path or "").replace("/", ".").strip(".").split(".")[0]
        if prop and prop not in _IDENTITY and not self._has(f"object.read.{self.name}.{doc.get('_id')}.{prop}"):
            raise Fault("cortex.accessDenied.propertyRead", path=f"{self.name}.{prop}")
        return self.shaped(doc)

    # ---- writes ---------------------------------------------------------------------

    def check_create(self, documents: Iterable[Any]) -> None:
        for doc in documents:
            type_name = doc.get("type") if isinstance(doc, Mapping) else None
            chain = f"object.create.{self.name}"
            if self._has(chain, False):
                continue
            typed = f"{chain}#{type_name}" if isinstance(type_name, str) and type_name else chain
            if typed == chain or not self._has(typed, False):
                raise Fault("cortex.accessDenied.scope", path=typed)

    def check_update(self, ids: Iterable[Any], update: Any) -> None:
        names = _written(update)
        for instance_id in ids:
            for prop in sorted(names):
                if not self._has(f"object.update.{self.name}.{instance_id}.{prop}", False):
                    raise Fault("cortex.accessDenied.propertyUpdate", path=f"{self.name}.{prop}")

    def check_delete(self, docs: Iterable[Mapping[str, Any]]) -> None:
        chain = f"object.delete.{self.name}"
        if self._has(chain, False):
            return
        for doc in docs:
            type_name = doc.get("type")
            base = f"{chain}#{type_name}" if isinstance(type_name, str) and type_name else chain
            scoped = f"{base}.{doc.get('_id')}"
            if not (self._has(f"{chain}.{doc.get('_id')}", False) or self._has(scoped, False)):
                raise Fault("cortex.accessDenied.scope", path=scoped)
