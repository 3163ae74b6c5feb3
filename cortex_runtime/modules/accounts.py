"""The host side of the ``org.objects.accounts`` statics (scripting-core.md §6, modules.md §31).

Host calls (the JS side is js_prelude/71_accounts.js):

- ``accounts.createAuthToken [apiKey, subject, options]`` -> JWT string
- ``accounts.decodeAuthToken [token]`` -> claims (unverified)
- ``accounts.authorizeToken [token]`` -> principal ``{_id, email, name, roles, scope}`` with the
  compiled scope; fires the subject's ``authorizeToken.after`` triggers
- ``accounts.revokeAuthToken [tokenOrId]`` -> Boolean
- ``accounts.getSubjectTokens [apiKey, subject]`` / ``accounts.revokeSubjectTokens [apiKey, subject]``
- ``accounts.inAuthScope [compiledScope, scope, matchPrefix]`` -> Boolean
- ``accounts.principalInAuthScope [accountId, scope, matchPrefix]`` -> Boolean
  (``script.principal.inAuthScope``: the running principal's token scope; none = every scope)
- ``accounts.compileAuthScope [scopes]`` -> the compiled tree; ``accounts.optimizeAuthScope
  [scopes]`` -> the shortest equivalent list of chains
- ``accounts.preAuth [email]``, ``accounts.failAuth [email, err]``, ``accounts.login [payload,
  options]``, ``accounts.register [payload, options]``, ``accounts.provision [payload, options]``

Tokens live in ``server/tokens.py`` (the same code verifies REST bearer tokens); sign-in in
``accounts/signin.py``. A script in safe mode (``script.as`` with ``acl.safe``) cannot mint
tokens that skip the ACL, grant access or add roles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..accounts.scopes import compile_scope, in_auth_scope, scope_strings
from ..accounts.signin import SignIn
from ..faults import Fault
from ..objects.instances import ObjectLayer
from ..objects.orgs import Org
from ..objects.principals import Principal
from ..objects.store import map_store_errors
from ..sandbox import RunInfo

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["AccountsModule"]

_PRIVILEGED_OPTIONS = ("skipAcl", "grant", "roles", "bypassCreateAcl")
# Calls that need a request: route scripts only.
_ROUTE_ONLY = ("accounts.login", "accounts.register")
# Named in the platform's accounts API but needing login sessions or password-reset mail flows,
# which this host does not have.
_NOT_IMPLEMENTED = ("accounts.logout", "accounts.attemptAuth", "accounts.createPasswordResetToken")


def _arg(args: list[Any], index: int, default: Any = None) -> Any:
    return args[index] if len(args) > index and args[index] is not None else default


def _options(args: list[Any], index: int) -> dict[str, Any]:
    value = _arg(args, index, {})
    if not isinstance(value, dict):
        raise Fault("cortex.invalidArgument.unspecified", reason="options must be an object.", path="options")
    return value


class AccountsModule:
    """Dispatches the ``accounts.*`` host calls; see the module docstring."""

    prefix = "accounts."
    needs_runtime = True

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        runtime.tokens.on_authorized = self._request_authorized

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        context = run.context
        org = context.org
        tokens = self._runtime.tokens
        if name in _ROUTE_ONLY and run.script_type != "route":
            raise Fault("cortex.invalidArgument.unspecified", reason=f"{name} is only available in route scripts.", path=name)
        if name == "accounts.createAuthToken":
            options = _options(args, 2)
            if context.objects.safe:
                options = {k: v for k, v in options.items() if k not in _PRIVILEGED_OPTIONS}
            return tokens.create(org, self._runtime.audience(org.code), str(_arg(args, 0, "")), _arg(args, 1), options)
        if name == "accounts.decodeAuthToken":
            return tokens.decode(_arg(args, 0, ""))
        if name == "accounts.authorizeToken":
            return self._authorize(run, _arg(args, 0, ""))
        if name == "accounts.revokeAuthToken":
            return tokens.revoke(org, _arg(args, 0))
        if name == "accounts.getSubjectTokens":
            return tokens.subject_tokens(org, str(_arg(args, 0, "")), _arg(args, 1))
        if name == "accounts.revokeSubjectTokens":
            return tokens.revoke_subject(org, str(_arg(args, 0, "")), _arg(args, 1))
        if name == "accounts.inAuthScope":
            return in_auth_scope(_arg(args, 0), _arg(args, 1), bool(_arg(args, 2, True)))
        if name == "accounts.principalInAuthScope":
            return self._principal_in_scope(run, _arg(args, 0), _arg(args, 1), bool(_arg(args, 2, True)))
        if name in ("accounts.compileAuthScope", "accounts.optimizeAuthScope"):
            scopes = _arg(args, 0, [])
            tree = compile_scope(scopes if isinstance(scopes, list) else [scopes])
            return tree if name == "accounts.compileAuthScope" else scope_strings(tree)
        if name in _NOT_IMPLEMENTED:
            raise Fault("cortex.notImplemented.unspecified", reason=f"{name} is not implemented by this host.", path=name)
        signin = SignIn(self._runtime, org, context.objects.layer)
        if name == "accounts.preAuth":
            return signin.pre_auth(_arg(args, 0))
        if name == "accounts.failAuth":
            signin.fail_auth(_arg(args, 0), _arg(args, 1))
            return None
        if name == "accounts.login":
            return signin.login(_arg(args, 0), _options(args, 1))
        if name == "accounts.register":
            return signin.register(_arg(args, 0), _options(args, 1))
        if name == "accounts.provision":
            return signin.provision(_arg(args, 0), _options(args, 1))
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    @staticmethod
    def _principal_in_scope(run: RunInfo, account: Any, scope: Any, match_prefix: bool) -> bool:
        principal = run.context.objects.layer.principal
        if str(account) != str(principal._id):
            raise Fault("cortex.invalidArgument.unspecified", reason="inAuthScope is a method of script.principal.", path="inAuthScope")
        if principal.scope is None:
            in_auth_scope({"*": {}}, scope, match_prefix)  # still refuses a missing scope string
            return True
        return in_auth_scope(compile_scope(principal.scope), scope, match_prefix)

    def _authorize(self, run: RunInfo, token: Any) -> dict[str, Any]:
        org = run.context.org
        claims, principal = self._runtime.tokens.authorize(org, self._runtime.audience(org.code), token)
        # The triggers run one level below this run, so a trigger that authorizes tokens
        # itself stops at the depth limit.
        self._fire_authorized(run.context.objects.layer.as_principal(principal))
        out = {**principal.to_js(), "scope": compile_scope(claims.get("cortex/scp") or [])}
        if claims.get("cortex/skp"):
            out["skipAcl"] = True
        if claims.get("cortex/gnt") is not None:
            out["grant"] = claims["cortex/gnt"]
        return out

    def _request_authorized(self, org: Org, principal: Principal) -> None:
        """A bearer token authenticated a REST request."""
        self._fire_authorized(self._runtime.layer(org, principal))

    def _fire_authorized(self, layer: ObjectLayer) -> None:
        with map_store_errors():
            account = self._runtime.store.contexts.find_one({"org": layer.org_id, "object": "account", "_id": layer.principal._id})
        if account is not None:
            self._runtime.triggers.after(layer, layer.definitions.require("account"), "authorizeToken", account, account)
