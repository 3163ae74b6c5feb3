"""``$semver``: node-semver 5.4.1 ``satisfies(version, range)``, non-loose.

The range grammar (hyphen ranges, ``||``, x-ranges, ``~``, ``^``, comparators) is rewritten
into comparator sets exactly as that version does; a prerelease version only matches a set
that names a prerelease of the same ``major.minor.patch``."""

from __future__ import annotations

import re
from typing import Any

from ..core import ExpressionContext
from ..values import string_form, truthy
from ._shared import charge_text, eager_ctx, raw_error

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)"
_PRE = rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))"
_BUILD = r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))"
_FULLPLAIN = rf"v?({_NUM})\.({_NUM})\.({_NUM}){_PRE}?{_BUILD}?"
_XID = rf"{_NUM}|x|X|\*"
_XPLAIN = rf"[v=\s]*({_XID})(?:\.({_XID})(?:\.({_XID})(?:{_PRE})?{_BUILD}?)?)?"
_XPLAIN_NC = rf"[v=\s]*(?:{_XID})(?:\.(?:{_XID})(?:\.(?:{_XID})(?:-(?:{_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+(?:[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?)?)?"
_FULLPLAIN_NC = rf"v?(?:{_NUM})\.(?:{_NUM})\.(?:{_NUM})(?:-(?:{_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+(?:[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"

VERSION = re.compile(rf"^[v=]?({_NUM})\.({_NUM})\.({_NUM}){_PRE}?{_BUILD}?$")
COMPARATOR = re.compile(rf"^((?:<|>)?=?)\s*({_FULLPLAIN_NC})$|^$")
HYPHEN = re.compile(rf"^\s*({_XPLAIN_NC})\s+-\s+({_XPLAIN_NC})\s*$")
COMPARATOR_TRIM = re.compile(rf"(\s*)((?:<|>)?=?)\s*({_FULLPLAIN_NC}|{_XPLAIN_NC})")
TILDE = re.compile(rf"^(?:~>?){_XPLAIN}$")
CARET = re.compile(rf"^\^{_XPLAIN}$")
XRANGE = re.compile(rf"^((?:<|>)?=?)\s*{_XPLAIN}$")
XPARTS = re.compile(rf"^{_XPLAIN}$")
STAR = re.compile(r"(<|>)?=?\s*\*")
MAX_SAFE = 2**53 - 1


class Version:
    def __init__(self, text: str) -> None:
        match = VERSION.match(text.strip())
        if not match or any(int(match.group(i)) > MAX_SAFE for i in (1, 2, 3)):
            raise ValueError(f"Invalid Version: {text}")
        self.main = tuple(int(match.group(i)) for i in (1, 2, 3))
        self.pre: list[int | str] = [int(p) if p.isdigit() else p for p in match.group(4).split(".")] if match.group(4) else []

    def compare(self, other: Version) -> int:
        if self.main != other.main:
            return -1 if self.main < other.main else 1
        if not self.pre or not other.pre:
            return (not self.pre) - (not other.pre) if self.pre or other.pre else 0
        for a, b in zip(self.pre, other.pre):
            if a == b:
                continue
            if isinstance(a, int) != isinstance(b, int):
                return -1 if isinstance(a, int) else 1
            return -1 if a < b else 1  # type: ignore[operator]
        return (len(self.pre) > len(other.pre)) - (len(self.pre) < len(other.pre))


def _is_x(part: str | None) -> bool:
    return not part or part.lower() == "x" or part == "*"


def _hyphen(m: re.Match[str]) -> str:
    start, end = m.group(1), m.group(2)
    fm, tm = XPARTS.match(start), XPARTS.match(end)
    assert fm and tm
    f_major, f_minor, f_patch = fm.group(1), fm.group(2), fm.group(3)
    t_major, t_minor, t_patch, t_pre = tm.group(1), tm.group(2), tm.group(3), tm.group(4)
    if _is_x(f_major):
        low = ""
    elif _is_x(f_minor):
        low = f">={f_major}.0.0"
    elif _is_x(f_patch):
        low = f">={f_major}.{f_minor}.0"
    else:
        low = f">={start}"
    if _is_x(t_major):
        high = ""
    elif _is_x(t_minor):
        high = f"<{int(t_major) + 1}.0.0"
    elif _is_x(t_patch):
        high = f"<{t_major}.{int(t_minor) + 1}.0"
    elif t_pre:
        high = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    else:
        high = f"<={end}"
    return f"{low} {high}".strip()


def _tilde(m: re.Match[str]) -> str:
    M, mi, p, pr = m.group(1), m.group(2), m.group(3), m.group(4)
    if _is_x(M):
        return ""
    if _is_x(mi):
        return f">={M}.0.0 <{int(M) + 1}.0.0"
    if _is_x(p):
        return f">={M}.{mi}.0 <{M}.{int(mi) + 1}.0"
    pre = f"-{pr}" if pr else ""
    return f">={M}.{mi}.{p}{pre} <{M}.{int(mi) + 1}.0"


