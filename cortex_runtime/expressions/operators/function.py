"""``$function`` (JavaScript in the sandbox) and ``$sleep`` (a bounded wait); operator spec a-i, j-z.

``$function`` runs its ``body`` as a script of type ``operation`` (its own limits: 1,000 ms)
through the runtime of the caller (``ctx.host.runtime``), as the caller's principal, one run
deeper than the caller; the evaluated ``args`` are its ``script.arguments``. Without a runtime
(a bare ``parse(x).evaluate()``) there is no sandbox and it faults ``kNotImplemented``.

``$sleep`` waits at most 10,000 ms and never past the calling run's deadline (``host.deadline``,
a ``time.monotonic()`` value): a wait that would cross it faults ``script.timeout.execution``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..values import MISSING, plain

__all__ = ["FunctionOp", "SleepOp", "SLEEP_ENVIRONMENT", "MAX_SLEEP_MS"]

MAX_SLEEP_MS = 10_000
# The server's ``app.env`` / ``app.domain``: this runtime is a development host (the sandbox
# reports ``script.env.name`` "development"), so ``$sleep`` parses.
SLEEP_ENVIRONMENT = {"env": "development", "domain": "local"}


@register(OPERATORS, "$function")
class FunctionOp(Operator):
    """``{body, args}``; ``args`` (when given) must be an array; ``body`` becomes a string."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        args = raw.get("args", MISSING)
        if args is None or args is MISSING:
            self.args: list[Any] = []
        elif isinstance(args, list):
            self.args = [parser.expr(item, join(join(self.path, "args"), i), self.depth + 1) for i, item in enumerate(args)]
        else:
            raise qf("$function requires an array.", join(self.path, "args"))
        body = raw.get("body", MISSING)
        self.body = "undefined" if body is MISSING else _js_string(body)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        args = [plain(arg.evaluate(ctx)) for arg in self.args]
        host = ctx.host
        runtime = getattr(host, "runtime", None)
        if host is None or runtime is None or getattr(runtime, "sandbox", None) is None:
            raise Fault("kNotImplemented", reason="$function needs the script sandbox; none is available here.", path=self.path)
        from ...objects.orgs import Orgs

        org = Orgs(host.store).get_by_id(host.org_id)
        if org is None:
            raise Fault("cortex.notFound.org", reason="The org of this evaluation does not exist.", path=self.path)
        layer = host.layer
        result = runtime.run(
            self.body,
            org=org,
            principal=layer.principal,
            script_type="operation",
            arguments=[None if a is MISSING else a for a in args],
            depth=int(getattr(layer, "run_depth", 1) or 1) + 1,
        )
        if result.fault is not None:
            raise result.fault
        return _from_js(result.value)


def _from_js(value: Any) -> Any:
    """The sandbox's ``undefined`` is the engine's MISSING, at any depth."""
    from ...sandbox.codec import Undefined

    if isinstance(value, Undefined):
        return MISSING
    if isinstance(value, dict):
        return {k: _from_js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_js(v) for v in value]
    return value


def _js_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- $sleep ---------------------------------------------------------------------------------

_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


def _parse_int(value: Any) -> int:
    """JS ``parseInt`` of the raw value: ``"250ms"`` -> 250, non-numeric -> 0 (NaN)."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return 0
    if isinstance(value, (int, float)):
        return int(value) if value == value and abs(value) != float("inf") else 0
    match = _LEADING_INT.match(str(value))
    return int(match.group(1)) if match else 0


@register(OPERATORS, "$sleep")
class SleepOp(Operator):
    """A raw literal number of milliseconds, clamped to 0..10,000; evaluates to undefined."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if SLEEP_ENVIRONMENT.get("env") != "development" or SLEEP_ENVIRONMENT.get("domain") == "market":
            raise qf("$sleep is not available in this environment.", self.path)
        self.ms = max(0, min(_parse_int(raw), MAX_SLEEP_MS))

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        wait = self.ms / 1000
        deadline = getattr(ctx.host, "deadline", None)
        if deadline is not None:
            left = deadline - time.monotonic()
            if wait > left:
                time.sleep(max(0.0, left))
                raise Fault("script.timeout.execution", reason=f"$sleep of {self.ms} ms would pass the run's time limit.", path=self.path)
        if wait > 0:
            time.sleep(wait)
        return MISSING
