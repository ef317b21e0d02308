"""Tagging throughput on one core: articles of realistic length in four languages.

Usage: python -m benchmarks.tagging [--articles N]
Prints one JSON object: articles, seconds, articles_per_second (single process, one core).
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    args = parser.parse_args(argv)
    tagger = Tagger.from_file(ROOT / "config/topics.yaml")
    articles = make_articles(args.articles)
    words = sum(len(t.split()) for _, _, t in articles) / len(articles)
    started = time.perf_counter()
    axis = sum(tagger.tag(i, title, text).is_axis for i, title, text in articles)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "benchmark": "tagging", "articles": len(articles), "mean_words": round(words),
        "axis": axis, "seconds": round(seconds, 3), "articles_per_second": round(len(articles) / seconds, 1),
        "cores": 1,
    }))


if __name__ == "__main__":
    main()
