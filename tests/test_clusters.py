"""Story clusters: copies join, different stories stay apart, ids are stable across runs."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np

from transform.clusters import ClusterSettings, Doc, cluster_docs, signature, signatures

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
WIRE = (
    "North Korea has sent several thousand additional soldiers to Russia's Kursk region in the past month, "
    "South Korea's National Intelligence Service told lawmakers in Seoul on Monday. The agency said the troops, "
    "drawn largely from special operations units, were moved by rail from the Russian Far East and assigned to "
    "assault groups alongside Russian marines. Lawmakers said the agency believes Moscow is paying Pyongyang in "
    "oil, food and military technology, including help with satellite launches."
)
OTHER = (
    "Russian drones struck a thermal power plant in Kharkiv overnight, cutting electricity to thousands of homes. "
    "Repair crews were working to restore power, the mayor said, and the air force shot down most of the drones. "
    "Moscow has intensified strikes on Ukrainian energy infrastructure ahead of winter."
)
CAPTION = "Kim Jong Un attends a meeting in Pyongyang, North Korea, on Oct. 10, 2026. (KCNA via Global Wire)"


def doc(id, title, text="", summary="", url=None, hours=0):
    return Doc(id, title, text, summary, url or f"https://{id}.example/story", T0 + timedelta(hours=hours))


def test_syndicated_copies_with_edits_and_other_headlines_join():
    docs = [
        doc("a", "North Korean troops moved to Kursk", WIRE),
        doc("b", "Seoul: thousands more North Korean soldiers in Russia", "SEOUL (Wire) - " + WIRE + " (Reporting by staff)", hours=2),
        doc("c", "Russian drones hit Kharkiv", OTHER, hours=3),
    ]
    a, b, c = cluster_docs(docs)
    assert a == b == "s-a" and c == "s-c"


def test_edited_headline_on_the_same_url_stays_one_story():
    url = "https://wire.example/nk-shells"
    docs = [
        doc("r1", "North Korea ships shells to Russia", summary="A think tank says containers moved from Rajin.", url=url),
        doc("r2", "UPDATE 2-North Korea has shipped millions of shells to Russia, think tank says",
            summary="A think tank says containers moved from Rajin, pointing to millions of shells.", url=url, hours=4),
    ]
    assert len(set(cluster_docs(docs))) == 1


def test_reused_photo_caption_does_not_merge_different_stories():
    docs = [
        doc("c1", "North Korea warns of 'overwhelming response' to US drills", summary=CAPTION),
        doc("c2", "Pyongyang opens new hospital in capital", summary=CAPTION, hours=30),
        doc("c3", "North Korea sends new ambassador to Moscow", summary=CAPTION, hours=50),
    ]
    assert len(set(cluster_docs(docs))) == 3


def test_a_caption_shared_within_hours_is_not_a_story():
    """Same day, one headline word in common ("North"), the same caption as the only text: the
    closeness that lets wire copies share less of their headline does not apply to a caption."""
    docs = [
        doc("k1", "North Korea warns of response to US drills", summary=CAPTION),
        doc("k2", "North Korea opens new hospital in capital", summary=CAPTION, hours=2),
        doc("k3", "North Korea warns of a response to US drills", summary=CAPTION, hours=3),  # the same story
    ]
    k1, k2, k3 = cluster_docs(docs)
    assert k1 == k3 != k2
    assert signature(docs[0], ClusterSettings()).caption
    assert not signature(doc("w", "Troops", WIRE), ClusterSettings()).caption


def test_same_headline_and_lede_on_two_hosts_join_however_the_summary_was_cut():
    """A site and its video page, two outlets printing one wire item: one carries the first
    sentence, the other the whole description; the rest of the lede differs a lot."""
    first = "Ukrainian forces captured two wounded North Korean soldiers in Russia's Kursk region, the president said on Saturday."
    more = " ".join(["They were taken to Kyiv and are being questioned by the security service, officials added."] * 6)
    docs = [
        doc("h1", "Ukraine captures two North Korean soldiers in Kursk", summary=first, url="https://news.example/a"),
        doc("h2", "Ukraine captures two North Korean soldiers in Kursk", summary=first + " " + more, url="https://video.example/b", hours=20),
        doc("h3", "Ukraine captures two North Korean soldiers in Kursk", summary=first, url="https://c.example/c", hours=24 * 9),
    ]
    h1, h2, h3 = cluster_docs(docs)
    assert h1 == h2 != h3  # the window still applies
    short = ClusterSettings()
    assert signature(docs[0], short).head == signature(docs[1], short).head != 0
    assert signature(doc("x", "Live", summary=first), short).head == 0  # too short a headline to say


def test_live_page_url_reused_for_new_content_stays_apart():
    url = "https://news.example/ukraine-live"
    docs = [doc("l1", "Live: drones hit Kharkiv", OTHER, url=url), doc("l2", "Live: Seoul and Kursk", WIRE, url=url, hours=48)]
    assert len(set(cluster_docs(docs))) == 2


def test_summary_only_copies_join_and_the_window_applies():
    lede = "Russian Foreign Minister Sergei Lavrov will travel to Pyongyang next week for talks on military cooperation, the Kremlin said."
    docs = [
        doc("s1", "Russia's Lavrov to visit North Korea next week", summary=lede),
        doc("s2", "Lavrov to travel to Pyongyang for talks, Kremlin says", summary=lede, hours=1),
        doc("s3", "Russia's Lavrov to visit North Korea next week", summary=lede, hours=24 * 30),  # recycled a month later
    ]
    s1, s2, s3 = cluster_docs(docs)
    assert s1 == s2 and s3 != s1
    assert len(set(cluster_docs(docs, ClusterSettings(window_days=60)))) == 1


def test_output_follows_input_order_and_the_earliest_copy_founds_the_story():
    docs = [doc("late", "Copy", WIRE, hours=5), doc("early", "Original", WIRE)]
    assert cluster_docs(docs) == ["s-early", "s-early"]


def test_signatures_are_the_same_in_worker_processes():
    docs = [doc(f"d{i}", f"Title {i}", WIRE if i % 2 else OTHER, hours=i) for i in range(40)]
    settings = ClusterSettings()
    serial = signatures(docs, settings, workers=1)
    import transform.clusters as module

    previous, module.PARALLEL_MIN_DOCS = module.PARALLEL_MIN_DOCS, 10
    try:
        parallel = signatures(docs, settings, workers=2)
    finally:
        module.PARALLEL_MIN_DOCS = previous
    assert all((a.lede == b.lede).all() and (a.text == b.text).all() for a, b in zip(serial, parallel))
    assert (signature(docs[0], settings).lede == serial[0].lede).all()


def test_dedup_command_contract(repo_root):
    items = [
        {"id": "1", "url": "https://a.example/1", "title": "North Korean troops moved to Kursk", "text": WIRE, "published": "2026-11-20T08:00:00Z"},
        {"id": "2", "url": "https://b.example/2", "title": "Drones hit Kharkiv", "text": OTHER},
        {"id": "3", "url": "https://c.example/3", "title": "Seoul says more troops in Russia", "text": "(Wire) " + WIRE, "published": "2026-11-20T09:00:00+00:00"},
    ]
    result = subprocess.run(
        [sys.executable, "-m", "axiswatch", "dedup", "-"], cwd=repo_root, capture_output=True, text=True,
        input="\n".join(json.dumps(i) for i in items), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["1", "2", "3"]
    assert out[0]["cluster_id"] == out[2]["cluster_id"] != out[1]["cluster_id"]
    assert all(set(o) == {"id", "cluster_id", "event_id"} for o in out)
    bad = subprocess.run([sys.executable, "-m", "axiswatch", "dedup", "-"], cwd=repo_root, capture_output=True,
                         text=True, input='{"id": "x", "published": "yesterday"}\n', timeout=120)
    assert bad.returncode == 2 and "published" in bad.stderr


def test_band_index_finds_what_datasketch_lsh_finds_and_forgets_removed_members():
    """Our banding over stored values must give exactly datasketch's candidates for the same
    (b, r) split: similar signatures found, dissimilar ones not, removed ones gone."""
    from datasketch import MinHash, MinHashLSH

    from transform.clusters import NUM_PERM, BandIndex

    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, size=NUM_PERM, dtype=np.uint64)
    sigs = {}
    for i in range(60):
        sig = base.copy()
        changed = rng.choice(NUM_PERM, size=int(rng.integers(0, NUM_PERM)), replace=False)
        sig[changed] = rng.integers(0, 2**32, size=len(changed), dtype=np.uint64)
        sigs[f"m{i}"] = sig
    ours, theirs = BandIndex(0.32), MinHashLSH(threshold=0.32, num_perm=NUM_PERM)
    for key, sig in sigs.items():
        ours.insert(key, sig.astype(np.uint32))  # stored signatures come back as uint32
        theirs.insert(key, MinHash(num_perm=NUM_PERM, hashvalues=sig, scheme="legacy"))
    probe = base.copy()
    probe[:40] = 7
    expected = set(theirs.query(MinHash(num_perm=NUM_PERM, hashvalues=probe, scheme="legacy")))
    assert 0 < len(expected) < len(sigs)
    assert ours.query(probe) == expected
    for key in sorted(expected)[:3]:
        ours.remove(key, sigs[key])
    assert ours.query(probe) == expected - set(sorted(expected)[:3])


def test_minhash_values_equal_datasketchs_minhash():
    """Signatures compute MinHash values in numpy; they must be datasketch's ``MinHash`` values with
    the same permutations, for no input, one, a lede's worth and a body's worth of 32-bit hashes
    (fails when the finalizer or the permutations differ in any value)."""
    from datasketch import MinHash

    from transform.clusters import NUM_PERM, _base, _identity, _minhash

    base = _base()
    rng = np.random.default_rng(7)
    inputs = [np.array([], dtype=np.uint64), np.array([0, 2**32 - 1], dtype=np.uint64)]
    inputs += [np.unique(rng.integers(0, 2**32, size=n, dtype=np.uint64)) for n in (1, 70, 600, 5000)]
    for hashes in inputs:
        theirs = MinHash(num_perm=NUM_PERM, hashfunc=_identity, permutations=base.permutations, scheme=base.scheme)
        if len(hashes):
            theirs.update_batch(hashes.tolist())
        ours = _minhash(hashes)
        assert ours.dtype == np.uint32 and np.array_equal(ours, theirs.hashvalues.astype(np.uint32)), len(hashes)
    assert (_base().hashvalues == 2**32 - 1).all()  # computing values never changes the shared empty values
