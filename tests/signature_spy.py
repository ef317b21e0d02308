"""Watching the cluster step's story signatures: which it was handed made already (by the
extraction workers) and which it made itself, and whether the handed ones are the stored rows'."""

from __future__ import annotations

import numpy as np

import warehouse.clusters
from transform.clusters import signature
from transform.settings import ClusterSettings


class SignatureSpy:
    """Patches ``warehouse.clusters`` for one test: ``handed`` gets each call's ``presigned``,
    ``made_here`` every doc whose signature the step made itself."""

    def __init__(self, monkeypatch) -> None:
        self.handed: list[dict] = []
        self.made_here: list = []
        real_cluster, real_signatures = warehouse.clusters.cluster_unclustered, warehouse.clusters.signatures

        def spy(*args, presigned=None, **kwargs):
            self.handed.append(dict(presigned or {}))
            return real_cluster(*args, presigned=presigned, **kwargs)

        def counted(docs, *args, **kwargs):
            self.made_here.extend(docs)
            return real_signatures(docs, *args, **kwargs)

        monkeypatch.setattr(warehouse.clusters, "cluster_unclustered", spy)
        monkeypatch.setattr(warehouse.clusters, "signatures", counted)


STORED_ROWS = ("SELECT id, coalesce(title, ''), coalesce(text, ''), coalesce(summary, ''), canonical_url"
               " FROM articles")


def assert_signatures_of_rows(presigned: dict, rows: list[tuple], settings: ClusterSettings) -> None:
    """Each row's (STORED_ROWS) signature made afresh equals the one handed for it."""
    assert set(presigned) == {r[0] for r in rows}
    for id_, title, text, summary, url in rows:
        assert_same_signature(presigned[id_], signature(warehouse.clusters.Doc(id_, title, text, summary, url), settings))


def assert_same_signature(mine, fresh) -> None:
    """Two story signatures are equal field by field (their MinHash values are arrays)."""
    assert np.array_equal(mine.lede, fresh.lede) and mine.title_tokens == fresh.title_tokens
    assert (mine.text is None and fresh.text is None) or np.array_equal(mine.text, fresh.text)
    assert (mine.url, mine.head, mine.caption) == (fresh.url, fresh.head, fresh.caption)
