"""Who reported what, first: outlets' affiliations, v_story_sources, the new v_axis_stories columns,
v_axis_events and the report's "first to report" table, each recomputed a second way from the base
tables (feeds, articles, article_duplicates, article_clusters, article_tags) on the demo warehouse,
and the figures docs/queries.md quotes for questions 14-17 held to that second answer."""

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from html import unescape
from statistics import median

import duckdb
import pytest
from reference import Reference
from test_answers import answer, quoted

from axiswatch.config import ConfigError, load_feeds
from ingest.outlets import AFFILIATIONS, STATE_MEDIA
from transform.supply_events import SupplyEventExtractor
from warehouse.report import render
from warehouse.snapshot import snapshot_path


@pytest.fixture(scope="module")
def con(demo_warehouse):
    con = duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def ref(con):
    return Reference(con)


@pytest.fixture(scope="module")
def affiliation(ref):
    """Outlet -> affiliation from the feeds table alone (unknown when no feed classifies it)."""
    found: dict[str, set] = defaultdict(set)
    for feed in ref.feeds:
        if feed["outlet"] and (feed["affiliation"] or "unknown") != "unknown":
            found[feed["outlet"]].add(feed["affiliation"])
    return lambda outlet: next(iter(found[outlet])) if len(found.get(outlet, ())) == 1 else "unknown"


def sources_by_hand(ref, affiliation) -> dict[tuple, dict]:
    """(story, outlet) -> the outlet's row: rank and delay from the reference's coverage, language
    of its copies' articles, affiliation from the feeds."""
    rows = {}
    for story in ref.axis_stories():
        langs: dict = defaultdict(set)
        for c in story.copies:
            lang = ref.articles[c.article_id]["language"]
            if lang:
                langs[c.outlet].add(lang)
        for row in story.coverage():
            rows[(story.cluster_id, row["outlet"])] = {
                "affiliation": affiliation(row["outlet"]), "language": min(langs[row["outlet"]], default=None),
                "first_published": row["published_at"], "lag": row["delay"], "report_rank": row["report_rank"]}
    return rows


def test_every_feed_of_the_shipped_lists_is_classified_from_the_known_values(repo_root):
    for path in ("config/feeds.yaml", "demo/feeds.yaml"):
        for feed in load_feeds(repo_root / path):
            assert feed.affiliation in AFFILIATIONS, (path, feed.name)
    # every classified feed sits under a comment block that cites the public source of its class
    cited, in_comment, classified = False, False, 0
    for line in (repo_root / "config/feeds.yaml").read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#"):
            cited = (cited if in_comment else False) or bool(re.search(r"\((Wikipedia|RSF|kcnawatch)[^)]*\)", line))
            in_comment = True
            continue
        in_comment = False
        if "affiliation:" in line and "affiliation: unknown" not in line:
            assert cited, line
            classified += 1
    assert classified >= 20


def test_a_feeds_file_with_a_bad_or_conflicting_affiliation_is_refused(tmp_path):
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - {name: a, url: 'https://a.example/rss', outlet: A, affiliation: state_owned}\n")
    with pytest.raises(ConfigError, match="affiliation"):
        load_feeds(bad)
    bad.write_text("feeds:\n  - {name: a, url: 'https://a.example/rss', outlet: A, affiliation: wire}\n"
                   "  - {name: b, url: 'https://a.example/rss2', outlet: A, affiliation: state_ru}\n")
    with pytest.raises(ConfigError, match="outlet 'A' is both"):
        load_feeds(bad)


def test_story_sources_match_the_base_tables(con, ref, affiliation):
    expected = sources_by_hand(ref, affiliation)
    stored = {(r[0], r[1]): {"affiliation": r[2], "language": r[3], "first_published": r[4], "lag": r[5], "report_rank": r[6]}
              for r in con.execute("SELECT cluster_id, outlet, affiliation, language, first_published, lag, report_rank"
                                   " FROM v_story_sources WHERE cluster_id IN (SELECT cluster_id FROM v_axis_stories)").fetchall()}
    assert stored == expected
    assert {r["affiliation"] for r in expected.values()} >= {"wire", "independent", "state_ru", "unknown"}


