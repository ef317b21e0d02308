"""Directed supply events: who supplies what to whom, with the sentence that says so.

Analysts of this axis ask "who is supplying what to whom?" every morning, and want the sentence
that proves it. General event coders record who-did-what-to-whom for every conflict, without
the evidence; this extractor does one thing, for this axis, explainably: a sentence yields an
event when it has a supply verb (forward: "X sent Y to Z") or a receive verb (reverse: "Z
received Y from X"), an item, a supplier and a recipient, and no denial, negation or hedge sits
with the verb. Every word list and role marker lives in ``config/supply_events.yaml``; the code
only decides roles by position (subject before the verb, a name after "to"/"в"/"do" or with
에/로 receives, after "from"/"от"/"od" or with 로부터 supplies, an origin adjective right before
an item supplies it) and by exchange markers ("in return for troops": the other way).

Precision comes first: an event a reader cannot find in the evidence sentence is worse than a
missed one. ``make eval-events`` measures both on a labelled set.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import ahocorasick

from ingest.yamlfile import YamlFileError, read_yaml
from transform.terms import automaton

CODE_VERSION = "1"
ITEMS = ("troops", "workers", "munitions", "missiles", "weapons", "technology", "energy", "food", "money", "other")
LANGUAGES = ("en", "ko", "ru", "uk", "pl")
DEFAULT_PATTERNS = Path(__file__).resolve().parents[1] / "config" / "supply_events.yaml"
_SENTENCE = re.compile(r"(?<=[.!?。…])\s+|\n+")
_OWNER = re.compile(r"(?:['’]s)?\s*")
_TOKEN = re.compile(r"[\w][\w'’\-.]*\w|\w")
_NEG_WINDOW = 3  # tokens before the verb in which a negation cancels it
_HEDGE_WINDOW = 6  # tokens before the verb in which a hedge cancels it
_OBJECT_WINDOW = 3  # tokens after the verb in which a name without a preposition is its (dative) object
_ORIGIN_WINDOW = 3  # tokens before an item in which an origin adjective names its supplier


class PatternsError(ValueError):
    """The supply-event patterns file is missing or malformed."""


@dataclass(frozen=True)
class SupplyEvent:
    """One directed event: ``supplier`` sends ``item`` to ``recipient``, as ``evidence`` says."""

    supplier: str
    item: str
    recipient: str
    evidence: str
    claimed_by: str | None = None

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class _Mention:
    start: int
    end: int
    key: str  # entity, item, claimant id or verb direction
    token: int  # index of the token where the mention starts
    adjective: bool = False
    role: str | None = None  # recipient | source | subject | origin


def _compile(term: str, korean: bool) -> tuple[re.Pattern, bool, bool]:
    """A term as a regex; returns (pattern, case_sensitive, must_start_word)."""
    case = term.startswith("=")
    start_word = term.startswith("^")
    body = term.lstrip("=^")
    parts = [re.escape(p) for p in body.split("*")]
    text = r"\w*".join(parts).replace(r"\ ", r"\s+")
    if korean and not start_word:
        return re.compile(text), case, False
    suffix = "" if body.endswith("*") or korean else r"(?!\w)"
    return re.compile(r"(?<!\w)" + text + suffix), case, start_word


class _Terms:
    """Terms of one language mapped to keys; finds non-overlapping matches, longest first."""

    def __init__(self, terms: dict[str, list[str]], korean: bool, particles: frozenset[str] = frozenset()) -> None:
        self.korean = korean
        self.particles = particles
        self.patterns = [(key, *_compile(t, korean), t) for key, ts in terms.items() for t in ts]
        # Each term's first word as written: a substring test (fast) before its regex (slow).
        self._hints = [re.split(r"[\s*]", t.lstrip("=^"), maxsplit=1)[0] for _, _, _, _, t in self.patterns]
        self._always: list[int] = []  # terms ``only`` keeps whatever it is given
        self._by_hint: dict[str, list[int]] = {}
        for i, ((_, _, case, _, _), hint) in enumerate(zip(self.patterns, self._hints)):
            if case or _common(hint):
                self._always.append(i)
            else:
                self._by_hint.setdefault(hint, []).append(i)

    def present(self, text: str, lower: str) -> bool:
        """Whether any term occurs (a quick test before the work ``find`` does). Each term's first
        word must be in the text for its regex to match: most sentences have none of them, and a
        few substring tests cost less than one regex search."""
        return any(pattern.search(text if case else lower)
                   for (_, pattern, case, _, _), hint in zip(self.patterns, self._hints)
                   if hint in (text if case else lower))

    def hints(self) -> set[str]:
        """The first words of the case-folded terms that ``only`` is given the found ones of."""
        return set(self._by_hint)

    def only(self, found: set[str]) -> _Terms:
        """These terms less the case-folded ones whose first word is not in ``found``: the first
        words found in a whole text, so every sentence of it is tested against the few terms
        that can match there instead of all of them (case-sensitive terms are few and kept)."""
        narrowed = object.__new__(_Terms)
        narrowed.korean, narrowed.particles = self.korean, self.particles
        kept = sorted(self._always + [i for hint in found.intersection(self._by_hint) for i in self._by_hint[hint]])
        narrowed.patterns = [self.patterns[i] for i in kept]
        narrowed._hints = [self._hints[i] for i in kept]
        narrowed._always, narrowed._by_hint = list(range(len(kept))), {}
        return narrowed

    def find(self, text: str, lower: str) -> list[tuple[int, int, str, str]]:
        found = []
        for (key, pattern, case, start_word, term), hint in zip(self.patterns, self._hints):
            if hint not in (text if case else lower):
                continue
            for m in pattern.finditer(text if case else lower):
                if start_word and self.korean:
                    rest = re.match(r"\w*", lower[m.end():]).group(0)
                    if rest and rest not in self.particles:
                        continue
                found.append((m.start(), m.end(), key, term))
        found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
        kept: list[tuple[int, int, str, str]] = []
        for f in found:
            if not any(f[0] < k[1] and k[0] < f[1] for k in kept):
                kept.append(f)
        return kept


def _common(hint: str) -> bool:
    """A first word too short to narrow anything ("in", "в", "w"): it occurs in nearly every text
    and, searched for, yields a hit per occurrence; its terms are always kept. Two Hangul
    syllables (북한, 파병) are a specific word."""
    return len(hint) < 2 or (len(hint) == 2 and not any("\uac00" <= ch <= "\ud7a3" for ch in hint))


def _words(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PatternsError(f"{what}: must be a list of non-empty strings")
    return [v.strip().lower() if not v.startswith("=") else v.strip() for v in value]


@dataclass
class _Language:
    code: str
    entities: _Terms
    adjectives: set[str]
    items: _Terms
    forward: _Terms
    reverse: _Terms
    claimants: _Terms
    reporting: _Terms
    denials: _Terms
    negations: _Terms
    hedges: _Terms
    exchange: _Terms
    war_context: _Terms
    nominal_after: set[str] = field(default_factory=set)
    recipient_preps: set[str] = field(default_factory=set)
    source_preps: set[str] = field(default_factory=set)
    purpose_preps: set[str] = field(default_factory=set)
    determiners: set[str] = field(default_factory=set)
    first_words: ahocorasick.Automaton | None = None  # every term's first word (see ``within``)
    found: frozenset[str] | None = None  # the first words ``within`` found, for ``rules``
    _rules: _Language | None = field(default=None, init=False, repr=False, compare=False)

    def within(self, lower: str) -> _Language:
        """These rules with only the verbs whose first word occurs in ``lower`` (a whole title,
        summary or text, case-folded): one pass of an Aho-Corasick automaton over the text
        instead of a substring test per term and sentence. Events are the same. The other terms
        are narrowed alike by ``rules``, when a sentence has a verb: in most texts none has."""
        found = frozenset(hint for _, hint in self.first_words.iter(lower)) if self.first_words is not None else frozenset()
        return replace(self, first_words=None, found=found, **{name: getattr(self, name).only(found) for name in _VERBS})

    def rules(self) -> _Language:
        """All these rules narrowed to the first words ``within`` found (made once per text)."""
        if self.found is None:
            return self
        if self._rules is None:
            self._rules = replace(self, found=None, **{name: getattr(self, name).only(self.found)
                                                        for name in _TERM_FIELDS if name not in _VERBS})
        return self._rules


_TERM_FIELDS = ("entities", "items", "forward", "reverse", "claimants", "reporting", "denials", "negations",
                "hedges", "exchange", "war_context")
_VERBS = ("forward", "reverse")  # a sentence without one of them states no event


class SupplyEventExtractor:
    """Extracts supply events from an article's title, summary and text (see the module doc)."""

    def __init__(self, data: dict, digest: str, source: str = "supply events file") -> None:
        self.source = source
        self.digest = digest
        self.version = f"events-{CODE_VERSION}.{data.get('version', '1')}+{digest[:8]}"
        try:
            self._build(data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise PatternsError(f"{source}: malformed ({exc})") from None

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_PATTERNS) -> SupplyEventExtractor:
        try:
            data = read_yaml(path, "supply events file")
        except YamlFileError as exc:
            raise PatternsError(str(exc)) from None
        if not isinstance(data, dict):
            raise PatternsError(f"{path}: supply events file must be a mapping")
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return cls(data, digest, str(path))

    def _build(self, data: dict) -> None:
        for item in data["items"]:
            if item not in ITEMS:
                raise PatternsError(f"{self.source}: items.{item}: not one of {', '.join(ITEMS)}")
        particles = data.get("korean_particles", {})
        self.particles = {role: sorted(_words(particles.get(role, []), f"korean_particles.{role}"), key=len, reverse=True)
                          for role in ("source", "recipient", "subject", "origin")}
        all_particles = frozenset(p for ps in self.particles.values() for p in ps)
        self.languages: dict[str, _Language] = {}
        for lang in LANGUAGES:
            korean = lang == "ko"

            def terms(section: dict, what: str, korean=korean, lang=lang) -> _Terms:
                return _Terms({key: _words(by_lang.get(lang, []), f"{what}.{key}.{lang}")
                               for key, by_lang in section.items()}, korean, all_particles)

            names = {e: _words(v["names"].get(lang, []), f"entities.{e}.names.{lang}") for e, v in data["entities"].items()}
            adjectives = {e: _words(v.get("adjectives", {}).get(lang, []), f"entities.{e}.adjectives.{lang}")
                          for e, v in data["entities"].items()}
            entity_terms = {e: names[e] + adjectives[e] for e in names}
            preps = data.get("prepositions", {})
            self.languages[lang] = _Language(
                code=lang,
                entities=_Terms(entity_terms, korean, all_particles),
                adjectives={t for ts in adjectives.values() for t in ts},
                items=terms(data["items"], "items"),
                forward=_Terms({"forward": _words(data["verbs"]["forward"].get(lang, []), f"verbs.forward.{lang}")}, korean),
                reverse=_Terms({"reverse": _words(data["verbs"]["reverse"].get(lang, []), f"verbs.reverse.{lang}")}, korean),
                claimants=_Terms({c: _words(v["terms"], f"claimants.{c}.terms") for c, v in data["claimants"].items()}, korean),
                reporting=_Terms({"reporting": _words(data.get("reporting", {}).get(lang, []), f"reporting.{lang}")}, korean),
                denials=_Terms({"denial": _words(data["denials"].get(lang, []), f"denials.{lang}")}, korean),
                negations=_Terms({"negation": _words(data["negations"].get(lang, []), f"negations.{lang}")}, korean),
                hedges=_Terms({"hedge": _words(data["hedges"].get(lang, []), f"hedges.{lang}")}, korean),
                exchange=_Terms({"exchange": _words(data["exchange"].get(lang, []), f"exchange.{lang}")}, korean),
                war_context=_Terms({"war": _words(data.get("war_context", {}).get(lang, []), f"war_context.{lang}")}, korean),
                nominal_after=set(data.get("nominal_after", {}).get(lang, [])),
                recipient_preps=set(preps.get("recipient", {}).get(lang, [])),
                source_preps=set(preps.get("source", {}).get(lang, [])),
                purpose_preps=set(preps.get("purpose", {}).get(lang, [])),
                determiners=set(preps.get("determiners", {}).get(lang, [])),
            )
            language = self.languages[lang]
            language.first_words = automaton(set().union(*(getattr(language, name).hints() for name in _TERM_FIELDS)))

    # -- public -------------------------------------------------------------------------------

    def extract(self, title: str = "", summary: str = "", text: str = "", language: str = "") -> list[SupplyEvent]:
        """Events of one article, each (supplier, item, recipient) once, with the first sentence
        that states it. An unknown language is read with every language's rules."""
        langs = [self.languages[language]] if language in self.languages else list(self.languages.values())
        events: dict[tuple[str, str, str], SupplyEvent] = {}
        for part in (title, summary, text):
            sentences = split_sentences(part or "")
            if not sentences:
                continue
            within = [lang.within(part.lower()) for lang in langs]
            claimants: dict[int, str | None] = {}  # searched only where an event is found (most sentences have none)

            def claimant_of(i: int) -> str | None:
                if i not in claimants:
                    claimants[i] = next((c for lang in within if (c := self._claimant(sentences[i], lang.rules()))), None)
                return claimants[i]

            for i, sentence in enumerate(sentences):
                found = [t for lang in within for t in self._sentence(sentence, lang)]
                if not found:
                    continue
                # who the sentence quotes, else the nearest sentence before it that names someone ("The agency said...")
                claimant = next((c for j in range(i, -1, -1) if (c := claimant_of(j))), None)
                for triple in found:
                    if triple not in events:
                        events[triple] = SupplyEvent(*triple, evidence=sentence, claimed_by=claimant)
        return list(events.values())

    # -- one sentence ---------------------------------------------------------------------------

    def _claimant(self, sentence: str, lang: _Language) -> str | None:
        found = lang.claimants.find(sentence, sentence.lower())
        return found[0][2] if found else None

    def _sentence(self, sentence: str, lang: _Language) -> list[tuple[str, str, str]]:
        lower = sentence.lower()
        if len(lower) != len(sentence):  # case folding changed offsets: read as written
            lower = sentence
        if not (lang.forward.present(sentence, lower) or lang.reverse.present(sentence, lower)):
            return []
        lang = lang.rules()
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(lower)]
        if not tokens:
            return []
        ends = [e for _, e in tokens]

        def token_at(pos: int) -> int:
            """The token containing ``pos``, or the next one after it."""
            return min(bisect_right(ends, pos), len(tokens) - 1)

        verbs = [_Mention(s, e, k, token_at(s)) for s, e, k, _ in lang.forward.find(sentence, lower)]
        verbs += [_Mention(s, e, k, token_at(s)) for s, e, k, _ in lang.reverse.find(sentence, lower)]
        if not verbs or lang.denials.find(sentence, lower):
            return []
        exchange_spans = [(s, e) for s, e, _, _ in lang.exchange.find(sentence, lower)]
        exchange = [token_at(s) for s, _ in exchange_spans]
        items = [_Mention(s, e, k, token_at(s)) for s, e, k, _ in lang.items.find(sentence, lower)]
        items = [i for i in items if not self._after_purpose(i, tokens, lower, lang)
                 or any(0 <= i.start - e <= 1 for _, e in exchange_spans)]  # "in exchange for troops"
        starts = {i.token for i in items}
        items = [i for i in items if i.token + 1 not in starts or i.end < tokens[i.token][1]]  # "missile technology"
        if not items:
            return []
        claims = lang.claimants.find(sentence, lower)  # who is quoted: read by the entities and each verb
        entities = self._entities(sentence, lower, tokens, token_at, lang, claims)
        hedges = [token_at(s) for s, _, _, _ in lang.hedges.find(sentence, lower)]
        negations = [(s, token_at(s)) for s, _, _, _ in lang.negations.find(sentence, lower)]
        korean = lang.code == "ko"
        out: list[tuple[str, str, str]] = []
        for verb in sorted(verbs, key=lambda v: v.start):
            swapped_items, own_items, marker = self._split_exchange(verb, items, exchange, tokens, korean)
            if marker is not None and ((not korean and verb.token > marker) or (korean and marker - 2 <= verb.token < marker)):
                continue  # a verb inside "in return for the troops Pyongyang sent" describes the payment
            if self._cancelled(verb, hedges, negations, tokens, korean) or self._nominal(verb, tokens, lower, lang):
                continue
            if not korean and self._reporting_verb(verb, claims, token_at):
                continue
            supplier, recipient = self._roles(verb, entities, items, korean)
            for item in own_items:
                origin = self._origin(item, entities, verbs, korean)
                s = origin.key if origin else (supplier.key if supplier else None)
                r = recipient.key if recipient and recipient is not origin else None
                if s and r and s != r:
                    out.append((s, item.key, r))
            for item in swapped_items:  # paid for in the other direction
                if supplier and recipient and supplier.key != recipient.key:
                    out.append((recipient.key, item.key, supplier.key))
        return out

    def _entities(self, sentence: str, lower: str, tokens, token_at, lang: _Language,
                  claims: list[tuple[int, int, str, str]]) -> list[_Mention]:
        """Country mentions with the role their preposition or particle gives them; names that are
        the source of the claim ("Seoul says", "South Korea's National Intelligence Service") are left out."""
        claim_spans = [(s, e) for s, e, _, _ in claims]
        war_tokens = {token_at(s) for s, _, _, _ in lang.war_context.find(sentence, lower)}
        reporting = [token_at(s) for s, _, _, _ in lang.reporting.find(sentence, lower)]
        mentions = []
        for s, e, key, term in lang.entities.find(sentence, lower):
            t = token_at(s)
            # inside or right before the one quoted ("South Korea's National Intelligence Service"), not "Russia, NIS says"
            if any(s < ce and cs < e for cs, ce in claim_spans) or \
                    any(cs >= e and _OWNER.fullmatch(lower[e:cs]) for cs, _ in claim_spans):
                continue
            end_token = token_at(max(s, e - 1))
            if any(r - end_token == 1 for r in reporting) or lower[max(0, s - 13):s].strip().endswith("according to"):
                continue
            if end_token + 1 in war_tokens:
                continue
            m = _Mention(s, e, key, t, adjective=term in lang.adjectives)
            if lang.code == "ko":
                m.role = self._particle_role(lower[e:tokens[end_token][1]] if e < tokens[end_token][1] else "")
            else:
                m.role = self._prep_role(t, tokens, lower, lang)
            mentions.append(m)
        return mentions

    def _particle_role(self, suffix: str) -> str | None:
        for role in ("source", "recipient", "subject", "origin"):
            if suffix in self.particles[role]:
                return role
        for role in ("source", "recipient", "subject", "origin"):
            if any(suffix.startswith(p) for p in self.particles[role]):
                return role
        return None

    @staticmethod
    def _prep_role(t: int, tokens, lower: str, lang: _Language) -> str | None:
        i = t - 1
        while i >= 0 and lower[tokens[i][0]:tokens[i][1]] in lang.determiners:
            i -= 1
        if i < 0:
            return None
        prev = lower[tokens[i][0]:tokens[i][1]]
        pair = lower[tokens[i - 1][0]:tokens[i][1]] if i > 0 else prev
        if prev in lang.source_preps:
            return "source"
        if prev in lang.recipient_preps or pair in lang.recipient_preps:
            return "recipient"
        return None

    @staticmethod
    def _after_purpose(item: _Mention, tokens, lower: str, lang: _Language) -> bool:
        """"components for drones": drones are what the components are for, not cargo."""
        if item.token == 0:
            return False
        prev = lower[tokens[item.token - 1][0]:tokens[item.token - 1][1]]
        return prev in lang.purpose_preps and item.token >= 2

    @staticmethod
    def _split_exchange(verb: _Mention, items: list[_Mention], exchange: list[int], tokens, korean: bool):
        """Items paid in return travel the other way: after the marker ("in exchange for X"), or
        in Korean in the two words before it ("X의 대가로")."""
        markers = [m for m in exchange if korean or m > verb.token]
        if not markers:
            return [], items, None
        marker = markers[0]
        if korean:
            swapped = [i for i in items if marker - 2 <= i.token < marker]
        else:
            swapped = [i for i in items if i.token > marker]
        return swapped, [i for i in items if i not in swapped], marker

    @staticmethod
    def _nominal(verb: _Mention, tokens, lower: str, lang: _Language) -> bool:
        """"pressure to send arms", "a decision on providing weapons": no event is stated."""
        if verb.token == 0 or not lang.nominal_after:
            return False
        prev = lower[tokens[verb.token - 1][0]:tokens[verb.token - 1][1]]
        word = lower[verb.start:verb.end]
        return prev == "to" or (prev in lang.nominal_after and word.endswith("ing"))

    @staticmethod
    def _cancelled(verb: _Mention, hedges: list[int], negations, tokens, korean: bool) -> bool:
        if korean:  # Korean negates and hedges after the verb: 제공하지 않았다, 보낼 가능성
            after = [t for t in hedges if verb.token <= t <= verb.token + 3]
            before = [t for t in hedges if verb.token - 2 <= t < verb.token]
            negated = [t for s, t in negations if s >= verb.start and t <= verb.token + 2]
            return bool(after or before or negated)
        if any(verb.token - _HEDGE_WINDOW <= t < verb.token for t in hedges):
            return True
        return any(verb.token - _NEG_WINDOW <= t < verb.token for _, t in negations)

    @staticmethod
    def _reporting_verb(verb: _Mention, claims: list[tuple[int, int, str, str]], token_at) -> bool:
        """Polish "przekazał wywiad" is "intelligence said", not a transfer: a verb followed by
        the one quoted (``claims``: the sentence's claimants) is a reporting verb."""
        return any(0 < token_at(s) - verb.token <= 3 for s, _, _, _ in claims)

    @staticmethod
    def _roles(verb: _Mention, entities: list[_Mention], items: list[_Mention],
               korean: bool) -> tuple[_Mention | None, _Mention | None]:
        """(supplier, recipient) around one verb, before any per-item origin."""
        before = [e for e in entities if e.end <= verb.start]
        after = [e for e in entities if e.start >= verb.end]
        sources = [e for e in entities if e.role == "source"]
        if verb.key == "reverse":
            supplier = next((e for e in (entities if korean else after) if e.role == "source"), None)
            subjects = [e for e in before if e.role not in ("source", "recipient")]
            if korean:
                subjects = [e for e in subjects if e.role == "subject"] or subjects
            recipient = subjects[-1] if subjects else None
            return supplier, recipient
        if korean:
            recipient = next((e for e in reversed(before) if e.role == "recipient"), None)
            subjects = [e for e in before if e.role == "subject" and e is not recipient]
            supplier = sources[0] if sources else (subjects[-1] if subjects else None)
            if supplier is None:
                plain = [e for e in before if e.role is None and e is not recipient]
                supplier = plain[0] if plain else None
            if recipient is None:
                recipient = next((e for e in before if e.role is None and e is not supplier
                                  and (supplier is None or e.start > supplier.start)), None)
            return supplier, recipient
        candidates = [e for e in before if e.role not in ("source", "recipient")]
        supplier = candidates[-1] if candidates else (sources[0] if sources else None)
        recipient = next((e for e in after if e.role != "source" and e is not supplier
                          and (e.role == "recipient" or e.token - verb.token <= _OBJECT_WINDOW)
                          and not (e.adjective and e.role is None
                                   and any(0 < i.token - e.token <= _ORIGIN_WINDOW for i in items))), None)
        if recipient is None:
            recipient = next((e for e in before if e.role == "recipient"), None)
        return supplier, recipient

    @staticmethod
    def _origin(item: _Mention, entities: list[_Mention], verbs: list[_Mention], korean: bool) -> _Mention | None:
        """The country named right before an item as its origin: "North Korean shells",
        "북한의 포탄", "북한군" (the item word itself)."""
        for e in reversed(entities):
            if korean:
                inside = item.start <= e.start < item.end
                if inside or (e.role == "origin" and item.token - _ORIGIN_WINDOW <= e.token < item.token):
                    if not any(e.start < v.start < item.start for v in verbs):
                        return e
            elif e.adjective and e.role is None and item.token - _ORIGIN_WINDOW <= e.token < item.token:
                if not any(e.start < v.start < item.start for v in verbs) and \
                        not any(o is not e and e.start < o.start < item.start for o in entities):
                    return e
        return None


def split_sentences(text: str) -> list[str]:
    """Sentences as written (each one verbatim from the input, trimmed)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]
