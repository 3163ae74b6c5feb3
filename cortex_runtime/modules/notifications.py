"""``require('notifications')``: ``send(name, variables, options)`` (spec modules.md §11, §29.2).

A send renders the org's notification ``name`` (a notification type of the org document,
``orgs.notifications[]``, whose endpoints name templates; or, when the org has no type of that
name, the templates of that name themselves, one endpoint per template type) for **one**
recipient and delivers it:

- email goes to the SMTP server of ``Runtime.smtp`` (``{"host", "port"[, "sender"]}`` or
  ``(host, port)``; ``serve --smtp HOST:PORT``) when the runtime has one;
- everything else (email without SMTP, sms, push, and an email the SMTP server refused) is
  recorded in the org's **outbox** (collection ``outbox``), one entry per send holding each
  endpoint's rendered payload. Scripts read it with ``notifications.outbox(options)`` and empty
  it with ``notifications.clearOutbox()`` (administrators and developers only; local
  additions, not platform API); the CLI with ``cortex-runtime outbox``.

With ``options.context = {_id, object}`` a ``notification`` instance owned by the recipient
is stored (``GET /notifications``, ``org.objects.notifications``; the recipient deletes it).

Templates are ``contexts`` instances ``{object: 'template', type, name, localizations}``; a
localization is chosen for ``options.locale`` (default ``en_US``): the exact locale, else one
of the same language, else ``*``, else ``en_US``, else the first. Rendering is a small
Handlebars subset (``render``): ``{{var}}`` (HTML-escaped in html parts only), ``{{{var}}}``,
``{{> partial}}``, ``{{#extend "layout"}}``/``{{#content "x"}}``/``{{#block "x"}}`` (the
handlebars-layouts helpers, modes replace/append/prepend), ``#if``/``#unless``/``#each``/
``#with`` with ``{{else}}``, ``{{! comments}}`` and ``~`` whitespace control. The only built-in
template is ``email.layout`` (blocks ``title``, ``body``, ``subject``), used when the org has none.

Each call counts against the run's ``maxNotifications`` (``run.notifications_sent``, read by
``script.getNotificationsRemaining()``), failed calls included, as on the platform.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.acl_notation import is_custom_name
from ..objects.principals import ADMINISTRATOR, DEVELOPER
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import to_plain

__all__ = ["BUILTIN_TEMPLATES", "NotificationsModule", "choose_localization", "outbox_entries", "render"]

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en_US"
# The options a script may give (src: notifications.js); ``notification`` names the template
# in the payload-first form and ``message`` is the TPNS page's default text.
ALLOWED_OPTIONS = (
    "number", "recipient", "context", "locale", "apiKey", "count", "sound", "apnTopics", "fcmTopic",
    "pushType", "endpoints", "message", "notification",
)
ENDPOINT_TYPES = ("email", "sms", "push")
# Which content names each template type renders.
PARTS = {"email": ("subject", "html", "plain"), "sms": ("message",), "push": ("message",), "html": ("content",)}
MAX_RENDER_DEPTH = 20
MAX_RENDER_CHARS = 1_000_000
SMTP_TIMEOUT_S = 10.0

_BUILTIN_LAYOUT = {
    "object": "template",
    "type": "email",
    "name": "layout",
    "partial": False,
    "builtin": True,
    "localizations": [
        {
            "locale": ["*"],
            "content": [
                {
                    "name": "html",
                    "data": '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>{{#block "title"}}{{/block}}</title></head>\n'
                    '<body>\n{{#block "body"}}{{/block}}\n</body>\n</html>\n',
                },
                {"name": "plain", "data": '{{#block "body"}}{{/block}}\n'},
                {"name": "subject", "data": '{{#block "subject"}}{{/block}}'},
            ],
        }
    ],
}
# (type, name) -> template document, used when the org stores none of that name.
BUILTIN_TEMPLATES: dict[tuple[str, str], dict[str, Any]] = {("email", "layout"): _BUILTIN_LAYOUT}


def _fault(err_code: str, reason: str, path: str | None = None) -> Fault:
    return Fault(err_code, reason=reason, path=path)


# ---- the renderer --------------------------------------------------------------------------------


@dataclass
class _Text:
    text: str


@dataclass
class _Var:
    path: str
    escape: bool


@dataclass
class _Partial:
    name: str
    path: str | None


@dataclass
class _Block:
    helper: str
    args: list[Any]
    hash: dict[str, Any]
    body: list[Any] = field(default_factory=list)
    inverse: list[Any] = field(default_factory=list)


@dataclass
class _Literal:
    value: Any


_TAG = re.compile(r"\{\{(~?)(\{?)(.*?)(\}?)(~?)\}\}", re.S)
_COMMENT = re.compile(r"\{\{(~?)!(--.*?--|[^}]*?)(~?)\}\}", re.S)
_ARG = re.compile(r"""\s*(?:(\w+)=)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s"']+)""")


