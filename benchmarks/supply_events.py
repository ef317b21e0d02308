"""`make bench-events`: what "who reported what, first" costs.

1. Supply-event extraction on one core: articles/s on the synthetic night's 600-word pages
   (benchmarks/corpus.py sentences, many with supply verbs) and on the demo corpus's stories.
2. `v_axis_stories` with its source columns (affiliations, state_media_only, first_reporter)
   against migration 008's definition of the same view, on a synthetic warehouse of N articles
   in stories of three copies, one story in twenty axis.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from importlib import resources
from pathlib import Path

import duckdb
import yaml

from benchmarks.corpus import ALPHABETS, SENTENCES
from transform.supply_events import SupplyEventExtractor
from warehouse.db import migrate

ROOT = Path(__file__).resolve().parent.parent


def _rate(extractor: SupplyEventExtractor, docs: list[tuple], seconds: float = 3.0) -> float:
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for doc in docs:
            extractor.extract(*doc)
            n += 1
    return n / (time.perf_counter() - start)


def synthetic_pages(count: int, seed: int = 5) -> list[tuple]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        lang = rng.choices(list(SENTENCES), weights=[6, 2, 1, 1])[0]
        pool, alphabet = SENTENCES[lang], ALPHABETS[lang]
        paragraphs = [" ".join(rng.choice(pool) + " " + " ".join("".join(rng.choices(alphabet, k=rng.randint(3, 8)))
                                                                  for _ in range(6)) for _ in range(3)) for _ in range(10)]
        docs.append((rng.choice(pool)[:50], "", "\n".join(paragraphs), lang))
    return docs


def view_seconds(articles: int) -> dict:
    old_sql = (resources.files("warehouse.migrations") / "008_story_axis.sql").read_text(encoding="utf-8")
    old = re.search(r"CREATE OR REPLACE VIEW v_axis_stories AS\n(.*?);\n", old_sql, flags=re.S).group(1)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        migrate(con)
        con.execute(f"""INSERT INTO articles (id, canonical_url, url, feed, outlet, title, language, first_seen_at,
                        published_at, content_hash, fetch_status, run_id)
            SELECT 'a' || i, 'https://x/' || i, 'https://x/' || i, 'f' || (i % 50), 'outlet' || (i % 50), 'title ' || i, 'en',
                   TIMESTAMPTZ '2026-01-01' + to_seconds(i * 60), TIMESTAMPTZ '2026-01-01' + to_seconds(i * 60), 'h' || i, 'ok', 'r'
            FROM range({articles}) t(i)""")
        con.execute(f"""INSERT INTO article_clusters (article_id, cluster_id, lede_sig, assigned_at)
            SELECT 'a' || i, 's-' || (i // 3), [1, 2], now() FROM range({articles}) t(i)""")
        con.execute(f"""INSERT INTO story_clusters (id, representative_article_id, first_seen_at, last_seen_at, member_count,
                        outlets_count, updated_at)
            SELECT 's-' || j, 'a' || (j * 3), TIMESTAMPTZ '2026-01-01', TIMESTAMPTZ '2026-01-01', 3, 3, now()
            FROM range({articles} // 3) t(j)""")
        con.execute(f"""INSERT INTO story_axis SELECT 's-' || j, 0.5, ['north_korea', 'russia'], ['troop_deployment'], ['en'],
                        ['x'], now() FROM range({articles} // 3) t(j) WHERE j % 20 = 0""")
        con.execute("INSERT INTO feeds (name, url, outlet, affiliation) SELECT 'f' || i, 'https://f/' || i, 'outlet' || i,"
                    " CASE WHEN i % 5 = 0 THEN 'state_ru' ELSE 'independent' END FROM range(50) t(i)")
        con.execute(f"CREATE VIEW v_axis_stories_008 AS {old}")
        out = {}
        for name in ("v_axis_stories_008", "v_axis_stories"):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                con.execute(f"SELECT * FROM {name}").fetchall()
                best = min(best, time.perf_counter() - start)
            out[name] = round(best, 3)
        out["axis_stories"] = con.execute("SELECT count(*) FROM v_axis_stories").fetchone()[0]
        con.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300, help="synthetic 600-word pages to extract from")
    parser.add_argument("--articles", type=int, default=300_000, help="articles in the synthetic warehouse")
    args = parser.parse_args(argv)
    extractor = SupplyEventExtractor.from_file()
    stories = yaml.safe_load((ROOT / "demo/stories.yaml").read_text(encoding="utf-8"))["stories"]
    demo = [(next(iter(s["in"].values())), "", " ".join(s["body"]), s["lang"]) for s in stories]
    print(json.dumps({
        "extractor": extractor.version,
        "synthetic_pages_per_s": round(_rate(extractor, synthetic_pages(args.pages)), 1),
        "demo_articles_per_s": round(_rate(extractor, demo), 1),
        "view_select_all_s": view_seconds(args.articles),
        "articles": args.articles,
    }))


if __name__ == "__main__":
    main()
