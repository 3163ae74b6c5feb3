"""Runtime: the composition root. One store, one sandbox with the Python modules, many orgs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import Limits
from .deployment import DeployedLibraries, ScriptDeployer
from .modules.connections import ConnectionsModule
from .modules.objects import ObjectsModule, ObjectsRun
from .modules.registry import ModuleRegistry
from .modules.script import ScriptModule
from .modules.xml import XmlModule
from .objects.instances import ObjectLayer
from .objects.orgs import Org, Orgs
from .objects.principals import Principal
from .objects.store import Store
from .sandbox import OrgRef, RunResult, Sandbox
from .sandbox.loader import ChainedLibraries, MappingLibraries

__all__ = ["RunContext", "Runtime"]


@dataclass
class RunContext:
    """What the Python modules know about a run: its org, its principal, their state."""

    org: Org
    principal: Principal
    objects: ObjectsRun


class Runtime:
    def __init__(self, *, mongodb_uri: str | None = None, sandbox: Sandbox | None = None) -> None:
        self.store = Store.open(mongodb_uri)
        self.orgs = Orgs(self.store)
        self.modules = ModuleRegistry([ObjectsModule(), ScriptModule(), ConnectionsModule(), XmlModule()])
        self.sandbox = sandbox if sandbox is not None else Sandbox(host_api=self.modules)
        if sandbox is not None:
            sandbox.host_api = self.modules
        self.deployer = ScriptDeployer(self.sandbox.compiler)

    def layer(self, org: Org, principal: Principal) -> ObjectLayer:
        return ObjectLayer(self.store, org._id, principal, restricted_ops=org.restricted_ops, hooks=self.deployer)

    def run(
        self,
        source: str,
        *,
        org: Org,
        principal: Principal,
        script_type: str = "route",
        arguments: Any = None,
        limits: Limits | None = None,
        libraries: Mapping[str, str] | None = None,
        request: dict[str, Any] | None = None,
    ) -> RunResult:
        context = RunContext(org=org, principal=principal, objects=ObjectsRun(self.layer(org, principal)))
        deployed = DeployedLibraries(self.store, org._id)
        sources = ChainedLibraries([MappingLibraries(libraries), deployed]) if libraries else deployed
        return self.sandbox.run(
            source,
            script_type=script_type,
            arguments=arguments,
            limits=limits,
            libraries=sources,
            org=OrgRef(org._id, org.code),
            principal=principal.to_js(),
            context=context,
            request=request,
        )
