from __future__ import annotations

import json
import pickle
from importlib.resources import files
from typing import Any

import pytest

from cortex_runtime.faults import Fault, lookup


def _registry() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (files("cortex_runtime") / "fault_registry.json").read_text(encoding="utf-8")
    )
    return data


def test_registry_sizes_match_spec() -> None:
    data = _registry()
    assert len(data["base"]) == 13
    assert len(data["categories"]) == 13
    assert len(data["registered"]) == 298  # 297 rows of faults.md §7 + script.error.stackOverflow


def test_registry_statuses_below_400_only_for_the_two_2xx_faults() -> None:
    below = {err for err, row in _registry()["registered"].items() if row["status"] < 400}
    assert below == {"cortex.success.newLocation", "cortex.accepted.mediaNotReady"}


def test_fault_is_an_exception() -> None:
    with pytest.raises(Fault) as caught:
        raise Fault("cortex.notFound.instance")
    assert caught.value.status == 404


def test_base_kcode_maps_to_canonical_err_code() -> None:
    fault = Fault("kNotFound")
    assert (fault.errCode, fault.code, fault.status, fault.message, fault.name) == (
        "script.notFound.unspecified",
        "kNotFound",
        404,
        "Resource not found",
        "error",
    )


@pytest.mark.parametrize(
    ("code", "err_code", "status", "name"),
    [
        ("kValidationError", "script.invalidArgument.validation", 400, "validation"),
        ("kExists", "script.conflict.exists", 409, "error"),
        ("kTooBusy", "script.tooBusy.unspecified", 429, "error"),
        ("kUnsupportedOperation", "script.unsupportedOperation.unspecified", 501, "error"),
        ("kError", "script.error.unspecified", 500, "error"),
    ],
)
def test_base_table_rows(code: str, err_code: str, status: int, name: str) -> None:
    fault = Fault(code)
    assert (fault.errCode, fault.code, fault.status, fault.name) == (err_code, code, status, name)


def test_unknown_kcode() -> None:
    fault = Fault("kFooUnknown")
    assert (fault.errCode, fault.code, fault.status, fault.name, fault.message) == (
        "script.error.unspecified",
        "kFooUnknown",
        500,
        "fault",
        "",
    )


def test_registered_err_code_uses_registry_row() -> None:
    fault = Fault("cortex.invalidArgument.query")
    assert (fault.code, fault.status, fault.name, fault.message) == (
        "kInvalidArgument",
        400,
        "db",
        "Invalid query arguments.",
    )


def test_not_writable_keeps_its_registry_code() -> None:
    # faults.md §7 registers kNotWritable; the sandbox-only category lookup (acceptance fact 2) gives kAccessDenied.
    fault = Fault("cortex.accessDenied.notWritable")
    assert (fault.code, fault.status) == ("kNotWritable", 403)


@pytest.mark.parametrize(
    ("err_code", "code", "status"),
    [
        ("cortex.accessDenied.badPassword", "kInvalidCredentials", 403),
        ("cortex.accessDenied.maxJobsPerDay", "kMaxAllowed", 403),
        ("cortex.success.newLocation", "kNewLocation", 200),
        ("cortex.accepted.mediaNotReady", "kMediaNotReady", 202),
        ("cortex.invalidArgument.object", "kInvalidObject", 400),
        ("script.error.unspecified", "kScriptError", 500),
    ],
)
def test_registered_codes_keep_their_code(err_code: str, code: str, status: int) -> None:
    fault = Fault(err_code)
    assert (fault.errCode, fault.code, fault.status) == (err_code, code, status)


@pytest.mark.parametrize(
    ("err_code", "code", "status", "message"),
    [
        ("script.timeout.execution", "kTimeout", 408, "Script execution timed out."),
        ("script.error.ops", "kScriptError", 500, "Max script ops exceeded."),
        ("script.error.memory", "kOutOfMemory", 500, "Script out of memory."),
        ("script.error.stackOverflow", "kScriptError", 500, "Maximum call stack size exceeded."),
        ("cortex.invalidArgument.scriptCompilation", "kScriptCompilationError", 400, "Script compilation error."),
        ("cortex.invalidArgument.maxScriptLength", "kInvalidArgument", 400, "Max script length exceeded."),
        ("cortex.notFound.script", "kNotFound", 404, "Script not found."),
    ],
)
def test_runtime_faults_are_registered(err_code: str, code: str, status: int, message: str) -> None:
    fault = Fault(err_code)
    assert (fault.code, fault.status, fault.message) == (code, status, message)


