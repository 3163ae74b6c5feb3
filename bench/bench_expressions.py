"""The expression engine's cost per document against plain Python, and parse against evaluation.

A 10-operator expression (arithmetic, comparison, conditional, string and array operators on
fields of the document) is parsed once and evaluated over 10,000 documents; the same
computation written as a plain Python function runs over the same documents in the same run.
It prints both per document and the ratio (target <= 10x), and the median cost of parsing the
expression against one evaluation. Nothing is asserted about times.

    .venv/bin/python bench/bench_expressions.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime.expressions import parse  # noqa: E402

# Ten operators: $cond $and $gte $lt $add $multiply $concat $toUpper $size $ifNull.
EXPRESSION = {
    "$cond": [
        {"$and": [{"$gte": ["$n", 10]}, {"$lt": [{"$size": {"$ifNull": ["$tags", {"$literal": []}]}}, 3]}]},
        {"$concat": [{"$toUpper": "$name"}, "-big"]},
        {"$add": [{"$multiply": ["$n", 2]}, 1]},
    ]
}


def plain(doc: dict[str, Any]) -> Any:
    tags = doc.get("tags")
    if doc.get("n", 0) >= 10 and len(tags if tags is not None else []) < 3:
        return doc["name"].upper() + "-big"
    return doc["n"] * 2 + 1


DOCS = [{"n": i % 20, "name": f"item{i}", "tags": ["a"] * (i % 5) if i % 7 else None} for i in range(10_000)]


def _best_of(action: Any, trials: int = 7) -> float:
    times = []
    for _ in range(trials):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    expression = parse(EXPRESSION)
    ours = [expression.evaluate(doc) for doc in DOCS]
    theirs = [plain(doc) for doc in DOCS]
    if ours != theirs:
        print("the expression and the Python function disagree", file=sys.stderr)
        return 1
    engine = _best_of(lambda: [expression.evaluate(doc) for doc in DOCS])
    python = _best_of(lambda: [plain(doc) for doc in DOCS])
    parsing = statistics.median(_best_of(lambda: parse(EXPRESSION), 1) for _ in range(200))
    one = engine / len(DOCS)
    print(f"10-operator expression over {len(DOCS):,} documents (median of 7)")
    print(f"  engine      {engine * 1e3:8.2f} ms   {one * 1e6:7.2f} µs per document")
    print(f"  plain Python{python * 1e3:8.2f} ms   {python / len(DOCS) * 1e6:7.2f} µs per document")
    print(f"  ratio engine / Python: {engine / python:.2f}x   (target <= 10)")
    print(f"  parse once: {parsing * 1e6:.1f} µs = {parsing / one:.1f} evaluations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
