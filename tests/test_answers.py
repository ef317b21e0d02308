"""Every documented question (docs/queries.md) answered twice on the demo warehouse: by its SQL over
the views, and in Python from the base tables (tests/reference.py). The figures the page quotes are
held to the second answer."""

import re
from datetime import timedelta

import duckdb
import pytest
from conftest import ROOT
from reference import Reference

from warehouse.snapshot import snapshot_path

DOC = ROOT / "docs/queries.md"


def sections() -> dict[int, tuple[str, str]]:
    """Question number -> (its SQL, the text after it)."""
    parts = re.split(r"^### (\d+)\. .*$", DOC.read_text(encoding="utf-8"), flags=re.M)
    found = {}
    for number, body in zip(parts[1::2], parts[2::2]):
        sql = re.search(r"```sql\n(.*?)```", body, flags=re.S).group(1).strip().rstrip(";")
        found[int(number)] = (sql, body.split("```", 2)[2])
    return found


@pytest.fixture(scope="module")
def con(demo_warehouse):
    con = duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def ref(con):
    return Reference(con)


def answer(con, number: int) -> list[tuple]:
    return con.execute(sections()[number][0]).fetchall()


def quoted(number: int) -> str:
    lines = [line for line in sections()[number][1].splitlines() if line.startswith("Demo corpus:")]
    assert len(lines) == 1, f"question {number} quotes its demo figures in one 'Demo corpus:' line"
    return lines[0]


def test_every_documented_question_is_checked():
    assert sorted(sections()) == list(range(1, 18))  # 14-17: tests/test_sources.py
    assert {n for n in range(1, 14) if f"test_q{n}_" in " ".join(globals())} == set(range(1, 14))


def test_the_reference_agrees_with_the_stored_stories(con, ref):
    """The second way rebuilds what the pipeline stored (story_clusters) from articles and clusters."""
    stored = {r[0]: r[1:] for r in con.execute(
        "SELECT id, member_count, outlets_count, representative_article_id, first_seen_at FROM story_clusters").fetchall()}
    assert set(stored) == set(ref.stories)
    for cid, story in ref.stories.items():
        assert stored[cid] == (len(story.copies), story.outlets, story.headline_article["id"], story.first_seen_at), cid
    axis = con.execute("SELECT cluster_id, published_at, headline, outlets, copies, first_outlet, countries, topics,"
                       " languages, matched_terms, score FROM v_axis_stories").fetchall()
    assert len(axis) == len({r[0] for r in axis}) == len(ref.axis_stories()) == 17
    for row in axis:
        s = ref.stories[row[0]]
        assert row[1:] == (s.published_at, s.headline, s.outlets, len(s.copies), s.first_outlet, s.countries, s.topics,
                           s.languages, s.matched_terms, s.score)


def test_outlet_coverage_has_one_first_per_story_by_the_documented_rule(con, ref):
    rows = con.execute("SELECT cluster_id, outlet, published_at, first_seen_at, copies, report_rank, delay"
                       " FROM v_outlet_coverage").fetchall()
    firsts = [r[0] for r in rows if r[5] == 1]
    assert len(firsts) == len(set(firsts)) == len(ref.stories) == 33
    expected = {(s.cluster_id, c["outlet"], c["published_at"], c["first_seen_at"], c["copies"], c["report_rank"], c["delay"])
                for s in ref.stories.values() for c in s.coverage()}
    assert set(rows) == expected
    # The demo has wire copies tying at the first minute: the rule, not luck, picks one.
    assert sum(1 for r in rows if r[5] > 1 and r[6] == timedelta(0)) >= 8
    comment = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'v_outlet_coverage'"
                          " AND column_name = 'report_rank'").fetchone()[0]
    assert "first seen" in comment and "outlet name" in comment


def test_q1_widest_stories(con, ref):
    expected = ref.q1()
    assert answer(con, 1) == expected
    headline, outlets, copies, first, _ = expected[0]
    assert quoted(1) == (f"Demo corpus: {len(expected)} of {len(ref.axis_stories())} stories; the widest, “{headline}”,"
                         f" was carried by {outlets} outlets in {copies} copies, first by {first}.")


def test_q2_first_outlet_once_per_story(con, ref):
    expected = ref.q2()
    got = answer(con, 2)
    assert got == expected and len(got) == len(ref.axis_stories())
    q1_first = {s.headline: s.first_outlet for s in ref.axis_stories()}
    assert all(q1_first[headline] == outlet for headline, outlet, _ in got)
    headline, outlet, when = expected[0]
    assert f"Demo corpus: {len(got)} rows, one per axis story" in quoted(2)
    assert f"the newest, “{headline}”, was first published by {outlet} at {when:%Y-%m-%d %H:%M} UTC." in quoted(2)


