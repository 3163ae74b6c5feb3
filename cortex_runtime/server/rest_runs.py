"""A module run for a REST request: what a Python script module needs to serve an endpoint.

Some endpoints (connections) are the script module's operations over HTTP, so the REST side
calls the module's functions with a run of its own: the caller's org and object layer, no
script (``script_id`` None), and never in safe mode, since the options handed over are built by
the endpoint, not taken from the request.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..config import Limits
from ..modules.objects import ObjectsRun
from ..runtime import RunContext
from ..sandbox import RunInfo
from ..sandbox.sandbox import OrgRef

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["request_run"]


def request_run(runtime: Runtime, call: Call) -> RunInfo:
    """A run as the request's caller, in its org, with the default script limits."""
    limits = Limits()
    layer = runtime.layer(call.org, call.principal)
    context = RunContext(org=call.org, principal=call.principal, objects=ObjectsRun(layer))
    return RunInfo(
        script_type="route",
        limits=limits,
        org=OrgRef(call.org._id, call.org.code),
        deadline=time.monotonic() + limits.timeout_ms / 1000,
        libraries=None,
        context=context,
    )
