"""Accounts: auth scopes (``scopes``), credentials and lockout (``credentials``) and script
sign-in (``signin``). Auth tokens are in ``server/tokens.py``; the script API is
``modules/accounts.py`` with ``js_prelude/71_accounts.js``."""
