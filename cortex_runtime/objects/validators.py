"""Property validators (spec objects-acl-query.md §3.2) and the value parsers they share.

Each value validator takes the already-cast value, the validator's ``definition`` and the
property, and returns ``None`` when the value passes or ``(errCode, reason)`` when it fails.
The validators that need more than one value (``required``, ``writeOnce``, ``uniqueInArray``)
are run by :mod:`cortex_runtime.objects.properties`, which knows the document around a value.

Local stand-ins for checks that need external services on the platform:

- ``passwordStrength`` scores 0-4 from length and character classes (not zxcvbn);
- ``phoneNumber`` accepts E.164-like numbers (optional ``+``, 8-15 digits, common separators)
  and checks ``allowedCountries`` against a table of calling codes; ``requireMobile`` is not
  checked (telling mobile from landline numbers needs carrier data);
- ``json`` (JSON Schema) and ``adhoc`` (script) definitions are accepted but not run here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bson import ObjectId

from .model import PropertyDef

__all__ = [
    "CONTEXT_VALIDATORS",
    "VALIDATOR_NAMES",
    "VALIDATOR_TYPES",
    "WHOLE_VALUE_VALIDATORS",
    "check_definition",
    "compile_pattern",
    "is_number",
    "password_score",
    "run_validator",
    "to_datetime",
    "to_object_id",
]

Failure = tuple[str, str]

_ALL = None
# Which property types each validator may be attached to; None means every type.
VALIDATOR_TYPES: Mapping[str, tuple[str, ...] | None] = {
    "required": _ALL,
    "writeOnce": _ALL,
    "uniqueInArray": _ALL,
    "adhoc": _ALL,
    "expression": _ALL,
    "json": ("Any",),
    "date": ("Date",),
    "dateEnum": ("Date",),
    "dateOfBirth": ("Date",),
    "number": ("Number",),
    "allowLevel": ("Number",),
    "numberEnum": ("Number",),
    "coordinate": ("Number", "Coordinate"),
    "idEnum": ("ObjectId", "Reference"),
    "string": ("String",),
    "printableString": ("String",),
    "stringEnum": ("String",),
    "email": ("String",),
    "locale": ("String",),
    "passwordStrength": ("String",),
    "phoneNumber": ("String",),
    "url": ("String",),
    "pattern": ("String",),
    "timeZone": ("String",),
    "customName": ("String",),
    "dotPath": ("String",),
}
VALIDATOR_NAMES = frozenset(VALIDATOR_TYPES)
# Run by properties.py, which has the surrounding document.
CONTEXT_VALIDATORS = frozenset({"required", "writeOnce", "uniqueInArray", "expression"})
# Run once on the whole value of an array property instead of on each item.
WHOLE_VALUE_VALIDATORS = frozenset({"coordinate"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_LOCALE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
_CUSTOM_NAME = re.compile(r"^(c_|[a-zA-Z0-9-]+__)[a-zA-Z0-9_-]+$")
_DOT_PATH = re.compile(r"^[a-zA-Z0-9_-]{1,40}(\.[a-zA-Z0-9_-]{1,40})*$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?[1-9]\d{7,14}$")
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_PATTERN_FORM = re.compile(r"^/(.*)/([a-z]*)$", re.DOTALL)
_PATTERN_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "g": 0, "u": 0, "y": 0}
_COMMON_PASSWORDS = frozenset(
    {"password", "password1", "123456", "12345678", "123456789", "qwerty", "letmein", "welcome", "abc123", "iloveyou"}
)
# ISO 3166 country -> calling code, for the local phoneNumber check.
_CALLING_CODES: Mapping[str, str] = {
    "US": "1", "CA": "1", "GB": "44", "IE": "353", "FR": "33", "DE": "49", "ES": "34", "IT": "39",
    "PT": "351", "NL": "31", "BE": "32", "CH": "41", "AT": "43", "DK": "45", "SE": "46", "NO": "47",
    "FI": "358", "PL": "48", "CZ": "420", "GR": "30", "TR": "90", "RU": "7", "UA": "380", "IL": "972",
    "AE": "971", "SA": "966", "IN": "91", "PK": "92", "CN": "86", "JP": "81", "KR": "82", "SG": "65",
    "HK": "852", "TW": "886", "AU": "61", "NZ": "64", "ZA": "27", "NG": "234", "EG": "20", "KE": "254",
    "BR": "55", "MX": "52", "AR": "54", "CL": "56", "CO": "57", "PE": "51",
}
_MAX_LEVEL = 8


def is_number(value: Any) -> bool:
    """True for finite ints and floats; bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def to_datetime(value: Any) -> datetime | None:
    """Parse a date input (datetime, date, ms since the epoch, ISO string) to an aware UTC datetime.

    Returns None when the value is not a date. Precision is cut to milliseconds, as BSON stores it.
    """
    result: datetime
    if isinstance(value, datetime):
        result = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    elif is_number(value):
        try:
            result = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if not text or not text[0].isdigit():
            return None
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            return None
        if result.tzinfo is None:
            result = result.replace(tzinfo=timezone.utc)
    else:
        return None
    try:
        result = result.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return result.replace(microsecond=result.microsecond // 1000 * 1000)


def to_object_id(value: Any) -> ObjectId | None:
    """An ObjectId from an ObjectId or a 24-hex string, else None."""
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and len(value) == 24:
        try:
            return ObjectId(value)
        except Exception:  # bson raises InvalidId (a ValueError) but be safe about its type
            return None
    return None


def compile_pattern(text: Any) -> re.Pattern[str] | None:
    """Compile a JavaScript-style ``/re/flags`` string, or None when it is not one."""
    if not isinstance(text, str):
        return None
    match = _PATTERN_FORM.match(text)
    if match is None:
        return None
    source, flag_text = match.groups()
    flags = 0
    for flag in flag_text:
        if flag not in _PATTERN_FLAGS:
            return None
        flags |= _PATTERN_FLAGS[flag]
    try:
        return re.compile(_JS_NAMED_GROUP.sub("(?P<", source), flags)
    except re.error:
        return None


def password_score(password: str) -> int:
    """A 0-4 strength score from length and character classes (stand-in for zxcvbn)."""
    classes = sum(
        (
            any(ch.islower() for ch in password),
            any(ch.isupper() for ch in password),
            any(ch.isdigit() for ch in password),
            any(not ch.isalnum() for ch in password),
        )
    )
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) <= 2:
        return 0
    score = 0
    if len(password) >= 8:
        score += 1
    if len(password) >= 12:
        score += 1
    if classes >= 3:
        score += 1
    if classes == 4 or len(password) >= 16:
        score += 1
    return min(score, 4)


