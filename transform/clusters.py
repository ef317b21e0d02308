"""Story clusters: syndicated copies and rewrites of one story become one story.

Each article gets two MinHash signatures: one over 3-word shingles of its text (when it has a real
body) and one over its title and lede (always; the fallback for feed-summary-only items and for
matching a summary-only copy against a full one). A new article joins the cluster of the most
similar member seen within the window; otherwise it founds a cluster whose id derives from its own
article id. Assignments are never revised, so reruns never renumber or split clusters, and the
signatures are stored so a fresh process rebuilds the same index.

Two rules sit beside the signatures. The same headline over the same opening words within the
window is one story on any host (a site and its video page, two regional outlets printing one
wire item), however the rest of the text was cut. And a lede that is a photo caption (it ends in
a credit such as "(Getty Images)") says nothing about the story: items whose only text is such a
caption join only when their headlines agree.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import zlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import numpy as np

from transform.settings import ClusterSettings
from transform.terms import is_hangul, tokenize

NUM_PERM = 128
_STOPWORDS = frozenset(
    "the and for with from that this into over after amid says said will have has are was were "
    "its their about than more new".split()
)


@dataclass
class Doc:
    """What clustering needs of an article."""

    id: str
    title: str = ""
    text: str = ""
    summary: str = ""
    url: str = ""
    time: datetime | None = None


@dataclass
class Signature:
    lede: np.ndarray
    text: np.ndarray | None
    title_tokens: frozenset[str]
    url: str = ""
    head: int = 0  # hash of the headline and the lede's first words (0: too short to say)
    caption: bool = False  # the lede is a photo caption


HEAD_WORDS = 20  # the opening words of the lede that, with the headline, identify a copy
HEAD_MIN_TITLE_WORDS = 4  # "Live updates" or "Photos" under one lede are not one story
# A credit closing the lede: "(AP Photo/Jae C. Hong)", "(KCNA via Global Wire)", "(Getty Images)".
_CREDIT = re.compile(
    r"\((?=[^()]*(?:/|\bvia\b|\bphoto|\bimages?\b|\bgetty\b|\bpool\b|\bap\b|\bafp\b|\breuters\b|\bepa\b|\bkcna\b|\byonhap\b|\bpress\b))"
    r"[^()]{2,100}\)\W*$",
    re.IGNORECASE,
)


def is_caption(lede: str) -> bool:
    """True when the lede ends in a photo credit: it describes a picture, not the story."""
    return bool(_CREDIT.search(lede.strip()[-160:]))


_FIRST_SENTENCE = re.compile(r"(?<=[.!?。])\s+|\n")


def head_key(title_tokens: list[str], lede: str) -> int:
    """A 63-bit key of the normalized headline and the lede's first sentence (at most HEAD_WORDS
    words): one copy may carry only that sentence, another the whole description."""
    if len(title_tokens) < HEAD_MIN_TITLE_WORDS:
        return 0
    first = tokenize(_FIRST_SENTENCE.split(lede.strip(), maxsplit=1)[0])[:HEAD_WORDS]
    basis = " ".join(title_tokens) + "|" + " ".join(first)
    return int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big") >> 1


def _identity(value: int) -> int:
    return value


@cache
def _base():
    """The permutations every signature uses (seed 1: the same in every process).

    datasketch is imported here, not at module import: it pulls in scipy (about 0.9 s of CPU),
    which the tasks and commands that never build a signature should not pay for."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, hashfunc=_identity, seed=1, scheme="affine32")  # the one _minhash computes


def warm_signatures() -> None:
    """Import what signatures need now (datasketch, and scipy under it): a process that forks
    workers to make signatures does this first so each worker inherits it."""
    _base()  # imports the datasketch package, the story index's MinHashLSH with it


def _token_hashes(tokens: list[str]) -> np.ndarray:
    """Stable 32-bit hash of each token (crc32: the same in every process, unlike hash())."""
    crc = zlib.crc32
    return np.array([crc(t.encode()) for t in tokens], dtype=np.uint64)


def _shingles(h: np.ndarray, width: int) -> np.ndarray:
    """Hashes of ``width``-word shingles, combined from word hashes (no string joins)."""
    if len(h) < width:
        return np.unique(h)
    combined = h[: len(h) - width + 1].copy()
    for offset in range(1, width):
        combined = (combined * np.uint64(0x9E3779B1) + h[offset : len(h) - width + 1 + offset]) & np.uint64(0xFFFFFFFF)
    return np.unique(combined)


# MurmurHash3's 32-bit finalizer (shifts and multipliers), which datasketch's "affine32" scheme
# applies to every input hash before its permutations.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def _minhash(hashes: np.ndarray) -> np.ndarray:
    """The MinHash values datasketch's ``MinHash`` (our permutations, its "affine32" scheme) gives
    these 32-bit hashes, computed in numpy in one go: its ``update_batch`` calls the hash function
    once per value in Python, which was half the cost of the values. Tests hold the two equal."""
    base = _base()
    if not len(hashes):
        return base.hashvalues.copy()
    a, b = base.permutations
    shift1, mult1, shift2, mult2, shift3 = _FMIX32
    hv = hashes.astype(np.uint32).reshape(-1, 1)
    hv = hv ^ (hv >> shift1)
    hv = hv * mult1
    hv = hv ^ (hv >> shift2)
    hv = hv * mult2
    hv = hv ^ (hv >> shift3)
    return np.minimum((hv * a + b).min(axis=0), base.hashvalues)  # uint32 arithmetic wraps, as datasketch's


