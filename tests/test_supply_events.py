"""The supply-event extractor: directed triples with verbatim evidence in five languages, the
negatives it must refuse (denials, negations, hedges, reversed direction), its measured quality on
the labelled sets, the `axiswatch events` command, and the events the pipeline stores."""

import json
import shutil

import duckdb
import pytest
from conftest import run_axiswatch

from evaluation.supply_events import SETS, load_items, score
from transform.supply_events import PatternsError, SupplyEventExtractor, _Language, split_sentences
from warehouse.supply_events import extract_stored


@pytest.fixture(scope="module")
def extractor():
    return SupplyEventExtractor.from_file()


def triples(extractor, text, language, title=""):
    return sorted((e.supplier, e.item, e.recipient) for e in extractor.extract(title, "", text, language))


@pytest.mark.parametrize("language, text, expected", [
    ("en", "North Korea has shipped thousands of artillery shells to Russia, the NIS said.",
     [("north_korea", "munitions", "russia")]),
    ("en", "Russia received ballistic missiles from North Korea.", [("north_korea", "missiles", "russia")]),
    ("en", "North Korea sent more artillery shells to Russia, NIS says", [("north_korea", "munitions", "russia")]),
    ("en", "Moscow gave Pyongyang air defence systems in exchange for troops.",
     [("north_korea", "troops", "russia"), ("russia", "weapons", "north_korea")]),
    ("ko", "북한이 러시아에 포탄을 보냈다고 국정원이 밝혔다.", [("north_korea", "munitions", "russia")]),
    ("ko", "러시아는 북한으로부터 미사일을 받았다.", [("north_korea", "missiles", "russia")]),
    ("ru", "КНДР передала России артиллерийские снаряды.", [("north_korea", "munitions", "russia")]),
    ("uk", "Північна Корея відправила до росії військових.", [("north_korea", "troops", "russia")]),
    ("pl", "Rosja otrzymała od Korei Północnej amunicję.", [("north_korea", "munitions", "russia")]),
])
def test_directed_events(extractor, language, text, expected):
    assert triples(extractor, text, language) == expected


@pytest.mark.parametrize("language, text", [
    ("en", "Pyongyang denied sending any shells to Russia."),
    ("en", "North Korea did not send troops to Russia, KCNA said."),
    ("en", "South Korea could send weapons to Ukraine if the war escalates."),
    ("en", "Seoul is considering whether to supply arms to Kyiv."),
    ("ko", "정부는 우크라이나에 무기를 지원할지 여부를 검토하고 있다."),
    ("ko", "북한은 러시아에 무기를 제공한 적이 없다고 주장했다."),
    ("ru", "Россия не получала оружия от КНДР."),
    ("uk", "КНДР може направити до росії нових військових."),
    ("pl", "Korea Północna zaprzecza, że wysłała broń do Rosji."),
    ("en", "North Korea and Russia signed a treaty on mutual defence."),
])
def test_negatives_give_nothing(extractor, language, text):
    assert triples(extractor, text, language) == []


def test_evidence_is_a_verbatim_sentence_and_the_claimant_is_named(extractor):
    text = ("Officials met in Seoul on Monday. According to South Korea's National Intelligence Service, North Korea"
            " sent 3,000 more soldiers to Russia last month. The Kremlin declined to comment.")
    [event] = extractor.extract("", "", text, "en")
    assert event.evidence in split_sentences(text) and event.evidence in text
    assert event.evidence.startswith("According to") and event.claimed_by == "south_korea_intelligence"
    assert (event.supplier, event.item, event.recipient) == ("north_korea", "troops", "russia")


def test_each_triple_once_with_its_first_sentence(extractor):
    events = extractor.extract("North Korea sent shells to Russia", "", "North Korea has sent shells to Russia again.", "en")
    assert [(e.supplier, e.item, e.recipient, e.evidence) for e in events] == [
        ("north_korea", "munitions", "russia", "North Korea sent shells to Russia")]


