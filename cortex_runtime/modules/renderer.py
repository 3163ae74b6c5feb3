"""``require('renderer')``: the host side of the ``Job`` builder (modules.md §24). The builder and
its checks are ``js_prelude/modules/renderer.js``; what it sends lands here as
``renderer.native.start|status|cancel|getVersion``.

Those four would talk to the external Cortex Renderer service (templated CSV/HTML/PDF output, the
Prince XML engine for PDF), which this host does not run, so each gives
``cortex.notImplemented.unspecified`` (``kNotImplemented``, 501) naming the method. A job's
checks run before that, so a script's mistakes are reported as the platform reports them.
"""

from __future__ import annotations

from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["NOT_IMPLEMENTED", "RendererModule"]

NOT_IMPLEMENTED = ("start", "status", "cancel", "getVersion")


class RendererModule:
    require_name = "renderer.native"
    prefix = "renderer.native."
    methods = NOT_IMPLEMENTED
    needs_context = False

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        if method in NOT_IMPLEMENTED:
            raise Fault(
                "cortex.notImplemented.unspecified",
                reason=f"renderer Job.{method}() is not implemented: this host has no Cortex Renderer service.",
                path=f"renderer.Job.{method}",
            )
        raise Fault("script.invalidArgument.unknownCommand", path=name)
