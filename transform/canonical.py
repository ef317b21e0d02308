"""Canonical URLs: one spelling per article so that feeds, reruns and outlets agree on identity.

courlan does the normalization (host case, default ports, sorted query, known trackers); we add
the fragment and the campaign parameters news feeds append that courlan's list lacks. Parameters
that may identify an article (``id``, ``aid``, ``p``) are kept: merging two stories is worse than
missing a duplicate, which content hashing and clustering catch anyway.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

_EXTRA_TRACKERS = re.compile(
    r"^(utm_\w+|cmpid|ocid|ito|mc_cid|mc_eid|fbclid|gclid|dclid|yclid|igshid|_hsenc|_hsmi|"
    r"ref|ref_src|rss|from|feed|feedtype|spm|share|smid|sr_share|at_medium|at_campaign|"
    r"at_custom\d|cid|xtor|partner|__twitter_impression|wt\.mc_id|ns_mchannel|ns_source)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """Return the canonical form of ``url``; an unparseable URL comes back stripped, unchanged."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        normalized = normalize_url(url, strict=False, trailing_slash=True)
    except (ValueError, AttributeError):
        normalized = url
    parts = urlsplit(normalized)
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _EXTRA_TRACKERS.match(k)]
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))
