"""Parse a JSON value once into a tree of nodes; evaluate it many times (engine spec §1–§3).

Registries (``OPERATORS``, ``SYSTEM_VARIABLES``, ``ACCUMULATORS``, ``STAGES``) map names to
classes so the implemented list is data. Parsing is bounded by ``MAX_PARSE_DEPTH`` (checked
before recursing, so deep input faults instead of overflowing the stack); evaluation by the
spec's node depth (20) and an operations budget kept on the ``ExpressionContext``. An
``Expression`` evaluated repeatedly is compiled into one generated Python function
(``Compiler``) with the same results and faults as the tree; only the budget is charged per
straight-line run of nodes rather than per node.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, ClassVar

from bson import ObjectId

from ..faults import Fault
from .values import EMPTY, MISSING, truthy

__all__ = [
    "ACCUMULATORS", "MAX_DEPTH", "MAX_OPS", "MAX_PARSE_DEPTH", "OPERATORS", "STAGES", "SYSTEM_VARIABLES", "SYSTEM_VARIABLE_NAMES",
    "Compiler", "Expression", "ExpressionContext", "Node", "Operator", "Parser", "parse", "qf", "read_path", "register",
]

MAX_DEPTH = 20  # spec §10: node depth and context depth, checked at evaluation
MAX_PARSE_DEPTH = 64  # ours: a tree this deep can never be evaluated anyway
MAX_OPS = 1_000_000  # ours: node evaluations plus array elements made, per evaluation
SYSTEM_VARIABLE_NAMES = ("BODY", "CLOSE", "CONTEXT", "CURSOR", "DATE", "ENV", "NOW", "RANDOM", "REMOVE", "REQUEST", "ROOT", "SCRIPT", "VAR")
_CUSTOM = re.compile(r"^(c_[a-zA-Z0-9_-]*|[a-zA-Z0-9_-]*__[a-zA-Z0-9_-]*)$")

OPERATORS: dict[str, type[Operator]] = {}
SYSTEM_VARIABLES: dict[str, type[Node]] = {}
ACCUMULATORS: dict[str, type[Any]] = {}
STAGES: dict[str, type[Any]] = {}


def register(table: dict[str, Any], name: str) -> Callable[[Any], Any]:
    def decorate(cls: Any) -> Any:
        cls.name = name
        table[name] = cls
        return cls

    return decorate


def qf(reason: str, path: str | None = None) -> Fault:
    """The engine's usual fault: ``cortex.invalidArgument.query`` with a reason and node path."""
    return Fault("cortex.invalidArgument.query", reason=reason, path=path or None)


def join(path: str, segment: Any) -> str:
    return f"{path}.{segment}" if path else str(segment)


