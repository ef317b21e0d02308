"""The categories of axis stories the tagger missed on real text, and of the look-alikes it took
for axis stories, each in the five languages: headlines and ledes written for these tests in the
style of the wires, portals and state media that report them."""

import pytest

from transform.tagging import Tagger
from transform.terms import Term, TermMatcher, tokenize


@pytest.fixture(scope="module")
def tagger():
    from conftest import ROOT

    return Tagger.from_file(ROOT / "config/topics.yaml")


NOT_AXIS = {
    # "A Ukrainian official", "a Russian outlet": 한 is "a", not Korea.
    "korean_one_syllable": [
        ("ko", "우크라이나, 러시아 정유시설 드론 공격", "한 우크라이나 관리는 이번 공격이 러시아 군수 보급을 겨냥했다고 말했다."),
        ("ko", "러시아, 우크라이나 에너지 시설 공습", "한 러시아 매체는 미사일 수십 발이 발사됐다고 전했다."),
    ],
}


@pytest.mark.parametrize("lang,title,summary", [c for cases in NOT_AXIS.values() for c in cases],
                         ids=[f"{k}-{c[0]}-{i}" for k, cases in NOT_AXIS.items() for i, c in enumerate(cases)])
def test_look_alike_categories(tagger, lang, title, summary):
    tag = tagger.tag("x", title, "", summary, lang)
    assert not tag.is_axis, (tag.score, tag.matches)

def _concepts(matcher: TermMatcher, text: str) -> set[str]:
    return {hit.term.concept for hit in matcher.find(tokenize(text))}


def test_one_syllable_korean_abbreviations_are_whole_words():
    matcher = TermMatcher([Term.parse(t, c) for t, c in
                           (("한·우", "korea_ukraine"), ("북", "north_korea"), ("러*", "russia"), ("러·우", "war"))])
    assert _concepts(matcher, "한·우 정상회담") == {"korea_ukraine"}
    assert _concepts(matcher, "한·우의 협력") == {"korea_ukraine"}
    assert _concepts(matcher, "한국, 우크라이나 외교장관") == set()
    assert _concepts(matcher, "한 우크라이나 관리는") == set()
    assert _concepts(matcher, "북은 러에 포탄을") == {"north_korea", "russia"}
    assert _concepts(matcher, "북미 정상회담, 북극 항로, 북부 지방") == set()
    assert _concepts(matcher, "러·우 전쟁") == {"russia", "war"}
    assert _concepts(matcher, "러시아군") == {"russia"}  # written as a stem