def test_q3_daily_topics_count_each_story_once(con, ref):
    expected = ref.q3()
    assert answer(con, 3) == expected
    per_topic = {}
    for _, topic, n in expected:
        per_topic[topic] = per_topic.get(topic, 0) + n
    direct = {t: sum(1 for s in ref.axis_stories() if t in s.topics) for t in per_topic}
    assert per_topic == direct and per_topic["arms_transfer"] == 11
    days = sorted({d for d, _, _ in expected})
    assert quoted(3) == (f"Demo corpus: {len(expected)} rows over {len(days)} days ({days[0]} to {days[-1]}); summed over"
                         f" the days, arms_transfer has {per_topic['arms_transfer']} stories, troop_deployment"
                         f" {per_topic['troop_deployment']}, diplomacy {per_topic['diplomacy']}.")


def test_q4_korean_and_russian_without_english(con, ref):
    expected = ref.q4()
    assert answer(con, 4) == expected
    ko = sum("ko" in langs for _, langs, _ in expected)
    ru = sum("ru" in langs for _, langs, _ in expected)
    assert {n for _, _, n in expected} == {1}
    assert quoted(4) == f"Demo corpus: {len(expected)} stories ({ko} Korean, {ru} Russian), each carried by 1 outlet."


def test_q5_matched_terms(con, ref):
    expected = ref.q5()
    assert answer(con, 5) == expected
    assert quoted(5) == f"Demo corpus: the top story, “{expected[0][0]}”, matched {len(expected[0][1])} terms."


def test_q6_zones(con, ref):
    expected = ref.q6()
    assert answer(con, 6) == expected
    assert quoted(6) == "Demo corpus: " + ", ".join(f"{zone} {n}" for zone, n in expected) + "."


def test_q7_troops_north_korea_russia(con, ref):
    expected = ref.q7()
    assert answer(con, 7) == expected
    assert quoted(7) == f"Demo corpus: {len(expected)} stories, the newest “{expected[0][1]}” ({expected[0][2]} outlets)."


def test_q8_followers_and_their_delay(con, ref):
    expected = ref.q8()
    assert answer(con, 8) == expected
    outlet, n, delay = expected[0]
    hours, rest = divmod(int(delay.total_seconds()), 3600)
    assert (outlet, n) == ("Pacific Times", 7)
    assert quoted(8).startswith(f"Demo corpus: {outlet} followed {n} stories, {hours} h {rest // 60} min {rest % 60} s"
                                f" behind on average; {expected[1][0]} followed {expected[1][1]}.")


def test_q8_delay_prints_readably_in_every_format(demo_warehouse, repo_root):
    from conftest import run_axiswatch

    for fmt in ("table", "csv", "json", "records"):
        result = run_axiswatch("query", sections()[8][0], "--db", str(demo_warehouse), "--format", fmt, cwd=repo_root)
        assert result.returncode == 0, result.stderr
        assert "PT1H3M26S" in result.stdout and "MonthDayNano" not in result.stdout, fmt


def test_q9_feed_health(con, ref):
    expected = ref.q9()
    assert answer(con, 9) == expected
    failing = sum(1 for r in expected if r[1])
    assert quoted(9) == f"Demo corpus: {len(expected)} feeds, {'none' if not failing else failing} failing."


def test_q10_axis_share_by_language(con, ref):
    expected = ref.q10()
    assert answer(con, 10) == expected
    first, *rest = expected
    assert quoted(10) == (f"Demo corpus: {first[0]} {first[1]} articles of which {first[2]} axis ({first[3]}%), "
                          + ", ".join(f"{lang} {n} ({axis} axis)" for lang, n, axis, _ in rest) + ".")


def test_q11_pages_without_text(con, ref):
    expected = ref.q11()
    assert answer(con, 11) == expected
    total, bad = sum(r[2] for r in expected), sum(r[1] for r in expected)
    assert bad == 0 and quoted(11) == f"Demo corpus: {total} articles, every page extracted ({bad} without text)."


def test_q12_country_pairs_count_stories(con, ref):
    expected = ref.q12()
    assert answer(con, 12) == expected
    (p0, d0, n0), *rest = expected
    assert quoted(12) == (f"Demo corpus: {p0} {n0} stories on {d0} days, " + ", ".join(f"{p} {n}" for p, _, n in rest) + ".")


def test_q13_tagger_versions(con, ref):
    expected = ref.q13()
    assert answer(con, 13) == expected
    assert len(expected) == 1
    assert quoted(13) == f"Demo corpus: one tagger version, {expected[0][1]} articles, {expected[0][2]} axis."


