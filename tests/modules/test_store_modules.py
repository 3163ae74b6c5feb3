"""require('cache'), require('counters') and require('config') as scripts see them.

Each test names the acceptance fact of spec modules.md it pins ("fact 9", ...); the rest pin
source facts (§3, §7, §23 "Source facts") or choices made where the spec is silent (named so).
Time moves on a FakeClock that starts at the real time: the embedded store purges TTL entries
by the real clock, so an entry that lapsed by the runtime's clock is still stored ("expired
but not yet purged", which ``list`` and ``count`` see).
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from typing import Any

import pytest

from cortex_runtime.clock import FakeClock
from cortex_runtime.environment.kinds import configs as env_configs
from cortex_runtime.modules import cache as cache_module
from cortex_runtime.modules.config import MAX_CONFIG_BYTES, ConfigModule, config_size
from cortex_runtime.runtime import Runtime

_codes = itertools.count()


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def runtime(clock: FakeClock) -> Runtime:
    rt = Runtime(clock=clock)
    yield rt
    rt.close()


@pytest.fixture()
def org(runtime: Runtime) -> Any:
    """A fresh org (module state is per org, so every test starts empty)."""
    return runtime.orgs.create(f"store{next(_codes)}")


def run(runtime: Runtime, org: Any, source: str) -> Any:
    result = runtime.run(source, org=org[0], principal=org[1])
    assert result.fault is None, result.fault.to_json()
    return result.plain()


def fault(runtime: Runtime, org: Any, source: str) -> dict[str, Any]:
    result = runtime.run(source, org=org[0], principal=org[1])
    assert result.fault is not None, f"expected a fault, got {result.value!r}"
    return result.fault.to_json()


CACHE = "const cache = require('cache');\n"
COUNTERS = "const counters = require('counters');\n"
CONFIG = "const config = require('config');\n"


# ---- cache ------------------------------------------------------------------------------------


def test_fact6_set_then_get_deep_equals(runtime, org):
    assert run(runtime, org, CACHE + "cache.set('k', {a: 1}); return cache.get('k')") == {"a": 1}


def test_fact7_get_missing_is_undefined_not_a_fault(runtime, org):
    assert run(runtime, org, CACHE + "const v = cache.get('missing'); return [v === undefined, typeof v]") == [True, "undefined"]


def test_fact8_null_is_a_value_has_tells_them_apart(runtime, org):
    out = run(runtime, org, CACHE + "cache.set('n', null); return [cache.has('n'), cache.get('n') === null, cache.has('zz')]")
    assert out == [True, True, False]


def test_fact9_ttl_is_seconds(runtime, org, clock):
    assert run(runtime, org, CACHE + "cache.set('t', 1, 2); return [cache.get('t'), cache.has('t')]") == [1, True]
    clock.advance(1.5)
    assert run(runtime, org, CACHE + "return [cache.get('t'), cache.has('t')]") == [1, True]
    clock.advance(0.6)
    assert run(runtime, org, CACHE + "return [cache.get('t') === undefined, cache.has('t')]") == [True, False]


def test_fact10_cas_swaps_once(runtime, org):
    out = run(
        runtime,
        org,
        CACHE + "cache.set('c', 1); const a = cache.cas('c', 1, 2), v1 = cache.get('c'); const b = cache.cas('c', 1, 2); return [a, v1, b, cache.get('c')]",
    )
    assert out == [True, 2, False, 2]


def test_fact11_count_and_clear_by_prefix(runtime, org):
    out = run(
        runtime,
        org,
        CACHE + "cache.set('sso.a', 1); cache.set('sso.b', 2); cache.set('x', 3); return [cache.count('sso.'), cache.clear('sso.'), cache.count()]",
    )
    assert out == [2, 2, 1]


def test_fact12_clear_without_argument_removes_everything(runtime, org):
    assert run(runtime, org, CACHE + "['a', 'b', 'c'].forEach(k => cache.set(k, k)); return [cache.clear(), cache.count()]") == [3, 0]


def test_fact13_del_is_true_then_false(runtime, org):
    assert run(runtime, org, CACHE + "cache.set('x', 1); return [cache.del('x'), cache.del('x'), cache.has('x')]") == [True, False, False]


def test_fact14_find_limits_sorts_and_filters_by_prefix(runtime, org):
    out = run(
        runtime,
        org,
        CACHE + "['pb', 'a', 'pa', 'qp'].forEach((k, i) => cache.set(k, i)); return [cache.find('', 0, 2), cache.find('p'), cache.find('', 1, 2).map(e => e.key)]",
    )
    assert out[0] == [{"key": "a", "val": 1}, {"key": "pa", "val": 2}]
    assert out[1] == [{"key": "pa", "val": 2}, {"key": "pb", "val": 0}]
    assert out[2] == ["pa", "pb"]


def test_fact15_list_gives_metadata_and_still_shows_lapsed_keys(runtime, org, clock):
    run(runtime, org, CACHE + "cache.set('t', {big: 'value'}, 60); cache.set('u', 1)")
    clock.advance(61)
    out = run(runtime, org, CACHE + "return [cache.list(''), cache.has('t'), cache.find('').map(e => e.key), cache.count()]")
    listing, has_t, found, count = out
    assert listing["object"] == "list" and listing["total"] == 2
    assert [e["key"] for e in listing["data"]] == ["t", "u"]
    for entry in listing["data"]:
        assert "val" not in entry and entry["sz"] > 0 and entry["created"]
    assert "exp" in listing["data"][0] and "exp" not in listing["data"][1]
    # lapsed: gone for has/find, still there for list/count until the store purges it
    assert has_t is False and found == ["u"] and count == 2


def test_fact68_test_keys_get_has_find_count_list(runtime, org):
    out = run(
        runtime,
        org,
        CACHE
        + """cache.set('TestKey1', 'TestVal1'); cache.set('TestKey2', 'TestVal2');
        return [cache.get('TestKey1'), cache.get('TestKey2'), cache.get('TestKey3') === undefined,
                cache.has('TestKey1'), cache.has('TestKey3'), cache.find('Test').length, cache.count('Test'), cache.list('Test').total]""",
    )
    assert out == ["TestVal1", "TestVal2", True, True, False, 2, 2, 2]


def test_fact69_cas_with_stale_check_value_keeps_the_swap(runtime, org):
    out = run(
        runtime,
        org,
        CACHE
        + """cache.set('TestKey1', 'TestVal1');
        const a = cache.cas('TestKey1', 'TestVal1', 'TestVal3'), b = cache.cas('TestKey1', 'TestVal1', 'TestVal4');
        return [a, b, cache.get('TestKey1')]""",
    )
    assert out == [True, False, "TestVal3"]


def test_fact70_del_and_clear_drop_the_count(runtime, org):
    out = run(
        runtime,
        org,
        CACHE + "cache.set('TestKey1', 1); cache.set('TestKey2', 2); cache.del('TestKey1'); const a = cache.count('Test'); cache.clear(); return [a, cache.count('Test')]",
    )
    assert out == [1, 0]


def test_set_returns_the_value_and_ttl_null_removes_expiry(runtime, org, clock):
    out = run(runtime, org, CACHE + "const r = cache.set('k', {a: [1, 'x']}, 5); cache.set('k', 2); return [r, cache.find('k')]")
    assert out == [{"a": [1, "x"]}, [{"key": "k", "val": 2}]]
    clock.advance(10)
    assert run(runtime, org, CACHE + "return cache.get('k')") == 2


def test_negative_ttl_is_already_expired_and_fractional_ttl_is_none(runtime, org):
    out = run(runtime, org, CACHE + "cache.set('neg', 1, -5); cache.set('frac', 1, 1.5); return [cache.has('neg'), cache.has('frac'), cache.find('frac')[0].exp === undefined]")
    assert out == [False, True, True]


def test_cas_never_inserts_ignores_expiry_and_compares_exactly(runtime, org, clock):
    out = run(
        runtime,
        org,
        CACHE
        + """const a = cache.cas('none', null, 1);
        cache.set('o', {a: 1, b: 2});
        const order = cache.cas('o', {b: 2, a: 1}, 'x');   // field order matters
        const type = cache.cas('o', {a: '1', b: 2}, 'x');  // exact type
        const ok = cache.cas('o', {a: 1, b: 2}, {c: 3}, 60);
        return [a, cache.has('none'), order, type, ok, cache.get('o')]""",
    )
    assert out == [False, False, False, False, True, {"c": 3}]
    run(runtime, org, CACHE + "cache.set('e', 1, 1)")
    clock.advance(2)
    assert run(runtime, org, CACHE + "return [cache.get('e') === undefined, cache.cas('e', 1, 5)]") == [True, True]


def test_dates_and_ids_round_trip_and_compare(runtime, org):
    out = run(
        runtime,
        org,
        CACHE
        + """const d = new Date(1700000000123), id = new ObjectID('4a232bca18759fcbdef24855');
        cache.set('d', {d, id});
        const got = cache.get('d');
        return [got.d instanceof Date, got.d.getTime(), got.id.toString(), cache.cas('d', {d: new Date(1700000000123), id}, true)]""",
    )
    assert out == [True, 1700000000123, "4a232bca18759fcbdef24855", True]


def test_counter_is_a_window_counter(runtime, org, clock):
    out = run(runtime, org, CACHE + "return [cache.counter('w', 10), cache.counter('w', 10), cache.counter('w', 10).val]")
    assert out[0] == {"ttl": 10000, "age": 0, "val": 1}
    assert out[1]["val"] == 2 and out[2] == 3
    clock.advance(4)
    assert run(runtime, org, CACHE + "return cache.counter('w', 10)") == {"ttl": 10000, "age": 4000, "val": 4}
    clock.advance(7)
    assert run(runtime, org, CACHE + "return [cache.counter('w', 10), cache.counter('s')]") == [
        {"ttl": 10000, "age": 0, "val": 1},
        {"ttl": 1000, "age": 0, "val": 1},
    ]


def test_prefixes_are_literal_not_regex(runtime, org):
    out = run(runtime, org, CACHE + "cache.set('a.b', 1); cache.set('axb', 2); cache.set('(x', 3); return [cache.count('a.'), cache.find('(').length, cache.clear('.*'), cache.count()]")
    assert out == [1, 1, 0, 3]


def test_non_string_keys_are_coerced_to_empty_string_as_the_source_does(runtime, org):
    assert run(runtime, org, CACHE + "cache.set(5, 'five'); return [cache.get(''), cache.get(7), cache.has('5')]") == ["five", "five", False]


def test_find_and_list_clamp_limit_to_1_1000(runtime, org):
    out = run(runtime, org, CACHE + "for (let i = 0; i < 5; i++) cache.set('k' + i, i); return [cache.find('', 0, 0).length, cache.find('', -3, 'x').length, cache.list('', 4, 5000).data.length]")
    assert out == [1, 5, 1]


def test_cache_is_per_org(runtime, org):
    other = runtime.orgs.create(f"store{next(_codes)}")
    run(runtime, org, CACHE + "cache.set('shared', 'mine')")
    assert run(runtime, other, CACHE + "return [cache.has('shared'), cache.count(), cache.clear()]") == [False, 0, 0]
    assert run(runtime, org, CACHE + "return cache.get('shared')") == "mine"


@pytest.mark.parametrize(
    ("source", "err_code"),
    [
        ("cache.set('k', {$bad: 1})", "cortex.invalidArgument.dollarPrefixedDbKey"),
        ("cache.set('k', {'a.b': 1})", "cortex.invalidArgument.unspecified"),
        ("cache.set('x'.repeat(2000), 1)", "cortex.invalidArgument.unspecified"),
        ("cache.find('x'.repeat(2000))", "cortex.invalidArgument.unspecified"),
        ("let v = 1; for (let i = 0; i < 150; i++) v = [v]; cache.set('deep', v)", "cortex.invalidArgument.unspecified"),
        ("cache.cas('k', 1, {$bad: 1})", "cortex.invalidArgument.dollarPrefixedDbKey"),
    ],
)
def test_bad_cache_arguments_are_invalid_argument_faults(runtime, org, source, err_code):
    run(runtime, org, CACHE + "cache.set('k', 1)")
    assert fault(runtime, org, CACHE + source)["errCode"] == err_code


def test_cache_entries_are_bounded_by_the_document_limit(runtime, org, monkeypatch):
    monkeypatch.setattr(cache_module, "MAX_ENTRY_BYTES", 1000)
    assert fault(runtime, org, CACHE + "cache.set('big', 'x'.repeat(2000))")["errCode"] == "cortex.tooLarge.unspecified"
    assert run(runtime, org, CACHE + "return cache.has('big')") is False


def test_undefined_is_dropped_from_objects_and_null_alone(runtime, org):
    assert run(runtime, org, CACHE + "cache.set('u', {a: undefined, b: [undefined, 1]}); cache.set('v'); return [cache.get('u'), cache.has('v'), cache.get('v') === null]") == [
        {"b": [None, 1]},
        True,
        True,
    ]


def _threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_cas_increments_lose_no_update(runtime, org):
    run(runtime, org, CACHE + "cache.set('n', 0)")
    source = CACHE + "for (;;) { const v = cache.get('n'); if (cache.cas('n', v, v + 1)) return v + 1 }"
    results = _threads(12, lambda i: run(runtime, org, source))
    assert sorted(results) == list(range(1, 13))
    assert run(runtime, org, CACHE + "return cache.get('n')") == 12


def test_concurrent_window_counter_hands_out_each_value_once(runtime, org):
    results = _threads(12, lambda i: run(runtime, org, CACHE + "return cache.counter('w', 600).val"))
    assert sorted(results) == list(range(1, 13))


# ---- counters ---------------------------------------------------------------------------------


def test_fact25_next_starts_at_one_and_get_reads(runtime, org):
    assert run(runtime, org, COUNTERS + "return [counters.next('k'), counters.next('k'), counters.get('k')]") == [1, 2, 2]


def test_fact26_get_of_unused_key_is_null(runtime, org):
    assert run(runtime, org, COUNTERS + "return counters.get('never-used') === null") is True


def test_fact27_del_resets(runtime, org):
    out = run(runtime, org, COUNTERS + "counters.next('k'); counters.next('k'); const d = counters.del('k'); return [d, counters.get('k') === null, counters.next('k')]")
    assert out == [True, True, 1]


def test_fact28_hundred_concurrent_runs_get_distinct_values(runtime, org):
    results = _threads(100, lambda i: run(runtime, org, COUNTERS + "return counters.next('k')"))
    assert sorted(results) == list(range(1, 101))
    assert run(runtime, org, COUNTERS + "return counters.get('k')") == 100


def test_fact76_counters_test_suite(runtime, org):
    out = run(
        runtime,
        org,
        COUNTERS
        + """counters.clear('Counters.');
        const has = counters.has('Counters.Test');
        const a = counters.next('Counters.Test'), b = counters.next('Counters.Test');
        const got = counters.get('Counters.Test');
        const first = counters.next('Counters.Test2');
        return [has, b - a, got, first, counters.list('Counters').data.length, counters.count('Counters.Test2'),
                counters.clear('Counters.Testss'), counters.clear('Counters'), counters.del('Counters'),
                (counters.next('Counters.Foo'), counters.del('Counters.Foo'))]""",
    )
    assert out == [False, 1, 2, 1, 2, 1, 0, 2, False, True]


def test_counters_list_shape_and_paging(runtime, org):
    out = run(runtime, org, COUNTERS + "['b', 'a', 'c'].forEach(k => counters.next(k)); counters.next('a'); return [counters.list(), counters.list('', 1, 1)]")
    listing, page = out
    assert listing["object"] == "list" and listing["total"] == 3
    assert [(e["key"], e["val"]) for e in listing["data"]] == [("a", 2), ("b", 1), ("c", 1)]
    assert set(listing["data"][0]) == {"created", "updated", "key", "val"}
    assert [e["key"] for e in page["data"]] == ["b"] and page["total"] == 3


def test_counters_are_per_org(runtime, org):
    other = runtime.orgs.create(f"store{next(_codes)}")
    run(runtime, org, COUNTERS + "counters.next('k'); counters.next('k')")
    assert run(runtime, other, COUNTERS + "return [counters.get('k'), counters.next('k')]") == [None, 1]


def test_counter_documents_use_the_counters_collection(runtime, org):
    run(runtime, org, COUNTERS + "counters.next('stored')")
    doc = runtime.store.counters.find_one({"org": org[0]._id, "name": "stored"})
    assert doc is not None and doc["val"] == 1


# ---- config -----------------------------------------------------------------------------------


def test_fact54_set_path_into_stored_object(runtime, org):
    assert run(runtime, org, CONFIG + "config.set('s', {foo: 'bar'}); config.set('s.foo', 'baz'); return config.get('s.foo')") == "baz"


def test_fact55_callable_form(runtime, org):
    out = run(runtime, org, CONFIG + "config('s.cake', {too: 'yes!'}); return [config('s.cake.too'), typeof config, config() === undefined]")
    assert out == ["yes!", "function", True]


def test_fact56_null_unsets_the_path(runtime, org):
    out = run(runtime, org, CONFIG + "config.set('s', {foo: 'bar', keep: 1}); config.set('s.foo', null); return [config.get('s'), config.get('s.foo') === undefined]")
    assert out == [{"keep": 1}, True]


def test_fact57_keys_lists_top_level_keys(runtime, org):
    out = run(runtime, org, CONFIG + "config.set('s', {foo: 1}); config.set('t.deep.er', 2); return config.keys()")
    assert out == ["s", "t"]


def test_fact58_cap_is_512000_bytes_of_bson(runtime, org):
    assert MAX_CONFIG_BYTES == 512_000
    # one key 's' holding an n-character string makes a document of n + 13 bytes
    assert run(runtime, org, CONFIG + "config.set('s', 'x'.repeat(511987)); return config.get('s').length") == 511987
    err = fault(runtime, org, CONFIG + "config.set('s', 'x'.repeat(511988))")
    assert err["errCode"] == "cortex.tooLarge.config"
    assert err["reason"] == "Breached maximum config storage limit of 512000 bytes by 1"
    assert run(runtime, org, CONFIG + "return config.get('s').length") == 511987  # nothing written


def test_fact58_cap_counts_every_key(runtime, org):
    run(runtime, org, CONFIG + "config.set('a', 'x'.repeat(300000))")
    assert fault(runtime, org, CONFIG + "config.set('b', 'y'.repeat(300000))")["errCode"] == "cortex.tooLarge.config"
    assert run(runtime, org, CONFIG + "config.set('a', null); config.set('b', 'y'.repeat(300000)); return config.keys()") == ["b"]


def test_fact71_config_test_suite(runtime, org):
    out = run(
        runtime,
        org,
        CONFIG + "config('me', {foo: 'bar'}); config('me.foo', 'baz'); config('me.cake', {eat: 'it', too: 'yes!'}); return [config('me.foo'), config('me.cake.too')]",
    )
    assert out == ["baz", "yes!"]


def test_fact72_dollar_keys_and_oversized_values(runtime, org):
    # the source test uses the callable form, pinned by facts 55 and 71; here the same writes by set()
    assert fault(runtime, org, CONFIG + "config.set('bad.$key', 1)")["errCode"] == "cortex.invalidArgument.dollarPrefixedDbKey"
    assert fault(runtime, org, CONFIG + "config.set('bad', {$value: 1})")["errCode"] == "cortex.invalidArgument.dollarPrefixedDbKey"
    assert "maximum" in fault(runtime, org, CONFIG + "config.set('big', 'x'.repeat(600000))")["reason"]
    assert run(runtime, org, CONFIG + "return config.keys()") == []


def test_fact72_older_256k_cap_is_a_setting(runtime, org):
    module = next(m for m in runtime.modules._modules if isinstance(m, ConfigModule))
    module.max_bytes = 256 * 1024
    try:
        err = fault(runtime, org, CONFIG + "config.set('big', 'x'.repeat(262144))")
    finally:
        module.max_bytes = MAX_CONFIG_BYTES
    assert err["errCode"] == "cortex.tooLarge.config" and "maximum" in err["reason"]
    assert run(runtime, org, CONFIG + "config.set('big', 'x'.repeat(262144)); return config.get('big').length") == 262144


def test_blank_field_names_are_refused(runtime, org):
    for key in ("a.", ".a", "a..b"):
        err = fault(runtime, org, CONFIG + f"config.set({key!r}, 1)")
        assert err["errCode"] == "cortex.invalidArgument.blankFieldName" and err["reason"] == "Blank field names are not allowed."


def test_unset_with_nothing_stored_is_false_and_top_level_null_removes_the_key(runtime, org):
    out = run(
        runtime,
        org,
        CONFIG + "const a = config.set('x', null); config.set('s', 1); const b = config.set('zz', null); const c = config.set('s', null); return [a, b, c, config.keys(), config.get('s') === undefined]",
    )
    assert out == [False, None, None, [], True]


def test_options_extended_public_only_and_values(runtime, org):
    out = run(
        runtime,
        org,
        CONFIG
        + """config.set('pub', {a: 1}, {isPublic: true}); config.set('priv', 2); config.set('pub.b', 3);
        return [config.get('pub', {extended: true}), config.get('priv', {publicOnly: true}) === undefined, config.get('pub.a', {publicOnly: true}),
                config.keys({publicOnly: true}), config.keys({extended: true}), config.keys({extended: true, values: true})]""",
    )
    assert out == [
        {"value": {"a": 1, "b": 3}, "isPublic": True},
        True,
        1,
        ["pub"],
        [{"key": "pub", "isPublic": True}, {"key": "priv", "isPublic": False}],
        [{"key": "pub", "isPublic": True, "value": {"a": 1, "b": 3}}, {"key": "priv", "isPublic": False, "value": 2}],
    ]


def test_paths_through_scalars_and_arrays_like_a_js_path_setter(runtime, org):
    out = run(runtime, org, CONFIG + "config.set('s', {a: 'str', list: [1, {x: 1}]}); config.set('s.a.b', 1); config.set('s.list.1.x', 2); return [config.get('s'), config.get('s.list.0'), config.get('s.list.5') === undefined]")
    assert out == [{"a": {"b": 1}, "list": [1, {"x": 2}]}, 1, True]


def test_bad_config_keys_are_invalid_argument_faults(runtime, org):
    for source in ("config.set(5, 1)", "config.get({})", "config.set('', 1)", "config.set('a', {'b.c': 1})"):
        assert fault(runtime, org, CONFIG + source)["errCode"].startswith("cortex.invalidArgument."), source


def test_config_reads_and_writes_the_environment_import_shape(runtime, org):
    runtime.store.configs.insert_one({"org": org[0]._id, "key": "c_imported", "value": {"url": "https://x"}, "isPublic": True})
    out = run(runtime, org, CONFIG + "const a = config.get('c_imported.url', {extended: true}); config.set('c_imported.retries', 3); return [a, config.keys()]")
    assert out == [{"value": "https://x", "isPublic": True}, ["c_imported"]]
    doc = runtime.store.configs.find_one({"org": org[0]._id, "key": "c_imported"})
    assert {k: doc[k] for k in ("key", "value", "isPublic")} == {"key": "c_imported", "value": {"url": "https://x", "retries": 3}, "isPublic": True}


def test_environment_import_writes_what_the_module_reads_under_the_same_cap(runtime, org):
    from cortex_runtime.environment.importer import import_environment

    manifest = {"object": "manifest", "configs": {"includes": ["*"]}}
    report = import_environment(runtime, org[0], org[1], [manifest, {"object": "config", "resource": "config.c_env", "name": "c_env", "value": {"url": "u"}, "isPublic": True}])
    assert report.fault is None, report.fault
    assert run(runtime, org, CONFIG + "return [config.get('c_env.url'), config.keys({extended: true})]") == ["u", [{"key": "c_env", "isPublic": True}]]
    run(runtime, org, CONFIG + "config.set('c_local', 'x'.repeat(400000))")
    report = import_environment(runtime, org[0], org[1], [manifest, {"object": "config", "resource": "config.c_big", "name": "c_big", "value": "y" * 200_000}])
    assert report.fault is not None and report.fault.errCode == "cortex.tooLarge.config"


def test_environment_imports_use_the_same_size_check():
    assert env_configs.MAX_CONFIG_BYTES is MAX_CONFIG_BYTES
    assert env_configs._size is config_size
    assert config_size("x" * 10, "s") + 5 == 23


def test_config_is_per_org(runtime, org):
    other = runtime.orgs.create(f"store{next(_codes)}")
    run(runtime, org, CONFIG + "config.set('s', 1)")
    assert run(runtime, other, CONFIG + "return [config.keys(), config.get('s') === undefined, config.set('s', null)]") == [[], True, False]


def test_concurrent_path_writes_to_one_key_all_land(runtime, org):
    run(runtime, org, CONFIG + "config.set('s', {})")
    _threads(10, lambda i: run(runtime, org, CONFIG + f"config.set('s.k{i}', {i})"))
    assert run(runtime, org, CONFIG + "return config.get('s')") == {f"k{i}": i for i in range(10)}
