"""The transform stage's thresholds, as a section of the one settings tree (``axiswatch.config``
assembles it; defaults live here, once)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClusterSettings(BaseModel):
    """Story clustering (the ``clusters:`` section). The thresholds were chosen on
    evaluation/dupes_labeled.jsonl; see `make eval-dedup`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(7.0, gt=0)  # a copy joins a story first seen this many days around it
    text_threshold: float = Field(0.4, ge=0, le=1)  # Jaccard of body shingles
    lede_threshold: float = Field(0.6, ge=0, le=1)  # Jaccard of title+lede unigrams and bigrams
    title_overlap: float = Field(0.3, ge=0, le=1)  # ...and the headlines must share this much (reused captions differ here)
    close_hours: float = Field(6.0, ge=0)  # copies this close in time may share less of their headlines (but some)
    same_url_lede: float = Field(0.3, ge=0, le=1)  # one URL, edited headline: a weaker lede match (with title_overlap) suffices...
    same_url_title: float = Field(0.5, ge=0, le=1)  # ...or half the headline; otherwise the URL was reused
    min_text_words: int = Field(15, ge=1)  # fewer body words: only the title and lede signature is used
    event_hours: float = Field(48.0, gt=0)  # stories of one event are published this close to one of its stories
    event_threshold: float = Field(0.45, ge=0, le=1)  # weighted share of actors, numbers, topics, countries (transform.event_links)