def _title_tokens(title: str) -> frozenset[str]:
    return frozenset(t for t in tokenize(title) if (len(t) > 2 or is_hangul(t)) and t not in _STOPWORDS)


def signature(doc: Doc, settings: ClusterSettings) -> Signature:
    """Signatures of one article (deterministic: the same on every machine and run)."""
    body_tokens = tokenize(doc.text)
    body = _token_hashes(body_tokens)
    lede_tokens = tokenize(doc.summary)[:60] if doc.summary else body_tokens[:60]
    summary = _token_hashes(lede_tokens)
    title_tokens = tokenize(doc.title)
    lede = np.concatenate([_token_hashes(title_tokens), summary])
    lede = np.union1d(_shingles(lede, 1), _shingles(lede, 2))
    text = None
    if len(body) >= settings.min_text_words:
        text = _minhash(_shingles(body, 3))
    return Signature(
        _minhash(lede), text, _title_tokens(doc.title), doc.url,
        head=head_key(title_tokens, doc.summary or doc.text[:600]), caption=is_caption(doc.summary or doc.text[:400]),
    )


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class BandIndex:
    """Locality-sensitive hashing over stored MinHash values: the signature is cut into ``b`` bands
    of ``r`` values and two signatures become candidates when any band is equal.

    datasketch's MinHashLSH does the same, but byte-swaps and hashes every band through Python
    per call and wants MinHash objects; here each band is folded to one integer with a single
    numpy expression, which made story assignment about three times faster. Candidates are
    always verified against the full signature, so a (very rare) folded-key collision costs a
    comparison, never a wrong merge. The (b, r) split is datasketch's optimum for the threshold.
    """

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        from datasketch import MinHashLSH

        params = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.rows = params.b, params.r
        fold = np.random.default_rng(20261127).integers(1, 2**63, size=self.rows, dtype=np.uint64)
        self._fold = fold | np.uint64(1)
        self._tables: list[dict[int, list[str]]] = [{} for _ in range(self.bands)]

    def _keys(self, values: np.ndarray) -> list[int]:
        band_rows = values[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        return (band_rows * self._fold).sum(axis=1, dtype=np.uint64).tolist()  # wraps mod 2**64

    def insert(self, key: str, values: np.ndarray) -> None:
        for table, band in zip(self._tables, self._keys(values)):
            bucket = table.get(band)
            if bucket is None:
                table[band] = [key]
            else:
                bucket.append(key)

    def remove(self, key: str, values: np.ndarray) -> None:
        for table, band in zip(self._tables, self._keys(values)):
            bucket = table.get(band)
            if bucket is None:
                continue
            if key in bucket:
                bucket.remove(key)
            if not bucket:
                del table[band]

    def query(self, values: np.ndarray) -> set[str]:
        found: set[str] = set()
        for table, band in zip(self._tables, self._keys(values)):
            bucket = table.get(band)
            if bucket:
                found.update(bucket)
        return found


@dataclass
class _Member:
    cluster_id: str
    time: datetime | None
    sig: Signature


@dataclass
class StoryIndex:
    """Cluster members seen within the window, searchable by signature."""

    settings: ClusterSettings = field(default_factory=ClusterSettings)

    def __post_init__(self) -> None:
        self._text = BandIndex(self.settings.text_threshold * 0.8)
        self._lede = BandIndex(self.settings.lede_threshold * 0.8)
        self._members: dict[str, _Member] = {}
        self._by_url: dict[str, _Member] = {}  # latest member per URL, kept beyond the window
        self._by_head: dict[int, list[str]] = {}  # members by headline + opening words
        self._order: deque[tuple[datetime, str]] = deque()

    def __len__(self) -> int:
        return len(self._members)

    def add(self, member_id: str, cluster_id: str, time: datetime | None, sig: Signature) -> None:
        if member_id in self._members:
            return
        self._members[member_id] = _Member(cluster_id, time, sig)
        self._lede.insert(member_id, sig.lede)
        if sig.text is not None:
            self._text.insert(member_id, sig.text)
        if sig.url:
            self._by_url[sig.url] = self._members[member_id]
        if sig.head:
            self._by_head.setdefault(sig.head, []).append(member_id)
        if time is not None:
            self._order.append((time, member_id))

    def evict_before(self, cutoff: datetime) -> None:
        """Forget members older than ``cutoff`` (input must arrive roughly in time order)."""
        while self._order and self._order[0][0] < cutoff:
            _, member_id = self._order.popleft()
            member = self._members.pop(member_id, None)
            if member is None:
                continue
            self._lede.remove(member_id, member.sig.lede)
            if member.sig.text is not None:
                self._text.remove(member_id, member.sig.text)
            if member.sig.head and (same := self._by_head.get(member.sig.head)):
                if member_id in same:
                    same.remove(member_id)
                if not same:
                    del self._by_head[member.sig.head]

    def find(self, sig: Signature, time: datetime | None) -> str | None:
        """The cluster of the most similar member in the window, or None."""
        s = self.settings
        best: tuple[float, str] | None = None

        def consider(member_id: str, score: float) -> None:
            nonlocal best
            member = self._members.get(member_id)
            if member is None or not self._in_window(member.time, time):
                return
            if best is None or score > best[0]:
                best = (score, member.cluster_id)

        if sig.text is not None:
            for key in self._text.query(sig.text):
                other = self._members[key].sig.text
                if other is not None and (score := _similarity(sig.text, other)) >= s.text_threshold:
                    consider(key, score)
        for key in self._lede.query(sig.lede):
            member = self._members[key]
            if sig.text is not None and member.sig.text is not None:
                continue  # both have a body: the bodies decide, not look-alike headlines and ledes
            score = _similarity(sig.lede, member.sig.lede)
            if score < s.lede_threshold:
                continue
            titles = _jaccard(sig.title_tokens, member.sig.title_tokens)
            close = time is not None and member.time is not None and abs(time - member.time) <= timedelta(hours=s.close_hours)
            # The same lede under unrelated headlines is a reused photo caption: close in time,
            # copies may share less of their headline, unless that lede is a caption.
            caption = sig.caption or member.sig.caption
            if titles >= s.title_overlap or (close and titles > 0 and not caption):
                consider(key, score)
        if best is None and sig.head:
            for key in self._by_head.get(sig.head, ()):
                consider(key, 1.0)
        if best is None and sig.url and (previous := self._by_url.get(sig.url)) is not None:
            # One URL seen again (an edited headline, a live page): the same story only if the
            # content still resembles it; the window does not apply to a URL's own history.
            # A URL reused for a new piece (an evergreen "best of" page, a live page) keeps few
            # of its headline's words: a weaker lede match still needs some of the headline.
            # Within close_hours a page being updated (a live story) keeps its lede.
            titles = _jaccard(sig.title_tokens, previous.sig.title_tokens)
            close = time is not None and previous.time is not None and abs(time - previous.time) <= timedelta(hours=s.close_hours)
            if titles >= s.same_url_title or (
                _similarity(sig.lede, previous.sig.lede) >= s.same_url_lede and (titles >= s.title_overlap or (close and titles > 0))
            ):
                return previous.cluster_id
        return best[1] if best else None

    def _in_window(self, a: datetime | None, b: datetime | None) -> bool:
        if a is None or b is None:
            return True
        return abs(a - b) <= timedelta(days=self.settings.window_days)


def cluster_id_for(article_id: str) -> str:
    return f"s-{article_id}"


def assign(index: StoryIndex, doc: Doc, sig: Signature) -> str:
    """Cluster id for ``doc`` (joining or founding), recorded in the index."""
    if doc.time is not None:
        index.evict_before(doc.time - timedelta(days=index.settings.window_days))
    cluster = index.find(sig, doc.time) or cluster_id_for(doc.id)
    index.add(doc.id, cluster, doc.time, sig)
    return cluster


PARALLEL_MIN_DOCS = 2000


def _signature_chunk(args: tuple[list[Doc], ClusterSettings]) -> list[Signature]:
    docs, settings = args
    return [signature(d, settings) for d in docs]


def signatures(docs: list[Doc], settings: ClusterSettings, workers: int | None = None) -> list[Signature]:
    """Signatures of many documents, on every core when there are enough to pay for the processes
    (shingling and hashing are CPU-bound; assignment afterwards is sequential by design)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(docs) < PARALLEL_MIN_DOCS:
        return [signature(d, settings) for d in docs]
    size = max(500, len(docs) // (workers * 8))
    chunks = [(docs[i : i + size], settings) for i in range(0, len(docs), size)]
    # Forked, not spawned: a spawned worker imports the parent's __main__ again, and under an
    # Airflow Celery worker that is the airflow command itself (the cluster task failed at scale).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [sig for part in pool.map(_signature_chunk, chunks) for sig in part]


def cluster_docs(
    docs: list[Doc], settings: ClusterSettings | None = None, workers: int | None = None
) -> list[str]:
    """Cluster ids for documents in the given order (what `axiswatch dedup` prints)."""
    settings = settings or ClusterSettings()
    index = StoryIndex(settings)
    # Oldest first, so the earliest copy founds the story; undated ones keep their input order.
    order = sorted(range(len(docs)), key=lambda i: (docs[i].time is not None, docs[i].time or datetime.min, i))
    sigs = signatures([docs[i] for i in order], settings, workers)
    result = [""] * len(docs)
    for i, sig in zip(order, sigs):
        result[i] = assign(index, docs[i], sig)
    return result
