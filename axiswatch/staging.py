"""Run-scoped staging files: how bulk data moves between Airflow tasks (never through XCom).

Each run gets its own folder; feed results, planned page batches and extracted pages are JSON
files in it, written atomically (temporary file, then rename) so a retried task never leaves a
half-written file behind for the next one.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

from ingest.records import (
    Entry,
    Extraction,
    FeedResult,
    FeedSource,
    FeedState,
    raw_json,
)
from ingest.text import safe_name


def run_folder(staging_dir: str | Path, run_id: str) -> Path:
    """The staging folder of one run (run ids become safe folder names)."""
    return Path(staging_dir) / safe_name(run_id)


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, default=_default), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot stage {type(value).__name__}")


def entry_to_dict(entry: Entry) -> dict:
    # Every field is a string, a number, a datetime or None: a shallow copy is the whole entry,
    # without ``asdict``'s deep copy of each value (a large share of planning a night's pages).
    return dict(vars(entry))


def entry_from_dict(data: dict) -> Entry:
    data = dict(data)
    if data.get("published_at"):
        data["published_at"] = datetime.fromisoformat(data["published_at"])
    if isinstance(data.get("raw"), dict):  # staged by a version that kept the raw fields as a dict
        data["raw"] = raw_json(data["raw"])
    return Entry(**data)


def feed_result_to_dict(result: FeedResult) -> dict:
    data = asdict(replace(result, entries=[]))  # the entries are copied once, below
    data["entries"] = [entry_to_dict(e) for e in result.entries]
    return data


def feed_result_from_dict(data: dict) -> FeedResult:
    data = dict(data)
    data["source"] = FeedSource(**data["source"])
    data["state"] = FeedState(**data["state"])
    if data.get("prior_state") is not None:
        data["prior_state"] = FeedState(**data["prior_state"])
    data["entries"] = [entry_from_dict(e) for e in data["entries"]]
    return FeedResult(**data)


def extraction_from_dict(data: dict) -> Extraction:
    return Extraction(**data)


def signature_to_dict(sig) -> dict:
    """A story signature (``transform.clusters.Signature``) as JSON: its MinHash values as
    base64 of little-endian 32-bit words, so a page task's signatures cost the cluster task a
    decode, not the shingling and hashing again."""
    return {"lede": _words(sig.lede), "text": None if sig.text is None else _words(sig.text),
            "title_tokens": sorted(sig.title_tokens), "url": sig.url, "head": sig.head, "caption": sig.caption}


def signature_from_dict(data: dict):
    """The signature ``signature_to_dict`` staged, or None when its MinHash length is not this
    code's (the cluster step then makes it again). Signatures are deterministic, so one staged by
    the same code on another machine is the one the cluster step would make."""
    from transform.clusters import NUM_PERM, Signature

    lede = _array(data["lede"])
    text = None if data["text"] is None else _array(data["text"])
    if len(lede) != NUM_PERM or (text is not None and len(text) != NUM_PERM):
        return None
    return Signature(lede, text, frozenset(data["title_tokens"]), data["url"], head=data["head"],
                     caption=data["caption"])


def _words(values) -> str:
    import numpy as np

    return base64.b64encode(np.asarray(values, dtype="<u4").tobytes()).decode("ascii")


def _array(text: str):
    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
