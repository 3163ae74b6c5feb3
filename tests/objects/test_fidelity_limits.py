"""fidelity.md §5: cursor ``limit`` and ``skip`` are checked on the host when the cursor opens."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

from .fidelity_support import fault, make_org, value

POSITIVE = "limit query option must be positive integer"
LIST_RANGE = "limit query option must be an integer between 1 and 1000, inclusive"
SKIP_RANGE = "skip query option must be an integer between 0 and 500000, inclusive"
STAGE_LIMIT = "$limit must be an integer between 1 and 500000, inclusive"
COUNT_LIMIT = "limit option must be an integer between 1 and 500000, inclusive"


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    org = make_org(runtime, "fidlimits")
    docs = ", ".join(f"{{c_n: {i}}}" for i in range(25))
    assert value(runtime, org, f"return org.objects.c_fids.insertMany([{docs}]).execute().insertedCount") == 25
    return org


def query_fault(runtime: Runtime, org: Any, source: str, reason: str) -> None:
    f = fault(runtime, org, source)
    assert (f.errCode, f.code, f.status, f.reason) == ("cortex.invalidArgument.query", "kInvalidArgument", 400, reason)


# ---- find cursors ------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "-1", "2.5", "'abc'", "true"])
def test_cursor_limit_must_be_a_positive_integer(runtime: Runtime, org: Any, limit: str) -> None:
    query_fault(runtime, org, f"return org.objects.c_fids.find().limit({limit}).toArray()", POSITIVE)


@pytest.mark.parametrize(("limit", "count"), [("false", 25), ("null", 25), ("5000", 25), ("'3'", 3)])
def test_cursor_limit_accepted(runtime: Runtime, org: Any, limit: str, count: int) -> None:
    assert value(runtime, org, f"return org.objects.c_fids.find().limit({limit}).toArray().length") == count


def test_limit_is_checked_when_the_cursor_opens(runtime: Runtime, org: Any) -> None:
    assert value(runtime, org, "const c = org.objects.c_fids.find().limit(0).skip(-5); return 'stored'") == "stored"
    query_fault(runtime, org, "const c = org.objects.c_fids.find().limit(0); return c.hasNext()", POSITIVE)


@pytest.mark.parametrize(("limit", "reason"), [("2000", LIST_RANGE), ("0", POSITIVE), ("'x'", POSITIVE)])
def test_list_limits(runtime: Runtime, org: Any, limit: str, reason: str) -> None:
    query_fault(runtime, org, f"return org.objects.c_fids.find().limit({limit}).toList()", reason)


def test_list_default_is_ten_and_false_means_default(runtime: Runtime, org: Any) -> None:
    assert value(runtime, org, "return org.objects.c_fids.find().toList().data.length") == 10
    assert value(runtime, org, "return org.objects.c_fids.find().limit(false).toList().data.length") == 10
    assert value(runtime, org, "return org.objects.c_fids.find().limit(1000).toList().data.length") == 25


@pytest.mark.parametrize(("skip", "count"), [("'x'", 25), ("2.5", 25), ("true", 25), ("20", 5), ("'20'", 5)])
def test_skip_non_integers_become_zero(runtime: Runtime, org: Any, skip: str, count: int) -> None:
    assert value(runtime, org, f"return org.objects.c_fids.find().skip({skip}).toArray().length") == count


@pytest.mark.parametrize("skip", ["-1", "500001"])
def test_skip_range(runtime: Runtime, org: Any, skip: str) -> None:
    query_fault(runtime, org, f"return org.objects.c_fids.find().skip({skip}).toArray()", SKIP_RANGE)


# ---- count -------------------------------------------------------------------------------------


def test_count_limits(runtime: Runtime, org: Any) -> None:
    assert value(runtime, org, "return org.objects.c_fids.find().limit(4).count()") == 4
    query_fault(runtime, org, "return org.objects.c_fids.find().limit(500001).count()", COUNT_LIMIT)
    query_fault(runtime, org, "return org.objects.c_fids.find().skip(-1).count()", SKIP_RANGE)


@pytest.mark.parametrize(("skip", "limit"), [(0, None), (5, None), (5, 7), (0, 30), (24, 3), (30, None), (3, 1)])
def test_count_is_the_number_a_find_with_the_same_skip_and_limit_returns(runtime: Runtime, org: Any, skip: int, limit: int | None) -> None:
    # count() counts without reading out (no sort, no shaping) and stops at the limit: the same number.
    layer = runtime.layer(org[0], org[1])
    options: dict[str, Any] = {"skip": skip, "where": {"c_n": {"$gte": 2}}}
    if limit is not None:
        options["limit"] = limit
    assert layer.count("c_fid", options) == len(list(layer.iterate("c_fid", options))) == max(0, min(23 - skip, limit or 99))


def test_count_on_a_pipeline_is_refused(runtime: Runtime, org: Any) -> None:
    # Scripts' AggregationCursor has no count(); the driver's count operation is where it shows.
    layer = runtime.layer(org[0], org[1])
    with pytest.raises(Fault) as caught:
        layer.count("c_fid", {"pipeline": [{"$match": {"c_n": {"$gte": 0}}}]})
    assert (caught.value.errCode, caught.value.reason) == ("cortex.invalidArgument.query", "cannot execute a count on a pipeline.")


# ---- aggregation stages ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "500001", "'x'", "2.5"])
def test_limit_stage_range(runtime: Runtime, org: Any, limit: str) -> None:
    query_fault(runtime, org, f"return org.objects.c_fids.aggregate().limit({limit}).toArray()", STAGE_LIMIT)


@pytest.mark.parametrize("skip", ["-1", "'x'", "500001"])
def test_skip_stage_range(runtime: Runtime, org: Any, skip: str) -> None:
    query_fault(runtime, org, f"return org.objects.c_fids.aggregate().skip({skip}).toArray()", SKIP_RANGE)


def test_trailing_limit_stage_follows_the_list_rules(runtime: Runtime, org: Any) -> None:
    query_fault(runtime, org, "return org.objects.c_fids.aggregate().limit(2000).toList()", LIST_RANGE)
    assert value(runtime, org, "return org.objects.c_fids.aggregate().limit(2000).toArray().length") == 25
    assert value(runtime, org, "return org.objects.c_fids.aggregate().limit(3).toList().data.length") == 3