# --- definition checks ---------------------------------------------------------------


def _check_bools(definition: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        if key in definition and not isinstance(definition[key], bool):
            return f"{key} must be a boolean."
    return None


def _check_numbers(definition: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        if key in definition and definition[key] is not None and not is_number(definition[key]):
            return f"{key} must be a number."
    return None


def _check_lengths(definition: Mapping[str, Any]) -> str | None:
    for key in ("min", "max"):
        value = definition.get(key)
        if value is not None and (not is_number(value) or value < 0 or value != int(value)):
            return f"{key} must be a non-negative integer."
    low, high = definition.get("min"), definition.get("max")
    if low is not None and high is not None and low > high:
        return "min must not be greater than max."
    return None


def _check_values(definition: Mapping[str, Any], accept: Callable[[Any], bool]) -> str | None:
    values = definition.get("values")
    if not isinstance(values, list):
        return "values must be an array."
    if not all(accept(value) for value in values):
        return "values contains an entry of the wrong type."
    return None


def check_definition(name: str, definition: Mapping[str, Any]) -> str | None:
    """Return why a validator definition is malformed, or None when it is usable."""
    if name == "expression":  # parsed when the property is defined (expression_validators.py)
        from .expression_validators import check_expression_definition

        return check_expression_definition(definition)
    problem = _check_bools(definition, "allowNull", "allowEmpty")
    if problem:
        return problem
    if name == "number":
        return _check_numbers(definition, "min", "max") or _check_bools(definition, "allowDecimal")
    if name in ("string", "printableString"):
        return _check_lengths(definition) or _check_bools(definition, "anyFirstLetter", "allowNumberAsFirstLetter")
    if name == "date":
        for key in ("min", "max"):
            if definition.get(key) is not None and to_datetime(definition[key]) is None:
                return f"{key} must be a date."
        return None
    if name == "coordinate":
        return _check_numbers(definition, "min0", "max0", "min1", "max1") or _check_bools(
            definition, "allowDecimal0", "allowDecimal1"
        )
    if name == "allowLevel":
        return _check_bools(definition, "includeNoAllow")
    if name == "stringEnum":
        return _check_values(definition, lambda v: isinstance(v, str))
    if name == "numberEnum":
        return _check_values(definition, is_number)
    if name == "idEnum":
        return _check_values(definition, lambda v: to_object_id(v) is not None)
    if name == "dateEnum":
        return _check_values(definition, lambda v: to_datetime(v) is not None)
    if name == "pattern":
        return None if compile_pattern(definition.get("pattern")) else "pattern must be a valid /regex/flags string."
    if name == "passwordStrength":
        score = definition.get("minScore", 0)
        if not is_number(score) or score not in (0, 1, 2, 3, 4):
            return "minScore must be an integer from 0 to 4."
        return None
    if name == "phoneNumber":
        countries = definition.get("allowedCountries", [])
        if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
            return "allowedCountries must be an array of country codes."
        return _check_bools(definition, "requireMobile")
    if name == "url":
        problem = _check_bools(definition, "webOnly")
        if problem is None and definition.get("webSecure") is not None:
            problem = _check_bools(definition, "webSecure")
        return problem
    return None


# --- value validators ----------------------------------------------------------------


def _null(value: Any, definition: Mapping[str, Any], default: bool = False) -> bool | None:
    """None when the value is not null; else whether null is allowed."""
    if value is not None:
        return None
    return bool(definition.get("allowNull", default))


def _v_number(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.numberExpected"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A number is required.")
    if not is_number(value):
        return code, "Number expected."
    if not d.get("allowDecimal", True) and value != int(value):
        return code, "Decimal values are not allowed."
    if d.get("min") is not None and value < d["min"]:
        return code, f"Number must be at least {d['min']}."
    if d.get("max") is not None and value > d["max"]:
        return code, f"Number must be at most {d['max']}."
    return None


def _v_allow_level(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    low = 0 if d.get("includeNoAllow", False) else 1
    if not is_number(value) or value != int(value) or not low <= value <= _MAX_LEVEL:
        return "cortex.invalidArgument.allowLevel", f"Allow level must be an integer from {low} to {_MAX_LEVEL}."
    return None


def _v_coordinate(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.invalidCoordinate"
    if not isinstance(value, list) or len(value) != 2 or not all(is_number(v) for v in value):
        return code, "Must be a valid 2 element coordinate array."
    for index, item in enumerate(value):
        if not d.get(f"allowDecimal{index}", True) and item != int(item):
            return code, f"Coordinate {index} must be an integer."
        low, high = d.get(f"min{index}"), d.get(f"max{index}")
        if (low is not None and item < low) or (high is not None and item > high):
            return code, f"Coordinate {index} is out of range."
    return None


def _v_number_enum(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    if is_number(value) and any(value == allowed for allowed in d.get("values", [])):
        return None
    return "cortex.invalidArgument.enumValue", "Please enter a value from the list."


def _v_id_enum(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    candidate = value.get("_id") if isinstance(value, dict) else value
    allowed = {to_object_id(v) for v in d.get("values", [])}
    if candidate is not None and to_object_id(candidate) in allowed:
        return None
    return "cortex.invalidArgument.enumValue", "Please enter a value from the list."


def _v_date(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.date"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A date is required.")
    moment = to_datetime(value)
    if moment is None:
        return code, "Invalid date."
    low, high = to_datetime(d.get("min")), to_datetime(d.get("max"))
    if low is not None and moment < low:
        return code, "Date is before the minimum."
    if high is not None and moment > high:
        return code, "Date is after the maximum."
    return None


def _v_date_enum(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    moment = to_datetime(value)
    if moment is not None and moment in {to_datetime(v) for v in d.get("values", [])}:
        return None
    return "cortex.invalidArgument.enumValue", "Please enter a value from the list."


def _v_date_of_birth(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.dateOfBirth"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A date of birth is required.")
    moment = to_datetime(value)
    if moment is None or moment > datetime.now(timezone.utc) or moment.year < 1850:
        return code, "Invalid date of birth."
    return None


def _length_problem(value: str, d: Mapping[str, Any]) -> str | None:
    if d.get("min") is not None and len(value) < d["min"]:
        return f"String must be at least {d['min']} characters."
    if d.get("max") is not None and len(value) > d["max"]:
        return f"String must be at most {d['max']} characters."
    return None


def _v_string(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.invalidString"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A string is required.")
    if not isinstance(value, str):
        return code, "String expected."
    if value == "":
        return None if d.get("allowEmpty", False) else (code, "The string must not be empty.")
    problem = _length_problem(value, d)
    return (code, problem) if problem else None


def _v_printable_string(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.invalidString"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A string is required.")
    if not isinstance(value, str):
        return code, "String expected."
    if not value.isprintable():
        return code, "The string contains characters that are not printable."
    if value and not d.get("anyFirstLetter", True):
        first = value[0]
        if not (first.isalpha() or (first.isdigit() and d.get("allowNumberAsFirstLetter", True))):
            return code, "The string must start with a letter."
    problem = _length_problem(value, d)
    return (code, problem) if problem else None


def _v_string_enum(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    if value is None and d.get("allowNull", False):
        return None
    if isinstance(value, str) and value in d.get("values", []):
        return None
    return "cortex.invalidArgument.enumValue", "Please enter a value from the list."


def _empty_allowed(value: Any, d: Mapping[str, Any], null_default: bool = False) -> bool | None:
    """None when the value is a non-empty string or not a string; else whether it may be empty/null."""
    if value is None:
        return bool(d.get("allowNull", null_default))
    if value == "":
        return bool(d.get("allowEmpty", null_default))
    return None


def _v_email(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.emailFormat"
    # The platform's email validator allows null (and empty) unless told otherwise.
    if value is None or value == "":
        return None if d.get("allowNull", True) else (code, "An email address is required.")
    if isinstance(value, str) and _EMAIL.match(value):
        return None
    return code, "Invalid email address format."


def _v_locale(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else ("cortex.invalidArgument.locale", "A locale is required.")
    if isinstance(value, str) and _LOCALE.match(value):
        return None
    return "cortex.invalidArgument.locale", "Invalid locale."


def _v_url(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.url"
    allowed = _empty_allowed(value, d)
    if allowed is not None:
        return None if allowed else (code, "A URL is required.")
    if not isinstance(value, str):
        return code, "Invalid URL."
    try:
        parts = urlsplit(value)
    except ValueError:
        return code, "Invalid URL."
    if not parts.scheme or any(ch.isspace() for ch in value):
        return code, "Invalid URL."
    if d.get("webOnly", True):
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return code, "Only http and https URLs are allowed."
        secure = d.get("webSecure")
        if secure is True and parts.scheme != "https":
            return code, "Only https URLs are allowed."
        if secure is False and parts.scheme != "http":
            return code, "Only http URLs are allowed."
    return None


def _v_pattern(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.string"
    allowed = _empty_allowed(value, d)
    if allowed is not None:
        return None if allowed else (code, "A value is required.")
    pattern = compile_pattern(d.get("pattern"))
    if isinstance(value, str) and pattern is not None and pattern.search(value):
        return None
    return code, "The value does not match the required pattern."


def _v_password_strength(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.passwordStrength"
    if not isinstance(value, str):
        return code, "A password is required."
    if password_score(value) < d.get("minScore", 0):
        return code, "The chosen password does not meet the minimum password strength requirement."
    return None


def _v_phone_number(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.phoneNumberFormat"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A phone number is required.")
    digits = _PHONE_SEPARATORS.sub("", value) if isinstance(value, str) else ""
    if not _PHONE.match(digits):
        return code, "Invalid phone number format."
    countries = d.get("allowedCountries") or []
    if countries:
        prefixes = [_CALLING_CODES.get(country.upper()) for country in countries]
        if not digits.startswith("+") or not any(p and digits[1:].startswith(p) for p in prefixes):
            return code, "The phone number is not from an allowed country."
    return None


def _v_time_zone(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    code = "cortex.invalidArgument.timeZone"
    nullable = _null(value, d)
    if nullable is not None:
        return None if nullable else (code, "A time zone is required.")
    if isinstance(value, str) and value:
        try:
            ZoneInfo(value)
            return None
        except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys, ...
            pass
    return code, "Invalid timezone."


def _v_custom_name(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    if isinstance(value, str) and len(value) <= 40 and _CUSTOM_NAME.match(value):
        return None
    return "cortex.invalidArgument.customName", "Custom names start with c_ or a namespace followed by __."


def _v_dot_path(value: Any, d: Mapping[str, Any], prop: PropertyDef) -> Failure | None:
    if isinstance(value, str) and len(value) <= 200 and _DOT_PATH.match(value):
        return None
    return "cortex.invalidArgument.string", "Invalid property path."


_RUNNERS: Mapping[str, Callable[[Any, Mapping[str, Any], PropertyDef], Failure | None]] = {
    "number": _v_number,
    "allowLevel": _v_allow_level,
    "coordinate": _v_coordinate,
    "numberEnum": _v_number_enum,
    "idEnum": _v_id_enum,
    "date": _v_date,
    "dateEnum": _v_date_enum,
    "dateOfBirth": _v_date_of_birth,
    "string": _v_string,
    "printableString": _v_printable_string,
    "stringEnum": _v_string_enum,
    "email": _v_email,
    "locale": _v_locale,
    "url": _v_url,
    "pattern": _v_pattern,
    "passwordStrength": _v_password_strength,
    "phoneNumber": _v_phone_number,
    "timeZone": _v_time_zone,
    "customName": _v_custom_name,
    "dotPath": _v_dot_path,
}


def run_validator(name: str, definition: Mapping[str, Any], prop: PropertyDef, value: Any) -> Failure | None:
    """Run one value validator; validators without a local runner (json, adhoc) pass."""
    runner = _RUNNERS.get(name)
    return runner(value, definition, prop) if runner is not None else None
