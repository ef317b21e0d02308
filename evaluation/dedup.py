"""`make eval-dedup`: pairwise precision and recall of story clustering.

Usage: python -m evaluation.dedup [--labeled FILE] [--corpus DIR] [--errors]
Pairs of items in the same labeled group should share a cluster; all other pairs should not.
With --corpus (default ../shared/corpus when present), its real RSS groups are scored too:
near_duplicate and same_article_revised groups are positives, NOT_duplicate* groups negatives,
same_event_cluster groups are left out (machine-labeled, ambiguous). The event sets
(evaluation/events_labeled.jsonl, evaluation/events_heldout.jsonl) are scored twice: clusters by
their ``story`` label, event links across languages by their ``event`` label. With the corpus,
evaluation/events_real_labels.jsonl (event labels only, each naming a corpus item by
``axis_dev:<id>`` or ``dupes_dev:<group>/<n>``; no text of theirs is in the repository) scores event
links on real headlines and ledes: every axis item of axis_dev.jsonl (each its own event unless
labelled) and the dupes_dev.jsonl items the labels name; pairs across languages are also scored apart.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from transform.clusters import ClusterSettings, Doc, cluster_docs

ROOT = Path(__file__).resolve().parent.parent


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pairwise(groups: list[str | None], clusters: list[str], ignore: set[int] = frozenset()) -> tuple[float, float, list]:
    """Precision and recall over item pairs; ``groups[i] is None`` marks a singleton."""
    tp = fp = fn = 0
    errors = []
    for i, j in combinations(range(len(groups)), 2):
        if i in ignore or j in ignore:
            continue
        same_truth = groups[i] is not None and groups[i] == groups[j]
        same_pred = clusters[i] == clusters[j]
        if same_truth and same_pred:
            tp += 1
        elif same_pred:
            fp += 1
            errors.append(("FP", i, j))
        elif same_truth:
            fn += 1
            errors.append(("FN", i, j))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, errors


def own_set(path: Path, settings: ClusterSettings, show: bool) -> None:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    docs = [Doc(r["id"], r.get("title", ""), r.get("text", ""), r.get("summary", ""), r.get("url", ""), _time(r.get("published"))) for r in rows]
    clusters = cluster_docs(docs, settings)
    p, r, errors = pairwise([row["group"] for row in rows], clusters)
    print(f"\nlabeled set {path.name}: {len(rows)} items, {len({x['group'] for x in rows})} groups")
    print(f"  pairwise precision {p:.3f}  recall {r:.3f}  (pairs wrong: {len(errors)})")
    if show:
        for kind, i, j in errors:
            print(f"   {kind} {rows[i]['id']} <> {rows[j]['id']}: {rows[i]['title'][:50]!r} / {rows[j]['title'][:50]!r}")


def shared_set(path: Path, settings: ClusterSettings, show: bool) -> None:
    groups_file = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    docs, groups, ignore, labels = [], [], set(), []
    for g in groups_file:
        relation = g["relation"]
        for n, item in enumerate(g["items"]):
            index = len(docs)
            docs.append(Doc(f"{g['group_id']}-{n}", item.get("title") or "", "", item.get("summary") or "",
                            item.get("link") or "", _time(item.get("published"))))
            if relation in ("near_duplicate", "same_article_revised"):
                groups.append(g["group_id"])
            else:
                groups.append(None)
                if relation == "same_event_cluster":
                    ignore.add(index)
            labels.append(relation)
    clusters = cluster_docs(docs, settings)
    p, r, errors = pairwise(groups, clusters, ignore)
    print(f"\nreal-world set {path}: {len(docs)} items ({len(ignore)} same_event_cluster items left out)")
    print(f"  pairwise precision {p:.3f}  recall {r:.3f}  (pairs wrong: {len(errors)})")
    if show:
        for kind, i, j in errors[:40]:
            print(f"   {kind} [{labels[i]}] {docs[i].title[:50]!r} / {docs[j].title[:50]!r}")


def events_set(path: Path, settings: ClusterSettings, show: bool) -> None:
    """Clusters on the cross-language event set: copies of one story (its ``story`` label) join;
    reports of one event in other languages, and reused captions, stay apart."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    docs = [Doc(r["id"], r.get("title", ""), r.get("text", ""), r.get("summary", ""), r.get("url", ""), _time(r.get("published"))) for r in rows]
    clusters = cluster_docs(docs, settings)
    p, r, errors = pairwise([row["story"] for row in rows], clusters)
    print(f"\nevent set {path.name} as stories: {len(rows)} items, {len({x['story'] for x in rows})} stories")
    print(f"  pairwise precision {p:.3f}  recall {r:.3f}  (pairs wrong: {len(errors)})")
    if show:
        for kind, i, j in errors:
            print(f"   {kind} {rows[i]['id']} <> {rows[j]['id']}: {rows[i]['title'][:50]!r} / {rows[j]['title'][:50]!r}")
    from transform.event_links import FeatureExtractor, event_ids

    events = event_ids(docs, clusters, FeatureExtractor.from_file(ROOT / "config/topics.yaml"), settings,
                       [row.get("language", "") for row in rows])
    p, r, errors = pairwise([row["event"] for row in rows], events)
    groups = {}
    for row in rows:
        groups.setdefault(row["event"], set()).add(row.get("language"))
    multi = sum(1 for langs in groups.values() if len(langs) >= 3)
    print(f"  event links: {len(groups)} events ({multi} in three or more languages), {len(set(events))} found")
    print(f"  pairwise precision {p:.3f}  recall {r:.3f}  (pairs wrong: {len(errors)})")
    if show:
        for kind, i, j in errors:
            print(f"   {kind} {rows[i]['id']} <> {rows[j]['id']}: {rows[i]['title'][:50]!r} / {rows[j]['title'][:50]!r}")