def test_daily_views_match_the_reference(con, ref):
    """v_daily_axis_counts (day of publication, one row per pair and topic) and v_daily_axis_pairs."""
    counts = {}
    pairs = {}
    for s in ref.axis_stories():
        for pair in s.pairs():
            pairs.setdefault((s.day, pair), set()).add(s.cluster_id)
            for topic in s.topics or ["(none)"]:
                counts.setdefault((s.day, pair, topic), set()).add(s.cluster_id)
    assert sorted(con.execute("SELECT day, country_pair, topic, stories FROM v_daily_axis_counts").fetchall()) == \
        sorted((*k, len(v)) for k, v in counts.items())
    assert sorted(con.execute("SELECT day, country_pair, stories FROM v_daily_axis_pairs").fetchall()) == \
        sorted((*k, len(v)) for k, v in pairs.items())
    assert len({d for d, _, _ in con.execute("SELECT * FROM v_daily_axis_pairs").fetchall()}) == 8  # a week, not one bar


# -- the HTML report --------------------------------------------------------------------------------

def _report_from_html(html: str) -> dict:
    """The figures a reader sees in the rendered report."""
    from html import unescape

    bars = {}
    for day, n, pair in re.findall(r"<title>(\d{4}-\d{2}-\d{2}): (\d+) ([^<]+)</title>", html):
        bars[(day, unescape(pair))] = int(n)
    outlets = {unescape(o): (int(n), int(first)) for o, n, first in re.findall(
        r'<tr class="outlet"><td>([^<]*)</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>', html)}
    topics = {unescape(t): int(n) for t, n in re.findall(r"<h3>([^<]+) \((\d+)\)</h3>", html)}
    return {"period": int(re.search(r'id="period-stories">(\d+)<', html).group(1)),
            "listed": int(re.search(r'id="story-count">(\d+)<', html).group(1)),
            "rows": re.findall(r'<tr class="story" data-story="([^"]+)"', html),
            "bars": bars, "outlets": outlets, "topics": topics}


