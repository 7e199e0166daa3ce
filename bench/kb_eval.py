"""Retrieval quality and latency of the help-centre knowledge base on its question sets.

Run from the repository root: `.venv/bin/python bench/kb_eval.py [--set old|blind|all] [-v]`.
`old` is bench/kb_questions.json (written beside the articles), `blind` is
bench/kb_questions_blind.json (written without reading them); `all` reports each set and their
union. The targets apply to the union (or to the one set chosen); the script exits 1 when one is
missed, so it can gate changes to the articles, the tokenizer or the threshold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatapp.services.knowledge import KnowledgeBase, Retrieval  # noqa: E402

SETS = {
    "old": ROOT / "bench" / "kb_questions.json",
    "blind": ROOT / "bench" / "kb_questions_blind.json",
}
KNOWLEDGE = ROOT / "knowledge"
REPEATS = 20  # timing runs per question, for stable percentiles

# label -> (target, higher_is_better)
TARGETS = {
    "hit@1": (0.93, True),
    "hit@3": (0.98, True),
    "correct declines": (0.93, True),
    "wrong declines": (0.05, False),
    "latency p95 ms": (5.0, False),
}


@dataclass
class Tally:
    answerable: int = 0
    unanswerable: int = 0
    hit1: int = 0
    hit3: int = 0
    correct_declines: int = 0
    wrong_declines: int = 0
    latencies: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("answerable", "unanswerable", "hit1", "hit3", "correct_declines", "wrong_declines"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies
        self.misses += other.misses

    def results(self) -> dict[str, float]:
        return {
            "hit@1": self.hit1 / max(self.answerable, 1),
            "hit@3": self.hit3 / max(self.answerable, 1),
            "correct declines": self.correct_declines / max(self.unanswerable, 1),
            "wrong declines": self.wrong_declines / max(self.answerable, 1),
            "latency p50 ms": statistics.median(self.latencies),
            "latency p95 ms": percentile(self.latencies, 95),
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


def evaluate(kb: KnowledgeBase, name: str, items: list[dict]) -> Tally:
    tally = Tally()
    for item in items:
        retrieval, timings = timed_search(kb, item)
        tally.latencies.extend(timings)
        gold = set(item["slugs"])
        ranked = retrieval.cited_slugs
        note = f"[{name}] coverage={retrieval.coverage:.2f} got={list(ranked)} q={item['question']!r}"
        if item.get("history"):
            note += f" history={item['history']!r}"
        if not gold:
            tally.unanswerable += 1
            tally.correct_declines += not retrieval.covered
            if retrieval.covered:
                tally.misses.append(f"NOT DECLINED  {note}")
            continue
        tally.answerable += 1
        tally.hit1 += bool(ranked) and ranked[0] in gold
        tally.hit3 += bool(gold & set(ranked))
        tally.wrong_declines += not retrieval.covered
        if not retrieval.covered:
            tally.misses.append(f"WRONG DECLINE {note} want={sorted(gold)}")
        if not ranked or ranked[0] not in gold:
            tally.misses.append(f"MISS@1        {note} want={sorted(gold)}")
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", help="question set (default all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()

    kb = KnowledgeBase.load(KNOWLEDGE)
    kb.search("warm up")
    chosen = list(SETS) if args.set == "all" else [args.set]
    tallies = {name: evaluate(kb, name, json.loads(SETS[name].read_text("utf-8"))) for name in chosen}
    if len(tallies) > 1:
        union = Tally()
        for tally in tallies.values():
            union.add(tally)
        tallies["union"] = union
    judged = list(tallies.values())[-1]  # the union, or the only set

    print(f"Knowledge base: {len(kb.articles)} articles, {len(kb.passages)} passages")
    for name, tally in tallies.items():
        print(f"{name}: {tally.answerable} answerable, {tally.unanswerable} not covered")
    print()
    print(f"{'metric':<18}" + "".join(f"{name:>8}" for name in tallies) + f"{'target':>9}  ok")
    print("-" * (18 + 8 * len(tallies) + 13))
    failed = False
    results = {name: tally.results() for name, tally in tallies.items()}
    for metric in results[next(iter(results))]:
        row = f"{metric:<18}" + "".join(f"{r[metric]:>8.3f}" for r in results.values())
        if metric in TARGETS:
            target, higher = TARGETS[metric]
            value = judged.results()[metric]
            ok = value >= target if higher else value <= target
            failed |= not ok
            row += f"{('>=' if higher else '<=') + str(target):>9}  {'yes' if ok else 'NO'}"
        print(row)
    print()
    command = "command: .venv/bin/python bench/kb_eval.py"
    print(command + (f" --set {args.set}" if args.set != "all" else "") + (" -v" if args.verbose else ""))
    if args.verbose and judged.misses:
        print()
        print("\n".join(judged.misses))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