def _arg(token: str) -> Any:
    if token[:1] in ("'", '"'):
        return _Literal(token[1:-1])
    if token in ("true", "false"):
        return _Literal(token == "true")
    if token in ("null", "undefined"):
        return _Literal(None)
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return _Literal(float(token) if "." in token else int(token))
    return token  # a path


def _args(text: str) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    named: dict[str, Any] = {}
    for key, token in _ARG.findall(text):
        if key:
            named[key] = _arg(token)
        else:
            args.append(_arg(token))
    return args, named


def _render_fault(reason: str) -> Fault:
    return _fault("cortex.error.renderTemplate", reason)


def parse(source: str) -> list[Any]:
    """The node tree of a template (raises ``cortex.error.renderTemplate`` on a bad one)."""
    source = _COMMENT.sub(lambda m: "{{" + m.group(1) + "!" + m.group(3) + "}}", source)
    root: list[Any] = []
    stack: list[tuple[_Block, list[Any]]] = []
    current = root
    pos = 0
    strip_next = False
    for match in _TAG.finditer(source):
        text = source[pos:match.start()]
        if strip_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            current.append(_Text(text))
        pos = match.end()
        strip_next = bool(match.group(5))
        triple = bool(match.group(2)) and bool(match.group(4))
        inner = match.group(3).strip()
        if triple:
            current.append(_Var(inner, False))
            continue
        if match.group(2) or match.group(4):  # a lone brace: keep the text as written
            inner = (match.group(2) + match.group(3) + match.group(4)).strip()
        if not inner or inner.startswith("!"):
            continue
        if inner[0] == ">":
            parts = inner[1:].split()
            if not parts:
                raise _render_fault("A partial needs a name.")
            name = parts[0].strip("'\"")
            current.append(_Partial(name, parts[1] if len(parts) > 1 else None))
        elif inner[0] == "#":
            helper, _, rest = inner[1:].strip().partition(" ")
            args, named = _args(rest)
            block = _Block(helper, args, named)
            current.append(block)
            stack.append((block, current))
            current = block.body
        elif inner[0] == "/":
            name = inner[1:].strip()
            if not stack or stack[-1][0].helper != name:
                raise _render_fault(f"Unexpected closing tag {{{{/{name}}}}}.")
            _, current = stack.pop()
        elif inner in ("else", "^"):
            if not stack:
                raise _render_fault("{{else}} outside of a block.")
            current = stack[-1][0].inverse
        else:
            current.append(_Var(inner, True))
    tail = source[pos:]
    if strip_next:
        tail = tail.lstrip()
    if tail:
        current.append(_Text(tail))
    if stack:
        raise _render_fault(f"Unclosed block {{{{#{stack[-1][0].helper}}}}}.")
    return root


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(value)


