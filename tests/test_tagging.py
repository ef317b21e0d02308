"""The axis tagger on the hard cases keyword co-occurrence gets wrong."""

import shutil

import fixtures as fx
import pytest

from ingest.articles import extract_html
from transform.tagging import Tagger, TopicsError, load_topics


@pytest.fixture(scope="module")
def tagger(repo_root_module):
    return Tagger.from_file(repo_root_module / "config/topics.yaml")


@pytest.fixture(scope="module")
def repo_root_module():
    from conftest import ROOT

    return ROOT


POSITIVES = [
    ("en", "North Korea sends thousands more troops to Russia", "Seoul's spy agency said the soldiers were deployed to the Kursk region."),
    ("en", "Seoul weighs arming Ukraine as Pyongyang deepens role in Russia's war", ""),
    ("ko", "북한군, 러시아 쿠르스크 전선 추가 투입", "국정원은 북한이 병력을 추가로 파병했다고 밝혔다."),
    ("ko", "정부, 우크라이나 무기 지원 검토", "북러 군사협력이 심화하자 대통령실이 방어용 무기 지원을 검토하고 있다."),
    ("ru", "Северная Корея передала России артиллерийские снаряды", "По оценке разведки Южной Кореи, речь идёт о миллионах снарядов."),
    ("ru", "Сеул может передать Украине системы ПВО", "В ответ на отправку войск КНДР в Россию Южная Корея пересматривает свою политику."),
    ("uk", "ЗСУ взяли в полон військових КНДР у Курській області", ""),
    ("uk", "ГУР: Пхеньян передав росії нову партію ракет", "Північнокорейські ракети застосовуються для ударів по Києву."),
]


@pytest.mark.parametrize("lang,title,summary", POSITIVES)
def test_axis_stories_in_four_languages(tagger, lang, title, summary):
    tag = tagger.tag("x", title, "", summary)
    assert tag.is_axis and tag.score >= 0.55 and tag.language == lang
    assert tag.topics and {"russia", "ukraine"} & set(tag.countries)
    assert {"north_korea", "south_korea"} & set(tag.countries)


NEGATIVES = {
    "korea_without_war": ("North Korea fires ballistic missile into the East Sea", "Japan said the missile landed outside its economic zone."),
    "war_without_korea": ("Russian drones hit Kharkiv power plant", "Ukraine's air force said it downed most of the 90 drones."),
    "korean_collision": ("K-pop fans pack Moscow club as Korean culture stays popular in Russia", "Korean dramas and Korean food draw young Russians despite the war in Ukraine."),
    "korean_air": ("Korean Air keeps avoiding Russian airspace", "The airline said routes to Europe will stay longer."),
    "list_of_adversaries": ("G7 vows tough line on China, North Korea and Russia", "Leaders issued a statement at the end of the summit."),
    "russian_language": ("North Korean hackers used Russian-language documents", "The malware targeted diplomats."),
    "dateline_only": ("Russia invited to play in Central Asian football cup", "SEOUL, South Korea (AP) — Russia has been invited to a new tournament with seven other teams."),
    "korean_style": ("젤렌스키 \"한국식 휴전은 우크라이나에 맞지 않아\"", "우크라이나 대통령은 한국식 모델에 대해 언급했다."),
}


@pytest.mark.parametrize("case", sorted(NEGATIVES))
def test_hard_negatives(tagger, case):
    title, summary = NEGATIVES[case]
    assert not tagger.tag(case, title, "", summary).is_axis


def test_mentions_far_apart_in_a_long_body_are_not_a_link(tagger):
    body = "\n".join(
        ["North Korea's economy shrank last year as exports fell, the central bank in Seoul estimated."]
        + ["Officials discussed farm output, rainfall and the price of rice in the provinces."] * 6
        + ["Separately, grain prices in Ukraine rose after a poor harvest."]
    )
    assert not tagger.tag("x", "Economy in decline", body).is_axis


def test_passing_mention_in_a_war_story_is_not_enough(tagger):
    body = (
        "European defence ministers agreed to expand shell production for Ukraine. "
        "The EU set a goal of two million rounds a year.\n"
        "Financing remained the main obstacle, officials said.\n"
        "Some noted that Russia has found support elsewhere, from Iran and North Korea to suppliers in Central Asia.\n"
        "The next meeting is in February."
    )
    assert not tagger.tag("x", "Europe rethinks how to arm Ukraine", body).is_axis


