"""fidelity.md §14: uniqueness per property definition, and one index slot pool across object types."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.runtime import Runtime

from .fidelity_support import fault, make_org, value

TYPED = """
org.objects.objects.insertOne({
  label: 'Kit', name: 'c_kit',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'Serial', name: 'c_serial', type: 'String', indexed: true, unique: true},
    {label: 'Codes', name: 'c_codes', type: 'String', array: true, indexed: true, unique: true}
  ],
  objectTypes: [
    {label: 'A', name: 'c_a', properties: [{label: 'Lot', name: 'c_lot', type: 'String', indexed: true, unique: true},
                                           {label: 'Val', name: 'c_val', type: 'Number', indexed: true}]},
    {label: 'B', name: 'c_b', properties: [{label: 'Lot', name: 'c_lot', type: 'String', indexed: true, unique: true},
                                           {label: 'Val', name: 'c_val', type: 'String', indexed: true}]}
  ]
}).execute()
org.objects.objects.insertOne({
  label: 'Other', name: 'c_other',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'Serial', name: 'c_serial', type: 'String', indexed: true, unique: true}]
}).execute()
"""


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    return make_org(runtime, "fiduniq", TYPED)


def insert(runtime: Runtime, org: Any, name: str, doc: str) -> Any:
    return value(runtime, org, f"return org.objects.{name}.insertOne({doc}).execute()")


def duplicate(runtime: Runtime, org: Any, name: str, doc: str) -> Any:
    f = fault(runtime, org, f"return org.objects.{name}.insertOne({doc}).execute()")
    assert (f.errCode, f.code, f.status, f.message) == ("cortex.conflict.duplicateKey", "kDuplicateKey", 409, "Duplicate value for unique index.")
    return f


def test_base_property_is_unique_across_all_types(runtime: Runtime, org: Any) -> None:
    insert(runtime, org, "c_kits", "{type: 'c_a', c_serial: 's-1'}")
    duplicate(runtime, org, "c_kits", "{type: 'c_b', c_serial: 's-1'}")


def test_same_named_type_properties_are_unique_within_each_type(runtime: Runtime, org: Any) -> None:
    insert(runtime, org, "c_kits", "{type: 'c_a', c_lot: 'lot-1'}")
    insert(runtime, org, "c_kits", "{type: 'c_b', c_lot: 'lot-1'}")
    duplicate(runtime, org, "c_kits", "{type: 'c_a', c_lot: 'lot-1'}")


def test_different_objects_never_collide(runtime: Runtime, org: Any) -> None:
    insert(runtime, org, "c_kits", "{type: 'c_a', c_serial: 'shared'}")
    insert(runtime, org, "c_others", "{c_serial: 'shared'}")


def test_orgs_never_collide(runtime: Runtime, org: Any) -> None:
    other = make_org(runtime, "fiduniq2", TYPED)
    insert(runtime, org, "c_kits", "{type: 'c_a', c_serial: 'org-wide'}")
    insert(runtime, other, "c_kits", "{type: 'c_a', c_serial: 'org-wide'}")


def test_array_values_are_multikeys(runtime: Runtime, org: Any) -> None:
    insert(runtime, org, "c_kits", "{type: 'c_a', c_codes: ['x1', 'x2']}")
    duplicate(runtime, org, "c_kits", "{type: 'c_b', c_codes: ['x9', 'x2']}")
    insert(runtime, org, "c_kits", "{type: 'c_a', c_codes: []}")
    insert(runtime, org, "c_kits", "{type: 'c_a', c_codes: []}")


def test_a_value_repeated_in_one_instance_array(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "return org.objects.c_kits.insertOne({type: 'c_a', c_codes: ['r1', 'r1']}).execute()")
    assert f.errCode == "cortex.invalidArgument.validation"
    assert [(c.errCode, c.path) for c in f.faults] == [("cortex.conflict.duplicateKey", "c_codes")]


def test_update_into_a_taken_value(runtime: Runtime, org: Any) -> None:
    f = fault(
        runtime,
        org,
        """
        const K = org.objects.c_kits
        K.insertOne({type: 'c_a', c_serial: 'u-1'}).execute()
        const _id = K.insertOne({type: 'c_b', c_serial: 'u-2'}).execute()
        return K.updateOne({_id}, {$set: {c_serial: 'u-1'}}).execute()
        """,
    )
    assert f.errCode == "cortex.conflict.duplicateKey"


# ---- slots and names ---------------------------------------------------------------------------


def _definition(name: str, base: int, per_type: int, types: int = 2, unique: bool = False) -> str:
    flag = ", unique: true" if unique else ""
    base_props = ", ".join(f"{{label: 'P', name: 'c_p{i}', type: 'String', indexed: true{flag}}}" for i in range(base))
    type_list = ", ".join(
        f"{{label: 'T', name: 'c_t{t}', properties: ["
        + ", ".join(f"{{label: 'Q', name: 'c_q{t}_{i}', type: 'String', indexed: true{flag}}}" for i in range(per_type))
        + "]}"
        for t in range(types)
    )
    return (
        f"org.objects.objects.insertOne({{label: 'S', name: '{name}', "
        f"properties: [{base_props}], objectTypes: [{type_list}]}}).execute()"
    )


def test_index_slots_are_one_pool_across_types(runtime: Runtime, org: Any) -> None:
    value(runtime, org, _definition("c_slots_ok", 10, 5) + "; return 1")  # 10 + 5 + 5 = 20 slots
    f = fault(runtime, org, _definition("c_slots_full", 10, 5, types=3))  # 25 slots
    assert f.errCode == "cortex.invalidArgument.validation"
    child = f.faults[0]
    assert (child.errCode, child.reason) == ("cortex.error.unspecified", "No more indexes are available.")


def test_unique_slots_are_one_pool_across_types(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, _definition("c_slots_unique", 3, 2, unique=True))  # 3 + 2 + 2 = 7 unique slots
    assert f.faults[0].reason == "No more unique indexes are available."


def test_a_type_property_cannot_reuse_a_base_name(runtime: Runtime, org: Any) -> None:
    f = fault(
        runtime,
        org,
        """
        org.objects.objects.insertOne({label: 'Clash', name: 'c_clash', properties: [{label: 'N', name: 'c_n', type: 'String'}],
          objectTypes: [{label: 'T', name: 'c_t', properties: [{label: 'N', name: 'c_n', type: 'Number'}]}]}).execute()
        """,
    )
    assert (f.errCode, f.reason) == (
        "cortex.conflict.exists",
        "A base property of the same name already exists; An object type property cannot overwrite a shared base property.",
    )


# ---- same name, different types ----------------------------------------------------------------


def test_a_name_typed_differently_is_cast_per_type(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const K = org.objects.c_kits
        K.insertMany([{type: 'c_a', c_val: 5}, {type: 'c_b', c_val: '5'}, {type: 'c_b', c_val: 'five'}]).execute()
        return [K.find({c_val: '5'}).map(d => [d.type, d.c_val]), K.find({c_val: {$in: ['5', '6']}}).count()]
        """,
    )
    assert sorted(out[0]) == [["c_a", 5], ["c_b", "5"]] and out[1] == 2


def test_a_value_one_type_cannot_cast_fails_the_whole_query(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "return org.objects.c_kits.find({c_val: 'five'}).toArray()")
    assert (f.errCode, f.code, f.status, f.reason) == ("cortex.invalidArgument.castError", "kCastError", 400, 'Could not cast "five" to Number.')