def _text(value: Any) -> str:
    """A value as JavaScript's String() gives it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, list):
        return ",".join("" if item is None else _text(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value)
    return value not in (None, False, "", 0) or value is True


@dataclass
class _Frame:
    value: Any
    data: dict[str, Any]


@dataclass
class _Blocks:
    """The content a child template gives its layout: name -> (mode, nodes, frames)."""

    defs: dict[str, tuple[str, list[Any], list[_Frame]]] = field(default_factory=dict)


class _Renderer:
    def __init__(self, loader: Callable[[str, str], str | None], escape: bool) -> None:
        self._loader = loader
        self._escape = escape
        self._depth = 0
        self._size = 0

    def _lookup(self, frames: list[_Frame], path: Any) -> Any:
        if isinstance(path, _Literal):
            return path.value
        path = str(path)
        if path.startswith("@"):
            name, _, rest = path[1:].partition(".")
            if name == "root":
                value = frames[0].value
            else:
                value = next((f.data[name] for f in reversed(frames) if name in f.data), None)
            return self._walk(value, rest)
        index = len(frames) - 1
        while path.startswith("../"):
            path = path[3:]
            index = max(0, index - 1)
        value = frames[index].value
        if path in ("this", "."):
            return value
        if path.startswith("this.") or path.startswith("./"):
            path = path.split(".", 1)[1] if path.startswith("this.") else path[2:]
        return self._walk(value, path)

    @staticmethod
    def _walk(value: Any, path: str) -> Any:
        for part in [p for p in path.replace("/", ".").split(".") if p]:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit():
                index = int(part)
                value = value[index] if index < len(value) else None
            elif isinstance(value, (list, str)) and part == "length":
                value = len(value)
            else:
                return None
        return value

    def _out(self, out: list[str], text: str) -> None:
        self._size += len(text)
        if self._size > MAX_RENDER_CHARS:
            raise _render_fault("The rendered template is too large.")
        out.append(text)

    def render(self, nodes: list[Any], frames: list[_Frame], blocks: _Blocks) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, _Text):
                self._out(out, node.text)
            elif isinstance(node, _Var):
                text = _text(self._lookup(frames, node.path))
                self._out(out, _escape(text) if node.escape and self._escape else text)
            elif isinstance(node, _Partial):
                frames_for = frames if node.path is None else [*frames, _Frame(self._lookup(frames, node.path), {})]
                self._out(out, self._template(node.name, "partial", frames_for, blocks))
            else:
                self._out(out, self._block(node, frames, blocks))
        return "".join(out)

    def _template(self, name: str, kind: str, frames: list[_Frame], blocks: _Blocks) -> str:
        source = self._loader(name, kind)
        if source is None:
            raise _render_fault(f"Template {kind} {name} was not found.")
        self._depth += 1
        if self._depth > MAX_RENDER_DEPTH:
            raise _render_fault("Templates nest too deeply.")
        try:
            return self.render(parse(source), frames, blocks)
        finally:
            self._depth -= 1

    def _block(self, node: _Block, frames: list[_Frame], blocks: _Blocks) -> str:
        helper = node.helper
        first = self._lookup(frames, node.args[0]) if node.args else None
        if helper == "if":
            return self.render(node.body if _truthy(first) else node.inverse, frames, blocks)
        if helper == "unless":
            return self.render(node.inverse if _truthy(first) else node.body, frames, blocks)
        if helper == "with":
            if not _truthy(first):
                return self.render(node.inverse, frames, blocks)
            return self.render(node.body, [*frames, _Frame(first, {})], blocks)
        if helper == "each":
            items = list(first.items()) if isinstance(first, dict) else list(enumerate(first)) if isinstance(first, list) else []
            if not items:
                return self.render(node.inverse, frames, blocks)
            out = []
            for position, (key, item) in enumerate(items):
                data = {"index": position, "key": key, "first": position == 0, "last": position == len(items) - 1}
                out.append(self.render(node.body, [*frames, _Frame(item, data)], blocks))
            return "".join(out)
        if helper == "extend":
            name = _text(first)
            defs = dict(self._contents(node.body, frames))
            defs.update(blocks.defs)  # a child's content wins over its layout's own
            return self._template(name, "layout", frames, _Blocks(defs))
        if helper == "block":
            name = _text(first)
            default = self.render(node.body, frames, blocks)
            if name not in blocks.defs:
                return default
            mode, body, at = blocks.defs[name]
            given = self.render(body, at, _Blocks({k: v for k, v in blocks.defs.items() if k != name}))
            return default + given if mode == "append" else given + default if mode == "prepend" else given
        if helper == "content":
            return ""  # content outside of an extend block renders nothing
        raise _render_fault(f"Unknown helper {helper}.")

    def _contents(self, nodes: list[Any], frames: list[_Frame]) -> list[tuple[str, tuple[str, list[Any], list[_Frame]]]]:
        found = []
        for node in nodes:
            if isinstance(node, _Block) and node.helper == "content" and node.args:
                mode = _text(self._lookup(frames, node.hash.get("mode", _Literal("replace"))))
                found.append((_text(self._lookup(frames, node.args[0])), (mode, node.body, frames)))
        return found


def render(source: str, variables: Any, loader: Callable[[str, str], str | None] | None = None, *, escape: bool = False) -> str:
    """Render ``source`` with ``variables``; ``loader(name, kind)`` gives the source of a partial
    (kind ``partial``) or layout (kind ``layout``), None when there is none."""
    renderer = _Renderer(loader or (lambda name, kind: None), escape)
    return renderer.render(parse(source), [_Frame(variables, {})], _Blocks())


# ---- templates -----------------------------------------------------------------------------------


def _norm_locale(value: Any) -> str:
    return str(value or "").strip().replace("-", "_").lower()


def choose_localization(template: Mapping[str, Any], locale: str) -> dict[str, Any] | None:
    """The template's localization for ``locale``: exact, then same language, then ``*``, then
    ``en_US``, then the first."""
    localizations = [loc for loc in template.get("localizations") or [] if isinstance(loc, Mapping)]
    if not localizations:
        return None

    def locales(loc: Mapping[str, Any]) -> list[str]:
        value = loc.get("locale")
        return [_norm_locale(v) for v in (value if isinstance(value, list) else [value])]

    wanted = _norm_locale(locale)
    language = wanted.split("_")[0]
    tests: list[Callable[[list[str]], bool]] = [
        lambda ls: wanted in ls,
        lambda ls: any(item.split("_")[0] == language for item in ls if item != "*"),
        lambda ls: "*" in ls,
        lambda ls: _norm_locale(DEFAULT_LOCALE) in ls,
    ]
    for test in tests:
        for loc in localizations:
            if test(locales(loc)):
                return dict(loc)
    return dict(localizations[0])


def _content(localization: Mapping[str, Any] | None, name: str) -> str | None:
    for item in (localization or {}).get("content") or []:
        if isinstance(item, Mapping) and item.get("name") == name:
            data = item.get("data")
            return data if isinstance(data, str) else None
    return None


class _Templates:
    """The org's templates, with the built-ins behind them."""

    def __init__(self, store: Any, org_id: ObjectId) -> None:
        self._store = store
        self._org = org_id
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, template_type: str, name: str) -> dict[str, Any] | None:
        key = (template_type, name)
        if key not in self._cache:
            with map_store_errors():
                doc = self._store.contexts.find_one({"org": self._org, "object": "template", "type": template_type, "name": name})
            self._cache[key] = doc if doc is not None else BUILTIN_TEMPLATES.get(key)
        return self._cache[key]

    def render(self, template: Mapping[str, Any], locale: str, variables: Any) -> tuple[dict[str, str], str]:
        """Every part of ``template`` rendered; and the locale of the localization used."""
        template_type = str(template.get("type"))
        localization = choose_localization(template, locale)
        chosen = (localization or {}).get("locale")
        chosen_text = ",".join(map(str, chosen)) if isinstance(chosen, list) else str(chosen or "")
        out: dict[str, str] = {}
        for part in PARTS.get(template_type, ()):
            source = _content(localization, part)
            if source is None:
                continue

            def loader(name: str, kind: str, part: str = part) -> str | None:
                other = self.get(template_type, name)
                if other is None:
                    return None
                loc = choose_localization(other, locale)
                if kind == "partial":
                    found = _content(loc, "partial")
                    return found if found is not None else _content(loc, part)
                return _content(loc, part)

            out[part] = render(source, variables, loader, escape=part in ("html", "content"))
        return out, chosen_text


