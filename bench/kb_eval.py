"""Retrieval quality and latency of the help-centre knowledge base on bench/kb_questions.json.

Run from the repository root: `.venv/bin/python bench/kb_eval.py [-v]`. Exits 1 when a target is
missed, so it can gate changes to the articles, the tokenizer or the threshold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatapp.services.knowledge import KnowledgeBase, Retrieval  # noqa: E402

QUESTIONS = ROOT / "bench" / "kb_questions.json"
KNOWLEDGE = ROOT / "knowledge"
REPEATS = 20  # timing runs per question, for stable percentiles

# (label, target, higher_is_better)
TARGETS = {
    "hit@1": (0.75, True),
    "hit@3": (0.90, True),
    "correct declines": (0.85, True),
    "wrong declines": (0.10, False),
    "latency p95 ms": (5.0, False),
}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed_search(kb: KnowledgeBase, item: dict) -> tuple[Retrieval, list[float]]:
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        retrieval = kb.search(item["question"], item.get("history", ()), k=3)
        timings.append((time.perf_counter() - start) * 1000)
    return retrieval, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()

    kb = KnowledgeBase.load(KNOWLEDGE)
    items = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    kb.search("warm up")

    answerable = [item for item in items if item["slugs"]]
    unanswerable = [item for item in items if not item["slugs"]]
    hit1 = hit3 = wrong_declines = correct_declines = 0
    latencies: list[float] = []
    misses: list[str] = []
    for item in items:
        retrieval, timings = timed_search(kb, item)
        latencies.extend(timings)
        gold = set(item["slugs"])
        ranked = retrieval.cited_slugs
        note = f"coverage={retrieval.coverage:.2f} got={list(ranked)} q={item['question']!r}"
        if not gold:
            correct_declines += not retrieval.covered
            if retrieval.covered:
                misses.append(f"NOT DECLINED  {note}")
            continue
        hit1 += bool(ranked) and ranked[0] in gold
        hit3 += bool(gold & set(ranked))
        wrong_declines += not retrieval.covered
        if not retrieval.covered:
            misses.append(f"WRONG DECLINE {note} want={sorted(gold)}")
        if not ranked or ranked[0] not in gold:
            misses.append(f"MISS@1        {note} want={sorted(gold)}")

    results = {
        "hit@1": hit1 / len(answerable),
        "hit@3": hit3 / len(answerable),
        "correct declines": correct_declines / len(unanswerable),
        "wrong declines": wrong_declines / len(answerable),
        "latency p50 ms": statistics.median(latencies),
        "latency p95 ms": percentile(latencies, 95),
    }
    print(f"Knowledge base: {len(kb.articles)} articles, {len(kb.passages)} passages")
    print(f"Questions: {len(answerable)} answerable, {len(unanswerable)} not covered")
    print()
    print(f"{'metric':<18} {'value':>8} {'target':>8}  ok")
    print("-" * 42)
    failed = False
    for name, value in results.items():
        target, higher = TARGETS.get(name, (None, True))
        if target is None:
            print(f"{name:<18} {value:>8.3f} {'':>8}")
            continue
        ok = value >= target if higher else value <= target
        failed |= not ok
        sign = ">=" if higher else "<="
        print(f"{name:<18} {value:>8.3f} {sign + str(target):>8}  {'yes' if ok else 'NO'}")
    print()
    print("command: .venv/bin/python bench/kb_eval.py" + (" -v" if args.verbose else ""))
    if args.verbose and misses:
        print()
        print("\n".join(misses))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
