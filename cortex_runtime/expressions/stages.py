"""Pipelines and stages (spec §6): lazy generators, each stage binding ``$$ROOT`` per element.

A stage's expressions (``$match`` conditions, ``$project``/``$set`` bodies, ``$group`` keys and
accumulator arguments, ``$transform`` phases, ``$pipeline``'s ``as``, a ``$cursor`` options
expression) are ``StageExpression``s: evaluated as trees for the first few documents, then
through the engine's compiled form, with the same results, faults and budget.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

from ..faults import Fault
from .core import _COMPILE_AFTER, _CUSTOM, ACCUMULATORS, MAX_DEPTH, STAGES, ExpressionContext, Node, Parser, _is_operator_key, check_literal_depth, check_variable_name, compile_node, join, qf, read_path, register, wrap
from .types import deep_equal
from .values import EMPTY, MISSING, plain, string_form, truthy
from .variables import StageCursor

__all__ = ["Pipeline", "Stage", "StageExpression"]


class StageExpression(Node):
    """A stage's parsed expression. It runs as a tree until it has been evaluated
    ``_COMPILE_AFTER`` times (over all runs of the stage: a pipeline over a few documents never
    pays for code generation), then compiled; a tree that does not compile stays a tree.
    ``ctx.root`` is read at each call, as the tree does."""

    def __init__(self, node: Node) -> None:
        self.node, self.path, self.depth = node, node.path, node.depth
        self.calls = 0
        self.run: Any = None

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.calls += 1
        if self.calls < _COMPILE_AFTER:
            return self.node.evaluate(ctx)
        return self.compiled()(ctx)

    def compiled(self) -> Any:
        """The compiled function (made now if it is not yet), or the tree's ``evaluate``. It
        then replaces this object's ``evaluate``, so a stage calls it with no step between."""
        if self.run is None:
            self.run = self.evaluate = compile_node(self.node) or self.node.evaluate  # type: ignore[method-assign]
        return self.run


class Stage:
    name = ""

    def __init__(self, parser: Parser, raw: Any, path: str) -> None:
        self.path = path
        if raw is None or raw is MISSING:
            raise qf(f"{self.name} stage is empty", path)
        self.setup(parser, raw)

    def setup(self, parser: Parser, raw: Any) -> None:
        raise NotImplementedError

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        source = iter(source)
        cursor = StageCursor(source, self.path)  # $$CURSOR / $$CLOSE
        # The loop reads ``source`` itself rather than through the cursor (a call less per
        # element); an element ``$$CURSOR.hasNext`` looked ahead at is taken from the cursor next.
        pending, system, apply = cursor.pending, ctx.system, self.apply
        for item in source:
            while True:
                cursor.position += 1
                ctx.root = item
                saved = system.get("$$CURSOR#")
                system["$$CURSOR#"] = cursor
                try:
                    out = apply(item, ctx)
                finally:
                    system["$$CURSOR#"] = saved
                if out is not EMPTY:
                    yield out
                if cursor.closed:
                    return
                if not pending:
                    break
                item = pending.pop()

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        raise NotImplementedError

    def expr(self, parser: Parser, raw: Any, at: str | None = None) -> StageExpression:
        return StageExpression(parser.expr(raw, at or self.path, 2))