@pytest.mark.parametrize("new", [False, True], ids=["period", "run"])
def test_report_figures_match_the_reference(con, ref, new, monkeypatch):
    """Every figure of the report: stories of the period and those listed, the timeline's bars
    (stories per UTC day of publication), stories and first-to-report per outlet (summing to the
    stories), stories per topic."""
    from datetime import UTC, datetime

    from warehouse import report

    since = datetime(2026, 11, 19, tzinfo=UTC)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    first_seen = sorted(s.first_seen_at for s in ref.axis_stories())
    new_since = first_seen[len(first_seen) // 2] if new else None  # a later run's stories, if the demo had one
    expected = ref.report(since, new_since)
    html = report.render(con, since, new_since=new_since, now=now)
    seen = _report_from_html(html)
    period = [s for s in ref.axis_stories() if s.published_at >= since]
    assert seen["period"] == len(period) == 15
    assert seen["listed"] == len(expected["stories"]) and sorted(set(seen["rows"])) == expected["stories"]
    assert seen["bars"] == {(str(day), pair): n for (day, pair), n in expected["timeline"].items()}
    assert sum(seen["bars"].values()) == len(period)
    assert seen["outlets"] == expected["outlets"]
    assert sum(first for _, first in seen["outlets"].values()) == len(period)
    assert seen["topics"] == {t: len(ids) for t, ids in expected["by_topic"].items()}
    assert ("Published</th>" in html) and ("First seen</th>" in html)
    # The published column shows publication time, the first-seen column storage time.
    story = ref.stories[seen["rows"][0]]
    row = html.split(f'data-story="{story.cluster_id}"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == f"{story.published_at.astimezone(UTC):%Y-%m-%d %H:%M}"
    assert cells[-1] == f"{story.first_seen_at.astimezone(UTC):%Y-%m-%d %H:%M}"

    monkeypatch.setattr(report, "TOP_OUTLETS", 3)  # outlets past the top ones are one row; the sums hold
    folded = _report_from_html(report.render(con, since, new_since=new_since, now=now))["outlets"]
    assert len(folded) == 4 and "other outlets" in folded
    assert sum(first for _, first in folded.values()) == len(period)


# -- search and --since -----------------------------------------------------------------------------

def _json_rows(result) -> list[dict]:
    import json

    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_search_returns_one_row_per_story_with_its_copies_and_languages(demo_warehouse, repo_root, ref):
    from conftest import run_axiswatch

    for words in ("artillery shells containers", "North Korean troops Kursk", "Ukraine", "Seoul weapons"):
        rows = _json_rows(run_axiswatch("search", words, "--limit", "50", "--db", str(demo_warehouse),
                                        "--format", "json", cwd=repo_root))
        assert rows, words
        ids = [r["cluster_id"] for r in rows]
        assert None not in ids and len(ids) == len(set(ids)), words
        for r in rows:
            story = ref.stories[r["cluster_id"]]
            assert r["copies"] == len(story.copies) and r["languages"] == story.languages
            assert r["title"] in {a["title"] for a in story.articles}
    # The wire story of three copies is one hit, not three.
    rows = _json_rows(run_axiswatch("search", "artillery shells containers", "--db", str(demo_warehouse), "--format",
                                    "json", cwd=repo_root))
    assert rows[0]["title"] == "Satellite images show steady flow of North Korean containers to Russia"
    assert rows[0]["copies"] == 3
    assert sum(r["title"] == rows[0]["title"] for r in rows) == 1


def test_search_with_an_empty_query_fails_in_one_line(demo_warehouse, repo_root):
    from conftest import run_axiswatch

    for words in ("", "   "):
        result = run_axiswatch("search", words, "--db", str(demo_warehouse), cwd=repo_root)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    nothing = run_axiswatch("search", "the", "--db", str(demo_warehouse), "--format", "json", cwd=repo_root)
    assert nothing.returncode == 0 and nothing.stdout == "" and "no story" in nothing.stderr


def test_readme_analyst_commands_return_rows_on_the_demo(demo_warehouse, repo_root, tmp_path):
    import shlex

    from conftest import run_axiswatch

    text = (repo_root / "README.md").read_text(encoding="utf-8")
    commands = [shlex.split(line.split("#", 1)[0])[1:] for line in text.splitlines()
                if re.match(r"\.venv/bin/axiswatch (search|stories|report) ", line)]
    assert sum(c[0] == "search" for c in commands) >= 2 and {c[0] for c in commands} == {"search", "stories", "report"}
    for args in commands:
        if args[0] == "report":
            out = tmp_path / "report.html"
            args = [a if a != "report.html" else str(out) for a in args]
            result = run_axiswatch(*args, "--db", str(demo_warehouse), cwd=repo_root)
            assert result.returncode == 0, result.stderr
            assert int(re.search(r'id="story-count">(\d+)<', out.read_text(encoding="utf-8")).group(1)) > 0
        else:
            assert _json_rows(run_axiswatch(*args, "--db", str(demo_warehouse), "--format", "json", cwd=repo_root)), args


def test_since_means_publication_time_in_every_command(demo_warehouse, repo_root, ref, tmp_path):
    """stories, search, report and retag given the same --since keep the same things: what was
    published since (first seen when a source gives none)."""
    import shutil
    from datetime import UTC, datetime

    from conftest import run_axiswatch

    since = "2026-11-21T12:00"
    start = datetime(2026, 11, 21, 12, tzinfo=UTC)
    db = str(demo_warehouse)
    published = {s.cluster_id for s in ref.axis_stories() if s.published_at >= start}
    assert 0 < len(published) < len(ref.axis_stories())  # the cut falls inside the corpus

    stories = _json_rows(run_axiswatch("stories", "--since", since, "--limit", "100", "--db", db, "--format", "json",
                                       cwd=repo_root))
    assert {r["cluster_id"] for r in stories} == published

    hits = _json_rows(run_axiswatch("search", "North Korea Russia", "--since", since, "--limit", "100", "--db", db,
                                    "--format", "json", cwd=repo_root))
    every = _json_rows(run_axiswatch("search", "North Korea Russia", "--limit", "100", "--db", db, "--format", "json",
                                     cwd=repo_root))
    copies_since = {a["id"] for a in ref.articles.values() if (a["published_at"] or a["first_seen_at"]) >= start}
    assert hits and all(datetime.fromisoformat(r["published_at"]) >= start for r in hits)
    assert {r["cluster_id"] for r in hits} == {r["cluster_id"] for r in every
                                               if any(a["id"] in copies_since for a in ref.stories[r["cluster_id"]].articles)}

    out = tmp_path / "r.html"
    assert run_axiswatch("report", "--since", since, "--out", str(out), "--db", db, cwd=repo_root).returncode == 0
    assert set(re.findall(r'data-story="([^"]+)"', out.read_text(encoding="utf-8"))) == published

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    retag = run_axiswatch("retag", "--since", since, "--db", str(copy), "--json", cwd=repo_root)
    assert retag.returncode == 0, retag.stderr
    import json

    assert json.loads(retag.stdout)["articles"] == len(copies_since)
