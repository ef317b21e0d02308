"""One event across languages: stories of one happening share an event id, stories of other
happenings with the same actors do not, ids stay put, and the views' figures are the tables'."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from transform.event_links import EventDoc, FeatureExtractor, event_id_for, link_events, numbers

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)

# One visit reported in three languages, the same two sides a week later, and the same day's
# reaction from a third actor.
VISIT = [
    ("ko", "쇼이구, 평양서 김정은 접견…\"공병 1천명 파견\"", "쇼이구 러시아 안보회의 서기는 평양에서 김정은 위원장을 만난 뒤 북한이 쿠르스크에 공병 1천명과 건설인력 5천명을 보낸다고 밝혔다.", 0),
    ("ru", "Шойгу: КНДР направит в Курскую область тысячу саперов", "Секретарь Совбеза Сергей Шойгу после встречи с Ким Чен Ыном в Пхеньяне заявил о 5 тысячах военных строителей.", 3),
    ("pl", "Szojgu w Phenianie. Korea Północna wyśle saperów do obwodu kurskiego", "Po rozmowie z Kim Dzong Unem Szojgu ogłosił, że przyjedzie 1000 saperów i 5 tys. budowniczych.", 6),
]
LATER = ("en", "Kim Jong Un meets Russian delegation in Pyongyang", "Kim received a Russian parliamentary delegation led by Vyacheslav Volodin.", 24 * 7)
REACTION = ("en", "Zelensky says North Korean builders in Kursk are a legitimate target", "Ukraine's president warned Moscow and Pyongyang on Tuesday.", 8)


@pytest.fixture(scope="module")
def extractor():
    from conftest import ROOT

    return FeatureExtractor.from_file(ROOT / "config/topics.yaml")


def docs(items):
    return [EventDoc(f"s-{n}", title, lede, T0 + timedelta(hours=h), lang) for n, (lang, title, lede, h) in enumerate(items)]


def test_numbers_are_read_the_same_in_every_language():
    assert {12000} <= numbers("12,000 troops") & numbers("12 тысяч военных") & numbers("1만2천명") & numbers("12 tys. żołnierzy")
    assert 5000 in numbers("5천명") and 1000 in numbers("1 000 саперов") and 1000 in numbers("тысячу, 1000")
    assert numbers("2 soldiers on day 3") == set()  # small counts say nothing


def test_one_visit_in_three_languages_is_one_event_and_other_happenings_stay_apart(extractor):
    events = link_events(docs(VISIT + [LATER, REACTION]), extractor)
    assert events[0] == events[1] == events[2] == event_id_for("s-0")
    assert events[3] == event_id_for("s-3")  # same two sides a week later
    assert events[4] == event_id_for("s-4")  # same day, same place, another actor and act


def test_a_caption_lede_is_not_read(extractor):
    caption = "Vladimir Putin and Kim Jong Un attend a ceremony in Pyongyang on June 19, 2024. (Kremlin Pool Photo via AP)"
    assert extractor.features("Japan protests new defence pact", caption).keys == extractor.features(
        "Japan protests new defence pact", "").keys


@pytest.fixture
def warehouse(tmp_path):
    from conftest import ROOT

    from transform.articles import Article
    from transform.tagging import Tagger
    from warehouse import load
    from warehouse.clusters import cluster_unclustered
    from warehouse.db import open_warehouse
    from warehouse.tags import tag_stored

    path = tmp_path / "w.duckdb"
    con = open_warehouse(path)
    items = VISIT + [LATER, ("en", "Central bank keeps rates on hold", "Inflation eased in November.", 1)]
    outlets = ["yna.example", "tass.example", "pap.example", "wire.example", "biz.example"]
    articles = [
        Article(id=f"a{n}", canonical_url=f"https://{outlets[n]}/{n}", url=f"https://{outlets[n]}/{n}", feed="f",
                outlet=outlets[n], title=title, summary=lede, text="", language=lang, author="",
                published_at=T0 + timedelta(hours=h), content_hash=f"h{n}", fetch_status="ok", fetch_error="",
                http_status=200, guid=f"g{n}", raw_entry="{}")
        for n, (lang, title, lede, h) in enumerate(items)
    ]
    # A wire copy of the Russian story on a second host: the same story, so the same event.
    copy = Article(**{**articles[1].__dict__, "id": "a9", "canonical_url": "https://ria.example/9",
                      "url": "https://ria.example/9", "outlet": "ria.example", "content_hash": "h9",
                      "published_at": T0 + timedelta(hours=4)})
    now = datetime(2026, 12, 1, tzinfo=UTC)
    load.load_pass(con, load.RunRecord(run_id="r1", started_at=now), [], articles + [copy], [], now)
    tag_stored(con, Tagger.from_file(ROOT / "config/topics.yaml"))
    summary = cluster_unclustered(con, run_id="r1")
    yield con, path, summary
    con.close()


def test_stories_in_three_languages_share_an_event_in_the_warehouse(warehouse):
    con, _, summary = warehouse
    events = dict(con.execute("SELECT cluster_id, event_id FROM story_events").fetchall())
    assert len(events) == con.execute("SELECT count(*) FROM story_clusters").fetchone()[0] == 5  # every story
    assert events["s-a0"] == events["s-a1"] == events["s-a2"] == "e-a0"
    assert events["s-a3"] == "e-a3" and events["s-a4"] == "e-a4"
    assert summary.events_joined == 2
    story_of_copy = con.execute("SELECT cluster_id FROM article_clusters WHERE article_id = 'a9'").fetchone()[0]
    assert story_of_copy == "s-a1"


def test_event_ids_are_never_revised(warehouse):
    con, _, _ = warehouse
    from transform.settings import ClusterSettings
    from warehouse.clusters import cluster_unclustered, link_story_events

    before = con.execute("SELECT * FROM story_events ORDER BY cluster_id").fetchall()
    cluster_unclustered(con, run_id="r2")
    stories = [r[0] for r in con.execute("SELECT id FROM story_clusters").fetchall()]
    assert link_story_events(con, stories, ClusterSettings(), "r3", datetime.now(UTC)) == 0
    assert con.execute("SELECT * FROM story_events ORDER BY cluster_id").fetchall() == before


def test_event_languages_and_outlets_in_the_views_are_the_base_tables(warehouse):
    """v_axis_events_xl and v_axis_stories' event columns, recomputed from articles,
    article_clusters, article_duplicates, story_axis and story_events by hand."""
    con, _, _ = warehouse
    expected = {}
    for event_id, language, outlet in con.execute(
        """SELECT e.event_id, a.language, a.outlet FROM story_events e
           JOIN article_clusters c ON c.cluster_id = e.cluster_id JOIN articles a ON a.id = c.article_id
           WHERE e.event_id IN (SELECT e2.event_id FROM story_events e2 JOIN story_axis x ON x.cluster_id = e2.cluster_id)"""
    ).fetchall():
        langs, outs = expected.setdefault(event_id, (set(), set()))
        langs.add(language)
        outs.add(outlet)
    rows = con.execute("SELECT event_id, languages, outlets, stories FROM v_axis_events_xl").fetchall()
    assert {r[0]: (set(r[1]), set(r[2])) for r in rows} == expected
    visit = next(r for r in rows if r[0] == "e-a0")
    assert set(visit[1]) == {"ko", "ru", "pl"} and visit[3] == 3
    assert set(visit[2]) == {"yna.example", "tass.example", "ria.example", "pap.example"}
    stories = con.execute("SELECT cluster_id, event_id, event_languages, event_outlets FROM v_axis_stories").fetchall()
    axis = {r[0] for r in con.execute("SELECT cluster_id FROM story_axis").fetchall()}
    assert {r[0] for r in stories} == axis and {"s-a0", "s-a1", "s-a2"} <= axis
    for cluster_id, event_id, languages, outlets in stories:
        assert (set(languages), set(outlets)) == expected[event_id], cluster_id


def test_the_report_shows_each_story_s_event_languages_and_outlets(warehouse):
    import re
    from html import unescape

    from warehouse.report import render

    con, _, _ = warehouse
    html = render(con, T0 - timedelta(days=1), now=T0 + timedelta(days=10))
    cells = dict(re.findall(r'data-story="([^"]+)".*?<td class="event" data-event="[^"]*" title="[^"]*">([^<]*)</td>', html))
    expected = {r[0]: f"{', '.join(r[1])} · {len(r[2])} outlets" for r in con.execute(
        "SELECT cluster_id, event_languages, event_outlets FROM v_axis_stories").fetchall()}
    assert {k: unescape(v) for k, v in cells.items()} == expected
    assert expected["s-a1"] == "ko, pl, ru · 4 outlets"


def test_dedup_prints_event_id_beside_cluster_id(repo_root):
    items = [
        {"id": n, "url": f"https://o{n}.example/x", "title": title, "summary": lede, "language": lang,
         "published": (T0 + timedelta(hours=h)).isoformat()}
        for n, (lang, title, lede, h) in enumerate(VISIT + [LATER])
    ] + [{"id": "copy", "url": "https://copy.example/x", "title": VISIT[1][1], "summary": VISIT[1][2],
          "published": (T0 + timedelta(hours=4)).isoformat()}]
    result = subprocess.run(
        [sys.executable, "-m", "axiswatch", "dedup", "-"], cwd=repo_root, capture_output=True, text=True,
        input="\n".join(json.dumps(i, ensure_ascii=False) for i in items), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(o) == {"id", "cluster_id", "event_id"} for o in out)
    assert out[0]["event_id"] == out[1]["event_id"] == out[2]["event_id"] == out[4]["event_id"] == "e-0"
    assert out[4]["cluster_id"] == out[1]["cluster_id"] != out[0]["cluster_id"]
    assert out[3]["event_id"] == "e-3"


def test_a_story_stored_before_events_existed_is_its_own_event(warehouse):
    con, _, _ = warehouse
    con.execute("DELETE FROM story_events WHERE cluster_id = 's-a3'")  # as if clustered before migration 015
    row = con.execute("SELECT event_id, event_languages FROM v_axis_stories WHERE cluster_id = 's-a3'").fetchone()
    assert row == ("e-a3", ["en"])
    assert con.execute("SELECT stories, cluster_ids FROM v_axis_events_xl WHERE event_id = 'e-a3'").fetchone() == (1, ["s-a3"])


def test_a_story_that_becomes_an_axis_story_later_is_linked_by_the_next_cluster_step(warehouse, tmp_path):
    """Clustered before it was tagged (so not an axis story: its own event, no features), the
    Ukrainian report of the visit joins the visit's event at the next step once tags make it an
    axis story; the topics file the step is given is the one it reads."""
    from conftest import ROOT

    from transform.articles import Article
    from transform.tagging import Tagger
    from warehouse import load
    from warehouse.clusters import cluster_unclustered
    from warehouse.late_events import late_axis_stories
    from warehouse.tags import tag_stored

    con, _, _ = warehouse
    title = "Шойгу в Пхеньяні: КНДР відправить до Курської області тисячу саперів"
    lede = "Після зустрічі з Кім Чен Ином Шойгу заявив про 5 тисяч військових будівельників."
    article = Article(id="a20", canonical_url="https://ukr.example/20", url="https://ukr.example/20", feed="f",
                      outlet="ukr.example", title=title, summary=lede, text="", language="uk", author="",
                      published_at=T0 + timedelta(hours=5), content_hash="h20", fetch_status="ok", fetch_error="",
                      http_status=200, guid="g20", raw_entry="{}")
    now = datetime(2026, 12, 1, 1, tzinfo=UTC)
    load.load_pass(con, load.RunRecord(run_id="r5", started_at=now), [], [article], [], now)
    cluster_unclustered(con, run_id="r5")
    assert con.execute("SELECT event_id, features FROM story_events WHERE cluster_id = 's-a20'").fetchone() == ("e-a20", [])
    assert late_axis_stories(con) == []  # not an axis story yet

    tag_stored(con, Tagger.from_file(ROOT / "config/topics.yaml"))
    assert [d.id for d in late_axis_stories(con)] == ["s-a20"]
    topics = tmp_path / "topics.yaml"
    topics.write_text((ROOT / "config/topics.yaml").read_text(encoding="utf-8").replace(
        "actors:\n", "actors:\n  sappers_probe: {uk: [\"сапер*\"]}\n", 1), encoding="utf-8")
    summary = cluster_unclustered(con, run_id="r6", topics_file=topics)
    event, features, run = con.execute(
        "SELECT event_id, features, run_id FROM story_events WHERE cluster_id = 's-a20'").fetchone()
    assert (event, run) == ("e-a0", "r6") and "a:sappers_probe" in features and "a:shoigu" in features
    assert summary.events_joined == 1
    assert late_axis_stories(con) == []  # linked once: the next step leaves it alone
    before = con.execute("SELECT * FROM story_events ORDER BY cluster_id").fetchall()
    cluster_unclustered(con, run_id="r7")
    assert con.execute("SELECT * FROM story_events ORDER BY cluster_id").fetchall() == before


def test_dedup_reads_the_topics_file_it_is_given(tmp_path, repo_root):
    """`axiswatch dedup --topics FILE` reads that file's actors: a file whose actors section is
    malformed is refused (one line, exit 2), where the settings' topics file links the visit."""
    from conftest import ROOT

    lines = "".join(json.dumps({"id": str(n), "title": title, "summary": lede, "language": lang,
                                "published": (T0 + timedelta(hours=h)).isoformat()}, ensure_ascii=False) + "\n"
                    for n, (lang, title, lede, h) in enumerate(VISIT))
    bad = tmp_path / "topics.yaml"
    text = (ROOT / "config/topics.yaml").read_text(encoding="utf-8")
    bad.write_text(text[: text.index("\nactors:")] + "\nactors: [putin]\n", encoding="utf-8")

    def dedup(*extra):
        return subprocess.run([sys.executable, "-m", "axiswatch", "dedup", *extra], input=lines,
                              capture_output=True, text=True, cwd=repo_root, timeout=120)

    result = dedup()
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["event_id"] for line in result.stdout.splitlines()] == ["e-0", "e-0", "e-0"]
    result = dedup("--topics", str(bad))
    assert result.returncode == 2 and "actors" in result.stderr and str(bad) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_story_event_columns_are_the_event_view_s(warehouse):
    """v_axis_stories reads an event's languages and outlets from its own story's copies unless
    the event has several stories (migration 017); either way they are v_axis_events_xl's."""
    con, _, _ = warehouse
    rows = con.execute(
        "SELECT s.cluster_id, s.event_languages, s.event_outlets, e.languages, e.outlets, e.stories"
        " FROM v_axis_stories s JOIN v_axis_events_xl e USING (event_id) ORDER BY s.cluster_id"
    ).fetchall()
    assert len(rows) == con.execute("SELECT count(*) FROM story_axis").fetchone()[0] >= 4
    assert {r[5] for r in rows} >= {1, 3}  # single-story events and the three-language visit
    assert all(r[1] == r[3] and r[2] == r[4] for r in rows)


def test_link_score_is_the_weighted_jaccard_of_anchored_stories():
    """``link_score`` (the union's weight from each side's total) against the plain definition:
    weights of the shared keys over weights of all keys, None without a shared actor or number."""
    import random

    from transform.event_links import EventFeatures, key_weight

    pool = ["a:putin", "a:kim", "a:shoigu", "t:diplomacy", "t:arms_transfer", "c:russia", "c:north_korea",
            "n:2024", "n:12000", "n:1500", "n:2023"]
    rng = random.Random(7)
    anchored_pairs = 0
    for _ in range(500):
        a = EventFeatures(frozenset(rng.sample(pool, rng.randint(0, 6))))
        b = EventFeatures(frozenset(rng.sample(pool, rng.randint(0, 6))))
        shared = a.keys & b.keys
        anchor = any(k[0] in "an" and key_weight(k) > 0.5 for k in shared)
        plain = (sum(key_weight(k) for k in shared) / sum(key_weight(k) for k in a.keys | b.keys)
                 if a.keys and b.keys else 0.0)
        assert a.similarity(b) == plain
        assert a.link_score(b) == (plain if anchor else None)
        anchored_pairs += anchor
    assert anchored_pairs > 50