@register(STAGES, "$match")
class Match(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.cond = self.expr(parser, raw)

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        return item if truthy(self.cond.evaluate(ctx)) else EMPTY


@register(STAGES, "$project")
class Project(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.body = self.expr(parser, wrap(raw))

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        out = self.body.evaluate(ctx)
        return EMPTY if out is MISSING else out


@register(STAGES, "$set")
class Set(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict) or not raw:
            raise qf("Stage $set expects an object with properties.", self.path)
        self.body = self.expr(parser, raw if _is_operator_key(raw) else {"$object": raw})

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        out = self.body.evaluate(ctx)
        return {**item, **out} if isinstance(out, dict) and isinstance(item, dict) else item


@register(STAGES, "$unset")
class Unset(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        paths = raw if isinstance(raw, list) else [raw]
        if not paths:
            raise qf("$unset requires an array with at least 1 elements.", self.path)
        self.paths = [str(p) for p in paths]

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        if not isinstance(item, dict):
            return item
        item = copy.deepcopy(item)
        for path in self.paths:
            *parents, last = [s for s in path.split(".") if s] or [""]
            target = item
            for segment in parents:
                nxt = target.get(segment) if isinstance(target, dict) else None
                if not isinstance(nxt, dict):
                    nxt = {}
                    if isinstance(target, dict):
                        target[segment] = nxt
                target = nxt
            if isinstance(target, dict):
                target.pop(last, None)
        return item


class _Count(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        valid = not isinstance(raw, bool) and isinstance(raw, (int, str)) and string_form(raw).isdigit() and int(raw) >= 1
        if not valid:
            raise qf(f"Stage {self.name} requires a positive integer.", self.path)
        self.n = int(raw)


@register(STAGES, "$limit")
class Limit(_Count):
    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for i, item in enumerate(source):
            yield item
            if i + 1 >= self.n:
                return


@register(STAGES, "$skip")
class Skip(_Count):
    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for i, item in enumerate(source):
            if i >= self.n:
                yield item


@register(STAGES, "$count")
class CountStage(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.field = check_variable_name(raw, "Stage $count", self.path)

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        yield {self.field: sum(1 for item in source if item is not MISSING and item is not EMPTY)}


@register(STAGES, "$unwind")
class Unwind(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, str):
            raw = {"path": raw}
        if not isinstance(raw, dict):
            raise qf("$unwind stage expects an object with a path value.", self.path)
        path = raw.get("path")
        if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$") or len(path) < 2:
            raise qf("$unwind stage expects a field name.", self.path)
        self.field = path[1:]
        index = raw.get("includeArrayIndex")
        self.index = None if index is None else check_variable_name(index, "Stage $unwind", self.path)
        self.preserve = bool(raw.get("preserveNullAndEmptyArrays"))

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for item in source:
            value = read_path(item, self.field)
            entries = value if isinstance(value, list) else [value]
            if not entries and self.preserve:
                entries = [MISSING]
            ctx.charge(len(entries), self.path)
            for i, entry in enumerate(entries):
                if (entry is None or entry is MISSING) and not self.preserve:
                    continue
                clone = copy.deepcopy(item)
                _set_path(clone, self.field, entry)
                if self.index:
                    clone[self.index] = i
                yield clone


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for segment in parents:
        doc = doc.setdefault(segment, {})
    if value is MISSING:
        doc.pop(last, None)
    else:
        doc[last] = value


@register(STAGES, "$group")
class Group(Stage):
    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict) or not raw:
            raise qf("Stage $group expects an object with properties.", self.path)
        key = raw.get("_id")
        self.keyed = key is not None
        if isinstance(key, dict) and not _is_operator_key(key):
            for name in key:
                check_variable_name(name, "Stage $group", join(self.path, "_id"))
            key = {"$object": key}
        self.key = self.expr(parser, key, join(self.path, "_id")) if self.keyed else None
        self.fields: list[tuple[str, type, Node]] = []
        for name, spec in raw.items():
            if name == "_id":
                continue
            check_variable_name(name, "Stage $group", self.path)
            at = join(self.path, name)
            if not isinstance(spec, dict) or len(spec) != 1:
                raise qf("A group accumulator must be an object with a single key.", at)
            acc, arg = next(iter(spec.items()))
            cls = ACCUMULATORS.get(acc)
            if cls is None:
                raise qf(f"Unsupported accumulator ${acc[1:]}", at)
            self.fields.append((name, cls, self.expr(parser, arg, join(at, acc))))

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        groups: list[tuple[Any, list[Any]]] = []
        for item in source:
            ctx.root = item
            key = self.key.evaluate(ctx) if self.key is not None else None
            found = next((g for g in groups if deep_equal(g[0], key)), None)
            if found is None:
                ctx.charge(1, self.path)
                found = (key, [cls() for _, cls, _ in self.fields])
                groups.append(found)
            for state, (_, _, node) in zip(found[1], self.fields):
                state.add(node.evaluate(ctx))
        for key, states in groups:
            out: dict[str, Any] = {"_id": key} if self.keyed else {}
            for state, (name, _, _) in zip(states, self.fields):
                out[name] = state.result()
            yield out


class Pipeline:
    """A parsed stage list; ``run`` streams the input through every stage.

    ``parser`` is given for inline sub-pipelines (they see the enclosing variables); a
    one-key stage object whose key is a custom name (``{"$c_name": as}``) calls the named
    pipeline (§6.13)."""

    def __init__(self, stages: Any, parser: Parser | None = None, path: str = "pipeline") -> None:
        if not isinstance(stages, list) or not stages:
            raise qf("pipeline requires an array with at least 1 elements.", path)
        parser = parser or Parser()
        self.stages: list[Stage] = []
        for i, raw in enumerate(stages):
            at = f"{path}.{i}"
            if not isinstance(raw, dict) or len(raw) != 1:
                first = next(iter(raw), "[object Object]") if isinstance(raw, dict) else string_form(raw)
                raise qf(f"Unknown stage type {first}", at)
            name, arg = next(iter(raw.items()))
            cls = STAGES.get(name)
            if cls is None and isinstance(name, str) and name.startswith("$") and _CUSTOM.match(name[1:]):
                self.stages.append(PipelineStage(parser, {"as": arg, "in": name[1:]}, f"{at}.{name}"))
                continue
            if cls is None:
                raise qf(f"Unknown stage type {name}", at)
            self.stages.append(cls(parser, arg, f"{at}.{name}"))

    def run(self, source: Any, variables: dict[str, Any] | None = None, *, ctx: ExpressionContext | None = None, host: Any = None) -> Iterator[Any]:
        if isinstance(self.stages[0], CursorStage) and (source is MISSING or source is None):
            source = []  # $cursor first: a missing input is ignored (§6.1)
        if isinstance(source, (str, bytes)) or not isinstance(source, Iterable) or isinstance(source, dict):
            shown = "undefined" if source is MISSING else string_form(source)
            raise Fault("cortex.invalidArgument.castError", reason=f'Could not cast "{shown}" to Cursor.')
        ctx = ctx or ExpressionContext(MISSING, variables, host=host)
        return self.chain(_until_missing(iter(source), ctx), ctx)

    def chain(self, stream: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for stage in self.stages:
            stream = stage.run(stream, ctx)
        return stream


@register(STAGES, "$cursor")
class CursorStage(Stage):
    """A database read through the caller's access (§6.3): literal options or an expression."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, dict) and not _is_operator_key(raw):
            check_literal_depth(raw, self.path)
            self.options: Any = raw
        else:
            self.options = self.expr(parser, raw)

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for item in source:  # drained first; the options expression sees the last element
            ctx.root = item
        options = copy.deepcopy(self.options) if isinstance(self.options, dict) else self.options.evaluate(ctx)
        if not isinstance(options, dict) or not isinstance(options.get("object"), str) or not options["object"]:
            raise Fault("cortex.invalidArgument.object", reason="No object name.", path=f"{self.path}.object")
        if ctx.host is None:
            raise Fault("kNotImplemented", reason="$cursor needs an org and a principal; none is given here.", path=self.path)
        options = ctx.host.read_options(plain(options))
        for key in _UNSUPPORTED_CURSOR_OPTIONS:
            options.pop(key, None)
        try:
            for doc in ctx.host.layer.iterate(options["object"], options):
                ctx.charge(1, self.path)
                yield doc
        except Fault:
            raise
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a host error must not escape as a traceback
            raise Fault("kError", reason=str(exc) or type(exc).__name__, path=self.path) from exc


_UNSUPPORTED_CURSOR_OPTIONS = ("expressionPipeline", "transform", "batchSize", "operation")




@register(STAGES, "$pipeline")
class PipelineStage(Stage):
    """An inline sub-pipeline (enclosing variables visible) or a named one (fresh scope), run
    once over the whole input, mapped through ``as`` first (§6.13)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, (list, str)):
            raw = {"in": raw}
        if not isinstance(raw, dict):
            raise qf("Operator $pipeline expects an object.", self.path)
        as_, in_ = raw.get("as", MISSING), raw.get("in", MISSING)
        self.as_ = None if as_ is MISSING or as_ == "$$ROOT" else self.expr(parser, wrap(as_), join(self.path, "as"))
        if isinstance(in_, str) and _CUSTOM.match(in_):
            self.named: str | None = in_
            self.inline: Pipeline | None = None
        elif isinstance(in_, list):
            self.named, self.inline = None, Pipeline(in_, parser, join(self.path, "in"))
        else:
            raise qf("Operator $pipeline expects an object.", self.path)

    def _mapped(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        for item in source:
            if self.as_ is None:
                yield item
                continue
            ctx.root = item
            value = self.as_.evaluate(ctx)
            if value is MISSING:
                return  # quirk: an undefined ``as`` ends the stream
            yield value

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        mapped = self._mapped(source, ctx)
        if self.inline is not None:
            yield from self.inline.chain(mapped, ctx)
            return
        from .operators.database import named_value

        pipeline = named_value(ctx.host, "pipeline", str(self.named))
        if len(ctx.scopes) >= MAX_DEPTH:
            raise qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", self.path)
        sub = ExpressionContext(MISSING, ctx.system, max_ops=ctx.max_ops, host=ctx.host)
        sub.scopes = [{} for _ in range(len(ctx.scopes) + 1)]
        stream = pipeline.chain(mapped, sub)
        while True:
            sub.ops = start = ctx.ops
            try:
                item = next(stream)
            except StopIteration:
                ctx.ops += sub.ops - start
                return
            ctx.ops += sub.ops - start
            ctx.charge(0, self.path)
            yield item


def _until_missing(source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
    """Inside cursors undefined ends the stream (§1.6)."""
    for item in source:
        if item is MISSING:
            return
        ctx.ops += 1
        if ctx.ops > ctx.max_ops:
            ctx.charge(0)
        yield item


@register(STAGES, "$var")
class VarStage(Stage):
    """``{"$var": name}``: each element is stored in ``name`` (in the root scope) and passed on;
    ``$$name`` is visible to the later stages only, ``$$VAR.name`` anywhere (§6.12)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.var = check_variable_name(raw, "Stage $var", self.path)
        parser.declare(self.var)  # declared as this stage is parsed: only later stages see it

    def apply(self, item: Any, ctx: ExpressionContext) -> Any:
        ctx.scopes[0][self.var] = item
        return item


class _Phase:
    def __init__(self, sets: list[tuple[str, Node]], body: Node | None) -> None:
        self.sets, self.body = sets, body


@register(STAGES, "$transform")
class TransformStage(Stage):
    """A stateful streaming transform (§6.11): ``vars`` initialised once, then ``before``,
    ``each`` per element and ``after``; every phase runs its ``set`` in order, then ``in``.
    The variables live in a scope of the stage, entered for each evaluation only, so stages
    after it never see them and its state survives between pulls."""

    PHASES = ("before", "each", "after")

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf("Stage $transform expects an object.", self.path)
        if not any(isinstance(raw.get(p), dict) or raw.get(p) is not None for p in self.PHASES):
            raise qf("Stage $transform expects an object with properties.", join(self.path, "phases"))
        vars_ = raw.get("vars", {})
        if vars_ is None:
            vars_ = {}
        if not isinstance(vars_, dict):
            raise qf("Operator ExpressionRules expects an object.", join(self.path, "vars"))
        self.vars: list[tuple[str, Node]] = []
        with parser.scope():
            for name, init in vars_.items():
                check_variable_name(name, "Operator ExpressionRules", join(self.path, "vars"))
                parser.declare(name)
                self.vars.append((name, self.expr(parser, init, join(join(self.path, "vars"), name))))
            names = {name for name, _ in self.vars}
            self.phases: dict[str, _Phase | None] = {}
            for phase in self.PHASES:
                spec = raw.get(phase)
                if spec is None:
                    self.phases[phase] = None
                    continue
                at = join(self.path, phase)
                if not isinstance(spec, dict):
                    raise qf("Operator $transform expects an object.", at)
                sets_raw = spec.get("set") or {}
                if not isinstance(sets_raw, dict):
                    raise qf("Operator $transform expects an object.", join(at, "set"))
                sets = []
                for name, value in sets_raw.items():
                    if name not in names:
                        raise qf(f"User variable {name} not found in $transform.", join(at, "set"))
                    sets.append((name, self.expr(parser, value, join(join(at, "set"), name))))
                body = self.expr(parser, spec["in"], join(at, "in")) if "in" in spec else None
                self.phases[phase] = _Phase(sets, body)

    def _eval(self, node: Node, state: dict[str, Any], ctx: ExpressionContext) -> Any:
        if len(ctx.scopes) >= MAX_DEPTH:
            raise qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", self.path)
        ctx.scopes.append(state)
        try:
            return node.evaluate(ctx)
        finally:
            ctx.scopes.pop()

    def _phase(self, name: str, state: dict[str, Any], ctx: ExpressionContext, item: Any) -> Any:
        phase = self.phases[name]
        if phase is None:
            return item
        for var, node in phase.sets:
            state[var] = self._eval(node, state, ctx)
        if phase.body is None:
            return item
        return self._eval(phase.body, state, ctx)

    def run(self, source: Iterator[Any], ctx: ExpressionContext) -> Iterator[Any]:
        state: dict[str, Any] = {}
        ctx.root = MISSING
        for name, node in self.vars:
            state[name] = self._eval(node, state, ctx)
        out = self._phase("before", state, ctx, MISSING)
        if out is not MISSING and out is not EMPTY:
            yield out
        for item in source:
            ctx.root = item
            out = self._phase("each", state, ctx, item)
            if out is not MISSING and out is not EMPTY:
                yield out
        ctx.root = MISSING
        out = self._phase("after", state, ctx, MISSING)
        if out is not MISSING and out is not EMPTY:
            yield out
