"""The knowledge base at 1,000 and 10,000 articles: save-to-searchable, search latency, memory.

Run from the repository root: `.venv/bin/python bench/kb_scale.py [--sizes 1000 10000]`. It
starts its own in-memory nx-27017, generates articles by recombining the shipped articles'
sections with made-up product words (so the vocabulary grows as a real help centre's does),
stores them through `ArticleStore`, starts a `KnowledgeService` on them and measures:

- start: loading every article from the database and building the index;
- save -> searchable: `KnowledgeService.save` of a published article until `current().search`
  finds a word that only the new text has (median and p95 of 20 saves; in this worker, so it
  is the whole save: MongoDB write, version, index update);
- search p95 over the eval questions (bench/kb_questions*.json), each asked 3 times;
- process memory (RSS) added by the loaded knowledge base, per 1,000 articles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatapp.services.knowledge import PUBLISHED, Article, Editor, KnowledgeBase, KnowledgeService  # noqa: E402
from chatapp.services.knowledge.passages import split_passages  # noqa: E402
from chatapp.services.knowledge.store import ArticleStore  # noqa: E402
from chatapp.services.store import Store  # noqa: E402
from tests.servers import DatabaseServer  # noqa: E402

SAVES = 20
EDITOR = Editor("bench", "Benchmark")
TARGETS = {1000: (200.0, 5.0), 10000: (None, 20.0)}  # size -> (save ms, search p95 ms)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def generate(n: int, rng: random.Random) -> list[Article]:
    """n articles: each takes three sections from shipped articles and a paragraph of product
    words drawn from a pool that grows with n."""
    shipped = KnowledgeBase.load(ROOT / "knowledge").articles
    sections = [(p.heading, p.text) for a in shipped for p in split_passages(a) if p.heading != "Overview"]
    syllable = "bcdfgklmnprstvz"
    pool = ["".join(rng.choice(syllable) + rng.choice("aeiou") for _ in range(3)) for _ in range(n * 2)]
    articles = []
    for i in range(n):
        base = shipped[i % len(shipped)]
        words = " ".join(rng.sample(pool, 12))
        body = f"{base.body.split('##')[0].strip()} This applies to {words}.\n\n" + "\n\n".join(
            f"## {heading}\n\n{text}" for heading, text in rng.sample(sections, 3)
        )
        articles.append(Article(uuid.uuid4().hex, f"{base.slug}-{i}", f"{base.title} ({pool[i]})",
                                base.category, body, PUBLISHED, updated_by=EDITOR))
    return articles


async def measure(uri: str, size: int) -> dict[str, float]:
    rng = random.Random(size)
    store = Store(uri, f"bench_kb_{size}", timeout_ms=10000)
    articles = generate(size, rng)
    repository = ArticleStore(store.db)
    await repository.ensure_indexes()
    for start in range(0, size, 100):
        await asyncio.gather(*(repository.insert(a, "generated") for a in articles[start : start + 100]))

    rss_before = psutil.Process().memory_info().rss
    service = KnowledgeService(store.db)
    started = time.perf_counter()
    await service.start()
    start_s = time.perf_counter() - started
    rss_mb = (psutil.Process().memory_info().rss - rss_before) / 2**20

    save_ms = []
    for i in range(SAVES):
        article = await service.get(articles[rng.randrange(size)].id)
        marker = f"zqx{i}marker"
        began = time.perf_counter()
        await service.save(EDITOR, article.id, article.version, body=f"{article.body}\n\nNew: {marker}.")
        found = service.current().search(marker).cited_slugs[:1] == (article.slug,)  # no wait in this worker
        save_ms.append((time.perf_counter() - began) * 1000)
        assert found, f"{marker} not searchable after the save returned"

    kb = service.current()
    items = [item for name in ("kb_questions.json", "kb_questions_blind.json")
             for item in json.loads((ROOT / "bench" / name).read_text("utf-8"))]
    search_ms = []
    for _ in range(3):
        for item in items:
            began = time.perf_counter()
            kb.search(item["question"], item.get("history", ()))
            search_ms.append((time.perf_counter() - began) * 1000)
    await service.close()
    await store.client.drop_database(store.db.name)
    store.close()
    return {
        "passages": len(kb.passages), "start s": start_s,
        "save->searchable median ms": statistics.median(save_ms),
        "save->searchable p95 ms": percentile(save_ms, 95),
        "search p50 ms": statistics.median(search_ms), "search p95 ms": percentile(search_ms, 95),
        "memory MB per 1,000 articles": rss_mb / (size / 1000),
    }


async def main_async(sizes: list[int]) -> None:
    server = DatabaseServer().start()
    try:
        results = {size: await measure(server.uri, size) for size in sizes}
    finally:
        server.stop()
    print(f"{'articles':<30}" + "".join(f"{size:>12,}" for size in sizes))
    print("-" * (30 + 12 * len(sizes)))
    for metric in results[sizes[0]]:
        print(f"{metric:<30}" + "".join(f"{results[s][metric]:>12,.1f}" for s in sizes))
    print()
    for size in sizes:
        save_target, search_target = TARGETS.get(size, (None, 20.0))
        r = results[size]
        checks = [f"search p95 {r['search p95 ms']:.1f} ms (target <= {search_target})"]
        if save_target:
            save = r["save->searchable p95 ms"]
            checks.append(f"save->searchable p95 {save:.0f} ms (target <= {save_target:.0f})")
        print(f"{size:,}: " + "; ".join(checks))
    print("\ncommand: .venv/bin/python bench/kb_scale.py --sizes " + " ".join(map(str, sizes)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    asyncio.run(main_async(parser.parse_args().sizes))


if __name__ == "__main__":
    main()
