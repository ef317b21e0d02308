"""Tagging throughput on one core: articles of realistic length in four languages.

Usage: python -m benchmarks.tagging [--articles N] [--topics FILE] [--real DIR]
Prints one JSON object: articles, seconds, articles_per_second (single process, one core), and
cpu_seconds / cpu_ms_per_article / articles_per_cpu_second from the process's CPU time, which a
shared machine's other work does not inflate the way it inflates wall time. The synthetic articles
repeat a few sentences, so every word after the first article is one the matcher has seen; with
``--real DIR`` (a corpus folder holding fundus test data, e.g. ../shared/corpus/articles) a second
line gives the same figures for real pages in some forty languages, each tagged once by a fresh
tagger: the cold-cache cost of text the tagger has not seen.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from transform.tagging import Tagger

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = {
    "en": [
        "North Korea has sent thousands of additional troops to Russia's Kursk region, officials said.",
        "The central bank kept interest rates unchanged as inflation eased in the third quarter.",
        "Ukrainian forces repelled several attacks near Pokrovsk overnight, the general staff said.",
        "Farmers in the south reported a strong harvest despite the dry summer and high fuel costs.",
        "The minister told reporters that talks with European partners would continue next week.",
        "Analysts expect exports of semiconductors to keep growing on demand for servers.",
    ],
    "ko": [
        "국가정보원은 북한이 러시아에 병력을 추가로 파병했다고 밝혔다.",
        "한국은행은 기준금리를 동결하고 물가 흐름을 지켜보겠다고 밝혔다.",
        "서울 아파트 매매가격 상승폭이 3주 연속 둔화했다.",
        "정부는 내년 예산안에서 복지 지출을 늘리기로 했다.",
    ],
    "ru": [
        "Северная Корея продолжает поставлять России артиллерийские снаряды, сообщили аналитики.",
        "Банк России сохранил ключевую ставку, отметив замедление инфляции.",
        "В Москве ожидаются морозы до минус десяти градусов.",
        "Министерство финансов сообщило о росте налоговых поступлений.",
    ],
    "uk": [
        "Головне управління розвідки повідомило про нову партію ракет з КНДР для росії.",
        "Укренерго оголосило графіки відключень електроенергії на вівторок.",
        "У Києві відкрили оновлену станцію метро після ремонту.",
        "Уряд ухвалив рішення про підтримку малого бізнесу.",
    ],
}


def make_articles(n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """(id, title, text) with about 600 words of text each."""
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        lang = rng.choice(list(SENTENCES))
        pool = SENTENCES[lang]
        text = "\n".join(" ".join(rng.choice(pool) for _ in range(4)) for _ in range(10))
        articles.append((f"a{i}", rng.choice(pool)[:80], text))
    return articles


def real_articles(folder: Path) -> list[tuple[str, str, str]]:
    """(id, title, text) of every parsed page in fundus's ground-truth files under ``folder``."""
    articles = []
    for path in sorted(folder.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        for version, page in data.items():
            body = page.get("body") if isinstance(page, dict) else None
            if not isinstance(body, dict):
                continue
            paragraphs = list(body.get("summary") or [])
            for section in body.get("sections") or []:
                paragraphs += list(section.get("headline") or []) + list(section.get("paragraphs") or [])
            text = "\n".join(p for p in paragraphs if isinstance(p, str))
            if text:
                articles.append((f"{path.stem}-{version}", str(page.get("title") or ""), text))
    return articles


def measure(tagger: Tagger, articles: list[tuple[str, str, str]], name: str) -> dict:
    words = sum(len(t.split()) for _, _, t in articles) / len(articles)
    started, cpu_started = time.perf_counter(), time.process_time()
    axis = sum(tagger.tag(i, title, text).is_axis for i, title, text in articles)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "benchmark": name, "articles": len(articles), "mean_words": round(words),
        "axis": axis, "seconds": round(seconds, 3), "articles_per_second": round(len(articles) / seconds, 1),
        "cpu_seconds": round(cpu, 3), "cpu_ms_per_article": round(1000 * cpu / len(articles), 3),
        "articles_per_cpu_second": round(len(articles) / cpu, 1), "cores": 1,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--topics", type=Path, default=ROOT / "config/topics.yaml")
    shared = ROOT.parent / "shared/corpus/articles/fundus"
    parser.add_argument("--real", type=Path, default=shared if shared.is_dir() else None,
                        help="a folder of fundus ground-truth JSON files (real pages); default ../shared/corpus's when present")
    args = parser.parse_args(argv)
    tagger = Tagger.from_file(args.topics)
    tagger.tag("warm-up", "North Korea", "Russia")  # language identification loads its model once
    print(json.dumps(measure(tagger, make_articles(args.articles), "tagging")))
    if args.real:
        articles = real_articles(args.real)
        if not articles:
            raise SystemExit(f"no fundus ground-truth pages under {args.real}")
        fresh = Tagger.from_file(args.topics)
        fresh.tag("warm-up", "North Korea", "Russia")
        print(json.dumps(measure(fresh, articles, "tagging_real_cold")))


if __name__ == "__main__":
    main()
