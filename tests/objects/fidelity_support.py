"""Shared set-up for the fidelity tests: one runtime, one org per test module, scripts run as its admin."""

from __future__ import annotations

from typing import Any

from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

# A custom object with one property of each kind the fidelity tests write.
FID_OBJECT = """
org.objects.objects.insertOne({
  label: 'Fid', name: 'c_fid',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'Name', name: 'c_name', type: 'String', indexed: true, removable: true},
    {label: 'Low', name: 'c_low', type: 'String', lowercase: true},
    {label: 'N', name: 'c_n', type: 'Number', indexed: true},
    {label: 'B', name: 'c_b', type: 'Boolean'},
    {label: 'D', name: 'c_d', type: 'Date'},
    {label: 'Day', name: 'c_day', type: 'Date', dateOnly: true},
    {label: 'Oid', name: 'c_oid', type: 'ObjectId'},
    {label: 'Tags', name: 'c_tags', type: 'String', array: true},
    {label: 'Nums', name: 'c_nums', type: 'Number', array: true},
    {label: 'Fixed', name: 'c_fixed', type: 'String', writable: false},
    {label: 'Once', name: 'c_once', type: 'String', creatable: true},
    {label: 'Keep', name: 'c_keep', type: 'String', removable: false},
    {label: 'Doc', name: 'c_doc', type: 'Document', properties: [{label: 'X', name: 'c_x', type: 'Number'}]},
    {label: 'Docs', name: 'c_docs', type: 'Document', array: true, properties: [
      {label: 'X', name: 'c_x', type: 'Number'},
      {label: 'S', name: 'c_s', type: 'String', validators: [{name: 'string', definition: {max: 3}}]}
    ]}
  ]
}).execute()
"""


def make_org(runtime: Runtime, code: str, setup: str = FID_OBJECT) -> tuple[Any, Any]:
    org, admin = runtime.orgs.create(code)
    result = runtime.run(setup + "\nreturn 1", org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    return org, admin


def value(runtime: Runtime, org: tuple[Any, Any], source: str) -> Any:
    result = runtime.run(source, org=org[0], principal=org[1])
    assert result.ok, result.fault and result.fault.to_json()
    return result.plain()


def fault(runtime: Runtime, org: tuple[Any, Any], source: str) -> Fault:
    result = runtime.run(source, org=org[0], principal=org[1])
    assert result.fault is not None, result.value
    return result.fault