def test_axis_stories_know_their_sources(con, ref, affiliation):
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT cluster_id, affiliations, state_media_only, first_reporter, first_reporter_affiliation FROM v_axis_stories").fetchall()}
    for story in ref.axis_stories():
        coverage = story.coverage()
        affs = sorted({affiliation(r["outlet"]) for r in coverage})
        only_state = all(affiliation(r["outlet"]) in STATE_MEDIA for r in coverage)
        first = coverage[0]["outlet"]
        assert rows[story.cluster_id] == (affs, only_state, first, affiliation(first)), story.cluster_id


def test_q14_state_media_only(con, ref, affiliation):
    stories = [s for s in ref.axis_stories() if all(affiliation(r["outlet"]) in STATE_MEDIA for r in s.coverage())]
    stories.sort(key=lambda s: (-s.published_at.timestamp(), s.cluster_id))
    expected = [(s.headline, s.coverage()[0]["outlet"], affiliation(s.coverage()[0]["outlet"]), s.outlets, s.published_at)
                for s in stories]
    assert answer(con, 14) == expected
    firsts = {(r[1], r[2]) for r in expected}
    assert len(firsts) == 1
    outlet, aff = firsts.pop()
    assert quoted(14) == (f"Demo corpus: {len(expected)} stories, all first reported by {outlet} ({aff}),"
                          f" the newest “{expected[0][0]}”.")


