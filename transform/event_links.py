"""One event across languages: stories that report the same happening share an event id.

A story in Korean and one in Polish about Shoigu's visit to Pyongyang share no words, so the
near-duplicate signatures of ``transform.clusters`` never meet. What they do share survives
translation: who acts (leaders, ministers, agencies, places, named in every language in the
``actors`` section of the topics file), what kind of thing happens (the tagger's topics), which
countries, the numbers in the text (12,000 troops: "12 тысяч", "1만2천명", "12 tys."), and when it
was published. A story joins the event of the most similar story published within
``event_hours`` when they share an actor or a number and their weighted overlap reaches
``event_threshold``; otherwise it founds an event whose id derives from its own story id.
Assignments are never revised, like cluster ids, so reruns never renumber. Two launches a week
apart or the 2023 and 2024 summits of the same two leaders stay apart through the time limit;
two events with the same actors on the same day need different actors or numbers to part.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import datetime, timedelta
from pathlib import Path

from ingest.yamlfile import YamlFileError, read_yaml
from transform.clusters import is_caption
from transform.settings import ClusterSettings
from transform.tagging import TopicsError, TopicSet, _terms, _zones, load_topics
from transform.terms import Term, TermMatcher, tokenize

# How much a shared feature says: a shared actor or number far more than a shared country.
WEIGHTS = {"a": 3.0, "n": 2.0, "t": 1.0, "c": 0.5}
YEAR_WEIGHT = 0.5  # a year is shared by everything that happens in it
DEFAULT_TOPICS = Path(__file__).resolve().parent.parent / "config/topics.yaml"

# A number, with thousands separators, and the word for a multiple that may follow it.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})+|\d+(?:[.,]\d+)?)(?:\s*(\w+))?")
_KOREAN = re.compile(r"(\d+)\s*억(?:\s*(\d+)\s*만)?|(\d+)\s*만(?:\s*(\d+)\s*천)?|(\d+)\s*천")
_MULTIPLES = (
    (("thousand", "тыс", "тысяч", "тис", "тисяч", "tys", "tysi", "k"), 1_000),
    (("million", "mln", "млн", "миллион", "мільйон", "milion"), 1_000_000),
    (("billion", "bln", "mld", "млрд", "miliard", "мільярд", "миллиард"), 1_000_000_000),
)


def numbers(text: str) -> set[int]:
    """Whole numbers of 10 or more in the text, multiples spelled out in en/ru/uk/pl/ko
    resolved ("12 тысяч", "1만2천", "12,000" are all 12000)."""
    found: set[int] = set()
    for match in _KOREAN.finditer(text):
        hundred_millions, ten_thousands, tt, thousands, only_thousands = match.groups()
        if hundred_millions:
            value = int(hundred_millions) * 100_000_000 + int(ten_thousands or 0) * 10_000
        elif tt:
            value = int(tt) * 10_000 + int(thousands or 0) * 1_000
        else:
            value = int(only_thousands) * 1_000
        found.add(value)
    for match in _NUMBER.finditer(_KOREAN.sub(" ", text)):
        digits, word = match.groups()
        raw = re.sub(r"[ ,.\u00a0\u202f]", "", digits) if re.search(r"[ ,.\u00a0\u202f]\d{3}$", digits) else digits
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            continue
        word = (word or "").casefold()
        for prefixes, factor in _MULTIPLES:
            if word and any(word.startswith(p) for p in prefixes) and (word != "k" or len(word) == 1):
                value *= factor
                break
        if value >= 10 and value == int(value):
            found.add(int(value))
    return found


@lru_cache(maxsize=65536)
def key_weight(key: str) -> float:
    """How much sharing one feature says (a story is compared with dozens of others, each
    comparison weighing every key: remembered, not worked out again)."""
    if key.startswith("n:") and 1900 <= int(key[2:]) <= 2100:
        return YEAR_WEIGHT
    return WEIGHTS[key[0]]


@dataclass(frozen=True)
class EventFeatures:
    """What an event link compares: ``a:<actor>``, ``t:<topic>``, ``c:<country>``, ``n:<number>``."""

    keys: frozenset[str]

    @cached_property
    def total(self) -> float:
        """The weight of all it names (the weights are halves: their sums are exact)."""
        return sum(key_weight(k) for k in self.keys)

    def similarity(self, other: EventFeatures) -> float:
        """Weighted Jaccard: what they share over all they name. Relative to the smaller side
        instead, the day after a capture Zelensky's offer to swap the prisoners (the same actors
        plus Kim and an exchange) joined the capture."""
        return self._similarity(other, self.keys & other.keys)

    def link_score(self, other: EventFeatures) -> float | None:
        """``similarity`` when they share an actor or a number (a topic or country alone links
        nothing), else None: one intersection for both questions."""
        shared = self.keys & other.keys
        return self._similarity(other, shared) if _anchored(shared) else None

    def _similarity(self, other: EventFeatures, shared: frozenset[str]) -> float:
        if not self.keys or not other.keys:
            return 0.0
        common = sum(key_weight(k) for k in shared)
        return common / (self.total + other.total - common)  # the union's weight


def _anchored(shared: frozenset[str]) -> bool:
    return any(k[0] in "an" and key_weight(k) > YEAR_WEIGHT for k in shared)


@dataclass
class EventDoc:
    """What event linking needs of a story: its id, time, language, outlet and text."""

    id: str
    title: str = ""
    lede: str = ""
    time: datetime | None = None
    language: str = ""
    outlet: str = ""


class FeatureExtractor:
    """Finds the language-independent features of a story with the topics file's terms."""

    def __init__(self, topics: TopicSet, actors: list[Term]) -> None:
        self.topics = topics
        self._actors = TermMatcher(actors)
        self._topic_names = {c.name for c in topics.topics}
        self._country = {c.name: c.counts_as or c.name for c in topics.entities}
        self._generic = {c.name for c in topics.entities if c.counts_as}

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> FeatureExtractor:
        path = Path(path or DEFAULT_TOPICS)
        topics = load_topics(path)
        try:
            data = read_yaml(path, "topics file")
        except YamlFileError as exc:
            raise TopicsError(str(exc)) from None
        actors: list[Term] = []
        spec = data.get("actors") or {}
        if not isinstance(spec, dict):
            raise TopicsError(f"{path}: actors: must be a mapping of actor name to terms")
        for name, terms in spec.items():
            if not isinstance(terms, dict):
                raise TopicsError(f"{path}: actors.{name}: must be a mapping of language to terms")
            actors += [Term.parse(t, str(name)) for t in _terms(terms, f"actors.{name}")]
        return cls(topics, actors)

    def features(self, title: str, lede: str) -> EventFeatures:
        """Features of a headline and lede; a lede that is a photo caption describes a picture
        (often of another day's event), so only the headline speaks then."""
        if is_caption(lede):
            lede = ""
        keys: set[str] = set()
        for zone in _zones(title, lede, "").values():
            for sentence in zone:
                tokens = tokenize(sentence)
                for hit in self.topics.matcher.find(tokens):
                    concept = hit.term.concept
                    if concept in self._topic_names:
                        keys.add("t:" + concept)
                    elif concept in self._country and concept not in self._generic:
                        keys.add("c:" + self._country[concept])
                for hit in self._actors.find(tokens):
                    keys.add("a:" + hit.term.concept)
        keys.update(f"n:{n}" for n in numbers(f"{title}\n{lede}"))
        return EventFeatures(frozenset(keys))


