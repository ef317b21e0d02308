"""Axis tagging: which articles link Korea with Russia or Ukraine, how strongly, and why.

Plain keyword co-occurrence flags every war report that lists "Iran and North Korea" in passing
and every Korean-cuisine piece from Moscow. This tagger instead weighs *where* entities are named
(title, lede, body), whether a Korea mention and a Russia/Ukraine mention meet in the same
sentence, and whether a topic term (troops, shells, treaty, sanctions...) sits next to them.
Phrases where an entity word does not mean the country are blanked first. All terms live in
``config/topics.yaml``; the tagger version combines code and topic-file versions.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.language import detect_language
from ingest.yamlfile import YamlFileError, read_yaml
from transform.terms import Term, TermMatcher, tokenize

CODE_VERSION = "5"
ZONE_WEIGHT = {"title": 1.0, "lede": 0.8, "body": 0.4}
LANGUAGES = ("en", "ko", "ru", "uk", "pl")
_SENTENCE = re.compile(r"(?<=[.!?。…])\s+|\n+")
# "SEOUL, South Korea (AP) —", "Pyongyang, June 27 (KCNA) --": where it was filed, not what it is about.
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z .'-]{2,30}(?:,\s*[^—–()\n]{1,40}?)?\s*(?:\([^)\n]{1,30}\))?"
    r"|[^\W\d][\w .'-]{1,30},\s*[^()\n]{1,40}?\s*\([^)\n]{1,30}\))\s*(?:—|–|--|-)\s+"
    r"|^\s*[(\[][^()\[\]=\n]{1,20}=[^()\[\]\n]{1,20}[)\]]\s*(?:[^=\n]{0,20}=\s*)?"  # (서울=연합뉴스) 기자 =
)
CROWD_FACTOR = 0.3
# Words that may join the countries of an enumeration ("China, Russia, North Korea and Iran").
_LIST_JOINERS = frozenset("and or & и или й і та чи oraz i lub albo 및 과 와".split())
# The topic of the `civil` section's terms: a tie between North Korea and Russia, ordinary
# relations between South Korea and Ukraine or Russia.
CIVIL = "civil_ties"
_BLANKED = frozenset({"_ignore", "_model"})  # concepts of the spans blanked before matching
LIST_MIN = 3  # distinct countries chained together, one of them a crowd country, make a list
# When the headline has one side speak (a statement, commentary) and names only that side, what it
# said follows: the other side named in the lede or in the body's first sentences meets it.
SPEECH_BODY_SENTENCES = 3
# A headline quoting its speaker (국정원 "북한군 사상자 4천명", Кореєць: «Воюю за свободу»). Not a
# colon: English headlines put labels before one ("Analysis:", "FirstFT:").
_QUOTING = re.compile(r'["“”«»„「」『』]')


class TopicsError(ValueError):
    """The topics file is missing, malformed, or names something inconsistent."""


@dataclass
class Match:
    term: str
    concept: str  # entity or topic name
    zone: str  # title | lede | body
    sentence: int  # index within its zone
    stands_for: str = ""  # "leader" or "capital" when the term names the country through them


@dataclass
class Tag:
    """The tagger's answer for one article."""

    id: str
    is_axis: bool
    score: float
    countries: list[str]
    topics: list[str]
    matches: list[dict]
    language: str = ""
    tagger_version: str = ""

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "is_axis": self.is_axis,
            "score": self.score,
            "countries": self.countries,
            "topics": self.topics,
            "matches": self.matches,
            "language": self.language,
        }


@dataclass
class _Concept:
    name: str
    weight: float = 1.0
    counts_as: str = ""


