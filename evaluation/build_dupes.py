"""Build evaluation/dupes_labeled.jsonl: story groups for `make eval-dedup`.

Syndicated copies are derived from the demo stories (our own text) with the light edits wire copy
gets in the wild: a dateline, a dropped closing paragraph, a credit line, another headline,
reordered paragraphs. Hand-written groups cover the hard cases: an edited headline on one URL,
different stories sharing a reused photo caption, a live page whose URL is reused for new
content, summary-only copies, and different stories on the same topic.
Run: python -m evaluation.build_dupes
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evaluation/dupes_labeled.jsonl"


def _copies(story: dict) -> list[dict]:
    paragraphs = list(story["body"])
    base = datetime.fromisoformat(story["date"].replace("Z", "+00:00")) if isinstance(story["date"], str) else story["date"]
    headlines = list(story["in"].values())
    variants = [
        paragraphs,
        ["SEOUL, Nov 24 (Global Wire) - " + paragraphs[0], *paragraphs[1:], "(Reporting by staff; editing by the desk)"],
        paragraphs[:-1] + ["Read more: our coverage of the region."] if len(paragraphs) > 2 else paragraphs + ["Read more."],
        [paragraphs[0], *reversed(paragraphs[1:])],
    ]
    copies = []
    for n, body in enumerate(variants):
        title = headlines[n % len(headlines)]
        if n >= len(headlines):
            title = title + (" – live updates" if n % 2 else ": what we know")
        copies.append({
            "id": f"{story['id']}-{n}",
            "url": f"https://outlet{n}.example/{story['id']}",
            "title": title,
            "text": "\n".join(body),
            "published": (base + timedelta(hours=3 * n)).isoformat(),
        })
    return copies


CAPTION = "Kim Jong Un attends a meeting in Pyongyang, North Korea, on Oct. 10, 2026. (KCNA via Global Wire)"

HAND_WRITTEN = [
    # One article whose headline is edited between fetches: one story.
    ("revised-headline", [
        {"id": "rev-1", "url": "https://wire.example/world/nk-shells", "title": "North Korea ships shells to Russia, report says",
         "summary": "A think tank says satellite images show containers moving from Rajin to Russian ports.", "published": "2026-11-20T08:00:00+00:00"},
        {"id": "rev-2", "url": "https://wire.example/world/nk-shells", "title": "UPDATE 2-North Korea has shipped millions of shells to Russia, think tank says",
         "summary": "A think tank says satellite images show containers moving from Rajin to Russian ports, in numbers that point to millions of shells.", "published": "2026-11-20T11:30:00+00:00"},
    ]),
    ("revised-headline-2", [
        {"id": "rev-3", "url": "https://times.example/asia/treaty", "title": "Putin arrives in Pyongyang",
         "summary": "The Russian president landed for a two-day visit, his first in 24 years.", "published": "2026-11-18T22:00:00+00:00"},
        {"id": "rev-4", "url": "https://times.example/asia/treaty", "title": "Putin and Kim sign defence pact in Pyongyang",
         "summary": "The Russian president landed for a two-day visit, his first in 24 years, and signed a mutual defence treaty with Kim Jong Un.", "published": "2026-11-19T09:00:00+00:00"},
    ]),
    # Different stories whose feed summary is the same reused photo caption: all apart.
    ("caption-a", [{"id": "cap-1", "url": "https://epoch.example/a", "title": "North Korea warns of 'overwhelming response' to US drills", "summary": CAPTION, "published": "2026-11-10T01:00:00+00:00"}]),
    ("caption-b", [{"id": "cap-2", "url": "https://epoch.example/b", "title": "Pyongyang opens new hospital in capital", "summary": CAPTION, "published": "2026-11-11T01:00:00+00:00"}]),
    ("caption-c", [{"id": "cap-3", "url": "https://epoch.example/c", "title": "Kim orders more farm machinery ahead of harvest", "summary": CAPTION, "published": "2026-11-12T01:00:00+00:00"}]),
    ("caption-d", [{"id": "cap-4", "url": "https://epoch.example/d", "title": "North Korea sends new ambassador to Moscow", "summary": CAPTION, "published": "2026-11-12T05:00:00+00:00"}]),
    # A live page whose URL is reused for new content: apart.
    ("live-day1", [{"id": "live-1", "url": "https://news.example/ukraine-war-live", "title": "Ukraine war live: drones hit Kharkiv power plant",
                    "text": "Russian drones struck a thermal power plant in Kharkiv overnight, cutting electricity to thousands of homes. Repair crews were working to restore power, the city's mayor said. The air force said it shot down most of the drones launched from the Bryansk region. " * 2,
                    "published": "2026-11-20T06:00:00+00:00"}]),
    ("live-day3", [{"id": "live-2", "url": "https://news.example/ukraine-war-live", "title": "Ukraine war live: Zelensky meets Nato chief in Kyiv",
                    "text": "Volodymyr Zelensky hosted Nato's secretary general in Kyiv on Wednesday and asked for more air defence systems before winter. The two men visited a hospital and laid flowers at a memorial wall for fallen soldiers. Allies will meet again next month in Brussels. " * 2,
                    "published": "2026-11-22T06:00:00+00:00"}]),
    # Summary-only copies of one wire story (pages failed): one story.
    ("summary-only", [
        {"id": "so-1", "url": "https://a.example/1", "title": "Russia's Lavrov to visit North Korea next week",
         "summary": "Russian Foreign Minister Sergei Lavrov will travel to Pyongyang next week for talks on military cooperation, the Kremlin said on Tuesday.", "published": "2026-11-15T10:00:00+00:00"},
        {"id": "so-2", "url": "https://b.example/2", "title": "Lavrov to travel to Pyongyang for talks, Kremlin says",
         "summary": "Russian Foreign Minister Sergei Lavrov will travel to Pyongyang next week for talks on military cooperation, the Kremlin said on Tuesday.", "published": "2026-11-15T10:40:00+00:00"},
        {"id": "so-3", "url": "https://c.example/3", "title": "Kremlin: Lavrov will visit North Korea",
         "summary": "Russian Foreign Minister Sergei Lavrov will travel to Pyongyang next week for talks on military cooperation, the Kremlin said.", "published": "2026-11-15T12:00:00+00:00"},
    ]),
    # Same topic, different stories: apart.
    ("topic-a", [{"id": "tp-1", "url": "https://d.example/1", "title": "North Korean troops reach Kursk, Seoul says",
                  "summary": "South Korea's spy agency said about 3,000 North Korean soldiers had arrived in the Kursk region.", "published": "2026-11-01T08:00:00+00:00"}]),
    ("topic-b", [{"id": "tp-2", "url": "https://d.example/2", "title": "North Korean troops suffer heavy losses in Kursk, Seoul says",
                  "summary": "South Korea's spy agency said hundreds of North Korean soldiers had been killed in drone attacks in the Kursk region.", "published": "2026-11-05T08:00:00+00:00"}]),
    ("topic-c", [{"id": "tp-3", "url": "https://d.example/3", "title": "Ukraine captures North Korean soldiers in Kursk",
                  "summary": "Ukraine's security service said two wounded North Korean soldiers were taken prisoner in the Kursk region.", "published": "2026-11-06T08:00:00+00:00"}]),
    # The same wire story outside the window (a month later, recycled): apart.
    ("recycled-a", [{"id": "rc-1", "url": "https://e.example/2026/10/sanctions", "title": "US sanctions ships carrying North Korean arms",
                     "summary": "The Treasury sanctioned six ships accused of moving North Korean weapons to Russia.", "published": "2026-10-01T08:00:00+00:00"}]),
    ("recycled-b", [{"id": "rc-2", "url": "https://e.example/2026/11/sanctions", "title": "US sanctions ships carrying North Korean arms",
                     "summary": "The Treasury sanctioned six ships accused of moving North Korean weapons to Russia.", "published": "2026-11-10T08:00:00+00:00"}]),
]


def build() -> list[dict]:
    stories = yaml.safe_load((ROOT / "demo/stories.yaml").read_text(encoding="utf-8"))["stories"]
    rows = []
    for story in stories:
        for copy in _copies(story):
            rows.append({"group": f"wire-{story['id']}", **copy})
    for group, items in HAND_WRITTEN:
        rows.extend({"group": group, **item} for item in items)
    return rows


if __name__ == "__main__":
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} items in {len({r['group'] for r in rows})} groups -> {OUT}")
