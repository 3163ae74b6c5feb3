"""fidelity.md §1: written values are cast per property type as the platform's Mongoose schema casts them."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.objects.casting import cast_message, inspect
from cortex_runtime.runtime import Runtime

from .fidelity_support import fault, make_org, value


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidcast")


def written(runtime: Runtime, org: Any, prop: str, literal: str) -> Any:
    """Insert ``{prop: literal}`` and read the stored value back (absent reads as the string 'absent')."""
    return value(
        runtime,
        org,
        f"""
        const _id = org.objects.c_fids.insertOne({{{prop}: {literal}}}).execute()
        const doc = org.objects.c_fids.find({{_id}}).next()
        const v = doc['{prop}']
        return v === undefined ? 'absent' : (v instanceof Date ? v.toISOString() : v)
        """,
    )


def cast_child(runtime: Runtime, org: Any, prop: str, literal: str) -> dict[str, Any]:
    f = fault(runtime, org, f"org.objects.c_fids.insertOne({{{prop}: {literal}}}).execute()")
    assert (f.errCode, f.code, f.status, f.message) == ("cortex.invalidArgument.validation", "kValidationError", 400, "Validation error.")
    assert len(f.faults) == 1
    return f.faults[0].to_json()


# ---- String ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("['a']", "a"), ("[]", ""), ("12", "12"), ("true", "true"), ("{_id: 'abc'}", "abc"), ("[12]", "12"), ("null", None)],
)
def test_string_accepts_and_converts(runtime: Runtime, org: Any, literal: str, expected: Any) -> None:
    got = written(runtime, org, "c_name", literal)
    assert got == expected or (expected is None and got in (None, "absent"))


def test_string_of_a_date_is_its_long_form(runtime: Runtime, org: Any) -> None:
    got = written(runtime, org, "c_name", "new Date(Date.UTC(2020, 0, 2, 3, 4, 5))")
    assert got == "Thu Jan 02 2020 03:04:05 GMT+0000 (Coordinated Universal Time)"


def test_string_refuses_two_element_arrays_with_the_mongoose_message(runtime: Runtime, org: Any) -> None:
    child = cast_child(runtime, org, "c_name", "['c_name_1', 'c_name_2']")
    assert child["errCode"] == "cortex.error.unspecified" and child["code"] == "kError" and child["status"] == 400
    assert child["name"] == "c_name" and "path" not in child
    assert child["message"] == "Cast to string failed for value \"[ 'c_name_1', 'c_name_2' ]\" (type Array) at path \"c_name\""


def test_string_refuses_plain_objects(runtime: Runtime, org: Any) -> None:
    child = cast_child(runtime, org, "c_name", "{c_name: 'x'}")
    assert child["message"] == "Cast to string failed for value \"{ c_name: 'x' }\" (type Object) at path \"c_name\""


def test_cased_string_setters_keep_element_zero_and_unset_on_empty(runtime: Runtime, org: Any) -> None:
    assert written(runtime, org, "c_low", "['AB', 'CD']") == "ab"
    assert written(runtime, org, "c_low", "[]") == "absent"


# ---- Number / Boolean --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("' 12 '", 12), ("'1e3'", 1000), ("'0x10'", 16), ("true", 1), ("false", 0), ("''", None), ("2.5", 2.5)],
)
def test_number_accepts_and_converts(runtime: Runtime, org: Any, literal: str, expected: Any) -> None:
    got = written(runtime, org, "c_n", literal)
    assert got == expected or (expected is None and got in (None, "absent"))


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("'abc'", 'Cast to Number failed for value "abc" (type string) at path "c_n"'),
        ("[5]", 'Cast to Number failed for value "[ 5 ]" (type Array) at path "c_n"'),
    ],
)
def test_number_refusals(runtime: Runtime, org: Any, literal: str, message: str) -> None:
    child = cast_child(runtime, org, "c_n", literal)
    assert (child["errCode"], child["name"], child["message"]) == ("cortex.error.unspecified", "c_n", message)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("'true'", True), ("1", True), ("'1'", True), ("'yes'", True), ("'false'", False), ("0", False), ("'no'", False)],
)
def test_boolean_accepts(runtime: Runtime, org: Any, literal: str, expected: bool) -> None:
    assert written(runtime, org, "c_b", literal) is expected


@pytest.mark.parametrize(("literal", "shown", "kind"), [("'TRUE'", '"TRUE"', "string"), ("2", '"2"', "number"), ("[true]", '"[ true ]"', "Array"), ("'y'", '"y"', "string")])
def test_boolean_refusals(runtime: Runtime, org: Any, literal: str, shown: str, kind: str) -> None:
    child = cast_child(runtime, org, "c_b", literal)
    assert child["message"] == f'Cast to Boolean failed for value {shown} (type {kind}) at path "c_b"'


# ---- Date / ObjectId ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("0", "1970-01-01T00:00:00.000Z"), ("'2020'", "2020-01-01T00:00:00.000Z"), ("'275761'", "1970-01-01T00:04:35.761Z"),
     ("['2021-03-04']", "2021-03-04T00:00:00.000Z")],
)
def test_date_accepts(runtime: Runtime, org: Any, literal: str, expected: str) -> None:
    assert written(runtime, org, "c_d", literal) == expected


def test_date_refusals(runtime: Runtime, org: Any) -> None:
    assert cast_child(runtime, org, "c_d", "true")["message"] == 'Cast to date failed for value "true" (type boolean) at path "c_d"'
    assert cast_child(runtime, org, "c_d", "'soon'")["message"] == 'Cast to date failed for value "soon" (type string) at path "c_d"'


def test_date_only_setter(runtime: Runtime, org: Any) -> None:
    assert written(runtime, org, "c_day", "'2020-02-29T10:00:00Z'") == "2020-02-29"
    child = cast_child(runtime, org, "c_day", "'someday'")
    assert (child["errCode"], child["reason"]) == ("cortex.invalidArgument.unspecified", "String expected in YYYY-MM-DD format")


def test_object_id_casts(runtime: Runtime, org: Any) -> None:
    assert written(runtime, org, "c_oid", "'abcdefghijkl'").__str__() == "6162636465666768696a6b6c"
    assert str(written(runtime, org, "c_oid", "['5f0c1a2b3c4d5e6f70819201']")) == "5f0c1a2b3c4d5e6f70819201"
    child = cast_child(runtime, org, "c_oid", "12")
    assert child["message"] == 'Cast to ObjectId failed for value "12" (type number) at path "c_oid"'


# ---- Arrays and documents ----------------------------------------------------------------------


def test_array_elements_keep_the_string_rules(runtime: Runtime, org: Any) -> None:
    assert written(runtime, org, "c_tags", "'solo'") == ["solo"]
    assert written(runtime, org, "c_tags", "[['a'], [], 3]") == ["a", "", "3"]


def test_array_element_cast_failure_is_a_cast_error_without_mongoose_text(runtime: Runtime, org: Any) -> None:
    child = cast_child(runtime, org, "c_nums", "[1, 'two']")
    assert (child["errCode"], child["code"], child["reason"], child["path"]) == (
        "cortex.invalidArgument.castError", "kCastError", "Type conversion failure to expected property type.", "c_nums"
    )


def test_plain_object_array_elements(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_tags: [{a: 1}]}).execute()")
    assert (f.errCode, f.status, f.path) == ("cortex.invalidArgument.primitiveExpected", 400, "c_tags")
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_tags: [{0: 'a'}]}).execute()")
    assert (f.errCode, f.code, f.status, f.path) == ("cortex.notImplemented.indexedArrayUpdates", "kNotImplemented", 501, "c_tags")


def test_document_refuses_primitives_and_reads_arrays_as_indexed_keys(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_doc: 'x'}).execute()")
    assert (f.errCode, f.reason, f.path) == ("cortex.invalidArgument.unspecified", "Illegal primitive. Expected an object.", "c_doc")
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_doc: ['a']}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", "c_doc.0")


def test_nested_cast_child_is_named_by_the_mongoose_path(runtime: Runtime, org: Any) -> None:
    assert cast_child(runtime, org, "c_doc", "{c_x: 'one'}")["name"] == "c_doc.c_x"
    assert cast_child(runtime, org, "c_docs", "[{c_x: 'one'}]")["name"] == "c_x"


# ---- the inspected value ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("abc", "'abc'"),
        (12, "12"),
        (["a", "b"], "[ 'a', 'b' ]"),
        ({"c_name": "x"}, "{ c_name: 'x' }"),
        ({"a": {"b": {"c": {"d": 1}}}}, "{ a: { b: { c: [Object] } } }"),
        ("it's", '"it\'s"'),
        ({"a-b": []}, "{ 'a-b': [] }"),
        (None, "null"),
    ],
)
def test_inspect(raw: Any, shown: str) -> None:
    assert inspect(raw) == shown


def test_inspect_breaks_long_output_and_caps_items() -> None:
    long = ["x" * 30, "y" * 30, "z" * 30]
    assert inspect(long) == "[\n  '" + "x" * 30 + "',\n  '" + "y" * 30 + "',\n  '" + "z" * 30 + "'\n]"
    assert inspect(["a"] * 101).endswith("... 1 more item\n]")


def test_message_quotes_a_string_with_a_quote_as_is() -> None:
    assert cast_message("string", {"q": "it's"}, "c_x") == 'Cast to string failed for value "{ q: "it\'s" }" (type Object) at path "c_x"'


# ---- query-time casting ------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "reason"), [("{c_n: 'abc'}", 'Could not cast "abc" to Number.'), ("{c_n: {$gt: true}}", 'Could not cast "true" to Number.')])
def test_query_values_use_the_expression_cast_text(runtime: Runtime, org: Any, where: str, reason: str) -> None:
    f = fault(runtime, org, f"return org.objects.c_fids.find({where}).toArray()")
    assert (f.errCode, f.code, f.reason) == ("cortex.invalidArgument.castError", "kCastError", reason)


# ---- UUID and Any maxSize ----------------------------------------------------------------------

UUID_ANY_OBJECT = """
org.objects.objects.insertOne({
  label: 'Ua', name: 'c_ua',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'U', name: 'c_u', type: 'UUID'},
    {label: 'Us', name: 'c_us', type: 'UUID', array: true},
    {label: 'Blob', name: 'c_blob', type: 'Any', maxSize: 10},
    {label: 'Free', name: 'c_free', type: 'Any'}
  ]
}).execute()
"""


@pytest.fixture(scope="module")
def ua_org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidcastua", UUID_ANY_OBJECT)


def ua_insert(runtime: Runtime, org: Any, body: str) -> Any:
    return value(runtime, org, f"const _id = org.objects.c_uas.insertOne({body}).execute(); return org.objects.c_uas.find({{_id}}).next()")


def ua_child(runtime: Runtime, org: Any, body: str) -> dict[str, Any]:
    f = fault(runtime, org, f"org.objects.c_uas.insertOne({body}).execute()")
    assert (f.errCode, f.status, len(f.faults)) == ("cortex.invalidArgument.validation", 400, 1)
    return f.faults[0].to_json()


@pytest.mark.parametrize(
    "literal",
    ["'6f1a3c2e-8b4d-4f6a-9c1e-2d3b4a5c6d7e'", "'{6F1A3C2E-8B4D-4F6A-9C1E-2D3B4A5C6D7E}'", "'6f1a3c2e8b4d4f6a9c1e2d3b4a5c6d7e'", "'6f1a-3c2e8b4d4f6a9c1e2d3b4a5c6d-7e'"],
)
def test_uuid_setter_accepts_32_hex_digits_dashes_removed_braces_allowed(runtime: Runtime, ua_org: Any, literal: str) -> None:
    assert str(ua_insert(runtime, ua_org, f"{{c_u: {literal}}}")["c_u"]) == "6f1a3c2e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"


def test_uuid_setter_refusal_is_a_mongoose_buffer_cast(runtime: Runtime, ua_org: Any) -> None:
    child = ua_child(runtime, ua_org, "{c_u: 'urn:uuid:6f1a3c2e-8b4d-4f6a-9c1e-2d3b4a5c6d7e'}")
    assert (child["errCode"], child["status"], child["name"]) == ("cortex.error.unspecified", 400, "c_u")
    assert child["message"] == 'Cast to Buffer failed for value "urn:uuid:6f1a3c2e-8b4d-4f6a-9c1e-2d3b4a5c6d7e" (type string) at path "c_u"'
    assert ua_child(runtime, ua_org, "{c_u: 12}")["message"] == 'Cast to Buffer failed for value "12" (type number) at path "c_u"'


def test_uuid_array_refusal_is_a_mongoose_array_cast(runtime: Runtime, ua_org: Any) -> None:
    child = ua_child(runtime, ua_org, "{c_us: ['6f1a3c2e8b4d4f6a9c1e2d3b4a5c6d7e', 'nope']}")
    assert (child["errCode"], child["name"]) == ("cortex.error.unspecified", "c_us")
    assert child["message"] == "Cast to Array failed for value \"[ '6f1a3c2e8b4d4f6a9c1e2d3b4a5c6d7e', 'nope' ]\" (type Array) at path \"c_us\""


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("'6f1a3c2e8b4d0f6a9c1e2d3b4a5c6d7e'", "Invalid uuid version 0."),
        ("'6f1a3c2e8b4d9f6a9c1e2d3b4a5c6d7e'", "Invalid uuid version 9."),
        ("'6f1a3c2e8b4d4f6a1c1e2d3b4a5c6d7e'", "Invalid uuid format."),
        ("'6f1a3c2e8b4d4f6acc1e2d3b4a5c6d7e'", "Invalid uuid format."),
    ],
)
def test_uuid_validator_checks_version_and_variant(runtime: Runtime, ua_org: Any, literal: str, reason: str) -> None:
    child = ua_child(runtime, ua_org, f"{{c_u: {literal}}}")
    assert (child["errCode"], child["reason"], child["path"]) == ("cortex.invalidArgument.unspecified", reason, "c_ua.c_u")


def test_uuid_validator_runs_on_each_array_element(runtime: Runtime, ua_org: Any) -> None:
    child = ua_child(runtime, ua_org, "{c_us: ['6f1a3c2e8b4d4f6a9c1e2d3b4a5c6d7e', '6f1a3c2e8b4d7f6a9c1e2d3b4a5c6d7e']}")
    assert (child["reason"], child["path"]) == ("Invalid uuid version 7.", "c_ua.c_us")


@pytest.mark.parametrize(("literal", "length"), [("'1234567'", 9), ("[1, 22, 3]", 9), ("{a: 12}", 8)])
def test_any_max_size_accepts_json_text_shorter_than_the_limit(runtime: Runtime, ua_org: Any, literal: str, length: int) -> None:
    assert ua_insert(runtime, ua_org, f"{{c_blob: {literal}}}")["c_blob"] is not None


@pytest.mark.parametrize("literal", ["'12345678'", "[1, 22, 333]", "{ab: 123}", "'ééééééé\\u00e9'"])
def test_any_max_size_refuses_json_text_of_the_limit_or_longer(runtime: Runtime, ua_org: Any, literal: str) -> None:
    # JSON.stringify of each value is exactly 10 characters (the limit) or longer: strictly less is required.
    child = ua_child(runtime, ua_org, f"{{c_blob: {literal}}}")
    assert (child["errCode"], child["code"], child["status"], child["message"], child["path"]) == (
        "cortex.invalidArgument.tooLarge", "kRequestTooLarge", 400, "Value too large.", "c_ua.c_blob"
    )


def test_any_without_max_size_has_no_limit(runtime: Runtime, ua_org: Any) -> None:
    assert len(ua_insert(runtime, ua_org, "{c_free: 'x'.repeat(5000)}")["c_free"]) == 5000
