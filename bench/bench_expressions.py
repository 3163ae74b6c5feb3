"""The expression engine's cost per document against plain Python, and parse against evaluation.

A 10-operator expression (arithmetic, comparison, conditional, string and array operators on
fields of the document) is parsed once and evaluated over 10,000 documents; the same
computation written as a plain Python function runs over the same documents in the same run.
It prints both per document and the ratio (target <= 10x) for ``evaluate`` called once per
document and for ``evaluate_many`` over the list, and the median cost of parsing (and of
compiling, which ``evaluate`` does on the second call) against one evaluation. A pipeline
``[$match, $project]`` over the same documents is timed the same way against plain Python (its
stage expressions run compiled after their first few documents). Nothing is asserted about
times.

    .venv/bin/python bench/bench_expressions.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime.expressions import Pipeline, parse  # noqa: E402

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


def _interleaved(*actions: Any, rounds: int = 9) -> list[float]:
    """The median time of each action, run in turn each round so they share the machine's load."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(rounds):
        for action, kept in zip(actions, times):
            started = time.perf_counter()
            action()
            kept.append(time.perf_counter() - started)
    return [statistics.median(kept) for kept in times]


def main() -> int:
    expression = parse(EXPRESSION)
    ours = [expression.evaluate(doc) for doc in DOCS]
    theirs = [plain(doc) for doc in DOCS]
    if ours != theirs or expression.evaluate_many(DOCS) != theirs:
        print("the expression and the Python function disagree", file=sys.stderr)
        return 1
    engine, many, python = _interleaved(
        lambda: [expression.evaluate(doc) for doc in DOCS], lambda: expression.evaluate_many(DOCS), lambda: [plain(doc) for doc in DOCS]
    )
    parsing = statistics.median(_best_of(lambda: parse(EXPRESSION), 1) for _ in range(200))
    compiling = statistics.median(_best_of(lambda: parse(EXPRESSION).compiled(), 1) for _ in range(50)) - parsing
    one = engine / len(DOCS)
    print(f"10-operator expression over {len(DOCS):,} documents (median of 9 interleaved rounds)")
    print(f"  engine evaluate()      {engine * 1e3:8.2f} ms   {one * 1e6:7.2f} µs per document")
    print(f"  engine evaluate_many() {many * 1e3:8.2f} ms   {many / len(DOCS) * 1e6:7.2f} µs per document")
    print(f"  plain Python           {python * 1e3:8.2f} ms   {python / len(DOCS) * 1e6:7.2f} µs per document")
    print(f"  ratio engine / Python: {engine / python:.2f}x evaluate(), {many / python:.2f}x evaluate_many()   (target <= 10)")
    print(f"  parse once: {parsing * 1e6:.1f} µs = {parsing / one:.1f} evaluations; compile once: {compiling * 1e6:.1f} µs = {compiling / one:.1f} evaluations")
    return pipeline_main()


# The pipeline: a five-operator $match, then a $project of two computed fields.
PIPELINE = [
    {"$match": {"$and": [{"$gte": ["$n", 10]}, {"$lt": [{"$size": {"$ifNull": ["$tags", {"$literal": []}]}}, 3]}]}},
    {"$project": {"name": {"$toUpper": "$name"}, "double": {"$multiply": ["$n", 2]}}},
]


def plain_pipeline(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        tags = doc.get("tags")
        if doc.get("n", 0) >= 10 and len(tags if tags is not None else []) < 3:
            out.append({"name": doc["name"].upper(), "double": doc["n"] * 2})
    return out


def pipeline_main() -> int:
    pipeline = Pipeline(PIPELINE)
    if list(pipeline.run(DOCS)) != plain_pipeline(DOCS):
        print("the pipeline and the Python function disagree", file=sys.stderr)
        return 1
    engine, python = _interleaved(lambda: list(pipeline.run(DOCS)), lambda: plain_pipeline(DOCS))
    print(f"pipeline [$match, $project] over {len(DOCS):,} documents (median of 9 interleaved rounds)")
    print(f"  engine Pipeline.run()  {engine * 1e3:8.2f} ms   {engine / len(DOCS) * 1e6:7.2f} µs per document")
    print(f"  plain Python           {python * 1e3:8.2f} ms   {python / len(DOCS) * 1e6:7.2f} µs per document")
    print(f"  ratio engine / Python: {engine / python:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