@dataclass
class _Member:
    event_id: str
    time: datetime | None
    features: EventFeatures


def event_id_for(story_id: str) -> str:
    """The id of an event founded by a story: ``s-<article>`` founds ``e-<article>``."""
    return "e-" + (story_id[2:] if story_id.startswith("s-") else story_id)


@dataclass
class EventIndex:
    """Stories linked within the last ``event_hours``, found by their actors and numbers."""

    settings: ClusterSettings = field(default_factory=ClusterSettings)

    def __post_init__(self) -> None:
        self._members: dict[str, _Member] = {}
        self._by_key: dict[str, list[str]] = {}
        self._order: deque[tuple[datetime, str]] = deque()

    def __len__(self) -> int:
        return len(self._members)

    def add(self, story_id: str, event_id: str, time: datetime | None, features: EventFeatures) -> None:
        if story_id in self._members:
            return
        self._members[story_id] = _Member(event_id, time, features)
        for key in features.keys:
            if key[0] in "an":
                self._by_key.setdefault(key, []).append(story_id)
        if time is not None:
            self._order.append((time, story_id))

    def evict_before(self, cutoff: datetime) -> None:
        while self._order and self._order[0][0] < cutoff:
            _, story_id = self._order.popleft()
            member = self._members.pop(story_id, None)
            if member is None:
                continue
            for key in member.features.keys:
                same = self._by_key.get(key)
                if same and story_id in same:
                    same.remove(story_id)
                    if not same:
                        del self._by_key[key]

    def find(self, features: EventFeatures, time: datetime | None) -> str | None:
        """The event of the most similar story within the time limit, or None."""
        limit = timedelta(hours=self.settings.event_hours)
        candidates = {s for key in features.keys if key[0] in "an" for s in self._by_key.get(key, ())}
        best: tuple[float, str] | None = None
        for story_id in sorted(candidates):
            member = self._members[story_id]
            if time is not None and member.time is not None and abs(time - member.time) > limit:
                continue
            score = features.link_score(member.features)
            if score is None:
                continue
            if score >= self.settings.event_threshold and (best is None or score > best[0]):
                best = (score, member.event_id)
        return best[1] if best else None


