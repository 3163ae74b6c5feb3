"""The host side of ``org.objects.accounts`` statics that need the server's apps: auth tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt

from ..faults import Fault
from ..sandbox import RunInfo

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["AccountsModule"]


class AccountsModule:
    """``accounts.createAuthToken [apiKey, subject, options]``, ``accounts.revokeAuthToken [jti]``,
    ``accounts.decodeAuthToken [token]``."""

    prefix = "accounts."
    needs_runtime = True

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        context = run.context
        org = context.org
        if name == "accounts.createAuthToken":
            api_key, subject = (list(args) + [None, None])[:2]
            options = args[2] if len(args) > 2 and isinstance(args[2], dict) else {}
            if context.objects.safe:
                options = {k: v for k, v in options.items() if k not in ("skipAcl", "grant", "roles", "bypassCreateAcl")}
            return self._runtime.tokens.create(org, self._runtime.audience(org.code), str(api_key), subject, options)
        if name == "accounts.revokeAuthToken":
            return self._runtime.tokens.revoke(org, str(args[0] if args else ""))
        if name == "accounts.decodeAuthToken":
            try:
                return jwt.decode(str(args[0] if args else ""), options={"verify_signature": False})
            except jwt.PyJWTError as exc:
                raise Fault("cortex.accessDenied.invalidJwt", reason="The token cannot be decoded.") from exc
        raise Fault("script.invalidArgument.unknownCommand", path=name)
