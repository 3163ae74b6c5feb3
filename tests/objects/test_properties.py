"""Tests for property definitions, slots, casting and validation (cortex_runtime.objects.properties)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime.faults import Fault
from cortex_runtime.objects.model import PropertyDef
from cortex_runtime.objects.properties import cast_value, check_slots, parse_property, validate_document
from cortex_runtime.objects.validators import compile_pattern, password_score, to_datetime

OID = "5f0c1a2b3c4d5e6f70819203"
OID2 = "5f0c1a2b3c4d5e6f70819204"


def prop(name: str = "c_x", type_: str = "String", **options: Any) -> PropertyDef:
    raw: dict[str, Any] = {"name": name, "label": name, "type": type_, **options}
    if type_ in ("Reference", "List"):
        raw.setdefault("sourceObject", "account")
    return parse_property(raw)


def definition_child(raw: dict[str, Any], **kwargs: Any) -> Fault:
    """Parse a bad definition and return the single child fault."""
    with pytest.raises(Fault) as caught:
        parse_property(raw, **kwargs)
    fault = caught.value
    assert fault.errCode == "cortex.invalidArgument.validation"
    assert fault.code == "kValidationError"
    assert len(fault.faults) == 1
    return fault.faults[0]


def slot_child(props: list[PropertyDef]) -> Fault:
    with pytest.raises(Fault) as caught:
        check_slots(props)
    assert caught.value.errCode == "cortex.invalidArgument.validation"
    assert len(caught.value.faults) == 1
    return caught.value.faults[0]


def cast_fault(p: PropertyDef, value: Any, path: str = "c_x") -> Fault:
    with pytest.raises(Fault) as caught:
        cast_value(p, value, path=path)
    return caught.value


def validation_children(props: list[PropertyDef], doc: dict[str, Any], **kwargs: Any) -> list[Fault]:
    kwargs.setdefault("creating", True)
    kwargs.setdefault("object_name", "c_reading")
    with pytest.raises(Fault) as caught:
        validate_document(props, doc, **kwargs)
    fault = caught.value
    assert fault.errCode == "cortex.invalidArgument.validation"
    assert fault.code == "kValidationError"
    assert fault.reason == "Validation error."
    return fault.faults


def one_child(props: list[PropertyDef], doc: dict[str, Any], **kwargs: Any) -> Fault:
    children = validation_children(props, doc, **kwargs)
    assert len(children) == 1, [c.to_json() for c in children]
    return children[0]


def check(p: PropertyDef, value: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("creating", True)
    kwargs.setdefault("object_name", "c_reading")
    return validate_document([p], {p.name: value}, **kwargs)


def v(name: str, **definition: Any) -> dict[str, Any]:
    return {"name": name, "definition": definition}


# --- parse_property ------------------------------------------------------------------


class TestParseProperty:
    def test_defaults_filled_in(self) -> None:
        p = parse_property({"name": "c_bpm", "label": "BPM", "type": "Number"})
        assert (p.name, p.label, p.type) == ("c_bpm", "BPM", "Number")
        assert (p.array, p.indexed, p.unique) == (False, False, False)
        assert (p.read_access, p.write_access) == (4, 6)
        assert (p.readable, p.writable, p.creatable, p.removable, p.optional) == (True, True, False, False, False)
        assert p.validators == [] and p.properties == [] and p.acl == []

    def test_interpreted_options(self) -> None:
        p = parse_property(
            {
                "name": "c_patient", "label": "Patient", "type": "Reference", "sourceObject": "account",
                "indexed": True, "unique": True, "expandable": True, "readAccess": 5, "writeAccess": 7,
                "readable": False, "writable": False, "creatable": True, "removable": True, "optional": True,
                "acl": [{"type": 1, "target": OID, "allow": 4}],
            }
        )
        assert p.source_object == "account" and p.expandable and p.indexed and p.unique
        assert (p.read_access, p.write_access) == (5, 7)
        assert (p.readable, p.writable, p.creatable, p.removable, p.optional) == (False, False, True, True, True)
        assert p.acl == [{"type": 1, "target": OID, "allow": 4}]

    def test_unknown_options_are_kept_not_refused(self) -> None:
        raw = {
            "name": "c_note", "label": "Note", "type": "String", "history": True, "auditing": {"enabled": True},
            "localized": True, "uniqueKey": True, "dependencies": ["c_other"],
            "defaultValue": [{"type": "static", "value": "x"}], "c_whatever": {"deep": [1, 2]},
        }
        p = parse_property(raw)
        assert p.options == raw
        assert p.options is not raw

    @pytest.mark.parametrize(
        "type_",
        ["Any", "Binary", "Boolean", "Date", "Document", "File", "Geometry", "List", "Number", "ObjectId",
         "Reference", "String", "UUID", "Set", "Coordinate", "Expression"],
    )
    def test_every_type_is_accepted(self, type_: str) -> None:
        assert prop("c_p", type_).type == type_

    def test_set_is_always_an_array(self) -> None:
        assert prop("c_set", "Set").array is True

    def test_missing_name(self) -> None:
        child = definition_child({"label": "X", "type": "String"})
        assert child.errCode == "cortex.invalidArgument.required" and child.code == "kRequired"
        assert child.path == "name"

    def test_missing_name_with_prefix(self) -> None:
        child = definition_child({"name": "", "label": "X", "type": "String"}, path_prefix="properties.")
        assert child.errCode == "cortex.invalidArgument.required"
        assert child.path == "properties.name"

    def test_missing_label(self) -> None:
        child = definition_child({"name": "c_x", "type": "String"})
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_x.label"

    def test_label_must_be_a_string(self) -> None:
        child = definition_child({"name": "c_x", "label": 5, "type": "String"})
        assert child.errCode == "cortex.invalidArgument.castError" and child.path == "c_x.label"

    def test_missing_type(self) -> None:
        child = definition_child({"name": "c_x", "label": "X"})
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_x.type"

    def test_unknown_type(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "Integer"})
        assert child.errCode == "cortex.invalidArgument.enumValue" and child.code == "kEnumValue"
        assert child.path == "c_x.type"

    @pytest.mark.parametrize("name", ["c_bad name", "c_" + "a" * 39, "c_dot.ted", "c_ü"])
    def test_name_rule(self, name: str) -> None:
        child = definition_child({"name": name, "label": "X", "type": "String"})
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.code == "kInvalidArgument"
        assert child.path == name

    def test_forty_character_name_is_fine(self) -> None:
        assert prop("c_" + "a" * 38).name == "c_" + "a" * 38

    @pytest.mark.parametrize("name", ["bpm", "C_bpm", "c_", "x__"])
    def test_custom_names_need_prefix_or_namespace(self, name: str) -> None:
        child = definition_child({"name": name, "label": "X", "type": "String"})
        assert child.errCode == "cortex.invalidArgument.customName" and child.path == name

    def test_namespaced_name(self) -> None:
        assert prop("acme__bpm").name == "acme__bpm"

    def test_standard_names_when_custom_not_required(self) -> None:
        p = parse_property({"name": "email", "label": "Email", "type": "String"}, custom_required=False)
        assert p.name == "email"

    def test_boolean_option_type(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "indexed": "yes"})
        assert child.errCode == "cortex.invalidArgument.castError" and child.code == "kCastError"
        assert child.path == "c_x.indexed"

    @pytest.mark.parametrize(
        ("options", "option", "err_code"),
        [
            ({"minItems": -1}, "minItems", "cortex.invalidArgument.numberExpected"),
            ({"minItems": 1001}, "minItems", "cortex.invalidArgument.numberExpected"),
            ({"maxItems": 1001}, "maxItems", "cortex.invalidArgument.numberExpected"),
            ({"minItems": 10, "maxItems": 5}, "maxItems", "cortex.invalidArgument.numberExpected"),
            ({"minItems": 200}, "maxItems", "cortex.invalidArgument.numberExpected"),
            ({"maxItems": "10"}, "maxItems", "cortex.invalidArgument.castError"),
            ({"maxItems": 2.5}, "maxItems", "cortex.invalidArgument.castError"),
            ({"maxItems": True}, "maxItems", "cortex.invalidArgument.castError"),
        ],
    )
    def test_array_item_limits(self, options: dict[str, Any], option: str, err_code: str) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "array": True, **options})
        assert child.errCode == err_code and child.path == f"c_x.{option}"

    def test_array_item_limits_in_range(self) -> None:
        p = prop("c_x", array=True, minItems=1000, maxItems=1000)
        assert p.options["maxItems"] == 1000 and p.array

    @pytest.mark.parametrize(("option", "value"), [("readAccess", 0), ("readAccess", 9), ("writeAccess", 0), ("writeAccess", 9)])
    def test_access_levels(self, option: str, value: int) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", option: value})
        assert child.errCode == "cortex.invalidArgument.numberExpected" and child.path == f"c_x.{option}"

    def test_access_level_bounds_are_inclusive(self) -> None:
        p = prop(readAccess=1, writeAccess=8)
        assert (p.read_access, p.write_access) == (1, 8)

    def test_unique_requires_indexed(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "unique": True})
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == "c_x.unique"

    @pytest.mark.parametrize(
        "options",
        [{"uniqueValues": True}, {"maxItems": 5}, {"minItems": 1}, {"maxShift": True}],
    )
    def test_array_only_options_need_array(self, options: dict[str, Any]) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", **options})
        assert child.errCode == "cortex.invalidArgument.unspecified"
        assert child.path == f"c_x.{next(iter(options))}"

    def test_array_only_defaults_without_array_are_fine(self) -> None:
        p = prop(canPush=True, canPull=True, maxItems=100, minItems=0, uniqueValues=False)
        assert p.array is False

    @pytest.mark.parametrize(
        ("type_", "option"),
        [
            ("Any", "indexed"), ("Any", "array"), ("Binary", "indexed"), ("Binary", "array"), ("Binary", "uniqueValues"),
            ("Document", "indexed"), ("Document", "auditable"), ("File", "indexed"), ("List", "writable"),
            ("List", "array"), ("List", "indexed"),
        ],
    )
    def test_type_exclusions(self, type_: str, option: str) -> None:
        raw = {"name": "c_x", "label": "X", "type": type_, option: True, "sourceObject": "account"}
        child = definition_child(raw)
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == f"c_x.{option}"

    def test_any_cannot_be_unique(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "Any", "indexed": True, "unique": True})
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path in ("c_x.indexed", "c_x.unique")

    def test_list_max_items_excluded(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "List", "sourceObject": "c_a", "maxItems": 5})
        assert child.path == "c_x.maxItems"

    def test_list_is_not_writable(self) -> None:
        assert prop("c_kids", "List").writable is False

    @pytest.mark.parametrize("type_", ["Reference", "List"])
    def test_source_object_required(self, type_: str) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": type_})
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_x.sourceObject"

    def test_geo_type(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "Geometry", "geoType": "Polygon"})
        assert child.errCode == "cortex.invalidArgument.enumValue" and child.path == "c_x.geoType"

    def test_binary_options(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "Binary", "maxSize": 2 * 1024 * 1024})
        assert child.errCode == "cortex.invalidArgument.numberExpected" and child.path == "c_x.maxSize"
        child = definition_child({"name": "c_x", "label": "X", "type": "Binary", "outputEncoding": "base32"})
        assert child.errCode == "cortex.invalidArgument.enumValue" and child.path == "c_x.outputEncoding"

    def test_acl_must_be_entries(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "acl": ["nope"]})
        assert child.errCode == "cortex.invalidArgument.castError" and child.path == "c_x.acl"

    def test_document_children(self) -> None:
        p = parse_property(
            {"name": "c_doc", "label": "Doc", "type": "Document", "array": True,
             "properties": [{"name": "c_a", "label": "A", "type": "String", "indexed": True},
                            {"name": "c_b", "label": "B", "type": "Number"}]}
        )
        assert [c.name for c in p.properties] == ["c_a", "c_b"]
        assert p.child("c_a") is not None and p.child("c_a").indexed  # type: ignore[union-attr]

    def test_document_child_problem_path(self) -> None:
        raw = {"name": "c_doc", "label": "Doc", "type": "Document",
               "properties": [{"name": "c_tags", "label": "T", "type": "String", "maxItems": 5}]}
        child = definition_child(raw, path_prefix="properties.")
        assert child.path == "properties.c_doc.c_tags.maxItems"

    def test_document_child_needs_custom_name(self) -> None:
        raw = {"name": "c_doc", "label": "Doc", "type": "Document", "properties": [{"name": "a", "label": "A", "type": "String"}]}
        child = definition_child(raw)
        assert child.errCode == "cortex.invalidArgument.customName" and child.path == "c_doc.a"

    def test_document_cannot_contain_document(self) -> None:
        raw = {"name": "c_doc", "label": "Doc", "type": "Document",
               "properties": [{"name": "c_inner", "label": "I", "type": "Document"}]}
        child = definition_child(raw)
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == "c_doc.c_inner"

    def test_document_duplicate_children(self) -> None:
        raw = {"name": "c_doc", "label": "Doc", "type": "Document",
               "properties": [{"name": "c_a", "label": "A", "type": "String"}, {"name": "c_a", "label": "A", "type": "Number"}]}
        child = definition_child(raw)
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == "c_doc.c_a.name"

    def test_set_documents(self) -> None:
        p = parse_property(
            {"name": "c_body", "label": "Body", "type": "Set",
             "documents": [{"name": "c_text", "label": "Text", "properties": [{"name": "c_t", "label": "T", "type": "String"}]}]}
        )
        assert p.properties[0].type == "Document" and p.properties[0].child("c_t") is not None

    def test_validators_normalised(self) -> None:
        p = prop(validators=[{"name": "required"}, {"name": "string", "definition": {"max": 5}, "description": "d"}])
        assert p.validators == [
            {"name": "required", "definition": {}},
            {"name": "string", "definition": {"max": 5}, "description": "d"},
        ]

    def test_unknown_validator(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "validators": [{"name": "bogus"}]})
        assert child.errCode == "cortex.invalidArgument.enumValue" and child.path == "c_x.validators.bogus"

    def test_validator_without_name(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "validators": [{"definition": {}}]})
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_x.validators.name"

    def test_validator_for_wrong_type(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "Number", "validators": [{"name": "email"}]})
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == "c_x.validators.email"

    @pytest.mark.parametrize(
        ("type_", "validator"),
        [
            ("String", v("stringEnum")),
            ("String", v("stringEnum", values=[1])),
            ("Number", v("numberEnum", values=["a"])),
            ("ObjectId", v("idEnum", values=["nope"])),
            ("Date", v("dateEnum", values=["not a date"])),
            ("String", v("pattern", pattern="abc")),
            ("String", v("pattern", pattern="/(/")),
            ("String", v("pattern", pattern="/a/q")),
            ("String", v("string", min=5, max=2)),
            ("Number", v("number", min="1")),
            ("String", v("passwordStrength", minScore=7)),
            ("String", v("email", allowNull="yes")),
            ("String", v("phoneNumber", allowedCountries="US")),
            ("Date", v("date", min="whenever")),
        ],
    )
    def test_bad_validator_definitions(self, type_: str, validator: dict[str, Any]) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": type_, "validators": [validator]})
        assert child.errCode == "cortex.invalidArgument.unspecified"
        assert child.path == f"c_x.validators.{validator['name']}.definition"

    def test_validator_definition_must_be_object(self) -> None:
        child = definition_child({"name": "c_x", "label": "X", "type": "String", "validators": [{"name": "string", "definition": 3}]})
        assert child.errCode == "cortex.invalidArgument.castError" and child.path == "c_x.validators.string.definition"

    def test_non_mapping_definition(self) -> None:
        child = definition_child("c_x")  # type: ignore[arg-type]
        assert child.errCode == "cortex.invalidArgument.castError"


# --- check_slots ---------------------------------------------------------------------


def indexed(count: int, prefix: str = "c_i", **options: Any) -> list[PropertyDef]:
    return [prop(f"{prefix}{n}", indexed=True, **options) for n in range(count)]


class TestSlots:
    def test_twenty_indexed_and_one_unique(self) -> None:
        check_slots(indexed(20) + [prop("c_u", indexed=True, unique=True)])

    def test_twenty_first_index(self) -> None:
        child = slot_child(indexed(21))
        assert child.reason == "No more indexes are available."
        # fidelity.md §14: an exhausted pool is cortex.error.unspecified in the validation fault (was maxAllowed).
        assert child.errCode == "cortex.error.unspecified" and child.path == "c_i20.indexed"

    def test_five_unique(self) -> None:
        check_slots(indexed(20) + indexed(5, "c_u", unique=True))

    def test_sixth_unique(self) -> None:
        child = slot_child(indexed(6, "c_u", unique=True))
        assert child.reason == "No more unique indexes are available." and child.path == "c_u5.unique"

    def test_three_geometries_do_not_use_index_slots(self) -> None:
        check_slots(indexed(20) + [prop(f"c_g{n}", "Geometry", indexed=True) for n in range(3)])

    def test_fourth_geometry(self) -> None:
        child = slot_child([prop(f"c_g{n}", "Geometry", indexed=True) for n in range(4)])
        # fidelity.md §14: the platform's text is "No more geospatial indexes are available" (no full stop).
        assert child.reason == "No more geospatial indexes are available" and child.path == "c_g3.indexed"

    def test_hundred_properties(self) -> None:
        check_slots([prop(f"c_p{n}") for n in range(100)])

    def test_hundred_and_one_properties(self) -> None:
        child = slot_child([prop(f"c_p{n}") for n in range(101)])
        assert child.errCode == "cortex.invalidArgument.maxItems" and child.code == "kMaxItems"
        assert child.path == "c_p100"

    def test_duplicate_names(self) -> None:
        child = slot_child([prop("c_a"), prop("c_b"), prop("c_a", "Number")])
        assert child.errCode == "cortex.invalidArgument.unspecified" and child.path == "c_a.name"

    def test_indexed_document_children_take_slots(self) -> None:
        doc = parse_property(
            {"name": "c_doc", "label": "D", "type": "Document",
             "properties": [{"name": "c_k", "label": "K", "type": "String", "indexed": True}]}
        )
        check_slots(indexed(19) + [doc])
        child = slot_child(indexed(20) + [doc])
        assert child.path == "c_doc.c_k.indexed"

    def test_path_prefix(self) -> None:
        with pytest.raises(Fault) as caught:
            check_slots(indexed(21), path_prefix="properties.")
        assert caught.value.faults[0].path == "properties.c_i20.indexed"


# --- cast_value ----------------------------------------------------------------------


UTC = timezone.utc


class TestCast:
    def test_null_stays_null(self) -> None:
        assert cast_value(prop(type_="Number"), None, path="c_x") is None

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2017-06-26T21:05:28.123Z", datetime(2017, 6, 26, 21, 5, 28, 123000, tzinfo=UTC)),
            ("2017-06-26T23:05:28+02:00", datetime(2017, 6, 26, 21, 5, 28, tzinfo=UTC)),
            ("2017-06-26", datetime(2017, 6, 26, tzinfo=UTC)),
            (1498511128123, datetime(2017, 6, 26, 21, 5, 28, 123000, tzinfo=UTC)),
            (datetime(2017, 6, 26, 21, 5, 28, 123456), datetime(2017, 6, 26, 21, 5, 28, 123000, tzinfo=UTC)),
            (date(2017, 6, 26), datetime(2017, 6, 26, tzinfo=UTC)),
        ],
    )
    def test_date(self, value: Any, expected: datetime) -> None:
        result = cast_value(prop(type_="Date"), value, path="c_x")
        assert result == expected and result.tzinfo is not None

    def test_date_only(self) -> None:
        p = prop(type_="Date", dateOnly=True)
        assert cast_value(p, "2020-02-29", path="c_x") == "2020-02-29"
        assert cast_value(p, datetime(2020, 3, 1, 23, 0, tzinfo=UTC), path="c_x") == "2020-03-01"

    # fidelity.md §1: a non-array cast failure is Mongoose's CastError child (cortex.error.unspecified,
    # status 400, name = the Mongoose path, no path), not castError; '' is accepted as null.
    @pytest.mark.parametrize("value", ["yesterday", "2020-13-01", True, {"a": 1}])
    def test_bad_date(self, value: Any) -> None:
        fault = cast_fault(prop(type_="Date"), value, path="c_reading.c_x")
        assert fault.errCode == "cortex.error.unspecified" and fault.code == "kError" and fault.status == 400
        assert fault.path is None and fault.name == "c_reading.c_x"
        assert fault.message.startswith("Cast to date failed for value ")

    def test_empty_date_is_null(self) -> None:
        assert cast_value(prop(type_="Date"), "", path="c_x") is None

    def test_object_id(self) -> None:
        p = prop(type_="ObjectId")
        assert cast_value(p, OID, path="c_x") == ObjectId(OID)
        assert cast_value(p, ObjectId(OID), path="c_x") == ObjectId(OID)
        # fidelity.md §1: ObjectId cast failures are Mongoose CastErrors (cortex.error.unspecified).
        assert cast_fault(p, "xyz").errCode == "cortex.error.unspecified"
        assert cast_fault(p, "g" * 24).message == 'Cast to ObjectId failed for value "gggggggggggggggggggggggg" (type string) at path "c_x"'

    @pytest.mark.parametrize("value", [OID, ObjectId(OID), {"_id": OID}, {"_id": ObjectId(OID), "object": "account", "path": "/accounts/x"}])
    def test_reference(self, value: Any) -> None:
        assert cast_value(prop(type_="Reference"), value, path="c_x") == {"_id": ObjectId(OID)}

    @pytest.mark.parametrize("value", ["nope", {"object": "account"}, 12])
    def test_bad_reference(self, value: Any) -> None:
        # fidelity.md §1: the ObjectId CastError child, not castError.
        assert cast_fault(prop(type_="Reference"), value).errCode == "cortex.error.unspecified"

    def test_number(self) -> None:
        p = prop(type_="Number")
        assert cast_value(p, 72, path="c_x") == 72
        assert cast_value(p, 72.5, path="c_x") == 72.5

    # fidelity.md §1: Mongoose casts booleans to 1/0, numeric strings through Number(), and lets
    # Infinity pass; only NaN results and arrays fail (were all refused here).
    @pytest.mark.parametrize("value", [float("nan"), [1], "abc"])
    def test_bad_number(self, value: Any) -> None:
        fault = cast_fault(prop(type_="Number"), value)
        assert fault.errCode == "cortex.error.unspecified" and fault.path is None and fault.name == "c_x"

    @pytest.mark.parametrize(("value", "expected"), [(True, 1), (False, 0), ("72", 72), (float("inf"), float("inf"))])
    def test_number_conversions(self, value: Any, expected: Any) -> None:
        assert cast_value(prop(type_="Number"), value, path="c_x") == expected

    def test_boolean(self) -> None:
        p = prop(type_="Boolean")
        assert cast_value(p, False, path="c_x") is False
        # fidelity.md §1: 1 and 'true' cast to true (were refused); 'TRUE' and 2 are refused.
        assert cast_value(p, 1, path="c_x") is True and cast_value(p, "true", path="c_x") is True
        assert cast_fault(p, "TRUE").errCode == "cortex.error.unspecified"
        assert cast_fault(p, 2).errCode == "cortex.error.unspecified"

    def test_string_options(self) -> None:
        assert cast_value(prop(trim=True, lowercase=True), " ABC ", path="c_x") == "abc"
        assert cast_value(prop(uppercase=True), "abc", path="c_x") == "ABC"
        assert cast_value(prop(), " keep ", path="c_x") == " keep "
        # fidelity.md §1: numbers are stringified by the String cast (5 was refused here).
        assert cast_value(prop(), 5, path="c_x") == "5"
        assert cast_fault(prop(), {"a": 1}).errCode == "cortex.error.unspecified"

    def test_binary(self) -> None:
        p = prop(type_="Binary")
        assert cast_value(p, b"\x00\x01", path="c_x") == b"\x00\x01"
        assert cast_value(p, "AAE=", path="c_x") == b"\x00\x01"
        assert cast_value(p, [0, 255], path="c_x") == b"\x00\xff"
        assert cast_value(prop(type_="Binary", outputEncoding="hex"), "00ff", path="c_x") == b"\x00\xff"
        assert cast_fault(p, "***").errCode == "cortex.invalidArgument.castError"
        assert cast_fault(p, 5).errCode == "cortex.invalidArgument.castError"

    def test_binary_max_size(self) -> None:
        assert len(cast_value(prop(type_="Binary"), b"x" * 1000, path="c_x")) == 1000
        fault = cast_fault(prop(type_="Binary"), b"x" * 1001)
        assert fault.errCode == "cortex.invalidArgument.maxLength" and fault.path == "c_x"
        assert len(cast_value(prop(type_="Binary", maxSize=2000), b"x" * 1500, path="c_x")) == 1500

    def test_geometry_point(self) -> None:
        p = prop(type_="Geometry")
        expected = {"type": "Point", "coordinates": [-73.9, 40.7]}
        assert cast_value(p, [-73.9, 40.7], path="c_x") == expected
        assert cast_value(p, expected, path="c_x") == expected

    @pytest.mark.parametrize("value", [[181, 0], [0, -91], [1, 2, 3], [1]])
    def test_geometry_bad_coordinates(self, value: Any) -> None:
        fault = cast_fault(prop(type_="Geometry"), value)
        assert fault.errCode == "cortex.invalidArgument.invalidCoordinate" and fault.code == "kInvalidCoordinate"

    @pytest.mark.parametrize("value", ["here", ["a", "b"], {"type": "LineString", "coordinates": [0, 0]}])
    def test_geometry_cast_errors(self, value: Any) -> None:
        assert cast_fault(prop(type_="Geometry"), value).errCode == "cortex.invalidArgument.castError"

    def test_geometry_multipoint(self) -> None:
        p = prop(type_="Geometry", geoType="MultiPoint")
        assert cast_value(p, [[1, 2], [3, 4]], path="c_x") == {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}
        assert cast_fault(p, [[1, 2], [300, 4]]).errCode == "cortex.invalidArgument.invalidCoordinate"

    def test_uuid(self) -> None:
        p = prop(type_="UUID")
        value = uuid.UUID("12345678-1234-5678-1234-567812345678")
        assert cast_value(p, "{12345678-1234-5678-1234-567812345678}".upper(), path="c_x") == str(value)
        assert cast_value(p, "12345678123456781234567812345678", path="c_x") == str(value)
        assert cast_value(p, value, path="c_x") == str(value)
        assert cast_value(p, value.bytes, path="c_x") == str(value)
        # fidelity.md §1 (UUID): the platform's setter refusal is wrapped by Mongoose, so the fault is
        # its CastError child (``Cast to Buffer failed …``), not ``castError``.
        assert cast_fault(p, "not-a-uuid").errCode == "cortex.error.unspecified"

    def test_any_is_stored_as_is(self) -> None:
        value = {"a": [1, {"b": None}], "$weird": True}
        assert cast_value(prop(type_="Any"), value, path="c_x") is value

    def test_coordinate_expression_file(self) -> None:
        assert cast_value(prop(type_="Coordinate"), (1, 2.5), path="c_x") == [1, 2.5]
        assert cast_fault(prop(type_="Coordinate"), [1]).errCode == "cortex.invalidArgument.castError"
        assert cast_value(prop(type_="Expression"), {"$add": [1, 2]}, path="c_x") == {"$add": [1, 2]}
        assert cast_value(prop(type_="File"), {"content": "upload"}, path="c_x") == {"content": "upload"}
        assert cast_fault(prop(type_="File"), 5).errCode == "cortex.invalidArgument.castError"

    def test_list_cannot_be_written(self) -> None:
        assert cast_fault(prop(type_="List"), []).errCode == "cortex.invalidArgument.castError"

    def test_document(self) -> None:
        doc = parse_property(
            {"name": "c_doc", "label": "D", "type": "Document",
             "properties": [{"name": "c_when", "label": "W", "type": "Date"}, {"name": "c_n", "label": "N", "type": "Number"}]}
        )
        assert cast_value(doc, {"c_when": "2020-01-01", "c_n": 1}, path="c_doc") == {
            "c_when": datetime(2020, 1, 1, tzinfo=UTC), "c_n": 1,
        }
        fault = cast_fault(doc, {"c_nope": 1}, path="c_doc")
        assert fault.errCode == "cortex.notFound.property" and fault.code == "kNotFound" and fault.path == "c_doc.c_nope"
        # fidelity.md §1: the nested cast failure is a CastError child named by the dotted Mongoose
        # path; a primitive for a Document is "Illegal primitive" (both were castError here).
        fault = cast_fault(doc, {"c_n": "one"}, path="c_doc")
        assert fault.errCode == "cortex.error.unspecified" and fault.name == "c_doc.c_n"
        fault = cast_fault(doc, "text", path="c_doc")
        assert (fault.errCode, fault.reason, fault.path) == ("cortex.invalidArgument.unspecified", "Illegal primitive. Expected an object.", "c_doc")

    def test_array(self) -> None:
        p = prop(type_="Number", array=True)
        assert cast_value(p, [1, 2.5], path="c_x") == [1, 2.5]
        assert cast_value(p, 3, path="c_x") == [3]
        fault = cast_fault(p, [1, "two"])
        assert fault.errCode == "cortex.invalidArgument.castError" and fault.path == "c_x"
        assert cast_fault(p, [1, None]).errCode == "cortex.invalidArgument.castError"

    def test_array_unique_values_and_max_shift(self) -> None:
        assert cast_value(prop(array=True, uniqueValues=True), ["a", "b", "a"], path="c_x") == ["a", "b"]
        assert cast_value(prop(array=True, maxItems=2, maxShift=True), ["a", "b", "c"], path="c_x") == ["b", "c"]
        assert cast_value(prop(array=True, maxItems=2), ["a", "b", "c"], path="c_x") == ["a", "b", "c"]

    def test_document_array_elements_get_ids(self) -> None:
        p = parse_property(
            {"name": "c_items", "label": "I", "type": "Document", "array": True,
             "properties": [{"name": "c_name", "label": "N", "type": "String"}]}
        )
        result = cast_value(p, [{"c_name": "a"}, {"_id": OID, "c_name": "b"}], path="c_items")
        assert isinstance(result[0]["_id"], ObjectId) and result[0]["c_name"] == "a"
        assert result[1] == {"_id": ObjectId(OID), "c_name": "b"}
        # fidelity.md §1: 1 casts to '1' for a String; an object is refused, named by the
        # element-relative Mongoose path (the element id was in the fault path here).
        assert cast_value(p, [{"_id": OID, "c_name": 1}], path="c_items")[0]["c_name"] == "1"
        fault = cast_fault(p, [{"_id": OID, "c_name": {"x": 1}}], path="c_items")
        assert fault.path is None and fault.name == "c_name"
        # fidelity.md §3 (document arrays): an element _id that is not an ObjectId is refused as the
        # elements are sorted, with reason "Invalid document _id. Expected an ObjectId." at the fullpath.
        bad_id = cast_fault(p, [{"_id": "bad"}], path="c_items")
        assert (bad_id.errCode, bad_id.reason, bad_id.path) == ("cortex.invalidArgument.unspecified", "Invalid document _id. Expected an ObjectId.", "c_items")

    def test_set_elements(self) -> None:
        p = parse_property(
            {"name": "c_body", "label": "B", "type": "Set",
             "documents": [{"name": "c_text", "label": "T", "properties": [{"name": "c_t", "label": "T", "type": "String"}]},
                           {"name": "c_num", "label": "N", "properties": [{"name": "c_n", "label": "N", "type": "Number"}]}]}
        )
        result = cast_value(p, [{"name": "c_text", "c_t": "hi"}, {"_id": OID, "name": "c_num", "c_n": 2}], path="c_body")
        assert result[0]["name"] == "c_text" and result[0]["c_t"] == "hi" and isinstance(result[0]["_id"], ObjectId)
        assert result[1] == {"_id": ObjectId(OID), "name": "c_num", "c_n": 2}
        assert cast_fault(p, [{"name": "c_other"}], path="c_body").errCode == "cortex.invalidArgument.castError"
        assert cast_fault(p, [{"name": "c_num", "c_t": "x"}], path="c_body").errCode == "cortex.notFound.property"

    @pytest.mark.parametrize(
        ("type_", "value"),
        [
            ("Date", "2020-01-01T10:00:00Z"), ("Reference", {"_id": OID, "object": "account"}), ("Geometry", [1, 2]),
            ("UUID", "12345678123456781234567812345678"), ("ObjectId", OID), ("Binary", "AAE="),
        ],
    )
    def test_casting_is_idempotent(self, type_: str, value: Any) -> None:
        p = prop(type_=type_)
        once = cast_value(p, value, path="c_x")
        assert cast_value(p, once, path="c_x") == once


# --- validate_document ---------------------------------------------------------------


class TestValidateDocument:
    def test_returns_cast_document_and_keeps_builtins(self) -> None:
        props = [prop("c_bpm", "Number"), prop("c_when", "Date"), prop("c_patient", "Reference")]
        result = validate_document(
            props, {"_id": OID, "owner": {"_id": OID}, "c_bpm": 72, "c_when": "2020-01-01", "c_patient": OID},
            creating=True, object_name="c_reading",
        )
        assert result == {
            "_id": OID, "owner": {"_id": OID}, "c_bpm": 72,
            "c_when": datetime(2020, 1, 1, tzinfo=UTC), "c_patient": {"_id": ObjectId(OID)},
        }

    def test_non_object_payload_is_empty(self) -> None:
        assert validate_document([prop()], None, creating=True, object_name="c_reading") == {}

    def test_unknown_property_is_not_found(self) -> None:
        with pytest.raises(Fault) as caught:
            validate_document([prop()], {"c_not_a_prop": True}, creating=True, object_name="c_reading")
        assert caught.value.errCode == "cortex.notFound.property" and caught.value.code == "kNotFound"
        assert caught.value.path == "c_not_a_prop"

    def test_required_on_create(self) -> None:
        child = one_child([prop("c_bpm", "Number", validators=[v("required")])], {})
        assert child.errCode == "cortex.invalidArgument.required" and child.code == "kRequired"
        assert child.path == "c_reading.c_bpm"

    def test_required_missing_is_fine_on_update(self) -> None:
        p = prop("c_bpm", "Number", validators=[v("required")])
        assert validate_document([p], {}, creating=False, object_name="c_reading", existing={}) == {}

    def test_required_null_on_update(self) -> None:
        child = one_child([prop("c_bpm", "Number", validators=[v("required")])], {"c_bpm": None}, creating=False)
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_reading.c_bpm"

    def test_required_empty_array(self) -> None:
        child = one_child([prop("c_tags", array=True, validators=[v("required")])], {"c_tags": []})
        assert child.errCode == "cortex.invalidArgument.required"

    def test_all_failures_collected(self) -> None:
        props = [
            prop("c_a", "Number", validators=[v("required")]),
            prop("c_b", "Number", validators=[v("number", max=10)]),
            prop("c_c", "Date"),
            prop("c_d", validators=[v("stringEnum", values=["x"])]),
        ]
        children = validation_children(props, {"c_b": 11, "c_c": "never", "c_d": "y"})
        # fidelity.md §1: the Date cast child has no path and is named by its Mongoose path (was
        # a castError with path c_reading.c_c).
        assert sorted((c.path or c.name, c.code) for c in children) == [
            ("c_c", "kError"),
            ("c_reading.c_a", "kRequired"),
            ("c_reading.c_b", "kNumberExpected"),
            ("c_reading.c_d", "kEnumValue"),
        ]

    def test_cast_error_skips_validators_of_that_property(self) -> None:
        child = one_child([prop("c_n", "Number", validators=[v("number", min=5)])], {"c_n": "x"})
        # fidelity.md §1: a Mongoose CastError child (was castError at c_reading.c_n).
        assert child.errCode == "cortex.error.unspecified" and child.path is None and child.name == "c_n"
        assert child.message == 'Cast to Number failed for value "x" (type string) at path "c_n"'

    def test_nested_document_paths(self) -> None:
        doc = parse_property(
            {"name": "c_doc", "label": "D", "type": "Document",
             "properties": [{"name": "c_child", "label": "C", "type": "String", "validators": [v("required")]},
                            {"name": "c_n", "label": "N", "type": "Number"}]}
        )
        child = one_child([doc], {"c_doc": {"c_n": 1}})
        assert child.errCode == "cortex.invalidArgument.required" and child.path == "c_reading.c_doc.c_child"
        child = one_child([doc], {"c_doc": {"c_child": "a", "c_n": "one"}})
        # fidelity.md §1: a CastError child named by the dotted Mongoose path (was castError).
        assert child.errCode == "cortex.error.unspecified" and child.name == "c_doc.c_n"

    def test_nested_required_only_for_new_documents(self) -> None:
        doc = parse_property(
            {"name": "c_doc", "label": "D", "type": "Document",
             "properties": [{"name": "c_child", "label": "C", "type": "String", "validators": [v("required")]},
                            {"name": "c_n", "label": "N", "type": "Number"}]}
        )
        existing = {"c_doc": {"c_n": 1}}
        result = validate_document([doc], {"c_doc": {"c_n": 2}}, creating=False, object_name="c_reading", existing=existing)
        assert result == {"c_doc": {"c_n": 2}}
        child = one_child([doc], {"c_doc": {"c_n": 2}}, creating=False, existing={})
        assert child.path == "c_reading.c_doc.c_child"

    def test_nested_unknown_key(self) -> None:
        doc = parse_property({"name": "c_doc", "label": "D", "type": "Document", "properties": [{"name": "c_n", "label": "N", "type": "Number"}]})
        with pytest.raises(Fault) as caught:
            validate_document([doc], {"c_doc": {"c_zz": 1}}, creating=True, object_name="c_reading")
        assert caught.value.errCode == "cortex.notFound.property" and caught.value.path == "c_doc.c_zz"

    def test_document_array_paths_use_element_id(self) -> None:
        items = parse_property(
            {"name": "c_items", "label": "I", "type": "Document", "array": True,
             "properties": [{"name": "c_name", "label": "N", "type": "String", "validators": [v("string", max=3)]}]}
        )
        child = one_child([items], {"c_items": [{"_id": OID, "c_name": "toolong"}]})
        # fidelity.md §2: validator faults inside document arrays use the fqpp c_items[].c_name (no _id).
        assert child.errCode == "cortex.invalidArgument.invalidString" and child.path == "c_reading.c_items[].c_name"

    def test_max_and_min_items(self) -> None:
        child = one_child([prop("c_tags", array=True, maxItems=2)], {"c_tags": ["a", "b", "c"]})
        assert child.errCode == "cortex.invalidArgument.maxItems" and child.code == "kMaxItems" and child.path == "c_reading.c_tags"
        child = one_child([prop("c_tags", array=True, minItems=2)], {"c_tags": ["a"]})
        assert child.errCode == "cortex.invalidArgument.minItems" and child.code == "kMinItems"
        child = one_child([prop("c_tags", array=True)], {"c_tags": ["a"] * 101})
        assert child.code == "kMaxItems"

    def test_max_shift_keeps_newest(self) -> None:
        result = check(prop("c_tags", array=True, maxItems=2, maxShift=True), ["a", "b", "c"])
        assert result == {"c_tags": ["b", "c"]}

    def test_unique_values_drop_duplicates(self) -> None:
        assert check(prop("c_tags", array=True, uniqueValues=True), ["a", "a", "b"]) == {"c_tags": ["a", "b"]}

    def test_item_validators_run_per_item(self) -> None:
        p = prop("c_tags", array=True, validators=[v("stringEnum", values=["a", "b"])])
        assert check(p, ["a", "b"]) == {"c_tags": ["a", "b"]}
        child = one_child([p], {"c_tags": ["a", "z", "y"]})
        assert child.errCode == "cortex.invalidArgument.enumValue" and child.path == "c_reading.c_tags"

    def test_default_values(self) -> None:
        props = [
            prop("c_status", defaultValue=[{"type": "static", "value": "new"}]),
            prop("c_when", "Date", defaultValue={"type": "env", "value": "now"}),
            prop("c_flag", "Boolean", defaultValue={"type": "env", "value": "true"}),
            prop("c_n", "Number", defaultValue={"type": "env", "value": "increment"}),
        ]
        before = datetime.now(UTC) - timedelta(seconds=1)
        result = validate_document(props, {}, creating=True, object_name="c_reading")
        assert result["c_status"] == "new" and result["c_flag"] is True and "c_n" not in result
        assert before <= result["c_when"] <= datetime.now(UTC)
        assert validate_document(props, {"c_status": "given"}, creating=True, object_name="c_reading")["c_status"] == "given"
        assert validate_document(props, {}, creating=False, object_name="c_reading", existing={}) == {}

    def test_defaults_satisfy_required_and_are_validated(self) -> None:
        ok = prop("c_s", defaultValue={"type": "static", "value": "a"}, validators=[v("required"), v("stringEnum", values=["a"])])
        assert validate_document([ok], {}, creating=True, object_name="c_reading") == {"c_s": "a"}
        bad = prop("c_s", defaultValue={"type": "static", "value": "b"}, validators=[v("stringEnum", values=["a"])])
        assert one_child([bad], {}).errCode == "cortex.invalidArgument.enumValue"
        wrong = prop("c_n", "Number", defaultValue={"type": "static", "value": "x"})
        child = one_child([wrong], {})
        # fidelity.md §1: a bad default fails the Number cast like a written value (was castError).
        assert child.errCode == "cortex.error.unspecified" and child.name == "c_n"

    def test_defaults_in_new_array_elements(self) -> None:
        items = parse_property(
            {"name": "c_items", "label": "I", "type": "Document", "array": True,
             "properties": [{"name": "c_state", "label": "S", "type": "String", "defaultValue": {"type": "static", "value": "open"}}]}
        )
        result = validate_document([items], {"c_items": [{}]}, creating=True, object_name="c_reading")
        assert result["c_items"][0]["c_state"] == "open"


class TestValidators:
    """Each validator: one passing value and the fault for a failing one."""

    @pytest.mark.parametrize(
        ("type_", "validator", "good", "bad", "err_code", "code"),
        [
            ("Date", v("date", min="2020-01-01", max="2020-12-31"), "2020-06-01", "2021-01-01",
             "cortex.invalidArgument.date", "kInvalidArgument"),
            ("Date", v("date", min="2020-01-01"), "2020-01-01", "2019-12-31", "cortex.invalidArgument.date", "kInvalidArgument"),
            ("Date", v("date"), "2020-01-01", None, "cortex.invalidArgument.date", "kInvalidArgument"),
            ("Number", v("number", min=0, max=300), 300, 301, "cortex.invalidArgument.numberExpected", "kNumberExpected"),
            ("Number", v("number", min=0), 0, -1, "cortex.invalidArgument.numberExpected", "kNumberExpected"),
            ("Number", v("number", allowDecimal=False), 3, 3.5, "cortex.invalidArgument.numberExpected", "kNumberExpected"),
            ("Number", v("number"), 1, None, "cortex.invalidArgument.numberExpected", "kNumberExpected"),
            ("Number", v("allowLevel"), 1, 0, "cortex.invalidArgument.allowLevel", "kInvalidArgument"),
            ("Number", v("allowLevel", includeNoAllow=True), 0, 9, "cortex.invalidArgument.allowLevel", "kInvalidArgument"),
            ("Number", v("allowLevel"), 8, 2.5, "cortex.invalidArgument.allowLevel", "kInvalidArgument"),
            ("Number", v("numberEnum", values=[1, 2]), 2, 3, "cortex.invalidArgument.enumValue", "kEnumValue"),
            ("ObjectId", v("idEnum", values=[OID]), OID, OID2, "cortex.invalidArgument.enumValue", "kEnumValue"),
            ("Reference", v("idEnum", values=[OID]), OID, OID2, "cortex.invalidArgument.enumValue", "kEnumValue"),
            ("String", v("string", min=2, max=4), "abcd", "abcde", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("string", min=2), "ab", "a", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("string"), "a", "", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("string"), "a", None, "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("printableString"), "Hello, world!", "bell\x07", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("printableString", anyFirstLetter=False), "a1", "_a", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("printableString", anyFirstLetter=False, allowNumberAsFirstLetter=False), "a1", "1a",
             "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("printableString", max=3), "abc", "abcd", "cortex.invalidArgument.invalidString", "kInvalidString"),
            ("String", v("stringEnum", values=["red", "blue"]), "red", "green", "cortex.invalidArgument.enumValue", "kEnumValue"),
            ("String", v("email"), "a.b@example.com", "not-an-email", "cortex.invalidArgument.emailFormat", "kInvalidEmailFormat"),
            ("String", v("email", allowNull=False), "a@b.io", None, "cortex.invalidArgument.emailFormat", "kInvalidEmailFormat"),
            ("String", v("locale"), "en_US", "english", "cortex.invalidArgument.locale", "kInvalidArgument"),
            ("String", v("locale"), "fr", "en-us", "cortex.invalidArgument.locale", "kInvalidArgument"),
            ("String", v("url"), "https://example.com/a?b=1", "ftp://example.com", "cortex.invalidArgument.url", "kInvalidArgument"),
            ("String", v("url"), "http://example.com", "not a url", "cortex.invalidArgument.url", "kInvalidArgument"),
            ("String", v("url", webSecure=True), "https://example.com", "http://example.com", "cortex.invalidArgument.url", "kInvalidArgument"),
            ("String", v("url", webSecure=False), "http://example.com", "https://example.com", "cortex.invalidArgument.url", "kInvalidArgument"),
            ("String", v("url", webOnly=False), "ftp://example.com", "", "cortex.invalidArgument.url", "kInvalidArgument"),
            ("String", v("pattern", pattern="/^ab+c$/i"), "ABBC", "abd", "cortex.invalidArgument.string", "kInvalidArgument"),
            ("String", v("pattern", pattern="/^(?<x>a)$/"), "a", "b", "cortex.invalidArgument.string", "kInvalidArgument"),
            ("String", v("passwordStrength", minScore=3), "Tr0ub4dor&3xyz", "password1", "cortex.invalidArgument.passwordStrength", "kInvalidArgument"),
            ("String", v("passwordStrength", minScore=1), "abcdefgh", "abc", "cortex.invalidArgument.passwordStrength", "kInvalidArgument"),
            ("String", v("phoneNumber"), "+1 (555) 123-4567", "call me", "cortex.invalidArgument.phoneNumberFormat", "kInvalidPhoneNumberFormat"),
            ("String", v("phoneNumber"), "+4915112345678", "+12", "cortex.invalidArgument.phoneNumberFormat", "kInvalidPhoneNumberFormat"),
            ("String", v("phoneNumber", allowedCountries=["GB"]), "+44 20 7946 0958", "+1 555 123 4567",
             "cortex.invalidArgument.phoneNumberFormat", "kInvalidPhoneNumberFormat"),
            ("Date", v("dateEnum", values=["2020-01-01", "2020-02-01T00:00:00.000Z"]), "2020-02-01", "2020-03-01",
             "cortex.invalidArgument.enumValue", "kEnumValue"),
            ("Date", v("dateOfBirth"), "1990-05-01", "2999-01-01", "cortex.invalidArgument.dateOfBirth", "kInvalidDateOfBirth"),
            ("String", v("timeZone"), "America/New_York", "Mars/Olympus", "cortex.invalidArgument.timeZone", "kInvalidArgument"),
            ("String", v("customName"), "c_thing", "thing", "cortex.invalidArgument.customName", "kInvalidArgument"),
            ("String", v("dotPath"), "c_a.c_b", "c_a..c_b", "cortex.invalidArgument.string", "kInvalidArgument"),
        ],
    )
    def test_validator(self, type_: str, validator: dict[str, Any], good: Any, bad: Any, err_code: str, code: str) -> None:
        p = prop("c_v", type_, validators=[validator])
        check(p, good)
        child = one_child([p], {"c_v": bad})
        assert (child.errCode, child.code, child.path) == (err_code, code, "c_reading.c_v")

    def test_email_allows_null_by_default(self) -> None:
        p = prop("c_v", validators=[v("email")])
        assert check(p, None) == {"c_v": None}
        assert check(p, "") == {"c_v": ""}

    def test_allow_null_and_empty(self) -> None:
        assert check(prop("c_v", validators=[v("string", allowNull=True)]), None) == {"c_v": None}
        assert check(prop("c_v", validators=[v("string", allowEmpty=True)]), "") == {"c_v": ""}
        assert check(prop("c_v", "Number", validators=[v("number", allowNull=True)]), None) == {"c_v": None}

    def test_string_options_apply_before_validators(self) -> None:
        p = prop("c_v", trim=True, lowercase=True, validators=[v("stringEnum", values=["abc"])])
        assert check(p, " ABC ") == {"c_v": "abc"}

    def test_date_only_validator(self) -> None:
        p = prop("c_v", "Date", dateOnly=True, validators=[v("date", max="2020-01-31")])
        assert check(p, "2020-01-31") == {"c_v": "2020-01-31"}
        assert one_child([p], {"c_v": "2020-02-01"}).errCode == "cortex.invalidArgument.date"

    def test_coordinate(self) -> None:
        p = prop("c_v", "Number", array=True, validators=[v("coordinate", min0=-10, max0=10, min1=0, max1=5, allowDecimal1=False)])
        assert check(p, [-10, 5]) == {"c_v": [-10, 5]}
        for bad in ([11, 1], [0, -1], [0, 1.5], [1, 2, 3]):
            child = one_child([p], {"c_v": bad})
            assert (child.errCode, child.code, child.path) == (
                "cortex.invalidArgument.invalidCoordinate", "kInvalidCoordinate", "c_reading.c_v",
            )

    def test_coordinate_type(self) -> None:
        p = prop("c_v", "Coordinate", validators=[v("coordinate", max0=1)])
        assert check(p, [1, 99]) == {"c_v": [1, 99]}
        assert one_child([p], {"c_v": [2, 0]}).code == "kInvalidCoordinate"

    def test_unique_in_array(self) -> None:
        p = prop("c_v", array=True, validators=[v("uniqueInArray")])
        assert check(p, ["a", "b"]) == {"c_v": ["a", "b"]}
        child = one_child([p], {"c_v": ["a", "b", "a"]})
        assert (child.errCode, child.code, child.status, child.path) == (
            "cortex.conflict.uniqueInArray", "kDuplicateKey", 409, "c_reading.c_v",
        )

    def test_unique_in_array_document_child(self) -> None:
        items = parse_property(
            {"name": "c_items", "label": "I", "type": "Document", "array": True,
             "properties": [{"name": "c_key", "label": "K", "type": "String", "validators": [v("uniqueInArray")]}]}
        )
        validate_document([items], {"c_items": [{"c_key": "a"}, {"c_key": "b"}]}, creating=True, object_name="c_reading")
        child = one_child([items], {"c_items": [{"_id": OID, "c_key": "a"}, {"_id": OID2, "c_key": "a"}]})
        # fidelity.md §2: the fqpp of a document-array child is c_items[].c_key (no _id).
        assert child.errCode == "cortex.conflict.uniqueInArray" and child.path == "c_reading.c_items[].c_key"

    def test_write_once(self) -> None:
        p = prop("c_v", "Date", validators=[v("writeOnce")])
        stored = datetime(2020, 1, 1)  # naive, as a driver without tz_aware returns it
        assert check(p, "2020-01-01")["c_v"] == datetime(2020, 1, 1, tzinfo=UTC)
        assert check(p, "2020-01-01", creating=False, existing={"c_v": stored})["c_v"] == datetime(2020, 1, 1, tzinfo=UTC)
        assert check(p, "2020-01-02", creating=False, existing={"c_v": None})["c_v"] == datetime(2020, 1, 2, tzinfo=UTC)
        child = one_child([p], {"c_v": "2020-01-02"}, creating=False, existing={"c_v": stored})
        assert (child.errCode, child.code, child.status, child.path) == (
            "cortex.accessDenied.writeOnce", "kWriteOnce", 403, "c_reading.c_v",
        )

    def test_write_once_reference(self) -> None:
        p = prop("c_v", "Reference", validators=[v("writeOnce")])
        existing = {"c_v": {"_id": ObjectId(OID), "object": "account", "path": f"/accounts/{OID}"}}
        assert check(p, OID, creating=False, existing=existing) == {"c_v": {"_id": ObjectId(OID)}}
        assert one_child([p], {"c_v": OID2}, creating=False, existing=existing).code == "kWriteOnce"

    def test_json_and_adhoc_are_accepted_but_not_run(self) -> None:
        p = prop("c_v", "Any", validators=[v("json", schema={"type": "string"}), v("adhoc")])
        assert check(p, 5) == {"c_v": 5}


class TestHelpers:
    def test_to_datetime(self) -> None:
        assert to_datetime("2020-01-01T00:00:00Z") == datetime(2020, 1, 1, tzinfo=UTC)
        assert to_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
        assert to_datetime(True) is None and to_datetime("abc") is None and to_datetime(1e20) is None

    def test_compile_pattern(self) -> None:
        pattern = compile_pattern("/^a.c$/is")
        assert pattern is not None and pattern.search("A\nC")
        assert compile_pattern("^abc$") is None and compile_pattern("/a/z") is None and compile_pattern(5) is None

    def test_password_score(self) -> None:
        assert password_score("password") == 0
        assert password_score("aaaaaaaaaaaaaaaa") == 0
        assert password_score("abcdefgh") == 1
        assert password_score("Abcdefg1") == 2
        assert password_score("Abcdefgh1234!xyz") == 4