def test_q15_first_reporters_by_affiliation_and_language(con, ref, affiliation):
    groups: dict = defaultdict(list)
    for row in sources_by_hand(ref, affiliation).values():
        groups[(row["affiliation"], row["language"])].append(row)
    expected = [(a, lang, sum(r["report_rank"] == 1 for r in rows), len(rows),
                 timedelta(seconds=median(r["lag"].total_seconds() for r in rows)))
                for (a, lang), rows in groups.items()]
    expected.sort(key=lambda r: (-r[2], -r[3], r[0], r[1] or ""))
    assert answer(con, 15) == expected
    assert sum(r[2] for r in expected) == len(ref.axis_stories())
    wire = next(r for r in expected if r[0] == "wire")
    unknown = next(r for r in expected if r[0] == "unknown")
    minutes = int(unknown[4].total_seconds() // 60)
    assert quoted(15) == (f"Demo corpus: {len(expected)} rows; first_to_report sums to {len(ref.axis_stories())};"
                          f" wire ({wire[1]}) reported {wire[2]} stories first, unknown ({unknown[1]}) carried {unknown[3]}"
                          f" with a median lag of {minutes // 60} h {minutes % 60} min.")


def events_by_hand(con, ref) -> dict[tuple, list]:
    """(story, supplier, item, recipient) -> [(published, article id, evidence, language, claimed_by, outlet)],
    by running the extractor over the stored articles of axis stories (not reading what the pipeline stored)."""
    extractor = SupplyEventExtractor.from_file()
    texts = {r[0]: r[1:] for r in con.execute("SELECT id, title, summary, text, language FROM articles").fetchall()}
    found: dict = defaultdict(list)
    for story in ref.axis_stories():
        for a in story.articles:
            title, summary, text, language = texts[a["id"]]
            for e in extractor.extract(title or "", summary or "", text or "", language or ""):
                found[(story.cluster_id, e.supplier, e.item, e.recipient)].append(
                    (a["published_at"] or a["first_seen_at"], a["id"], e.evidence, language, e.claimed_by, a["outlet"]))
    return found


def test_axis_events_match_the_extractor_over_the_stored_articles(con, ref):
    expected = {}
    for key, rows in events_by_hand(con, ref).items():
        first = min(rows)
        expected[key] = (first[2], first[3], first[4], len({r[5] for r in rows}))
    stored = {r[:4]: r[4:] for r in con.execute(
        "SELECT cluster_id, supplier, item, recipient, evidence, language, claimed_by, outlets FROM v_axis_events").fetchall()}
    assert stored == expected
    texts = {r[0]: " ".join(x or "" for x in r[1:]) for r in con.execute("SELECT id, title, summary, text FROM articles").fetchall()}
    for (cid, *_), (evidence, *_rest) in stored.items():  # evidence is verbatim from a copy of its story
        assert any(evidence in texts[a["id"]] for a in ref.stories[cid].articles)
    assert {lang for (_, lang, _, _) in stored.values()} >= {"en", "ko", "ru", "uk"}


def test_q16_who_supplies_what_to_whom(con, ref):
    grouped: dict = defaultdict(lambda: [set(), set(), set()])
    for (cid, s, i, r), rows in events_by_hand(con, ref).items():
        g = grouped[(s, i, r)]
        g[0].add(cid)
        g[1].update(row[3] for row in rows)
        g[2].add(min(rows)[4])
    expected = [(s, i, r, len(g[0]), sorted(g[1]), sorted(c for c in g[2] if c)) for (s, i, r), g in grouped.items()]
    expected.sort(key=lambda row: (-row[3], row[0], row[1], row[2]))
    assert answer(con, 16) == expected
    top = expected[0]
    assert quoted(16) == (f"Demo corpus: {len(expected)} rows; {top[0]} → {top[1]} → {top[2]} in {top[3]} stories"
                          f" ({', '.join(top[4])}), the most.")


def test_q17_the_evidence(con, ref):
    rows = []
    for (cid, s, i, r), found in events_by_hand(con, ref).items():
        if s == "north_korea" and r == "russia":
            first = min(found)
            rows.append((first[0], i, cid, ref.stories[cid].headline, first[3], first[4], first[2]))
    rows.sort(key=lambda x: (-x[0].timestamp(), x[1], x[2]))
    expected = [(h, i, lang, claim, ev) for _, i, _, h, lang, claim, ev in rows]
    assert answer(con, 17) == expected
    assert quoted(17) == (f"Demo corpus: {len(expected)} rows from {len({x[2] for x in rows})} stories in"
                          f" {len({x[4] for x in rows})} languages; the newest: “{expected[0][4]}”")


def test_report_first_to_report_table_sums_and_matches(con, ref, affiliation):
    since = datetime(2026, 11, 1, tzinfo=UTC)
    html = render(con, since, now=datetime(2026, 12, 1, tzinfo=UTC))
    table = html.split('id="first-reporters"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<tr class="first-reporter"><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td class="num">(\d+)</td>'
                       r'<td class="num">(\d+)</td><td class="num">(.*?)</td></tr>', table)
    seen = {(unescape(o), lang): (a, int(n), int(first), lag) for o, a, lang, n, first, lag in cells}
    groups: dict = defaultdict(list)
    for (cid, outlet), row in sources_by_hand(ref, affiliation).items():
        if ref.stories[cid].published_at >= since:
            groups[(outlet, row["language"])].append(row)
    from warehouse.report import lag_text
    expected = {(o, lang): (affiliation(o), len(rows), sum(r["report_rank"] == 1 for r in rows),
                            lag_text(median(r["lag"].total_seconds() for r in rows)))
                for (o, lang), rows in groups.items()}
    assert seen == expected
    assert sum(v[2] for v in seen.values()) == len([s for s in ref.axis_stories() if s.published_at >= since])


def test_stories_command_shows_who_reported_first(demo_warehouse):
    from conftest import run_axiswatch

    result = run_axiswatch("stories", "--since", "2026-11-01", "--db", str(demo_warehouse), "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()] if result.stdout.lstrip().startswith("{") \
        else json.loads(result.stdout)
    assert rows and {"first_reporter", "affiliations", "state_media_only"} <= set(rows[0])
    assert sum(r["state_media_only"] for r in rows) == 3