def real_events_set(corpus: Path, labels_path: Path, settings: ClusterSettings, show: bool) -> None:
    """Event links on real items of the corpus: the labels say which items report one event."""
    from transform.event_links import FeatureExtractor, event_ids

    labels = {row["ref"]: row["event"] for row in map(json.loads, labels_path.open(encoding="utf-8")) if row}
    items: dict[str, dict] = {}
    for row in map(json.loads, (corpus / "axis_dev.jsonl").open(encoding="utf-8")):
        if row.get("label"):
            items[f"axis_dev:{row['id']}"] = row
    groups = {g["group_id"]: g for g in map(json.loads, (corpus / "dupes_dev.jsonl").open(encoding="utf-8"))}
    for ref in labels:
        if ref.startswith("dupes_dev:"):
            group, n = ref[len("dupes_dev:"):].rsplit("/", 1)
            items[ref] = {**groups[group]["items"][int(n)], "lang": "en"}
    missing = [ref for ref in labels if ref not in items]
    if missing:
        print(f"\nreal event set {labels_path.name}: {len(missing)} labelled items are not in {corpus} ({missing[:3]}...)")
        return
    refs = sorted(items)
    docs = [Doc(ref, items[ref].get("title") or "", items[ref].get("body") or items[ref].get("text") or "",
                items[ref].get("summary") or "", items[ref].get("url") or items[ref].get("link") or "",
                _time(items[ref].get("published"))) for ref in refs]
    languages = [items[ref].get("lang") or "" for ref in refs]
    truth = [labels.get(ref, ref) for ref in refs]
    clusters = cluster_docs(docs, settings)
    events = event_ids(docs, clusters, FeatureExtractor.from_file(ROOT / "config/topics.yaml"), settings, languages)
    p, r, errors = pairwise(truth, events)
    multi = {e for e in set(truth) if len({languages[i] for i, t in enumerate(truth) if t == e}) >= 2}
    print(f"\nreal event set {labels_path.name} on {corpus}: {len(refs)} items "
          f"({', '.join(f'{k} {languages.count(k)}' for k in sorted(set(languages)))}), "
          f"{len(set(truth))} events, {len(multi)} in two or more languages")
    print(f"  event links, all pairs:            precision {p:.3f}  recall {r:.3f}  (pairs wrong: {len(errors)})")
    across = [(i, j) for i, j in combinations(range(len(refs)), 2) if languages[i] != languages[j]]
    tp = sum(1 for i, j in across if truth[i] == truth[j] and events[i] == events[j])
    fp = sum(1 for i, j in across if truth[i] != truth[j] and events[i] == events[j])
    fn = sum(1 for i, j in across if truth[i] == truth[j] and events[i] != events[j])
    print(f"  event links, pairs across languages: precision {tp / (tp + fp) if tp + fp else 1.0:.3f}"
          f"  recall {tp / (tp + fn) if tp + fn else 1.0:.3f}  (true pairs {tp + fn}, linked {tp + fp})")
    if show:
        for kind, i, j in errors:
            print(f"   {kind} {refs[i]} <> {refs[j]}: {docs[i].title[:50]!r} / {docs[j].title[:50]!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled", type=Path, default=ROOT / "evaluation/dupes_labeled.jsonl")
    parser.add_argument("--events", type=Path, default=ROOT / "evaluation/events_labeled.jsonl",
                        help="the cross-language event set (story and event labels; event_threshold was chosen on it)")
    parser.add_argument("--events-heldout", type=Path, default=ROOT / "evaluation/events_heldout.jsonl",
                        help="a second event set, never tuned on")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus")
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args(argv)
    settings = ClusterSettings()
    print(f"settings {settings}")
    own_set(args.labeled, settings, args.errors)
    for path in (args.events, args.events_heldout):
        if path.exists():
            events_set(path, settings, args.errors)
    shared = args.corpus / "dupes_dev.jsonl"
    if shared.exists():
        shared_set(shared, settings, args.errors)
        real_events_set(args.corpus, ROOT / "evaluation/events_real_labels.jsonl", settings, args.errors)
    else:
        print(f"\n(no real-world set at {shared}; pass --corpus DIR to score one)")


if __name__ == "__main__":
    main()
