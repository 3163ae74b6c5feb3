"""The QuickJS script sandbox: compile, meter, run within limits. Knows nothing of objects or HTTP."""

from .codec import UNDEFINED, Undefined
from .compiler import CompileCache, CompiledScript, Compiler
from .sandbox import HostApi, LogEntry, OrgRef, RunInfo, RunResult, RunStats, Sandbox

__all__ = [
    "UNDEFINED",
    "CompileCache",
    "CompiledScript",
    "Compiler",
    "HostApi",
    "LogEntry",
    "OrgRef",
    "RunInfo",
    "RunResult",
    "RunStats",
    "Sandbox",
    "Undefined",
]