def _caret(m: re.Match[str]) -> str:
    M, mi, p, pr = m.group(1), m.group(2), m.group(3), m.group(4)
    if _is_x(M):
        return ""
    if _is_x(mi):
        return f">={M}.0.0 <{int(M) + 1}.0.0"
    if _is_x(p):
        return f">={M}.{mi}.0 <{M}.{int(mi) + 1}.0" if M == "0" else f">={M}.{mi}.0 <{int(M) + 1}.0.0"
    pre = f"-{pr}" if pr else ""
    if M == "0":
        return f">={M}.{mi}.{p}{pre} <{M}.{mi}.{int(p) + 1}" if mi == "0" else f">={M}.{mi}.{p}{pre} <{M}.{int(mi) + 1}.0"
    return f">={M}.{mi}.{p}{pre} <{int(M) + 1}.0.0"


def _xrange(m: re.Match[str]) -> str:
    whole, gtlt, M, mi, p = m.group(0), m.group(1), m.group(2), m.group(3), m.group(4)
    x_major = _is_x(M)
    x_minor = x_major or _is_x(mi)
    x_patch = x_minor or _is_x(p)
    if gtlt == "=" and x_patch:
        gtlt = ""
    if x_major:
        return "<0.0.0" if gtlt in (">", "<") else "*"
    if gtlt and x_patch:
        major, minor, patch = int(M), 0 if x_minor else int(mi), 0 if x_patch else int(p)
        if gtlt == ">":
            gtlt = ">="
            if x_minor:
                major, minor, patch = major + 1, 0, 0
            else:
                minor, patch = minor + 1, 0
        elif gtlt == "<=":
            gtlt = "<"
            if x_minor:
                major += 1
            else:
                minor += 1
        return f"{gtlt}{major}.{minor}.{patch}"
    if x_minor:
        return f">={M}.0.0 <{int(M) + 1}.0.0"
    if x_patch:
        return f">={M}.{mi}.0 <{M}.{int(mi) + 1}.0"
    return whole


def _each(comp: str, pattern: re.Pattern[str], fn: Any) -> str:
    return " ".join(pattern.sub(fn, part) for part in comp.strip().split())


def _comparators(text: str) -> list[tuple[str, Version | None]]:
    text = HYPHEN.sub(_hyphen, text.strip())
    text = COMPARATOR_TRIM.sub(lambda m: m.group(1) + m.group(2) + m.group(3), text)
    text = re.sub(r"(\s*)~>?\s+", r"\1~", text)
    text = re.sub(r"(\s*)\^\s+", r"\1^", text)
    text = " ".join(text.split())
    parts: list[str] = []
    for comp in text.split(" "):
        comp = _each(comp, CARET, _caret)
        comp = _each(comp, TILDE, _tilde)
        comp = _each(comp, XRANGE, _xrange)
        comp = STAR.sub("", comp.strip())
        parts.append(comp)
    out: list[tuple[str, Version | None]] = []
    for comp in " ".join(parts).split():
        match = COMPARATOR.match(comp)
        if not match:
            raise ValueError(f"Invalid comparator: {comp}")
        if not comp:
            out.append(("", None))
            continue
        op = match.group(1) or ""
        out.append(("" if op == "=" else op, Version(match.group(2))))
    return out or [("", None)]


def _test(op: str, version: Version, target: Version | None) -> bool:
    if target is None:
        return True
    c = version.compare(target)
    return {"": c == 0, ">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0}[op]


def parse_range(range_text: str) -> list[list[tuple[str, Version | None]]]:
    """The comparator sets of a range; ``ValueError`` when the range is invalid."""
    sets = [s for s in (_comparators(part) for part in re.split(r"\s*\|\|\s*", range_text)) if s]
    if not sets:
        raise ValueError(f"Invalid SemVer Range: {range_text}")
    return sets


def test_sets(sets: list[list[tuple[str, Version | None]]], parsed: Version) -> bool:
    for comparators in sets:
        if not all(_test(op, parsed, target) for op, target in comparators):
            continue
        if not parsed.pre:
            return True
        for _, target in comparators:
            if target is not None and target.pre and target.main == parsed.main:
                return True
    return False


def satisfies(version: str, range_text: str) -> bool:
    """Raises ``ValueError('Invalid Version: …')`` for a bad version; a bad range is simply false."""
    try:
        sets = parse_range(range_text)
    except ValueError:
        return False
    return test_sets(sets, Version(version))


@eager_ctx("$semver", "fixed", exactly=2)
def _semver(op: Any, ctx: ExpressionContext, version: Any, range_text: Any) -> Any:
    if not isinstance(range_text, str):  # new Range() throws: satisfies() is false
        return False
    charge_text(ctx, len(range_text) * 8, op.path)
    try:
        sets = parse_range(range_text)
    except ValueError:
        return False
    if not truthy(version):
        return False
    if not isinstance(version, str):
        raise raw_error(op, f"Invalid Version: {string_form(version)}")
    charge_text(ctx, len(version), op.path)
    try:
        return test_sets(sets, Version(version))
    except ValueError as exc:
        raise raw_error(op, str(exc)) from exc