@dataclass
class TopicSet:
    """A watch definition compiled from a topics file."""

    watch: str
    version: str
    threshold: float
    groups: dict[str, list[str]]
    entities: list[_Concept]
    topics: list[_Concept]
    matcher: TermMatcher
    source: str = ""
    _group_of: dict[str, str] = field(default_factory=dict)
    stands_for: dict[Term, str] = field(default_factory=dict)  # leader and capital terms

    digest: str = ""
    # `civil`: the Korea entities with which these ties are the alignment, and the topics that
    # make a sentence with a civil word about the war all the same.
    civil_aligned: frozenset[str] = frozenset()
    civil_unless: frozenset[str] = frozenset()

    @property
    def tagger_version(self) -> str:
        """Code version, watch, declared topics version and a hash of the file's content, so an
        edit that forgets to bump ``version`` still gets its own rows in ``article_tags``."""
        return f"axis-{CODE_VERSION}.{self.watch}-{self.version}+{self.digest[:8]}"


def _terms(spec: dict, where: str) -> list[str]:
    terms: list[str] = []
    for lang, values in spec.items():
        if lang in ("weight", "counts_as", "aligned", "unless"):
            continue
        if lang not in LANGUAGES:
            raise TopicsError(f"{where}: unknown language {lang!r} (use one of {', '.join(LANGUAGES)})")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TopicsError(f"{where}.{lang}: must be a list of strings")
        terms.extend(values)
    if not terms:
        raise TopicsError(f"{where}: has no terms")
    return terms


def load_topics(path: str | Path) -> TopicSet:
    """Load and compile a topics file; raise TopicsError with the offending key on bad input."""
    path = Path(path)
    try:
        data = read_yaml(path, "topics file")
    except YamlFileError as exc:
        raise TopicsError(str(exc)) from None
    if not isinstance(data, dict):
        raise TopicsError(f"{path}: expected a mapping at top level")
    try:
        return _build(data, str(path))
    except TopicsError as exc:
        raise TopicsError(f"{path}: {exc}") from None


def _build(data: dict, source: str) -> TopicSet:
    for key in ("watch", "entities", "topics", "groups"):
        if key not in data:
            raise TopicsError(f"missing required key {key!r}")
    entities_spec, topics_spec, groups = data["entities"], data["topics"], data["groups"]
    if not isinstance(entities_spec, dict) or not isinstance(topics_spec, dict):
        raise TopicsError("'entities' and 'topics' must be mappings of name to terms")
    if not isinstance(groups, dict) or len(groups) != 2:
        raise TopicsError("'groups' must name exactly two groups of entities that must meet")
    entities = []
    terms: list[Term] = []
    for name, spec in entities_spec.items():
        if not isinstance(spec, dict):
            raise TopicsError(f"entities.{name}: must be a mapping of language to terms")
        counts_as = spec.get("counts_as", "")
        if counts_as and counts_as not in entities_spec:
            raise TopicsError(f"entities.{name}.counts_as: unknown entity {counts_as!r}")
        entities.append(_Concept(name, float(spec.get("weight", 1.0)), counts_as))
        terms += [Term.parse(t, name) for t in _terms(spec, f"entities.{name}")]
    group_of = {}
    for group, members in groups.items():
        for member in members or []:
            if member not in entities_spec:
                raise TopicsError(f"groups.{group}: unknown entity {member!r}")
            group_of[member] = group
    for concept in entities:
        if concept.counts_as:
            group_of[concept.name] = group_of.get(concept.counts_as, "")
    topics = []
    for name, spec in topics_spec.items():
        if not isinstance(spec, dict):
            raise TopicsError(f"topics.{name}: must be a mapping of language to terms")
        topics.append(_Concept(name))
        terms += [Term.parse(t, name) for t in _terms(spec, f"topics.{name}")]
    stands_for: dict[Term, str] = {}
    for section, kind in (("leaders", "leader"), ("capitals", "capital")):
        spec_of = data.get(section) or {}
        if not isinstance(spec_of, dict):
            raise TopicsError(f"{section}: must be a mapping of entity name to terms")
        for name, spec in spec_of.items():
            if name not in entities_spec:
                raise TopicsError(f"{section}.{name}: unknown entity {name!r}")
            if not isinstance(spec, dict):
                raise TopicsError(f"{section}.{name}: must be a mapping of language to terms")
            for text in _terms(spec, f"{section}.{name}"):
                term = Term.parse(text, name)
                stands_for[term] = kind
                terms.append(term)
    civil = data.get("civil") or {}
    if not isinstance(civil, dict):
        raise TopicsError("civil: must be a mapping of language to terms")
    civil_names = {}
    for key, known in (("aligned", entities_spec), ("unless", topics_spec)):
        names = civil.get(key) or []
        if not isinstance(names, list) or any(n not in known for n in names):
            raise TopicsError(f"civil.{key}: must be a list of known {'entities' if key == 'aligned' else 'topics'}")
        civil_names[key] = frozenset(names)
    if civil:
        if CIVIL in topics_spec:
            raise TopicsError(f"topics.{CIVIL}: the name is the civil section's")
        topics.append(_Concept(CIVIL))
        terms += [Term.parse(t, CIVIL) for t in _terms(civil, "civil")]
    for special in ("ignore", "model", "crowd", "unrelated", "together", "speech"):
        spec = data.get(special) or {}
        if not isinstance(spec, dict):
            raise TopicsError(f"{special}: must be a mapping of language to terms")
        terms += [Term.parse(t, f"_{special}") for t in _terms(spec, special)] if spec else []
    try:
        threshold = float(data.get("threshold", 0.5))
    except (TypeError, ValueError):
        raise TopicsError("threshold: must be a number between 0 and 1") from None
    return TopicSet(
        watch=str(data["watch"]),
        version=str(data.get("version", "1")),
        threshold=threshold,
        groups={g: list(m) for g, m in groups.items()},
        entities=entities,
        topics=topics,
        matcher=TermMatcher(terms),
        source=source,
        _group_of=group_of,
        stands_for=stands_for,
        civil_aligned=civil_names["aligned"],
        civil_unless=civil_names["unless"],
        digest=hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest(),
    )