def test_marshalling_fault_is_registered() -> None:
    fault = Fault("script.error.marshalling")
    assert (fault.code, fault.status) == ("kError", 500)
    assert fault.message.startswith("Script marshalling error.")


@pytest.mark.parametrize(
    ("err_code", "code", "status", "message"),
    [
        ("cortex.accessDenied.somethingUnregistered", "kAccessDenied", 403, "Access to this resource is denied"),
        ("cortex.notFound.policy", "kNotFound", 404, "Resource not found"),
        ("cortex.conflict.whatever", "kExists", 409, "Resource already exists"),
        ("my.throttled.x", "kThrottled", 429, "Request throttled"),
        ("cortex.somethingNew.x", "kError", 500, "Error"),
    ],
)
def test_unregistered_err_code_uses_category(err_code: str, code: str, status: int, message: str) -> None:
    fault = Fault(err_code)
    assert (fault.errCode, fault.code, fault.status, fault.message, fault.name) == (
        err_code,
        code,
        status,
        message,
        "error",
    )


def test_explicit_arguments_override_defaults() -> None:
    fault = Fault(
        "cortex.notFound.instance",
        "gone",
        reason="c_x 1",
        path="c_x",
        status=410,
        name="db2",
        code="kGone",
        resource="script#1",
        index=3,
        trace="at main",
    )
    assert (fault.message, fault.reason, fault.path, fault.status, fault.name, fault.code) == (
        "gone",
        "c_x 1",
        "c_x",
        410,
        "db2",
        "kGone",
    )
    assert (fault.resource, fault.index, fault.trace) == ("script#1", 3, "at main")


def test_message_defaults_and_reason_is_kept() -> None:
    fault = Fault("cortex.notFound.instance", reason="r")
    assert (fault.message, fault.reason) == ("Instance not found.", "r")
    assert Fault("kError", "boom").message == "boom"
    assert Fault("kNotFound", "").message == ""


def test_lookup() -> None:
    assert lookup("kTimeout") == {
        "code": "kTimeout",
        "errCode": "script.timeout.unspecified",
        "name": "error",
        "status": 408,
        "message": "Timeout",
    }
    assert lookup("cortex.accessDenied.badPassword")["code"] == "kInvalidCredentials"


def test_to_json_minimal() -> None:
    assert Fault("kNotFound").to_json() == {
        "object": "fault",
        "name": "error",
        "errCode": "script.notFound.unspecified",
        "code": "kNotFound",
        "status": 404,
        "message": "Resource not found",
    }


def test_to_json_index_only_when_non_negative() -> None:
    assert Fault("kError", index=0).to_json()["index"] == 0
    assert "index" not in Fault("kError", index=-1).to_json()


def test_round_trip_with_two_children() -> None:
    parent = Fault(
        "cortex.invalidArgument.validation",
        reason="Validation error.",
        path="c_thing",
        resource="script#route",
        index=2,
        trace="at main (1:1)",
        faults=[
            Fault("cortex.invalidArgument.required", path="c_thing.c_a"),
            Fault("cortex.validation.enumValue", reason="One of: a, b", path="c_thing.c_b"),
        ],
    )
    wire = parent.to_json()
    assert [child["object"] for child in wire["faults"]] == ["fault", "fault"]
    restored = Fault.from_json(json.loads(json.dumps(wire)))
    assert restored.to_json() == wire
    assert [child.path for child in restored.faults] == ["c_thing.c_a", "c_thing.c_b"]
    assert all(isinstance(child, Fault) for child in restored.faults)


