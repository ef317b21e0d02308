"""Analysts' answers computed a second way: in plain Python from the base tables (articles,
article_duplicates, article_tags, article_clusters, story_clusters, feeds, feed_fetches), with none
of the views, macros or derived tables (story_axis) the answers under test are built on.

The rules are the documented ones (docs/queries.md, the views' comments):
- a story's copies are its clustered articles plus the exact-duplicate URLs pointing at them; a
  copy's publication time is its article's (first seen when the source gives none);
- a story's tags are its articles' latest tags (newest tagged_at, then tagger version); it is an
  axis story when any of them is axis; its topics and matched terms come from the axis copies,
  its countries from every copy;
- its headline copy is the earliest article (publication, first seen, the article that founded
  the cluster, article id); its publication time is that copy's;
- "first to report": earliest publication, then earliest first seen, then the outlet of the
  headline copy, then outlet name;
- days are UTC days of publication.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

KOREA = ("north_korea", "south_korea")
WAR = ("russia", "ukraine")


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


@dataclass
class Copy:
    article_id: str
    outlet: str | None
    published_at: datetime
    first_seen_at: datetime
    kind: str


@dataclass
class Story:
    cluster_id: str
    copies: list[Copy] = field(default_factory=list)
    articles: list[dict] = field(default_factory=list)
    headline_article: dict | None = None
    is_axis: bool = False
    countries: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)
    score: float | None = None

    @property
    def outlets(self) -> int:
        return len({c.outlet for c in self.copies if c.outlet is not None})

    @property
    def published_at(self) -> datetime:
        a = self.headline_article
        return a["published_at"] or min(c.first_seen_at for c in self.copies)

    @property
    def first_seen_at(self) -> datetime:
        return min(c.first_seen_at for c in self.copies)

    @property
    def day(self) -> date:
        return utc_day(self.published_at)

    @property
    def headline(self) -> str:
        return self.headline_article["title"]

    @property
    def first_outlet(self) -> str | None:
        return self.headline_article["outlet"]

    def coverage(self) -> list[dict]:
        """Per outlet: earliest publication and first seen, copies, in order of reporting."""
        by_outlet: dict = defaultdict(list)
        for c in self.copies:
            by_outlet[c.outlet].append(c)
        rows = [{"outlet": outlet, "published_at": min(c.published_at for c in cs),
                 "first_seen_at": min(c.first_seen_at for c in cs), "copies": len(cs),
                 "headline_copy": any(c.kind == "article" and c.article_id == self.headline_article["id"] for c in cs)}
                for outlet, cs in by_outlet.items()]
        rows.sort(key=lambda r: (r["published_at"], r["first_seen_at"], not r["headline_copy"],
                                 (r["outlet"] is None, r["outlet"] or "")))
        first = rows[0]["published_at"]
        for rank, row in enumerate(rows, 1):
            row["report_rank"] = rank
            row["delay"] = row["published_at"] - first
        return rows

    def pairs(self) -> list[str]:
        return [f"{k}–{w}" for k in self.countries if k in KOREA for w in self.countries if w in WAR]


class Reference:
    def __init__(self, con) -> None:
        self.articles = {a["id"]: a for a in _rows(con, "SELECT * EXCLUDE (text, raw_entry) FROM articles")}
        self.duplicates = _rows(con, "SELECT * FROM article_duplicates")
        self.tags = _rows(con, "SELECT * FROM article_tags")
        self.clusters = _rows(con, "SELECT article_id, cluster_id FROM article_clusters")
        self.story_rows = {s["id"]: s for s in _rows(con, "SELECT * FROM story_clusters")}
        self.feeds = _rows(con, "SELECT * FROM feeds")
        self.fetches = _rows(con, "SELECT * FROM feed_fetches")
        self.latest = {}
        for t in self.tags:
            best = self.latest.get(t["article_id"])
            if best is None or (t["tagged_at"], t["tagger_version"]) > (best["tagged_at"], best["tagger_version"]):
                self.latest[t["article_id"]] = t
        self.stories = self._stories()

    def _stories(self) -> dict[str, Story]:
        stories: dict[str, Story] = {}
        dups = defaultdict(list)
        for d in self.duplicates:
            dups[d["article_id"]].append(d)
        for row in self.clusters:
            story = stories.setdefault(row["cluster_id"], Story(row["cluster_id"]))
            a = self.articles[row["article_id"]]
            story.articles.append(a)
            story.copies.append(Copy(a["id"], a["outlet"], a["published_at"] or a["first_seen_at"], a["first_seen_at"],
                                     "article"))
            for d in dups[a["id"]]:
                story.copies.append(Copy(a["id"], d["outlet"], a["published_at"] or d["first_seen_at"],
                                         d["first_seen_at"], "exact_duplicate"))
        for story in stories.values():
            story.headline_article = min(story.articles, key=lambda a: (
                a["published_at"] or a["first_seen_at"], a["first_seen_at"], story.cluster_id != "s-" + a["id"], a["id"]))
            tags = [self.latest[a["id"]] for a in story.articles if a["id"] in self.latest]
            axis = [t for t in tags if t["is_axis"]]
            story.is_axis = bool(axis)
            story.languages = sorted({a["language"] for a in story.articles if a["language"]})
            if not axis:
                continue
            story.score = max(t["score"] for t in tags)
            story.countries = sorted({c for t in tags for c in (t["countries"] or [])})
            story.topics = sorted({c for t in axis for c in (t["topics"] or [])})
            story.matched_terms = sorted({m["term"] for t in axis for m in json.loads(t["matches"] or "[]")})
        return stories

    def axis_stories(self) -> list[Story]:
        return [s for s in self.stories.values() if s.is_axis]

    # -- docs/queries.md, question by question --------------------------------------------------

    def q1(self) -> list[tuple]:
        ranked = sorted(self.axis_stories(), key=lambda s: (-s.outlets, s.published_at, s.cluster_id))[:10]
        return [(s.headline, s.outlets, len(s.copies), s.first_outlet, s.topics) for s in ranked]

    def q2(self) -> list[tuple]:
        rows = [(s.headline, s.coverage()[0]["outlet"], s.coverage()[0]["published_at"], s.cluster_id)
                for s in self.axis_stories()]
        rows.sort(key=lambda r: (-r[2].timestamp(), r[3]))
        return [r[:3] for r in rows]

    def q3(self) -> list[tuple]:
        counts: dict = defaultdict(set)
        for s in self.axis_stories():
            for topic in s.topics or ["(none)"]:
                counts[(s.day, topic)].add(s.cluster_id)
        rows = [(day, topic, len(ids)) for (day, topic), ids in counts.items()]
        return sorted(rows, key=lambda r: (-r[0].toordinal(), -r[2], r[1]))

    def q4(self) -> list[tuple]:
        return sorted((s.headline, s.languages, s.outlets) for s in self.axis_stories()
                      if {"ko", "ru"} & set(s.languages) and "en" not in s.languages)

    def q5(self) -> list[tuple]:
        ranked = sorted(self.axis_stories(), key=lambda s: (-s.score, -s.outlets, s.cluster_id))[:5]
        return [(s.headline, s.matched_terms) for s in ranked]

    def q6(self) -> list[tuple]:
        zones: dict = defaultdict(int)
        for t in self.latest.values():
            if not t["is_axis"]:
                continue
            for m in json.loads(t["matches"] or "[]"):
                if m.get("concept") in KOREA:
                    zones[m.get("zone")] += 1
        return sorted(zones.items(), key=lambda kv: (-kv[1], kv[0]))

    def q7(self) -> list[tuple]:
        rows = [(s.published_at, s.headline, s.outlets, s.cluster_id) for s in self.axis_stories()
                if "north_korea" in s.countries and "russia" in s.countries and "troop_deployment" in s.topics]
        rows.sort(key=lambda r: (-r[0].timestamp(), r[3]))
        return [r[:3] for r in rows]

    def q8(self) -> list[tuple]:
        delays: dict = defaultdict(list)
        for s in self.stories.values():
            for row in s.coverage():
                if row["delay"] > timedelta(0):
                    delays[row["outlet"]].append(row["delay"])
        rows = [(outlet, len(ds), timedelta(seconds=round(sum(d.total_seconds() for d in ds) / len(ds))))
                for outlet, ds in delays.items()]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    def q9(self) -> list[tuple]:
        by_feed = defaultdict(list)
        for f in self.fetches:
            by_feed[f["feed"]].append(f)
        rows = []
        for feed in self.feeds:
            recent = sorted(by_feed[feed["name"]], key=lambda f: f["fetched_at"], reverse=True)[:7]
            ok = [f["entries"] for f in recent if f["status"] == "ok"]
            rows.append((feed["name"], feed["failure_streak"], feed["last_success_at"],
                         sum(ok) / len(ok) if ok else None))
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    def q10(self) -> list[tuple]:
        counts: dict = defaultdict(lambda: [0, 0])
        for a in self.articles.values():
            counts[a["language"]][0] += 1
            tag = self.latest.get(a["id"])
            counts[a["language"]][1] += bool(tag and tag["is_axis"])
        rows = [(lang, n, axis, round(100.0 * axis / n, 1)) for lang, (n, axis) in counts.items()]
        return sorted(rows, key=lambda r: (-r[1], r[0] or ""))

    def q11(self) -> list[tuple]:
        counts: dict = defaultdict(lambda: [0, 0])
        for a in self.articles.values():
            counts[a["outlet"]][0] += a["fetch_status"] != "ok"
            counts[a["outlet"]][1] += 1
        return sorted(((o, bad, n) for o, (bad, n) in counts.items()), key=lambda r: (-r[1], r[0] or ""))

    def q12(self) -> list[tuple]:
        days: dict = defaultdict(set)
        stories: dict = defaultdict(set)
        for s in self.axis_stories():
            for pair in s.pairs():
                days[pair].add(s.day)
                stories[pair].add(s.cluster_id)
        return sorted(((p, len(days[p]), len(stories[p])) for p in stories), key=lambda r: (-r[2], r[0]))

    def q13(self) -> list[tuple]:
        counts: dict = defaultdict(lambda: [0, 0])
        for t in self.tags:
            counts[t["tagger_version"]][0] += 1
            counts[t["tagger_version"]][1] += t["is_axis"]
        return sorted((v, n, axis) for v, (n, axis) in counts.items())

    # -- the HTML report --------------------------------------------------------------------------

    def report(self, since: datetime, new_since: datetime | None = None) -> dict:
        """What the report shows for a period: stories published since ``since`` (and, for a run's
        report, first stored since ``new_since``), the timeline by day and main country pair, and
        per outlet the stories it carried and how many it reported first."""
        period = [s for s in self.axis_stories() if s.published_at >= since]
        listed = [s for s in period if new_since is None or s.first_seen_at >= new_since]
        timeline: dict = defaultdict(int)
        for s in period:
            pair = ("north_korea" if "north_korea" in s.countries else "south_korea") + "–" + \
                   ("russia" if "russia" in s.countries else "ukraine")
            timeline[(s.day, pair)] += 1
        outlets: dict = defaultdict(lambda: [0, 0])
        for s in period:
            coverage = s.coverage()
            for row in coverage:
                outlets[row["outlet"]][0] += 1
            outlets[coverage[0]["outlet"]][1] += 1
        by_topic: dict = defaultdict(list)
        for s in listed:
            for topic in s.topics or ["(no topic)"]:
                by_topic[topic].append(s.cluster_id)
        return {"stories": sorted(s.cluster_id for s in listed), "timeline": dict(timeline),
                "outlets": {o: tuple(v) for o, v in outlets.items()},
                "by_topic": {t: sorted(ids) for t, ids in by_topic.items()}}
