"""`make eval-tagging` prints every split, per language, beside the naive baseline, and its
figures are the confusion counts of the tagger's own answers."""

import json
import subprocess
import sys
from collections import Counter

from evaluation.tagging import evaluate, load_items
from transform.tagging import Tagger


def test_the_second_held_out_split_is_what_it_says(repo_root):
    items = load_items(repo_root / "evaluation/axis_heldout2_ml.jsonl")
    langs = Counter(i["lang"] for i in items)
    assert len(items) >= 120 and langs["en"] >= 35 and set(langs) == {"en", "ko", "ru", "uk", "pl"}
    assert 0.40 <= sum(i["label"] for i in items) / len(items) <= 0.50
    assert len({i["id"] for i in items}) == len(items)
    traps = {i["category"] for i in items if not i["label"]}
    assert {"list", "hackers", "culture", "poland_arms"} <= traps


def blind_split_traps(repo_root, name: str, prefix: str) -> tuple[list[dict], set[str]]:
    """The make-up both blind splits share: ko/ru/uk/pl about 40 each and 15 English, 50-60% axis,
    unique ids named by the split and language, positives exactly the axis items. Returns the
    items and their negatives' categories."""
    items = load_items(repo_root / "evaluation" / name)
    langs = Counter(i["lang"] for i in items)
    assert len(items) >= 170 and set(langs) == {"en", "ko", "ru", "uk", "pl"}
    assert all(langs[lang] >= 38 for lang in ("ko", "ru", "uk", "pl")) and langs["en"] >= 15
    assert 0.50 <= sum(i["label"] for i in items) / len(items) <= 0.60
    assert len({i["id"] for i in items}) == len(items)
    assert all(i["id"].startswith(f"{prefix}-{i['lang']}-") for i in items)
    assert all((i["kind"] == "positive") == i["label"] for i in items)
    return items, {i["category"] for i in items if not i["label"]}


def test_the_third_held_out_split_is_what_it_says(repo_root):
    _, traps = blind_split_traps(repo_root, "axis_heldout3_ml.jsonl", "ml3")
    assert {"adversary_list", "dprk_hackers", "culture", "poland_arms", "war_no_korea"} <= traps


def test_the_fourth_held_out_split_is_what_it_says(repo_root):
    items, traps = blind_split_traps(repo_root, "axis_heldout4_ml.jsonl", "ml4")
    assert {i["kind"] for i in items if not i["label"]} == {"hard_negative", "easy_negative"}
    assert {"authoritarian_list", "hackers", "kpop", "koryo_saram", "poland_k2", "history", "war_no_korea"} <= traps
    earlier = {i["title"] for name in ("axis_labeled.jsonl", "axis_holdout.jsonl", "axis_heldout_ml.jsonl",
                                      "axis_heldout2_ml.jsonl", "axis_heldout3_ml.jsonl")
               for i in load_items(repo_root / "evaluation" / name)}
    assert not earlier & {i["title"] for i in items}


def test_the_fifth_held_out_split_is_what_it_says(repo_root):
    items, traps = blind_split_traps(repo_root, "axis_heldout5_ml.jsonl", "ml5")
    assert {i["kind"] for i in items if not i["label"]} == {"hard_negative", "negative"}
    assert sum(i["kind"] == "hard_negative" for i in items) >= 40
    assert {"list_of_adversaries", "cyber", "culture", "arms_export", "war", "inter_korean"} <= traps
    earlier = {i["title"] for name in ("axis_labeled.jsonl", "axis_holdout.jsonl", "axis_heldout_ml.jsonl",
                                      "axis_heldout2_ml.jsonl", "axis_heldout3_ml.jsonl", "axis_heldout4_ml.jsonl")
               for i in load_items(repo_root / "evaluation" / name)}
    assert not earlier & {i["title"] for i in items}


def test_scores_are_the_tagger_s_confusion_counts(repo_root):
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    items = load_items(repo_root / "evaluation/axis_heldout_ml.jsonl")[:40]
    result = evaluate(items, tagger)
    counts = Counter()
    for item in items:
        predicted = tagger.tag(item["id"], item["title"], "", item.get("summary") or "", item["lang"]).is_axis
        counts[(predicted, item["label"])] += 1
    ours = result["ours"]["all"]
    assert (ours.tp, ours.fp, ours.fn, ours.tn) == (counts[True, True], counts[True, False], counts[False, True], counts[False, False])
    assert ours.n == len(items) == sum(result["ours"][lang].n for lang in {i["lang"] for i in items})


def test_every_split_is_printed_with_languages_and_baseline(repo_root, tmp_path):
    result = subprocess.run([sys.executable, "-m", "evaluation.tagging", "--corpus", str(tmp_path)],
                            cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("axis_labeled.jsonl", "axis_holdout.jsonl", "axis_heldout_ml.jsonl", "axis_heldout2_ml.jsonl",
                 "axis_heldout3_ml.jsonl", "axis_heldout4_ml.jsonl", "axis_heldout5_ml.jsonl"):
        assert name in out
    assert out.count("baseline") == 7 and "no real-world set" in out
    for lang in ("en", "ko", "ru", "uk", "pl"):
        assert f"\n  {lang} " in out


def test_errors_are_listed_under_their_set_s_heading(repo_root, capsys):
    from evaluation.tagging import report

    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    items = [{"id": "x1", "title": "Kim Jong Un and Putin sign a defence treaty in Pyongyang", "lang": "en", "label": 0}]
    result = evaluate(items, tagger, show_errors=True)
    assert capsys.readouterr().out == ""  # nothing printed before the heading
    report("the set", result)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "the set" and lines[-1].startswith("  FP ") and "defence treaty" in lines[-1]