class ExpressionContext:
    """One evaluation: ``$$ROOT``, the variable scopes, ``$$NOW``, the budget."""

    def __init__(self, root: Any = MISSING, variables: dict[str, Any] | None = None, *, max_ops: int = MAX_OPS, host: Any = None) -> None:
        self.root = root
        # The caller (org, principal, object layer, stores) for operators that read the database,
        # caches, config and named expressions; ``operators/database.py`` ``ExpressionHost``.
        self.host = host
        self.system = dict(variables or {})  # e.g. "$$SCRIPT", "$$CONTEXT"
        self.scopes: list[dict[str, Any]] = [{}]
        self.max_ops = max_ops
        self.ops = 0
        self._now: datetime | None = None

    def now(self) -> datetime:
        if self._now is None:
            self._now = datetime.now(timezone.utc).replace(microsecond=datetime.now().microsecond // 1000 * 1000)
        return self._now

    def charge(self, count: int, path: str = "") -> None:
        self.ops += count
        if self.ops > self.max_ops:
            raise Fault("cortex.invalidArgument.tooLarge", reason=f"Expression evaluation exceeded {self.max_ops} operations.", path=path or None)

    def push(self, path: str) -> dict[str, Any]:
        if len(self.scopes) >= MAX_DEPTH:
            raise qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", path)
        scope: dict[str, Any] = {}
        self.scopes.append(scope)
        return scope

    def pop(self) -> None:
        self.scopes.pop()

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return MISSING


class Node:
    """A parsed expression node; ``path`` is its full path, ``depth`` its nesting (root 1)."""

    path: str = ""
    depth: int = 1

    def evaluate(self, ctx: ExpressionContext) -> Any:
        raise NotImplementedError

    def compile(self, gen: Compiler) -> str:
        """Python source computing this node's value (see ``Compiler``); the default calls ``evaluate``."""
        return gen.fallback(self)

    def enter(self, ctx: ExpressionContext) -> None:
        if self.depth > MAX_DEPTH:
            raise qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", self.path)
        ctx.ops += 1
        if ctx.ops > ctx.max_ops:
            ctx.charge(0, self.path)


class Literal(Node):
    def __init__(self, value: Any, path: str, depth: int) -> None:
        self.value, self.path, self.depth = value, path, depth

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return self.value

    def compile(self, gen: Compiler) -> str:
        return gen.literal(self.value) if gen.enter(self) else "None"


def read_path(value: Any, path: str) -> Any:
    """§3.1: own properties only; arrays by index (no mapping), ``length``; null stops the walk."""
    for segment in [s for s in path.split(".") if s]:
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get(segment, MISSING)
        elif isinstance(value, (list, str)):
            if segment == "length":
                value = len(value)
            elif segment.isdigit() and int(segment) < len(value) and (segment == "0" or not segment.startswith("0")):
                value = value[int(segment)]
            else:
                return MISSING
        else:
            return MISSING
    return value


class Field(Node):
    def __init__(self, field: str, path: str, depth: int) -> None:
        self.field, self.path, self.depth = field, path, depth

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return MISSING if ctx.root is MISSING else read_path(ctx.root, self.field)

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        out, field = gen.temp(), repr(self.field)
        if self.field and "." not in self.field:  # one segment of a plain dict: a dict lookup
            gen.line(f"{out} = _root.get({field}, MISSING) if type(_root) is dict else _field(_root, {field})")
        else:
            gen.line(f"{out} = _field(_root, {field})")
        return out


def _field(root: Any, field: str) -> Any:
    return MISSING if root is MISSING else read_path(root, field)


class UserVariable(Node):
    def __init__(self, name: str, rest: str, path: str, depth: int) -> None:
        self.var, self.rest, self.path, self.depth = name, rest, path, depth

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = ctx.lookup(self.var)
        return read_path(value, self.rest) if self.rest and value is not MISSING else value

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        out = gen.temp()
        gen.line(f"{out} = ctx.lookup({self.var!r})")
        if self.rest:
            gen.line(f"if {out} is not MISSING: {out} = _read({out}, {self.rest!r})")
        return out


class Operator(Node):
    """Base of every operator: ``setup`` parses the raw argument, ``evaluate`` computes."""

    name: ClassVar[str] = ""

    def __init__(self, parser: Parser, raw: Any, path: str, depth: int) -> None:
        self.path, self.depth = path, depth
        self.setup(parser, raw)

    def setup(self, parser: Parser, raw: Any) -> None:
        raise NotImplementedError

    # Shared argument shapes (operator spec §0.2).
    def single(self, parser: Parser, raw: Any) -> Node:
        return parser.expr(raw, self.path, self.depth + 1)

    def array(self, parser: Parser, raw: Any, exactly: int | None = None, at_least: int | None = None, between: tuple[int, int] | None = None) -> list[Node]:
        n = len(raw) if isinstance(raw, list) else -1
        if exactly is not None and n != exactly:
            raise qf(f"{self.name} requires an array with exactly {exactly} elements.", self.path)
        if at_least is not None and n < at_least:
            raise qf(f"{self.name} requires an array with at least {at_least} elements.", self.path)
        if between is not None and not between[0] <= n <= between[1]:
            raise qf(f"{self.name} requires an array with {between[0]} to {between[1]} elements.", self.path)
        if n < 0:
            raise qf(f"{self.name} requires an array.", self.path)
        return [parser.expr(item, join(self.path, i), self.depth + 1) for i, item in enumerate(raw)]

    def object(self, parser: Parser, raw: Any, keys: tuple[str, ...], kind: str = "Operator") -> dict[str, Node]:
        if not isinstance(raw, dict):
            raise qf(f"{kind} {self.name} expects an object.", self.path)
        return {k: parser.expr(raw.get(k, MISSING), join(self.path, k), self.depth + 1) for k in keys}

    def variable_name(self, raw: Any, path: str, kind: str = "Operator") -> str:
        return check_variable_name(raw, f"{kind} {self.name}", path)


def check_variable_name(raw: Any, who: str, path: str) -> str:
    """§2.4 naming rules, in the spec's order."""
    if not isinstance(raw, str):
        raise qf(f"{who} user variable must be a string.", path)
    first = raw.split(".")[0]
    if first in SYSTEM_VARIABLE_NAMES:
        raise qf(f"{who} user variable cannot be a system variable ({first}).", path)
    if not raw or "." in raw or "$" in raw:
        raise qf(f"{who} user variable cannot contain $ and must have length.", path)
    return raw


def _is_operator_key(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and key.startswith("$") and not key.startswith("$$") and len(key) > 1


def _unknown(value: Any) -> str:
    if isinstance(value, dict):
        return str(next(iter(value))) if value else "[object Object]"
    if isinstance(value, list):
        from .values import string_form

        return string_form(value)
    return str(value)


def check_literal_depth(value: Any, path: str, limit: int = MAX_PARSE_DEPTH) -> None:
    """Iteratively bound how deep a raw (unparsed) value nests, so copies cannot overflow."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise too_deep(path)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def too_deep(path: str) -> Fault:
    return Fault("cortex.invalidArgument.tooLarge", reason=f"Expression nesting exceeds {MAX_PARSE_DEPTH} levels.", path=path or None)


class Parser:
    """Builds nodes; tracks which user variables are visible (lexically) at each point."""

    def __init__(self) -> None:
        self.visible: list[set[str]] = [set()]

    def declare(self, name: str) -> None:
        self.visible[-1].add(name)

    def scope(self) -> _Scope:
        return _Scope(self)

    def is_visible(self, name: str) -> bool:
        return any(name in s for s in self.visible)

    def top(self, value: Any, path: str = "") -> Node:
        """A top-level expression: arrays and plain objects are wrapped (§1.3)."""
        return self.expr(wrap(value), path, 1)

    def expr(self, value: Any, path: str, depth: int) -> Node:
        if depth > MAX_PARSE_DEPTH:
            raise too_deep(path)
        if isinstance(value, str):
            if value in ("$", "$$"):
                raise qf(f"Unknown expression type {value}", path)
            if value.startswith("$$"):
                return self.variable(value[2:], path, depth)
            if value.startswith("$"):
                return Field(value[1:], path, depth)
            return Literal(value, path, depth)
        if value is None or value is MISSING or isinstance(value, (bool, int, float, datetime, ObjectId, bytes, re.Pattern)):
            return Literal(value, path, depth)
        if _is_operator_key(value):
            key = next(iter(value))
            name = key
            cls = OPERATORS.get(name)
            if cls is None:
                named = OPERATORS.get("$expression")
                if _CUSTOM.match(key[1:]) and named is not None:  # {"$c_name": as} (spec §7.3)
                    return named.shorthand(self, key[1:], value[key], join(path, key), depth)  # type: ignore[attr-defined]
                if _CUSTOM.match(key[1:]):
                    raise qf(f"Named expressions are not available in this runtime ({key}).", join(path, key))
                raise qf(f"Unsupported operator {key}", join(path, key))
            return cls(self, value[key], join(path, key), depth)
        check_literal_depth(value, path)  # the fault text stringifies the value
        raise qf(f"Unknown expression type {_unknown(value)}", path)

    def variable(self, text: str, path: str, depth: int) -> Node:
        name, _, rest = text.partition(".")
        cls = SYSTEM_VARIABLES.get(name)
        if cls is not None:
            return cls(rest, path, depth)  # type: ignore[call-arg]
        if name in SYSTEM_VARIABLE_NAMES:
            raise qf(f"System variable $${name} is not available in this runtime.", path)
        if not self.is_visible(name):
            raise qf(f"User variable {name} not found.", path)
        return UserVariable(name, rest, path, depth)


class _Scope:
    def __init__(self, parser: Parser) -> None:
        self.parser = parser

    def __enter__(self) -> Parser:
        self.parser.visible.append(set())
        return self.parser

    def __exit__(self, *exc: Any) -> None:
        self.parser.visible.pop()


def wrap(value: Any) -> Any:
    """§1.3 ``literalObjectOrArrayToExpression``."""
    if isinstance(value, list):
        return {"$array": value}
    if isinstance(value, dict) and not _is_operator_key(value):
        return {"$object": value}
    return value


# ---- compilation ------------------------------------------------------------------------
#
# A parsed tree is turned into one generated Python function so an expression evaluated over
# many documents does not pay a method call, a depth check and a budget check per node.
# Semantics stay those of ``evaluate``: a node deeper than ``MAX_DEPTH`` compiles to the same
# fault (raised only if reached), and the budget is charged per straight-line run of nodes
# (one addition at the start of each branch) instead of per node; when it runs out, the fault
# names the node whose entry crossed it. Nodes without a ``compile`` of their own (or whose
# ``evaluate`` is overridden below one) are called through ``evaluate``.

_MAX_INT = 2**53
_MAX_LINES = 2_000  # larger trees stay trees: Python takes long to compile that much source


class Compiler:
    """Collects the statements of one function ``_run(ctx)``; ``value(node)`` returns an
    expression (a local, a constant or a literal) holding the node's value once run."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"MISSING": MISSING, "_truthy": truthy, "_read": read_path, "_field": _field, "_over": _over_budget, "_deep": _too_deep_here, "_INF": float("inf"), "_deepcopy": copy.deepcopy}
        self.known: dict[str, Any] = {}  # literal source -> its value, for operator fast paths
        self.bools: set[str] = set()  # locals known to hold a bool
        self.level = 1
        self.temps = 0
        self.blocks: list[tuple[int, int, list[str]]] = []

    # -- emitting
    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def const(self, value: Any) -> str:
        name = f"_k{len(self.env)}"
        self.env[name] = value
        return name

    def literal(self, value: Any) -> str:
        kind = type(value)
        if value is None or kind is bool or kind is str or (kind is int and -_MAX_INT <= value <= _MAX_INT):
            text = repr(value)
        elif value is MISSING:
            text = "MISSING"
        else:
            text = self.const(value)
        self.known[text] = value
        return text

    def truth(self, value: str) -> str:
        """A condition testing the JS truthiness of ``value``."""
        return value if value in self.bools else f"_truthy({value})"

    # -- budget blocks: one charge at the start of each straight-line run of nodes
    def open(self) -> None:
        self.blocks.append((len(self.lines), self.level, []))
        self.lines.append("")

    def close(self) -> None:
        at, level, paths = self.blocks.pop()
        pad = "    " * level
        if not paths:
            self.lines[at] = f"{pad}pass"
            return
        count, where = len(paths), self.const(tuple(paths))
        self.lines[at] = f"{pad}_o = ctx.ops = ctx.ops + {count}\n{pad}if _o > _max: _over(ctx, {count}, {where})"

    def enter(self, node: Node) -> bool:
        """Charge ``node`` to the current block; a node too deep compiles to its fault."""
        if node.depth > MAX_DEPTH:
            self.line(f"raise _deep({self.const(node.path)})")
            return False
        self.blocks[-1][2].append(node.path)
        return True

    def branch(self, node: Node, target: str) -> None:
        """Inside an ``if``: a new block evaluating ``node`` into ``target``."""
        self.level += 1
        self.open()
        value = self.value(node)
        self.line(f"{target} = {value}")
        self.close()
        self.level -= 1

    def scoped(self, path: str) -> str:
        """Open ``ctx.push(path)`` and a ``try`` (closed by ``end_scoped``); the scope's local."""
        scope = self.temp()
        self.line(f"{scope} = ctx.push({path!r})")
        self.line("try:")
        self.level += 1
        return scope

    def end_scoped(self) -> None:
        self.level -= 1
        self.line("finally:")
        self.line("    ctx.pop()")

    # -- nodes
    def value(self, node: Node) -> str:
        if not _compiles(type(node)):
            return self.fallback(node)
        return node.compile(self)

    def fallback(self, node: Node) -> str:
        out = self.temp()
        self.line(f"{out} = {self.const(node)}.evaluate(ctx)")
        self.line("_root = ctx.root")
        return out

    def call(self, fn: Any, *args: str) -> str:
        return f"{self.const(fn)}({', '.join(args)})"

    def build(self, node: Node) -> Callable[[ExpressionContext], Any]:
        self.open()
        result = self.value(node)
        self.line(f"return {result}")
        self.close()
        if len(self.lines) > _MAX_LINES:
            raise ValueError("too large to compile")
        source = "def _run(ctx):\n    _root, _max = ctx.root, ctx.max_ops\n" + "\n".join(self.lines) + "\n"
        namespace = dict(self.env)
        exec(compile(source, "<expression>", "exec"), namespace)  # noqa: S102 - our own generated source
        run: Callable[[ExpressionContext], Any] = namespace["_run"]
        return run


_COMPILES: dict[type, bool] = {}


def _compiles(cls: type) -> bool:
    """Use a class's ``compile`` only if it is defined at or below the ``evaluate`` it replaces."""
    known = _COMPILES.get(cls)
    if known is None:
        owner = {attr: next(k for k in cls.__mro__ if attr in k.__dict__) for attr in ("compile", "evaluate")}
        known = _COMPILES[cls] = owner["compile"] is not Node and issubclass(owner["compile"], owner["evaluate"])
    return known


def _over_budget(ctx: ExpressionContext, count: int, paths: tuple[str, ...]) -> None:
    """The block charged ``count`` nodes and crossed the budget: fault at the node that did."""
    before = ctx.ops - count
    index = max(min(ctx.max_ops - before, count - 1), 0)
    ctx.ops = before + index + 1
    ctx.charge(0, paths[index])


def _too_deep_here(path: str) -> Fault:
    return qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", path)


def compile_node(node: Node) -> Callable[[ExpressionContext], Any] | None:
    """The compiled form of ``node``, or ``None`` where it cannot be compiled (too large, nested
    deeper than Python allows, or a node that does not compile as its class expects): the tree
    is then evaluated as it is, which is always correct."""
    try:
        return Compiler().build(node)
    except Exception:  # noqa: BLE001 - the tree is the reference; compiling is only an optimisation
        return None


# Evaluations before ``evaluate`` compiles: generating code costs about a hundred evaluations,
# so an expression evaluated a few times is not worth it (``compiled()`` compiles at once).
_COMPILE_AFTER = 32


class Expression:
    """A parsed top-level expression, reusable across evaluations.

    After a few evaluations it runs compiled; evaluations without a caller's context reuse
    a spare one (reset) instead of allocating one each time."""

    def __init__(self, value: Any) -> None:
        self.node = Parser().top(value)
        self._run: Callable[[ExpressionContext], Any] | None = None
        self._evaluations = 0
        self._spare: list[ExpressionContext] = []

    def compiled(self) -> Callable[[ExpressionContext], Any]:
        """The function evaluating this expression against a context (compiling it now)."""
        if self._run is None:
            self._run = compile_node(self.node) or self.node.evaluate
        return self._run

    def runner(self) -> Callable[[ExpressionContext], Any]:
        """The function for one more evaluation: the tree at first, compiled once it pays."""
        return self._run or self._warm()

    def _warm(self) -> Callable[[ExpressionContext], Any]:
        self._evaluations += 1
        return self.compiled() if self._evaluations >= _COMPILE_AFTER else self.node.evaluate

    def evaluate(self, root: Any = MISSING, variables: dict[str, Any] | None = None, *, ctx: ExpressionContext | None = None, host: Any = None) -> Any:
        run = self._run or self._warm()
        if ctx is not None or variables is not None or host is not None:
            return _guarded(run, ctx or ExpressionContext(root, variables, host=host))
        try:
            ctx = self._spare.pop()
        except IndexError:
            ctx = ExpressionContext(root)
        else:
            ctx.root, ctx.ops, ctx._now = root, 0, None
        try:
            value = run(ctx)
        except RecursionError as exc:  # defensive: the limits should make this unreachable
            raise _too_deep_to_run() from exc
        # A context left as it was made (scopes closed, no variables or host) serves the next call.
        if len(ctx.scopes) == 1 and not ctx.scopes[0] and not ctx.system and ctx.host is None:
            self._spare.append(ctx)
        return value

    def evaluate_many(self, roots: Iterable[Any], variables: dict[str, Any] | None = None, *, host: Any = None) -> list[Any]:
        """``[evaluate(root, variables, host=host) for root in roots]``, sharing one context: each
        root still gets a fresh budget, ``$$NOW`` and scopes."""
        run = self.compiled()
        ctx = ExpressionContext(MISSING, variables, host=host)
        out: list[Any] = []
        append = out.append
        try:
            for root in roots:
                ctx.root, ctx.ops, ctx._now = root, 0, None
                if len(ctx.scopes) != 1 or ctx.scopes[0]:
                    ctx.scopes = [{}]
                append(run(ctx))
        except RecursionError as exc:  # defensive, as in ``evaluate``
            raise _too_deep_to_run() from exc
        return out


def _guarded(run: Callable[[ExpressionContext], Any], ctx: ExpressionContext) -> Any:
    try:
        return run(ctx)
    except RecursionError as exc:  # defensive: the limits should make this unreachable
        raise _too_deep_to_run() from exc


def _too_deep_to_run() -> Fault:
    return Fault("cortex.invalidArgument.tooLarge", reason="Expression too deep to evaluate.")


def parse(value: Any) -> Expression:
    return Expression(value)


# ---- system variables (§2.3) ------------------------------------------------------------


class _SystemVariable(Node):
    name: ClassVar[str] = ""
    paths: ClassVar[str] = "yes"  # "yes", "no" (fault) or "ignored"

    def __init__(self, rest: str, path: str, depth: int) -> None:
        if rest and self.paths == "no":
            raise qf(f"$${self.name} cannot access properties.", path)
        self.rest = rest if self.paths == "yes" else ""
        self.path, self.depth = path, depth

    def value(self, ctx: ExpressionContext) -> Any:
        raise NotImplementedError

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = self.value(ctx)
        return read_path(value, self.rest) if self.rest and value is not MISSING else value


@register(SYSTEM_VARIABLES, "ROOT")
class _Root(_SystemVariable):
    def value(self, ctx: ExpressionContext) -> Any:
        return ctx.root


@register(SYSTEM_VARIABLES, "NOW")
class _Now(_SystemVariable):
    paths = "no"

    def value(self, ctx: ExpressionContext) -> Any:
        return ctx.now()


@register(SYSTEM_VARIABLES, "DATE")
class _Date(_SystemVariable):
    paths = "no"

    def value(self, ctx: ExpressionContext) -> Any:
        now = datetime.now(timezone.utc)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


@register(SYSTEM_VARIABLES, "RANDOM")
class _Random(_SystemVariable):
    paths = "ignored"

    def value(self, ctx: ExpressionContext) -> Any:
        return random.random()


@register(SYSTEM_VARIABLES, "REMOVE")
class _Remove(_SystemVariable):
    paths = "ignored"

    def value(self, ctx: ExpressionContext) -> Any:
        return MISSING


@register(SYSTEM_VARIABLES, "CONTEXT")
class _Context(_SystemVariable):
    def value(self, ctx: ExpressionContext) -> Any:
        return ctx.system.get("$$CONTEXT", MISSING)


@register(SYSTEM_VARIABLES, "VAR")
class _Var(_SystemVariable):
    """``$$VAR.<name>[.path]``: a dynamic read, no parse-time visibility check."""

    def __init__(self, rest: str, path: str, depth: int) -> None:
        name, _, tail = rest.partition(".")
        check_variable_name(name, "SystemVariable $VAR", path)
        self.var, self.tail, self.path, self.depth, self.rest = name, tail, path, depth, ""

    def value(self, ctx: ExpressionContext) -> Any:
        value = ctx.lookup(self.var)
        return read_path(value, self.tail) if self.tail and value is not MISSING else value


def deep_copy(value: Any) -> Any:
    return copy.deepcopy(value)


_ = EMPTY
