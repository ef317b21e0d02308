"""Story clustering at scale: articles per second and peak memory, 10k vs 100k (near-linear?).

Usage: python -m benchmarks.clustering [--sizes 10000 100000] [--words 400] [--dup-rate 0.2]
Each size runs in a fresh subprocess so peak RSS is its own. Prints one JSON object per size
and a summary with the growth ratio (time per article at the largest size / at the smallest).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

VOCAB_SIZE = 20000


def make_docs(n: int, words: int, dup_rate: float, seed: int = 11):
    """Synthetic articles over 30 days: Zipf-like vocabulary, some copies with light edits."""
    from transform.clusters import Doc

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(VOCAB_SIZE)]
    weights = [1 / (i + 1) for i in range(VOCAB_SIZE)]
    start = datetime(2026, 10, 1, tzinfo=UTC)
    docs, originals = [], []
    for i in range(n):
        when = start + timedelta(seconds=i * (30 * 86400 / n))
        if originals and rng.random() < dup_rate:
            src = rng.choice(originals[-500:])
            body = src.text.split()
            cut = rng.randint(0, len(body) // 10)
            text = "Reporting by staff. " + " ".join(body[cut:])
            docs.append(Doc(f"a{i}", "copy " + src.title, text, "", f"https://copy{i}.example/x", when))
        else:
            text = " ".join(rng.choices(vocab, weights, k=words))
            doc = Doc(f"a{i}", " ".join(rng.choices(vocab, weights, k=8)), text, "", f"https://o{i}.example/x", when)
            docs.append(doc)
            originals.append(doc)
    return docs


def run_one(n: int, words: int, dup_rate: float) -> dict:
    from transform.clusters import cluster_docs

    docs = make_docs(n, words, dup_rate)
    started = time.perf_counter()
    clusters = cluster_docs(docs)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest signature worker
    return {
        "benchmark": "clustering", "articles": n, "words_per_article": words, "dup_rate": dup_rate,
        "stories": len(set(clusters)), "seconds": round(seconds, 2),
        "articles_per_second": round(n / seconds, 1), "peak_rss_mib": round(peak_mib, 1),
        "peak_rss_worker_mib": round(child_mib, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--words", type=int, default=400)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.words, args.dup_rate)))
        return
    results = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.clustering", "--one", str(n), "--words", str(args.words),
             "--dup-rate", str(args.dup_rate)],
            capture_output=True, text=True, check=True,
        )
        result = json.loads(out.stdout)
        results.append(result)
        print(json.dumps(result), flush=True)
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = (large["seconds"] / large["articles"]) / (small["seconds"] / small["articles"])
        print(json.dumps({"benchmark": "clustering-growth", "per_article_time_ratio": round(growth, 2),
                          "sizes": [small["articles"], large["articles"]]}))


if __name__ == "__main__":
    main()