def _zones(title: str, summary: str, text: str) -> dict[str, list[str]]:
    """Split an article into title, lede (summary or first two sentences) and body sentences."""
    body_sentences = [s for s in _SENTENCE.split(_DATELINE.sub("", text or "", count=1)) if s.strip()]
    if summary:
        lede = [s for s in _SENTENCE.split(_DATELINE.sub("", summary, count=1)) if s.strip()]
    else:
        lede, body_sentences = body_sentences[:2], body_sentences[2:]
    return {"title": [title] if title else [], "lede": lede, "body": body_sentences}


class Tagger:
    """Tags articles against one topic set. Thread-safe; reuse one per process."""

    def __init__(self, topics: TopicSet) -> None:
        self.topics = topics
        self.version = topics.tagger_version
        self._group_of = topics._group_of
        self._korea_group, self._war_group = list(topics.groups)
        self._generic = {c.name for c in topics.entities if c.counts_as}
        self._entity_names = {c.name for c in topics.entities}
        self._counts_as = {c.name: c.counts_as or c.name for c in topics.entities}
        self._topic_names = frozenset(c.name for c in topics.topics)
        self._stands_for = topics.stands_for
        # By the identity of the matcher's term objects: a dict keyed by Term hashes all its fields per hit.
        self._kind_of = {id(t): topics.stands_for.get(t, "") for t in topics.matcher.terms}

    @classmethod
    def from_file(cls, path: str | Path) -> Tagger:
        return cls(load_topics(path))

    def tag(self, id: str, title: str, text: str = "", summary: str = "", language: str = "",
            identify_language: bool = True) -> Tag:
        """Tag one article; ``language`` is only a hint, the text decides, unless
        ``identify_language`` is false: then it is the language already identified from this text
        (a stored article's, which extraction identified), and identifying it again is waste."""
        if identify_language or not language:
            language = detect_language(f"{title}\n{summary}\n{text[:600]}", language)
        matches: list[Match] = []
        for zone, sentences in _zones(title, summary, text).items():
            for index, sentence in enumerate(sentences):
                matches.extend(self._match(sentence, zone, index))
        if title and _QUOTING.search(title):
            matches.append(Match("", "_speech", "title", 0))
        return self._decide(id, matches, language)

    def _match(self, sentence: str, zone: str, index: int) -> list[Match]:
        tokens = tokenize(sentence)
        hits = self.topics.matcher.find(tokens)
        if not hits:
            return []
        ignored = {i for h in hits if h.term.concept in _BLANKED for i in range(h.first, h.last + 1)}
        specific: set[int] = set()
        found = []
        countries: list[tuple[int, int, str, bool]] = []  # span, country, crowd? (to spot lists)
        generic, entity_names, kind_of = self._generic, self._entity_names, self._kind_of
        bare = []
        together = False
        for hit in hits:
            concept = hit.term.concept
            if concept == "_model":
                found.append(Match(hit.text, "_model", zone, index))
            if concept in _BLANKED or (ignored and any(i in ignored for i in range(hit.first, hit.last + 1))):
                continue
            if concept == "_crowd":
                found.append(Match("", "_crowd", zone, index))
                countries.append((hit.first, hit.last, f"_crowd@{hit.first}", True))  # one country per place
                continue
            if concept == "_unrelated":
                found.append(Match(hit.text, "_unrelated", zone, index))
                continue
            if concept == "_together":
                together = True
                continue
            if concept == "_speech":
                found.append(Match(hit.text, "_speech", zone, index))
                continue
            if concept in generic:
                bare.append(hit)
                continue
            if concept in entity_names:
                specific.update(range(hit.first, hit.last + 1))
                countries.append((hit.first, hit.last, concept, False))
            found.append(Match(hit.text, concept, zone, index, kind_of.get(id(hit.term), "")))
        # Bare "Korea" counts only where no specific entity ("North Korea") already matched.
        if bare:
            taken = ignored | specific
            for hit in bare:
                if not taken.intersection(range(hit.first, hit.last + 1)):
                    found.append(Match(hit.text, hit.term.concept, zone, index))
                    countries.append((hit.first, hit.last, self._counts_as[hit.term.concept], False))
        # "China, Russia and North Korea join forces": the list is the alignment, not a roll call.
        if len(countries) >= LIST_MIN and not together and _is_list(tokens, countries):
            found.append(Match("", "_list", zone, index))
        return found

    def _speech(self, speaks: bool, sides: dict[tuple[str, int], set[str]], title_keys: list,
                apart: set, topical: set) -> list[tuple[str, int]]:
        """The sentences a headline's speaker talks about: when the headline names one side only
        and has it speak ("Press statement of DPRK defence minister", "KCNA commentary", "Kremlin
        comments"), the lede and the body's first sentences are its words, and those naming the
        other side (and only it) with a topic term meet the speaker. Sentences in ``apart``
        (lists, other subjects, third countries: "Russia and China also criticised the drills")
        are not about the other side."""
        if not speaks or not title_keys:
            return []
        speakers = set().union(*(sides[key] for key in title_keys))
        if len(speakers) != 1:
            return []
        (other,) = {self._korea_group, self._war_group} - speakers
        return [
            key for key, groups in sides.items()
            if groups == {other} and key not in apart and key in topical
            and (key[0] == "lede" or (key[0] == "body" and key[1] < SPEECH_BODY_SENTENCES))
        ]

    def _civil(self, civil: set[tuple[str, int]], matches: list[Match]) -> set[tuple[str, int]]:
        """Sentences with a civil tie (tourists, flights, reconstruction, farm talks) whose Korea side
        is not one with which such ties are the alignment (South Korea, a bare "Korean") and which
        name no war topic (troops, arms, sanctions) and not both sides by their leaders (a
        president's visit is politics whatever it pledges): ordinary relations, not a link."""
        korea: dict[tuple[str, int], set[str]] = {}
        war_topic: set[tuple[str, int]] = set()
        leaders: dict[tuple[str, int], set[str]] = {}
        unless = self.topics.civil_unless
        for m in matches:
            key = (m.zone, m.sentence)
            if key not in civil:
                continue
            if m.concept in unless:
                war_topic.add(key)
                continue
            group = self._group_of.get(m.concept)
            if group == self._korea_group:
                korea.setdefault(key, set()).add(self._counts_as[m.concept])
            if group and m.stands_for == "leader":
                leaders.setdefault(key, set()).add(group)
        aligned = self.topics.civil_aligned
        return {key for key, names in korea.items()
                if key not in war_topic and not names & aligned and len(leaders.get(key, ())) < 2}

    def _decide(self, id: str, matches: list[Match], language: str) -> Tag:
        weights = {c.name: c.weight for c in self.topics.entities}
        counts_as = self._counts_as
        marks: dict[str, set[tuple[str, int]]] = {
            "_crowd": set(), "_list": set(), "_unrelated": set(), "_speech": set(), "_model": set(),
        }
        for m in matches:
            if m.concept in marks:
                marks[m.concept].add((m.zone, m.sentence))
        crowded, lists, unrelated = marks["_crowd"], marks["_list"], marks["_unrelated"]
        matches = [m for m in matches if m.concept not in marks]
        topic_names = self._topic_names
        civil = {(m.zone, m.sentence) for m in matches if m.concept == CIVIL}
        if civil:
            unrelated = unrelated | self._civil(civil, matches)
        # Countries named only in an enumeration of adversaries are not what the story is about.
        entity_hits = [m for m in matches if m.concept not in topic_names and (m.zone, m.sentence) not in lists]

        def strength(group: str) -> float:
            values = [
                ZONE_WEIGHT[m.zone] * weights[m.concept]
                for m in entity_hits
                if self._group_of.get(m.concept) == group
            ]
            return max(values, default=0.0)

        # Sentences where both sides meet: the heart of an axis story. An enumeration of
        # adversaries ("China, Russia, North Korea and Iran") is not a link between them, and a
        # sentence about something else (hackers, a film festival) is not the axis either.
        sides: dict[tuple[str, int], set[str]] = {}
        for m in entity_hits:
            group = self._group_of.get(m.concept)
            if group:
                sides.setdefault((m.zone, m.sentence), set()).add(group)
        meeting = [key for key, groups in sides.items() if len(groups) == 2 and key not in lists and key not in unrelated]
        meeting_set = set(meeting)
        korea_weight: dict[tuple[str, int], float] = {}
        for m in entity_hits:
            if self._group_of.get(m.concept) == self._korea_group:
                key = (m.zone, m.sentence)
                korea_weight[key] = max(korea_weight.get(key, 0.0), weights[m.concept])
        body_meetings = sum(1 for zone, _ in meeting if zone == "body")
        title_keys = [key for key in sides if key[0] == "title"]
        topical = {(m.zone, m.sentence) for m in matches if m.concept in self._topic_names}
        speech = self._speech(("title", 0) in marks["_speech"], sides, title_keys, lists | unrelated | crowded, topical)
        if speech:
            speaker_weight = max(korea_weight.get(key, 0.0) for key in title_keys)
            for key in speech:
                korea_weight[key] = max(korea_weight.get(key, 0.0), speaker_weight)
            meeting += speech
            meeting_set.update(speech)
        cooc = 0.0
        for key in meeting:
            crowd = CROWD_FACTOR if key in crowded else 1.0
            cooc = max(cooc, ZONE_WEIGHT[key[0]] * korea_weight[key] * crowd)
        if body_meetings >= 2:
            cooc = max(cooc, 0.7)
        korea_sentences = {
            (m.zone, m.sentence) for m in entity_hits if self._group_of.get(m.concept) == self._korea_group
        }
        topic_hits = [
            m for m in matches
            if m.concept in topic_names and (m.zone, m.sentence) not in unrelated
            and ((m.zone, m.sentence) in korea_sentences or (m.zone, m.sentence) in meeting_set or m.zone == "title")
        ]
        topic_in_meeting = any((m.zone, m.sentence) in meeting_set for m in topic_hits)
        topic_score = 1.0 if topic_in_meeting else (0.5 if topic_hits else 0.0)
        korea, war = strength(self._korea_group), strength(self._war_group)
        score = 0.3 * korea + 0.2 * war + 0.35 * cooc + 0.15 * topic_score
        # A specific Korea mention (not a bare "Korean") must stand where it matters: in the
        # title or lede, or in body sentences that also name Russia or Ukraine, more than once:
        specific_korea = any(
            self._group_of.get(m.concept) == self._korea_group
            and weights[m.concept] >= 1.0
            and (m.zone != "body" or ((m.zone, m.sentence) in meeting_set and body_meetings >= 2))
            for m in entity_hits
        )
        # A headline that names both sides, one by its leader ("Putin, Kim hold talks", "Shoigu
        # arrives in Pyongyang") or both by capitals or leaders ("Seoul warns Moscow"), says that
        # something happens between them by itself; a capital alone may just be a place.
        title_link = False
        for key in title_keys:
            if key in meeting_set and key not in crowded and korea_weight[key] >= 1.0:
                named = {(self._group_of.get(m.concept), m.stands_for) for m in entity_hits
                         if (m.zone, m.sentence) == key}
                title_link = title_link or any(kind == "leader" for _, kind in named) or all(
                    any(g == group and kind for g, kind in named) for group in (self._korea_group, self._war_group)
                )
        # A headline about something else (hackers, a festival) needs a link elsewhere.
        off_topic = ("title", 0) in unrelated and not topic_in_meeting
        # A headline enumerating adversaries is about them all; a crowded lede does not redeem it.
        off_topic = off_topic or (("title", 0) in lists and all(key in crowded for key in meeting))
        # A headline about the "Korean model" for Ukraine is about the model, unless it names both
        # sides itself.
        off_topic = off_topic or (("title", 0) in marks["_model"] and ("title", 0) not in meeting_set)
        if not (korea and war and meeting and specific_korea and (topic_hits or title_link)) or off_topic:
            # Both sides must be named, the Korea side by more than a bare "Korean", they must
            # meet in a sentence, and something must happen between them (a topic term), not a
            # mere co-mention.
            score = min(score, self.topics.threshold - 0.01)
        elif title_link and not topic_hits:
            score = max(score, self.topics.threshold)
        score = round(min(1.0, score), 3)
        is_axis = score >= self.topics.threshold
        countries = sorted({counts_as[m.concept] for m in entity_hits})
        relevant = meeting_set | korea_sentences
        topics = sorted({m.concept for m in topic_hits if (m.zone, m.sentence) in relevant or m.zone == "title"})
        if CIVIL in topics and len(topics) > 1:
            # Civil words are broad (companies, flights, a market): a story's topic only when
            # nothing else happens between the sides.
            topics.remove(CIVIL)
        return Tag(
            id=id,
            is_axis=is_axis,
            score=score,
            countries=countries,
            topics=topics if is_axis else [],
            matches=_summarize(matches),
            language=language,
            tagger_version=self.version,
        )


