"""Op metering rewrites source text: every syntactic form must keep its meaning."""

from __future__ import annotations

import pytest

from cortex_runtime import limits_for

FORMS = {
    "labelled-continue": ("outer: for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) { if (j === 1) continue outer; n++ } } return n", 3),
    "labelled-break-block": ("a: b: while (true) { n++; break a } return n", 1),
    "non-block-bodies": ("while (n < 10) n++; do n++; while (n < 20); for (const k in {a: 1, b: 2}) n++; for (const v of [1, 2]) n += v; return n", 25),
    "loop-as-if-body": ("if (true) for (;;) { n++; break } else while (false) {} return n", 1),
    "nested-non-block": ("for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) n++; return n", 4),
    "return-from-loop": ("function f() { for (let i = 0; ; i++) if (i === 3) return i } return f()", 3),
    "arrow-object-body": ("const f = () => ({a: 1}); const g = x => x * 2; return [f().a, g(2)]", [1, 4]),
    "arrow-comma-body": ("const f = () => (n++, n); return [f(), f()]", [1, 2]),
    "catch-forms": ("const out = []; try { throw 1 } catch { out.push('a') } try { throw {m: 2} } catch ({m}) { out.push(m) } try { throw 3 } catch (e) { out.push(e) } finally { out.push('f') } return out", ["a", 2, 3, "f"]),
    "try-finally-return": ("function f() { try { return 1 } finally { n = 5 } } return [f(), n]", [1, 5]),
    "generators": ("function* g() { for (let i = 0; i < 3; i++) yield i } return [...g()]", [0, 1, 2]),
    "async-loop": ("return (async () => { for (const x of [1, 2]) { await null; n += x } return n })()", 3),
    "classes": ("class A { #x = 1; static s() { return 2 } get x() { return this.#x } m() { return this.x + A.s() } } return new A().m()", 3),
    "optional-chaining": ("const o = {a: {b: 1}}; return [o?.a?.b, o.z?.b ?? 'none']", [1, "none"]),
    "switch-in-loop": ("for (let i = 0; i < 4; i++) { switch (i % 2) { case 0: n++; break; default: continue } } return n", 2),
    "regex-and-templates": ("const s = `a${1 + 1}b`; return [s, /a(\\d)b/.exec(s)[1], 'for (;;) {}'.length]", ["a2b", "2", 11]),
    "comments-and-asi": ("let x = 1 // for (;;)\n/* while (true) */\nreturn x", 1),
}


@pytest.mark.parametrize(("body", "expected"), FORMS.values(), ids=FORMS.keys())
def test_metered_form_keeps_its_meaning(sandbox, body, expected):
    result = sandbox.run("let n = 0;\n" + body)
    assert result.ok, result.fault
    assert result.value == expected


@pytest.mark.parametrize(
    ("body", "ops"),
    [
        ("return 1", 0),
        ("function f() {} f(); f(); return 1", 2),
        ("for (let i = 0; i < 10; i++) {} return 1", 10),
        ("let i = 0; while (i < 5000) i++; return 1", 5000),
        ("for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {} return 1", 12),
        ("[1, 2, 3].map(x => x); return 1", 3),
        ("console.log(1); return 1", 10),
    ],
)
def test_op_counts(sandbox, body, ops):
    result = sandbox.run(body)
    assert result.ok, result.fault
    assert result.stats.ops == ops


def test_ops_limit_counts_loop_batches_exactly(sandbox):
    limits = limits_for("route").with_overrides(max_ops=10_000)
    assert sandbox.run("for (let i = 0; i < 10000; i++) {} return 1", limits=limits).ok
    over = sandbox.run("for (let i = 0; i < 10001; i++) {} return 1", limits=limits)
    assert over.fault is not None and over.fault.errCode == "script.error.ops"
