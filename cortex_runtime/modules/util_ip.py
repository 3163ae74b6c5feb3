"""``require('util.ip')`` (also ``require('util').ip``): IPv4 helpers (modules.md §19;
src: cortex/lib/modules/sandbox/scripts/src/es6/util.ip.js).

Pure functions that never throw: a bad argument gives ``false``, ``0`` or ``'0.0.0.0'``.

* ``is_ipv4(v)``: a dotted quad, every part 0-255 without leading zeros.
* ``is_cidr(v)``: ``a.b.c.d/n`` with ``n`` 0-32.
* ``contains_ip(list, ip)``: ``ip`` equals an address of ``list`` or lies in one of its CIDR
  blocks (a single value is a one-item list).
* ``ip4toint(ip)``: the address as an unsigned 32-bit integer (inferred: ``>>> 0``, so
  ``255.255.255.255`` is 4294967295), 0 for a bad address.
* ``inttoip4(n)``: the dotted quad of ``n`` taken modulo 2**32 (JavaScript's ``>>> 0``).
* ``ip4incidr(ip, cidr)``.

Limits: ``contains_ip`` reads at most ``MAX_LIST`` (10,000) entries of its list
(``cortex.tooLarge.unspecified`` beyond).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["UtilIpModule", "contains_ip", "inttoip4", "ip4incidr", "ip4toint", "is_cidr", "is_ipv4"]

MAX_LIST = 10_000
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_CIDR = re.compile(rf"({_OCTET}(?:\.{_OCTET}){{3}})/(3[0-2]|[12]?[0-9])")


def is_ipv4(value: Any) -> bool:
    return isinstance(value, str) and _IPV4.fullmatch(value) is not None


def is_cidr(value: Any) -> bool:
    return isinstance(value, str) and _CIDR.fullmatch(value) is not None


def ip4toint(value: Any) -> int:
    if not is_ipv4(value):
        return 0
    a, b, c, d = (int(part) for part in value.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def inttoip4(value: Any) -> str:
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, (int, float)):
        number = int(value) if math.isfinite(value) else 0
    elif isinstance(value, str):
        try:
            number = int(float(value.strip() or "0"))
        except (ValueError, OverflowError):
            number = 0
    else:
        number = 0
    number %= 2**32
    return ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0))


def ip4incidr(ip: Any, cidr: Any) -> bool:
    if not is_ipv4(ip) or not is_cidr(cidr):
        return False
    network, bits = cidr.split("/")
    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
    return (ip4toint(ip) & mask) == (ip4toint(network) & mask)


def contains_ip(entries: Any, ip: Any) -> bool:
    if not is_ipv4(ip):
        return False
    items = entries if isinstance(entries, list) else [entries]
    if len(items) > MAX_LIST:
        raise Fault("cortex.tooLarge.unspecified", reason=f"contains_ip reads at most {MAX_LIST} entries.")
    for entry in items:
        if is_ipv4(entry) and entry == ip:
            return True
        if is_cidr(entry) and ip4incidr(ip, entry):
            return True
    return False


class UtilIpModule:
    require_name = "util.ip"
    prefix = "util.ip."
    needs_context = False
    methods = ("is_ipv4", "is_cidr", "contains_ip", "ip4toint", "inttoip4", "ip4incidr")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        a = list(args) + [None, None]
        method = name[len(self.prefix):]
        if method == "is_ipv4":
            return is_ipv4(a[0])
        if method == "is_cidr":
            return is_cidr(a[0])
        if method == "contains_ip":
            return contains_ip(a[0], a[1])
        if method == "ip4toint":
            return ip4toint(a[0])
        if method == "inttoip4":
            return inttoip4(a[0])
        if method == "ip4incidr":
            return ip4incidr(a[0], a[1])
        raise Fault("script.invalidArgument.unknownCommand", path=name)