def test_mentions_only_in_page_boilerplate_are_dropped_by_extraction(tagger):
    page = fx.page("Asian markets rise", fx.MARKETS)  # nav, related links and comments name the axis
    assert "North Korea sends troops to Russia" in page
    extracted = extract_html(page, source="x")
    assert not tagger.tag("x", extracted.title, extracted.text).is_axis


def test_body_story_with_repeated_links_is_axis(tagger):
    body = (
        "Officials in Kyiv said on Monday that fighting continued near the border.\n"
        "North Korean soldiers have joined Russian assault units near Sudzha, Ukraine's military intelligence said.\n"
        "The agency said North Korea also supplied artillery shells that Russia fires at Ukrainian positions.\n"
        "Seoul said it was monitoring the situation."
    )
    tag = tagger.tag("x", "Fighting continues near the border", body)
    assert tag.is_axis and "troop_deployment" in tag.topics


def test_matches_say_where_they_matched(tagger):
    tag = tagger.tag("x", "North Korea sends troops to Russia", "", "Soldiers arrived in Kursk.")
    zones = {(m["concept"], m["zone"]) for m in tag.matches}
    assert ("north_korea", "title") in zones and ("russia", "lede") in zones
    assert all(set(m) == {"term", "concept", "zone", "count"} for m in tag.matches)


def test_language_comes_from_the_text_not_the_hint(tagger):
    assert tagger.tag("x", "Северная Корея передала России снаряды", language="en").language == "ru"


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda t: t.replace("watch: korea_russia_ukraine", ""), "watch"),
        (lambda t: t.replace("    en: [\"north korea*\"", "    xx: [\"north korea*\""), "unknown language 'xx'"),
        (lambda t: t.replace("war: [russia, ukraine]", "war: [russia, narnia]"), "unknown entity 'narnia'"),
        (lambda t: t + "\n  oops: [", "not valid YAML"),
        (lambda t: t.replace("aligned: [north_korea]", "aligned: [narnia]"), "civil.aligned"),
    ],
)
def test_bad_topics_file_gets_a_clear_error(tmp_path, repo_root, edit, needle):
    path = tmp_path / "topics.yaml"
    path.write_text(edit((repo_root / "config/topics.yaml").read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(TopicsError) as info:
        load_topics(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_version_changes_with_the_topics_file(tmp_path, repo_root):
    path = tmp_path / "topics.yaml"
    shutil.copy(repo_root / "config/topics.yaml", path)
    before = load_topics(path).tagger_version
    path.write_text(path.read_text(encoding="utf-8").replace('"seoul"', '"seoul", "busan"'), encoding="utf-8")
    assert load_topics(path).tagger_version != before


# Headlines that name both sides by their leaders or capitals say that something happens
# between them; the words for what happens vary too much to list them all.
LINKED_BY_LEADERS = [
    ("en", "Putin, Kim Jong Un trade New Year greetings", ""),
    ("ru", "Шойгу прибыл в Пхеньян", "Российскую делегацию встретили в аэропорту."),
    ("ko", "푸틴, 김정은에게 축전", ""),
    ("pl", "Kreml chwali Phenian", ""),
    ("ko", "北·露 밀착…韓 정부 대응 고심", ""),  # Hanja abbreviations inside words
]


@pytest.mark.parametrize("lang,title,summary", LINKED_BY_LEADERS)
def test_a_headline_naming_both_sides_by_leaders_or_capitals_is_a_link(tagger, lang, title, summary):
    assert tagger.tag("x", title, "", summary).is_axis


NOT_A_LINK = {
    "capital_as_a_place": ("South Korean tourists stranded in Moscow", "Flights were cancelled for two days."),
    "hackers": ("North Korean hackers breach Russian missile maker", "Researchers found the intrusion months later."),
    "list_in_korean": ("美 \"중국·러시아·북한·이란 동시 위협\"", "국방부 보고서가 공개됐다."),
    "korean_tanks_for_poland": ("Польща отримала південнокорейські танки через загрозу з боку росії", ""),
    "festival": ("Фестиваль корейского кино открылся в Москве", "Покажут фильмы из Сеула."),
}


@pytest.mark.parametrize("case", sorted(NOT_A_LINK))
def test_lists_places_and_other_subjects_are_not_a_link(tagger, case):
    title, summary = NOT_A_LINK[case]
    assert not tagger.tag(case, title, "", summary).is_axis