def test_from_json_keeps_given_values() -> None:
    fault = Fault.from_json(
        {"object": "fault", "errCode": "cortex.invalidArgument.object", "code": "kInvalidObject", "status": 400}
    )
    assert (fault.errCode, fault.code, fault.status, fault.message) == (
        "cortex.invalidArgument.object",
        "kInvalidObject",
        400,
        "Invalid or unknown object.",
    )


def test_from_json_sandbox_error_keeps_its_code() -> None:
    fault = Fault.from_json(
        {"object": "fault", "name": "error", "errCode": "script.error.unspecified", "code": "kError",
         "message": "boom", "statusCode": 500, "trace": "Error: boom\n    at main"}
    )
    assert (fault.code, fault.status, fault.message, fault.trace) == ("kError", 500, "boom", "Error: boom\n    at main")


def test_from_json_prefers_status_and_falls_back_to_status_code() -> None:
    assert Fault.from_json({"errCode": "cortex.notFound.instance", "statusCode": 418}).status == 418
    assert Fault.from_json({"errCode": "cortex.notFound.instance", "status": 410, "statusCode": 418}).status == 410
    assert Fault.from_json({"errCode": "cortex.notFound.instance", "status": "x"}).status == 404


def test_from_json_code_only() -> None:
    fault = Fault.from_json({"code": "kTimeout"})
    assert (fault.errCode, fault.status) == ("script.timeout.unspecified", 408)


def test_from_json_tolerates_odd_input() -> None:
    fault = Fault.from_json(
        {
            "errCode": 5,
            "status": True,
            "index": -4,
            "name": None,
            "message": 7,
            "faults": [1, "x", None, {"code": "kNotFound"}],
        }
    )
    assert (fault.errCode, fault.code, fault.status, fault.name, fault.message, fault.index) == (
        "script.error.unspecified",
        "kError",
        500,
        "error",
        "Error",
        None,
    )
    assert [child.code for child in fault.faults] == ["kNotFound"]
    assert Fault.from_json({"faults": "nope"}).faults == []
    assert Fault.from_json("not a dict").code == "kError"  # type: ignore[arg-type]


def test_from_json_bounds_nesting() -> None:
    data: dict[str, Any] = {"code": "kError"}
    data["faults"] = [data]
    fault = Fault.from_json(data)
    depth = 0
    while fault.faults:
        fault = fault.faults[0]
        depth += 1
    assert 0 < depth < 100


def test_from_value_string() -> None:
    fault = Fault.from_value("boom")
    assert (fault.code, fault.errCode, fault.status, fault.message) == (
        "kError",
        "script.error.unspecified",
        500,
        "boom",
    )


def test_from_value_plain_dict() -> None:
    fault = Fault.from_value(
        {"code": "kNotFound", "message": "bad", "reason": "why", "faults": [{"code": "kTimeout"}, 3]}
    )
    assert (fault.code, fault.status, fault.message, fault.reason) == ("kError", 500, "bad", "why")
    assert [child.code for child in fault.faults] == ["kTimeout"]


def test_from_value_plain_dict_without_string_message() -> None:
    fault = Fault.from_value({"message": 42})
    assert (fault.code, fault.message) == ("kError", "Error")


def test_from_value_fault_dict_and_fault() -> None:
    fault = Fault.from_value({"object": "fault", "errCode": "script.timeout.execution", "reason": "late"})
    assert (fault.code, fault.status, fault.reason) == ("kTimeout", 408, "late")
    assert Fault.from_value(fault) is fault


@pytest.mark.parametrize(("value", "message"), [(42, "42"), (None, "None"), (ValueError("v"), "v")])
def test_from_value_other(value: object, message: str) -> None:
    fault = Fault.from_value(value)
    assert (fault.code, fault.status, fault.message) == ("kError", 500, message)


def test_str() -> None:
    assert str(Fault("kError")) == "error kError: Error"
    assert str(Fault("cortex.notFound.instance", "c_x gone")) == "db kNotFound: c_x gone"
    assert str(Fault("kFooUnknown")) == "fault kFooUnknown"


def test_pickle_round_trip() -> None:
    fault = Fault("script.timeout.execution", reason="late", faults=[Fault("kNotFound")])
    restored = pickle.loads(pickle.dumps(fault))
    assert restored.to_json() == fault.to_json()
