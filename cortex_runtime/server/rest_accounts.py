"""Account endpoints beyond the instance ones (rest-api-auth.md §6.2).

| Method/path | Response |
|---|---|
| ``GET /accounts/me[/{path}]`` (also ``PUT``/``PATCH``/``DELETE``) | the caller's account, as the instance endpoints answer for its id |
| ``POST /accounts/me/resend-verification`` | ``true``; verified already → ``cortex.conflict.accountAlreadyVerified`` (409) |
| ``POST /accounts/request-password-reset`` | ``true``, for unknown emails too; a bad ``accountId`` → ``invalidObjectId`` (400) |
| ``POST /accounts/reset-password`` | ``true``; unknown or used token → ``cortex.notFound.passwordResetToken`` |
| ``POST /accounts/{verificationToken}`` | the verified account's id; unknown token → ``cortex.notFound.accountToken`` |

``me`` needs a caller that is an account (a bearer token, a signed request acting as an
account); anonymous callers get ``cortex.accessDenied.notLoggedIn`` (403). The emails carry
one-time tokens and go through the notifications outbox (accounts/signin.py).

Choices where the spec is silent:
- ``POST /accounts/resend-verification`` is the same endpoint as ``/accounts/me/resend-verification``.
- This host keeps no login sessions, so the account has no session ``key`` to show, and the
  session endpoints (``/accounts/me/logout``, ``/accounts/me/update-password``) answer
  ``kNotImplemented``.
- A request-password-reset body needs one of ``email``, ``accountId`` or ``username``
  (``cortex.invalidArgument.required`` otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..accounts.signin import SignIn
from ..faults import Fault

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["ME", "account_action", "me_id"]

ME = "me"
_SESSION_ONLY = ("logout", "update-password")


def me_id(call: Call) -> str:
    """The caller's account id, for ``/accounts/me``; anonymous callers are not logged in."""
    if not call.principal.is_authenticated:
        raise Fault("cortex.accessDenied.notLoggedIn")
    return str(call.principal._id)


def _body(call: Call) -> dict[str, Any]:
    if call.body is None:
        return {}
    if not isinstance(call.body, dict):
        raise Fault("cortex.invalidArgument.unspecified", reason="The body must be an object.")
    return call.body


def account_action(runtime: Runtime, call: Call, parts: list[str]) -> tuple[bool, Any]:
    """Serve the account endpoint ``parts`` names when it is one of this module's: ``(True,
    result)``; ``(False, None)`` leaves the request to the instance endpoints."""
    if call.method != "POST" or len(parts) not in (2, 3):
        return False, None
    action = parts[-1] if len(parts) == 3 and parts[1] == ME else (parts[1] if len(parts) == 2 else None)
    if action is None:
        return False, None
    signin = SignIn(runtime, call.org, runtime.layer(call.org, call.principal))
    if action == "resend-verification":
        me_id(call)
        return True, signin.resend_verification(call.principal._id)
    if len(parts) == 3:
        if action in _SESSION_ONLY:
            raise Fault("kNotImplemented", reason=f"POST /accounts/me/{action}: this host keeps no login sessions.", path=action)
        return False, None
    if action == "request-password-reset":
        body = _body(call)
        return True, signin.request_password_reset(email=body.get("email"), account_id=body.get("accountId"), username=body.get("username"))
    if action == "reset-password":
        body = _body(call)
        return True, signin.reset_password(body.get("token"), body.get("password"))
    if action in ("login", "register", "logout"):
        raise Fault("kNotImplemented", reason=f"POST /accounts/{action}: this host keeps no login sessions.", path=action)
    if action == ME or _looks_like_id(action):
        return False, None
    return True, str(signin.verify_account(action))


def _looks_like_id(text: str) -> bool:
    return len(text) == 24 and all(c in "0123456789abcdefABCDEF" for c in text)
