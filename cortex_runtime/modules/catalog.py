"""Every script module implemented in Python, in one list (compare modules.md §33).

Modules that must act on the script's own values (``util``, ``util.id``, ``util.paths``,
``util.values``, ``util.hex``) are plain JS in ``js_prelude/65_util.js``, found by
``__cx_builtinModules`` in ``js_prelude/60_modules.js``.

Each entry is ``(python module, class)``; a class whose constructor takes the runtime says so
with ``needs_runtime = True``. ``standard_modules`` builds them for a Runtime's registry.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CATALOG", "standard_modules"]

CATALOG: tuple[tuple[str, str], ...] = (
    ("cortex_runtime.modules.objects", "ObjectsModule"),
    ("cortex_runtime.modules.script", "ScriptModule"),
    ("cortex_runtime.modules.connections", "ConnectionsModule"),
    ("cortex_runtime.modules.xml", "XmlModule"),
    ("cortex_runtime.triggers", "TriggerModule"),
    ("cortex_runtime.modules.accounts", "AccountsModule"),
    ("cortex_runtime.modules.route", "RouteModule"),
    # Modules part 1 (logging, store-backed, pure, platform); see the scope.
    ("cortex_runtime.modules.logger", "LoggerModule"),
    ("cortex_runtime.modules.api", "ApiModule"),
    ("cortex_runtime.modules.debug", "DebugModule"),
    ("cortex_runtime.modules.config", "ConfigModule"),
    ("cortex_runtime.modules.cache", "CacheModule"),
    ("cortex_runtime.modules.counters", "CountersModule"),
    ("cortex_runtime.modules.crypto", "CryptoModule"),
    ("cortex_runtime.modules.base64", "Base64Module"),
    ("cortex_runtime.modules.qs", "QsModule"),
    ("cortex_runtime.modules.util_ip", "UtilIpModule"),
    ("cortex_runtime.modules.schemas", "SchemasModule"),
    ("cortex_runtime.modules.session", "SessionModule"),
    ("cortex_runtime.modules.expressions", "ExpressionsModule"),
    ("cortex_runtime.modules.notifications", "NotificationsModule"),
    ("cortex_runtime.modules.http", "HttpModule"),
    # File transfer (off by default, transfer.py), SAML and the renderer's job builder.
    ("cortex_runtime.modules.sftp", "SftpModule"),
    ("cortex_runtime.modules.ftp", "FtpModule"),
    ("cortex_runtime.modules.saml", "SamlModule"),
    ("cortex_runtime.modules.renderer", "RendererModule"),
)


def standard_modules(runtime: Any) -> list[Any]:
    """One instance of every catalogued module; modules not written yet are left out."""
    out = []
    for path, name in CATALOG:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name == path:
                continue  # not written yet
            raise
        cls = getattr(module, name)
        out.append(cls(runtime) if getattr(cls, "needs_runtime", False) else cls())
    return out
