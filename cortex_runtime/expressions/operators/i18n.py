"""``$i18n``: a translation from the org's i18n bundles (operator spec a-i).

Bundles are the org's ``i18n`` objects (``{name, namespace, locale, data, weight}``, imported as
environment resources). A key is a dotted path into a bundle's ``data``; with a namespace, only
bundles of that namespace are searched (the platform's ``namespace:key``); a key written
``ns:key`` names its namespace itself. The locale is the given one, else the caller's
(``host.locale``), else ``en_US``; a bundle of the locale's language (``en``) is the fallback.
Heavier bundles are searched first. A missing key gives ``null``.
"""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..values import MISSING, string_form
from .database import need_host

__all__ = ["I18nOp", "translate"]

DEFAULT_LOCALE = "en_US"


@register(OPERATORS, "$i18n")
class I18nOp(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, dict) and not raw:
            raise qf(f"Operator {self.name} expects an object with properties.", self.path)
        if isinstance(raw, dict):  # even an operator object: read as this form (it has no key)
            self.parts = {k: parser.expr(raw.get(k, MISSING), join(self.path, k), self.depth + 1) for k in ("key", "locale", "namespace")}
        else:
            self.parts = {"key": parser.expr(raw, self.path, self.depth + 1)}

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        values = {k: node.evaluate(ctx) for k, node in self.parts.items()}
        key = values.get("key", MISSING)
        if key is None or key is MISSING or key == "":
            return None
        host = need_host(self, ctx)
        locale = values.get("locale", MISSING)
        if locale is None or locale is MISSING or locale == "":
            locale = getattr(host, "locale", None) or DEFAULT_LOCALE
        namespace = values.get("namespace", MISSING)
        namespace = None if namespace is None or namespace is MISSING or namespace == "" else string_form(namespace)
        return translate(host.store, host.org_id, string_form(key), string_form(locale), namespace)


def translate(store: Any, org_id: Any, key: str, locale: str, namespace: str | None) -> Any:
    """The string at ``key`` in the org's bundles for ``locale``, or None."""
    from ...objects.store import map_store_errors

    if namespace is None and ":" in key:
        namespace, key = key.split(":", 1)
    locale = locale.replace("-", "_")
    language = locale.split("_")[0]
    query: dict[str, Any] = {"org": org_id, "object": "i18n", "locale": {"$in": list(dict.fromkeys([locale, language]))}}
    if namespace is not None:
        query["namespace"] = namespace
    with map_store_errors():
        bundles = list(store.contexts.find(query, {"locale": 1, "data": 1, "weight": 1}))
    # the exact locale before the language; within one, heavier bundles first
    bundles.sort(key=lambda b: (b.get("locale") != locale, -_weight(b)))
    for bundle in bundles:
        value = _dig(bundle.get("data"), key)
        if isinstance(value, str):
            return value
    return None


def _weight(bundle: dict[str, Any]) -> float:
    try:
        return float(bundle.get("weight") or 0)
    except (TypeError, ValueError):
        return 0.0


def _dig(data: Any, key: str) -> Any:
    for segment in key.split("."):
        if not isinstance(data, dict) or segment not in data:
            return None
        data = data[segment]
    return data
