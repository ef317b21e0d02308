"""`make eval-events`: precision and recall of (supplier, item, recipient) triples from the
supply-event extractor, per labelled set and per language; every predicted event's evidence must
be a sentence of its input (a violation is counted and fails the run).

Usage: python -m evaluation.supply_events [--labeled FILE ...] [--patterns FILE] [--errors]
Default sets: evaluation/supply_events_labeled.jsonl (the patterns were tuned on it),
evaluation/supply_events_holdout.jsonl (written before the extractor; its first measurement,
P 0.885 / R 0.958, was taken untuned, then three lexicon fixes followed from its errors) and
evaluation/supply_events_holdout2.jsonl (written before those fixes, never tuned on).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from transform.supply_events import DEFAULT_PATTERNS, SupplyEventExtractor, split_sentences

ROOT = Path(__file__).resolve().parent.parent
SETS = (ROOT / "evaluation/supply_events_labeled.jsonl", ROOT / "evaluation/supply_events_holdout.jsonl",
        ROOT / "evaluation/supply_events_holdout2.jsonl")


@dataclass
class TripleScores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    items: int = 0
    bad_evidence: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def load_items(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def score(extractor: SupplyEventExtractor, items: list[dict], errors: list[str] | None = None) -> dict[str, TripleScores]:
    """Scores overall ('all') and per language."""
    scores: dict[str, TripleScores] = defaultdict(TripleScores)
    for item in items:
        events = extractor.extract(item.get("title", ""), item.get("summary", ""), item.get("text", ""), item["language"])
        predicted = {(e.supplier, e.item, e.recipient) for e in events}
        actual = {tuple(t) for t in item["events"]}
        sentences = {s for part in ("title", "summary", "text") for s in split_sentences(item.get(part, ""))}
        bad = sum(e.evidence not in sentences for e in events)
        for key in ("all", item["language"]):
            s = scores[key]
            s.items += 1
            s.tp += len(predicted & actual)
            s.fp += len(predicted - actual)
            s.fn += len(actual - predicted)
            s.bad_evidence += bad
        if errors is not None and predicted != actual:
            errors.append(f"{item['id']}: predicted {sorted(predicted)} expected {sorted(actual)}")
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled", type=Path, nargs="*", default=list(SETS))
    parser.add_argument("--patterns", type=Path, default=DEFAULT_PATTERNS)
    parser.add_argument("--errors", action="store_true", help="list the items where the triples differ")
    args = parser.parse_args(argv)
    extractor = SupplyEventExtractor.from_file(args.patterns)
    print(f"extractor {extractor.version}")
    print(f"{'set':<34} {'lang':<4} {'items':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'P':>6} {'R':>6}")
    failed = False
    for path in args.labeled:
        errors: list[str] = []
        scores = score(extractor, load_items(path), errors)
        for key in ["all", *sorted(k for k in scores if k != "all")]:
            s = scores[key]
            print(f"{path.name:<34} {key:<4} {s.items:>5} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>6.3f} {s.recall:>6.3f}")
        if scores["all"].bad_evidence:
            print(f"{path.name}: {scores['all'].bad_evidence} events whose evidence is not a sentence of the input")
            failed = True
        if args.errors:
            for line in errors:
                print("  " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