def assign_event(index: EventIndex, doc: EventDoc, features: EventFeatures) -> str:
    """Event id for a story (joining or founding), recorded in the index."""
    if doc.time is not None:
        index.evict_before(doc.time - timedelta(hours=index.settings.event_hours))
    event = index.find(features, doc.time) or event_id_for(doc.id)
    index.add(doc.id, event, doc.time, features)
    return event


def link_events(
    docs: list[EventDoc], extractor: FeatureExtractor, settings: ClusterSettings | None = None
) -> list[str]:
    """Event ids for stories in the given order (oldest first founds the event)."""
    settings = settings or ClusterSettings()
    index = EventIndex(settings)
    order = sorted(range(len(docs)), key=lambda i: (docs[i].time is not None, docs[i].time or datetime.min, i))
    result = [""] * len(docs)
    for i in order:
        doc = docs[i]
        result[i] = assign_event(index, doc, extractor.features(doc.title, doc.lede))
    return result


def lede_of(summary: str, text: str) -> str:
    """The lede event features read: the feed summary, else the body's opening."""
    return summary or (text or "")[:600]


def event_ids(
    docs: list, cluster_ids: list[str], extractor: FeatureExtractor, settings: ClusterSettings | None = None,
    languages: list[str] | None = None,
) -> list[str]:
    """Event id of each clustered article (``transform.clusters.Doc``), in input order: every
    story is linked once, by the copy that founded it (the earliest), as the warehouse does."""
    founders: dict[str, int] = {c: i for i, c in enumerate(cluster_ids) if c == f"s-{docs[i].id}"}
    for i, cluster in enumerate(cluster_ids):
        founders.setdefault(cluster, i)
    stories = list(founders)
    story_docs = [
        EventDoc(cluster, docs[i].title, lede_of(docs[i].summary, docs[i].text), docs[i].time,
                 (languages[i] if languages else ""), "")
        for cluster, i in founders.items()
    ]
    linked = dict(zip(stories, link_events(story_docs, extractor, settings)))
    return [linked[c] for c in cluster_ids]
