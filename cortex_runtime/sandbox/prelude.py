"""The JS prelude: what every context evaluates when it is built, and the units it
evaluates on first use (see js_prelude/00_bridge.js).

A fresh context costs mostly the parsing of its prelude, so only the files every run
needs are evaluated eagerly. Every other file is a unit, the body of a function that
returns its exports: the context asks for its source (through a bound function) and
compiles and calls it when a script first touches what it defines, unless the pool
compiled it into the context beforehand (sandbox.py ContextPool).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable

from .resources import js_prelude_dir

__all__ = ["EAGER_FILES", "UNIT_SOURCE_FUNCTION", "Prelude", "load_prelude"]

# Evaluated in this order when a context is built: the host channel and the meter,
# the defaults every Error has, the lockdown and the run driver.
EAGER_FILES = ("00_bridge.js", "05_errors.js", "90_run.js")

# The global function that gives a unit's source; 00_bridge.js captures and deletes it.
UNIT_SOURCE_FUNCTION = "__cx_prelude_unit"


@dataclass(frozen=True)
class Prelude:
    eager: str
    # Unit name (a file name without its order prefix and extension) -> source, as a
    # function expression (the file is its body; on its first line, so line numbers stay).
    units: dict[str, str]

    def unit_source(self, name: str) -> str | None:
        return self.units.get(name)


def _unit_name(file_name: str) -> str:
    stem = file_name[: -len(".js")]
    prefix, _, name = stem.partition("_")
    return name if prefix.isdigit() and name else stem


def _source(path: Traversable) -> str:
    """A prelude file as the engine gets it: ASCII, without its comment lines."""
    text = path.read_text(encoding="utf-8")
    # A non-ASCII source crosses into the engine several times slower.
    if not text.isascii():
        raise ValueError(f"js_prelude/{path.name} must be ASCII")
    return _without_comment_lines(text)


def _without_comment_lines(text: str) -> str:
    """The source with its whole-line ``//`` comments emptied, so line numbers stay as they are.

    The engine reads every comment character of the eager files in every context it builds
    (about 4% of evaluating them), and of a unit each time a run loads it. Only safe where no template
    literal could hold such a line, so a file with a backtick outside its comments is kept whole.
    """
    lines = text.split("\n")
    comment = [line.lstrip().startswith("//") for line in lines]
    if any("`" in line for line, is_comment in zip(lines, comment) if not is_comment):
        return text
    return "\n".join("" if is_comment else line for line, is_comment in zip(lines, comment))


def load_prelude() -> Prelude:
    root = js_prelude_dir()
    eager = "\n".join(_source(root.joinpath(name)) for name in EAGER_FILES)
    units = {
        _unit_name(entry.name): f"(function () {{{_source(entry)}\n}})"
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".js") and entry.name not in EAGER_FILES
    }
    return Prelude(eager=eager, units=units)