def test_quality_on_the_labelled_sets(extractor):
    """The figures the README reports (make eval-events): development and held-out sets."""
    for path in SETS:
        items = load_items(path)
        overall = score(extractor, items)["all"]
        assert overall.bad_evidence == 0
        assert overall.precision >= 0.85 and overall.recall >= 0.60, (path.name, overall)
        assert {i["language"] for i in items} == {"en", "ko", "ru", "uk", "pl"}
        assert sum(not i["events"] for i in items) >= 8  # negatives: denials, hypotheticals, no supply
    assert sum(len(load_items(p)) for p in SETS) >= 80


def test_reading_only_the_terms_a_text_holds_changes_no_event(extractor, monkeypatch):
    """Each text part is read with only the terms whose first word it contains (one automaton
    pass): the same events, evidence and claimants as reading it with every term, also when the
    language is unknown and every language's rules apply."""
    items = [item for path in SETS for item in load_items(path)]
    parts = [(i.get("title", ""), i.get("summary", ""), i.get("text", ""), language)
             for i in items for language in (i["language"], "")]

    def read(item):
        return [e.as_json() for e in extractor.extract(*item)]

    narrowed = [read(item) for item in parts]
    monkeypatch.setattr(_Language, "within", lambda self, lower: self)
    assert [read(item) for item in parts] == narrowed
    assert sum(map(len, narrowed)) >= 100


def test_a_broken_patterns_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("items: {rockets: {en: [x]}}\nentities: {}\n")
    with pytest.raises(PatternsError, match="rockets"):
        SupplyEventExtractor.from_file(bad)
    result = run_axiswatch("events", "--patterns", str(bad), "-", stdin="")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_events_command(tmp_path):
    lines = [{"id": "a", "title": "КНДР передала России снаряды", "language": "ru"},
             {"id": 7, "text": "Markets rose in Seoul.", "language": "en"}]
    result = run_axiswatch("events", "-", stdin="\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0] == {"id": "a", "events": [{"supplier": "north_korea", "item": "munitions", "recipient": "russia",
                                            "evidence": "КНДР передала России снаряды", "claimed_by": None}]}
    assert out[1] == {"id": 7, "events": []}


@pytest.mark.parametrize("stdin, message", [
    ("not json\n", "not valid JSON"),
    ('{"title": "x"}\n', "missing 'id'"),
    ('{"id": 1, "language": "en"}\n', "nothing to read"),
    ('{"id": 1, "text": 5}\n', "'text' must be a string"),
    ("[1, 2]\n", "expected a JSON object"),
])
def test_events_command_bad_input(stdin, message):
    result = run_axiswatch("events", "-", stdin=stdin)
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_stored_events_are_read_once_per_extractor_version(demo_warehouse, tmp_path, extractor):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse, db)
    con = duckdb.connect(str(db))
    try:
        before = con.execute("SELECT count(*) FROM article_supply_events").fetchone()[0]
        assert before > 0
        assert extract_stored(con, extractor).articles == 0  # the night already read every axis copy
        # every copy of an axis story was read, and nothing else
        unread = con.execute("SELECT count(*) FROM article_clusters c WHERE c.cluster_id IN (SELECT cluster_id FROM story_axis)"
                             " AND c.article_id NOT IN (SELECT article_id FROM supply_event_scans)").fetchone()[0]
        outside = con.execute("SELECT count(*) FROM supply_event_scans s JOIN article_clusters c USING (article_id)"
                              " WHERE c.cluster_id NOT IN (SELECT cluster_id FROM story_axis)").fetchone()[0]
        assert (unread, outside) == (0, 0)
        # edited patterns are a new version: every copy is read again, the view shows the new rows only
        data = json.loads(json.dumps(__import__("yaml").safe_load(open(SupplyEventExtractor.from_file().source))))
        data["version"] = "test"
        changed = SupplyEventExtractor(data, "f" * 64)
        again = extract_stored(con, changed)
        assert again.articles == con.execute("SELECT count(DISTINCT article_id) FROM supply_event_scans").fetchone()[0]
        versions = con.execute("SELECT DISTINCT s.extractor_version FROM v_axis_events e JOIN supply_event_scans s"
                               " ON s.article_id = e.article_id").fetchall()
        assert changed.version in {v for (v,) in versions}
        assert con.execute("SELECT count(*) FROM article_supply_events").fetchone()[0] == 2 * before
    finally:
        con.close()
