"""Who an outlet is: the affiliations a feed may declare (``affiliation:`` in the feeds file).

"Is it only state media?" needs every outlet classified the same way, from public sources cited
next to each feed, and never guessed: an outlet nobody classified is ``unknown``, and an unknown
outlet counts neither as state media nor as independent corroboration.
"""

from __future__ import annotations

# affiliation -> what it means (the feeds file cites, per outlet, the public source of its class)
AFFILIATIONS: dict[str, str] = {
    "state_ru": "state-owned or state-controlled media of Russia",
    "state_kp": "state media of North Korea (or a verbatim mirror of it)",
    "state_cn": "state-owned or party-controlled media of China",
    "state_ua": "state-owned media of Ukraine",
    "state_funded": "funded by a government, with editorial independence in statute (e.g. DW, France 24, Yonhap)",
    "public_service": "public-service broadcaster funded by a licence fee (e.g. the BBC)",
    "independent": "privately owned, not state-funded, editorially independent by its own charter or record",
    "private": "privately owned, without a documented claim of editorial independence",
    "wire": "news agency whose copy other outlets republish (AP, Reuters, Interfax)",
    "unknown": "not classified",
}
# The affiliations that make a story "state media only" when every outlet carrying it has one.
STATE_MEDIA = frozenset({"state_ru", "state_kp", "state_cn", "state_ua"})
UNKNOWN = "unknown"


def check_affiliation(value: str) -> str:
    """The affiliation as stored, or ValueError naming the allowed values."""
    value = (value or UNKNOWN).strip()
    if value not in AFFILIATIONS:
        raise ValueError(f"unknown affiliation {value!r}: use one of {', '.join(AFFILIATIONS)}")
    return value