# ---- the module ----------------------------------------------------------------------------------


def _is_id(value: Any) -> bool:
    return isinstance(value, ObjectId) or (isinstance(value, str) and ObjectId.is_valid(value) and len(value) == 24)


def _is_builtin_id(value: ObjectId) -> bool:
    """The well-known principal and role ids (``000…01`` to ``000…ff``)."""
    return int(str(value), 16) < 256


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def outbox_entries(store: Any, org_id: ObjectId, options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The org's outbox, oldest first; ``options``: ``limit`` (100), ``skip``, ``recipient``,
    ``template``, ``notification``."""
    options = options or {}
    query: dict[str, Any] = {"org": org_id}
    if options.get("recipient") is not None:
        recipient = options["recipient"]
        query["recipient"] = ObjectId(str(recipient)) if _is_id(recipient) else recipient
    for key in ("template", "notification"):
        if options.get(key) is not None:
            query[key] = str(options[key])
    limit = options.get("limit", 100)
    limit = int(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0 else 100
    skip = options.get("skip", 0)
    skip = int(skip) if isinstance(skip, (int, float)) and not isinstance(skip, bool) and skip > 0 else 0
    with map_store_errors():
        docs = list(store.outbox.find(query).sort([("created", 1), ("_id", 1)]).skip(skip).limit(min(limit, 1000)))
    return docs


class NotificationsModule:
    require_name = "notifications"
    prefix = "notifications."
    needs_runtime = True
    methods = ("send", "outbox", "clearOutbox")

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    # ---- dispatch ----------------------------------------------------------------------------

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "notifications.send":
            return self.send(run, args)
        if name in ("notifications.outbox", "notifications.clearOutbox"):
            principal = run.context.objects.layer.principal
            if not (principal.has_role(ADMINISTRATOR) or principal.has_role(DEVELOPER)):
                raise _fault("cortex.accessDenied.unspecified", "The outbox is for administrators and developers.")
            if name == "notifications.outbox":
                options = args[0] if args and isinstance(args[0], dict) else {}
                return outbox_entries(self._runtime.store, run.org._id, options)
            with map_store_errors():
                return self._runtime.store.outbox.delete_many({"org": run.org._id}).deleted_count
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    # ---- send --------------------------------------------------------------------------------

    def send(self, run: RunInfo, args: list[Any]) -> None:
        sent = int(getattr(run, "notifications_sent", 0) or 0)
        if sent >= run.limits.notifications:
            raise _fault("cortex.accessDenied.unspecified", "Max notifications per script limit exceeded.")
        run.notifications_sent = sent + 1  # type: ignore[attr-defined]  # counted per call, failed ones too
        context = run.context
        principal = context.objects.layer.principal
        scope = principal.scope
        if scope is not None:
            from ..server.tokens import in_scope

            if not in_scope(scope, "object.create.notification"):
                raise Fault("cortex.accessDenied.scope", path="object.create.notification")

        # The call forms: send(name, payload, options) and send(payload, options).
        payload_first = len(args) == 2 and isinstance(args[1], dict) and ("notification" in args[1] or "endpoints" in args[1])
        if args and isinstance(args[0], str) and not payload_first:
            template_name: Any = args[0]
            payload = args[1] if len(args) > 1 else None
            raw_options = args[2] if len(args) > 2 else None
        else:
            payload = args[0] if args else None
            raw_options = args[1] if len(args) > 1 else None
            template_name = raw_options.get("notification") if isinstance(raw_options, dict) else None
        options = {k: v for k, v in (raw_options or {}).items() if k in ALLOWED_OPTIONS} if isinstance(raw_options, dict) else {}
        payload = to_plain(payload)
        locale = options.get("locale") if isinstance(options.get("locale"), str) and options.get("locale") else DEFAULT_LOCALE

        store = self._runtime.store
        with map_store_errors():
            org_doc = store.orgs.find_one({"_id": run.org._id}) or {}
        recipient = self._recipient(store, run.org._id, options.get("recipient", principal._id))
        sms_from = self._sms_number(org_doc, options.get("number"))
        persisted_context = self._context(options.get("context"))

        templates = _Templates(store, run.org._id)
        notification_type, endpoints = self._endpoints(org_doc, templates, template_name)
        overrides = options.get("endpoints") if isinstance(options.get("endpoints"), dict) else {}
        for endpoint_name, override in overrides.items():
            if endpoint_name in ENDPOINT_TYPES and isinstance(override, dict) and endpoint_name not in endpoints:
                endpoints[endpoint_name] = None  # a payload-only endpoint
        if not endpoints:
            raise Fault("cortex.invalidArgument.object", reason="A notification needs a template or endpoints.", path="endpoints")
        self._check_push(overrides.get("push"))

        rendered: dict[str, dict[str, Any]] = {}
        for endpoint_name, template in endpoints.items():
            override = overrides.get(endpoint_name) if isinstance(overrides.get(endpoint_name), dict) else {}
            rendered[endpoint_name] = self._render_endpoint(
                endpoint_name, template, override, templates, locale, payload, recipient, options, sms_from
            )

        now = self._runtime.clock.now()
        type_name = notification_type.get("name") if notification_type else (template_name if isinstance(template_name, str) else None)
        smtp_error = None
        if "email" in rendered and self._smtp() is not None:
            smtp_error = self._send_email(run, rendered["email"])
            if smtp_error is None:
                rendered.pop("email")
            else:
                rendered["email"]["error"] = smtp_error
        if rendered:
            entry = {
                "_id": ObjectId(),
                "org": run.org._id,
                "object": "outbox",
                "created": now,
                "notification": type_name,
                "template": template_name if isinstance(template_name, str) else (str(template_name) if template_name is not None else None),
                "recipient": recipient["_id"],
                "sender": principal._id,
                "locale": locale,
                "variables": payload,
                "context": persisted_context,
                "options": {k: to_plain(v) for k, v in options.items() if k not in ("endpoints", "context", "recipient", "notification")},
                "endpoints": rendered,
                "script": run.script_id,
            }
            with map_store_errors():
                store.outbox.insert_one(entry)
        if persisted_context is not None:
            self._persist(store, run.org._id, principal._id, recipient["_id"], persisted_context, notification_type, type_name, payload, now)
        return None

    # ---- pieces ------------------------------------------------------------------------------

    @staticmethod
    def _recipient(store: Any, org_id: ObjectId, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and "_id" in value:
            value = value["_id"]
        query: dict[str, Any] = {"org": org_id, "object": "account"}
        if _is_id(value):
            account_id = ObjectId(str(value))
            if _is_builtin_id(account_id):
                raise _fault("cortex.invalidArgument.unspecified", "A built-in principal cannot receive notifications.", "recipient")
            query["_id"] = account_id
        elif isinstance(value, str) and _EMAIL.match(value.strip()):
            query["email"] = value.strip().lower()
        else:
            raise _fault("cortex.invalidArgument.unspecified", "The recipient must be an account id or an email address.", "recipient")
        with map_store_errors():
            doc = store.contexts.find_one(query, {"_id": 1, "email": 1, "mobile": 1, "name": 1, "locale": 1})
        if doc is None:
            raise _fault("cortex.notFound.account", "The recipient account was not found.", "recipient")
        return dict(doc)

    @staticmethod
    def _sms_number(org_doc: Mapping[str, Any], number: Any) -> str | None:
        if number is None:
            return None
        configured = org_doc.get("smsNumbers") or []
        for item in configured:
            if isinstance(item, Mapping) and number in (item.get("number"), item.get("name")):
                return str(item.get("number") or number)
        raise _fault("cortex.invalidArgument.unspecified", "The sms number is not configured for the org.", "number")

    @staticmethod
    def _context(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not _is_id(value.get("_id")) or not isinstance(value.get("object"), str) or not value["object"]:
            raise _fault("cortex.invalidArgument.unspecified", "options.context must be {_id, object}.", "context")
        out = {"_id": ObjectId(str(value["_id"])), "object": value["object"]}
        if isinstance(value.get("path"), str):
            out["path"] = value["path"]
        return out

    @staticmethod
    def _check_push(push: Any) -> None:
        if not isinstance(push, dict):
            return
        apn = push.get("apn")
        if isinstance(apn, dict) and apn.get("priority") is not None and apn.get("priority") not in (5, 10):
            raise _fault("cortex.invalidArgument.string", "The APN priority must be 5 or 10.", "endpoints.push.apn.priority")

    @staticmethod
    def _endpoints(org_doc: Mapping[str, Any], templates: _Templates, name: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The notification type named (or with the id) ``name`` and its enabled endpoints:
        endpoint name -> template document (None: no template)."""
        if name is None:
            return None, {}
        text = str(name)
        found = next(
            (n for n in org_doc.get("notifications") or [] if isinstance(n, Mapping) and (n.get("name") == text or str(n.get("_id")) == text)),
            None,
        )
        if found is not None:
            if not is_custom_name(found.get("name")):
                raise _fault("cortex.invalidArgument.unspecified", f"The built-in notification {text} cannot be sent from a script.", "name")
            endpoints: dict[str, Any] = {}
            for endpoint in found.get("endpoints") or []:
                if not isinstance(endpoint, Mapping) or str(endpoint.get("state") or "Enabled").lower() == "disabled":
                    continue
                endpoint_name = str(endpoint.get("name") or endpoint.get("type") or "")
                template_type = str(endpoint.get("type") or endpoint_name)
                template_name = str(endpoint.get("template") or "")
                for prefix in (f"template.{template_type}.", f"{template_type}."):
                    if template_name.startswith(prefix):
                        template_name = template_name[len(prefix):]
                template = templates.get(template_type, template_name) if template_name else None
                if template_name and template is None:
                    raise _fault("cortex.notFound.template", f"Template {template_type}.{template_name} was not found.", "name")
                endpoints[endpoint_name] = template
            return dict(found), endpoints
        if not is_custom_name(text):
            raise _fault("cortex.invalidArgument.unspecified", f"The built-in template {text} cannot be sent from a script.", "name")
        endpoints = {}
        for template_type in ENDPOINT_TYPES:
            template = templates.get(template_type, text)
            if template is not None and not template.get("partial"):
                endpoints[template_type] = template
        if not endpoints:
            raise _fault("cortex.notFound.template", f"Notification template {text} was not found.", "name")
        return None, endpoints

    @staticmethod
    def _render_endpoint(
        endpoint: str,
        template: Mapping[str, Any] | None,
        override: Mapping[str, Any],
        templates: _Templates,
        locale: str,
        payload: Any,
        recipient: Mapping[str, Any],
        options: Mapping[str, Any],
        sms_from: str | None,
    ) -> dict[str, Any]:
        use_template = template is not None and not ("template" in override and override.get("template") is None)
        parts: dict[str, str] = {}
        used_locale = None
        if use_template:
            assert template is not None
            parts, used_locale = templates.render(template, locale, payload)
        message = override.get("message", options.get("message"))
        out: dict[str, Any] = {"template": template.get("name") if use_template and template else None, "locale": used_locale}
        if endpoint == "email":
            to = override.get("recipient") if isinstance(override.get("recipient"), str) else recipient.get("email")
            out.update(
                to=to,
                subject=parts.get("subject", _text(override.get("subject")) if override.get("subject") is not None else ""),
                plain=parts.get("plain", _text(message) if message is not None else None),
                html=parts.get("html", _text(override.get("html")) if override.get("html") is not None else None),
            )
        elif endpoint == "sms":
            out.update(to=recipient.get("mobile"), number=sms_from, message=parts.get("message", _text(message) if message is not None else None))
        else:
            text = parts.get("message", _text(message) if message is not None else None)
            out.update(to=recipient["_id"], message=text)
            for key in ("apiKey", "count", "sound", "apnTopics", "fcmTopic", "pushType"):
                if options.get(key) is not None:
                    out[key] = to_plain(options[key])
            for key in ("apn", "fcm", "gcm"):
                if isinstance(override.get(key), dict):
                    out[key] = to_plain(override[key])
            tpns = override.get("tpns")
            if isinstance(tpns, dict):
                out["tpns"] = _tpns(to_plain(tpns), text, payload)
        return out

    # ---- delivery ----------------------------------------------------------------------------

    def _smtp(self) -> dict[str, Any] | None:
        setting = getattr(self._runtime, "smtp", None)
        if not setting:
            return None
        if isinstance(setting, (tuple, list)):
            return {"host": setting[0], "port": int(setting[1])}
        return dict(setting)

    def _send_email(self, run: RunInfo, email: Mapping[str, Any]) -> str | None:
        """Send one email; the error text when the server refused it (it then stays in the outbox)."""
        smtp = self._smtp()
        assert smtp is not None
        if not email.get("to"):
            return "The recipient has no email address."
        message = EmailMessage()
        message["Subject"] = str(email.get("subject") or "").replace("\r", " ").replace("\n", " ").strip()
        message["From"] = smtp.get("sender") or f"noreply@{run.org.code}.cortex.local"
        message["To"] = str(email["to"])
        plain, html = email.get("plain"), email.get("html")
        message.set_content(plain if plain is not None else "")
        if html is not None:
            message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(str(smtp.get("host") or "127.0.0.1"), int(smtp.get("port") or 25), timeout=SMTP_TIMEOUT_S) as client:
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("could not send a notification email: %s", exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    @staticmethod
    def _persist(
        store: Any,
        org_id: ObjectId,
        sender: ObjectId,
        recipient: ObjectId,
        context: dict[str, Any],
        notification_type: Mapping[str, Any] | None,
        name: str | None,
        payload: Any,
        now: Any,
    ) -> None:
        doc = {
            "_id": ObjectId(),
            "org": org_id,
            "object": "notification",
            "context": context,
            "type": (notification_type or {}).get("_id"),
            "name": name,
            "meta": payload if isinstance(payload, dict) else None,
            "account": {"_id": recipient},
            "created": now,
            "creator": {"_id": sender},
            "owner": {"_id": recipient},
            "updated": None,
            "acl": [],
        }
        with map_store_errors():
            store.contexts.insert_one(doc)


def _tpns(tpns: dict[str, Any], message: str | None, payload: Any) -> dict[str, Any]:
    """The TPNS request as the platform completes it (§29.2)."""
    out = dict(tpns)
    out.setdefault("audience_type", "token")
    body = dict(out.get("message") or {}) if isinstance(out.get("message"), dict) else {}
    if body.get("content") is None and message is not None:
        body["content"] = message
    if payload is not None:
        android = dict(body.get("android") or {}) if isinstance(body.get("android"), dict) else {}
        android.setdefault("custom_content", payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")))
        body["android"] = android
    out["message"] = body
    return out
