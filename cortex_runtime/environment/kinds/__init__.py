"""The resource kinds of an export, one unit each, and the order an import writes them in.

``KINDS`` maps a document's ``object`` to its kind; ``GROUPS`` is the platform's import
group order (environments.md §4.0), each group listing its kinds in order. A custom
object's data (``data/<plural>/...``) is the ``instances`` group's ``InstanceKind``.
"""

from __future__ import annotations

from .base import EnvContext, ImportContext, Kind
from .configs import ConfigKind
from .documents import ExpressionKind, I18nKind, TemplateKind, ViewKind
from .env import EnvKind
from .instances import InstanceKind
from .objects import ObjectKind
from .org_lists import AppKind, NotificationKind, PolicyKind, SmsNumberKind, StorageLocationKind
from .principals import RoleKind, ServiceAccountKind
from .scripts import ScriptKind

__all__ = ["GROUPS", "INSTANCES", "KINDS", "EnvContext", "ImportContext", "Kind", "kind_of"]

KINDS: dict[str, Kind] = {
    kind.object: kind
    for kind in (
        ConfigKind(),
        TemplateKind(),
        SmsNumberKind(),
        RoleKind(),
        StorageLocationKind(),
        ServiceAccountKind(),
        AppKind(),
        PolicyKind(),
        NotificationKind(),
        ObjectKind(),
        ScriptKind(),
        ExpressionKind(),
        ViewKind(),
        I18nKind(),
        EnvKind(),
    )
}

INSTANCES = InstanceKind()

# Group name -> its kinds, in the platform's order. ``idps`` is accepted and stored by no kind:
# mdctl never sends idp documents.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("config", ("config",)),
    ("template", ("template",)),
    ("environment", ("smsNumber", "role", "storageLocation", "serviceAccount", "app", "policy", "notification")),
    ("objects", ("object",)),
    ("scripts", ("script",)),
    ("expressions", ("expression",)),
    ("views", ("view",)),
    ("instances", ("i18n", "*data")),
    ("env", ("env",)),
)


def kind_of(object_name: str) -> Kind:
    """The kind of a resource document; a custom object's data is an instance."""
    return KINDS.get(object_name, INSTANCES)