def _is_list(tokens: list[str], countries: list[tuple[int, int, str, bool]]) -> bool:
    """True when at least LIST_MIN different countries, one of them a crowd country, follow
    each other separated only by commas (dropped by the tokenizer), "and", "or" or a
    possessive "s": an enumeration, not a relation."""
    countries = sorted(countries)
    chain: set[str] = set()
    crowd = False
    last = -2
    for first, end, name, is_crowd in countries:
        gap = first - last - 1
        joined = gap <= 0 or (gap == 1 and tokens[last + 1] in _LIST_JOINERS) or (
            gap == 2 and tokens[last + 1] == "s" and tokens[last + 2] in _LIST_JOINERS
        ) or (gap == 1 and tokens[last + 1] == "s")
        if not joined:
            chain, crowd = set(), False
        chain.add(name)
        crowd = crowd or is_crowd
        last = max(last, end) if joined else end
        if crowd and len(chain) >= LIST_MIN:
            return True
    return False


def _summarize(matches: list[Match]) -> list[dict]:
    """Distinct (term, concept, zone) with counts, in order of first appearance."""
    counts: dict[tuple[str, str, str], int] = {}
    for m in matches:
        key = (m.term, m.concept, m.zone)
        counts[key] = counts.get(key, 0) + 1
    return [{"term": t, "concept": c, "zone": z, "count": n} for (t, c, z), n in counts.items()]
