"""``require('xml')``: ``toXml(object, options)`` and ``toJs(xmlString)`` (spec modules.md §21).

Follows the xml2js conventions Cortex scripts expect: keys become elements, arrays repeat
the element, ``$`` holds attributes and ``_`` text; with one top-level key and the default
``rootElement`` that key is the root. ``toJs`` gives every child element as an array.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from ..faults import Fault
from ..sandbox import RunInfo
from ..sandbox.codec import to_plain

__all__ = ["XmlModule", "to_js", "to_xml"]

MAX_DEPTH = 100


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(name: str, value: Any, pretty: bool, indent: str, newline: str, level: int) -> str:
    if level > MAX_DEPTH:
        raise Fault("cortex.invalidArgument.unspecified", reason="Xml document contains circular references")
    pad = indent * level if pretty else ""
    nl = newline if pretty else ""
    if isinstance(value, list):
        return "".join(_element(name, item, pretty, indent, newline, level) for item in value)
    if isinstance(value, dict):
        attrs = "".join(f" {k}={quoteattr(_text(v))}" for k, v in (value.get("$") or {}).items()) if isinstance(value.get("$"), dict) else ""
        text = escape(_text(value["_"])) if "_" in value else ""
        children = [(k, v) for k, v in value.items() if k not in ("$", "_")]
        if not children:
            return f"{pad}<{name}{attrs}>{text}</{name}>{nl}" if text else f"{pad}<{name}{attrs}/>{nl}"
        inner = "".join(_element(k, v, pretty, indent, newline, level + 1) for k, v in children)
        return f"{pad}<{name}{attrs}>{nl}{text}{inner}{pad}</{name}>{nl}"
    return f"{pad}<{name}>{escape(_text(value))}</{name}>{nl}"


def to_xml(value: Any, options: dict[str, Any] | None = None) -> str:
    options = options or {}
    plain = to_plain(value)
    root = str(options.get("rootElement") or "root")
    pretty = bool(options.get("prettyPrint"))
    indent = str(options.get("indent", "  "))
    newline = str(options.get("newline", "\n"))
    if isinstance(plain, dict) and len(plain) == 1 and root == "root" and "$" not in plain and "_" not in plain:
        root, plain = next(iter(plain.items()))
    body = _element(root, plain, pretty, indent, newline, 0)
    if options.get("headless"):
        return body
    standalone = "yes" if options.get("standalone", True) else "no"
    declaration = f'<?xml version="{options.get("version", "1.0")}" encoding="{options.get("encoding", "UTF-8")}" standalone="{standalone}"?>'
    return declaration + (newline if pretty else "") + body


def _js(element: ElementTree.Element) -> Any:
    children = list(element)
    text = (element.text or "").strip()
    if not children and not element.attrib:
        return text
    out: dict[str, Any] = {}
    if element.attrib:
        out["$"] = dict(element.attrib)
    if text:
        out["_"] = text
    for child in children:
        out.setdefault(child.tag, []).append(_js(child))
    return out


def to_js(text: Any) -> Any:
    if not isinstance(text, str):
        raise Fault("cortex.invalidArgument.unspecified", reason="toJs expects an XML string.")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise Fault("cortex.invalidArgument.unspecified", reason="Document type declarations are not accepted.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"Invalid XML: {exc}") from exc
    return {root.tag: _js(root)}


class XmlModule:
    require_name = "xml"
    prefix = "xml."
    needs_context = False
    methods = ("toXml", "toJs")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "xml.toXml":
            return to_xml(args[0] if args else None, args[1] if len(args) > 1 and isinstance(args[1], dict) else None)
        if name == "xml.toJs":
            return to_js(args[0] if args else None)
        raise Fault("script.invalidArgument.unknownCommand", path=name)
