"""Which page is the first with its text, across the extraction worker processes.

A syndicated story arrives under several URLs with the same text. The load keeps one copy and
records the others as duplicates (``transform.articles.split_exact_duplicates``), so tagging the
others, reading them for supply events and signing them is work nobody reads. The extraction
workers therefore ask this table, shared by every worker, whether a page's text was seen before,
and only the first page with a text gets that work. The load keeps the copy that comes first in
the feeds' order, which is usually, not always, the first one extracted; when it is not, the tag
and cluster steps do its work later, as they do for any article without it.
"""

from __future__ import annotations

import multiprocessing

PROBES = 64  # slots looked at per text; a text that finds none free counts as first (harmless)
# A worker killed while holding the lock (its page's time limit, the kernel) never releases it:
# after this long a text counts as first, so the others go on deriving instead of waiting forever.
LOCK_WAIT_S = 1.0


class FirstCopies:
    """Content hashes seen so far, in shared memory: made before the workers fork, so each
    inherits the same table. Open addressing over 64-bit keys (the hash's first 16 hex digits),
    never more than half full for ``expected`` texts, under one lock."""

    def __init__(self, expected: int) -> None:
        size = 1 << max(10, (2 * max(expected, 1)).bit_length())
        self._slots = multiprocessing.RawArray("Q", size)
        self._lock = multiprocessing.Lock()
        self._mask = size - 1

    def first(self, content_hash: str) -> bool:
        """True for the first call with this hash (in any process), False for every later one."""
        key = int(content_hash[:16], 16) | 1  # never 0, which marks a free slot
        slots, mask = self._slots, self._mask
        slot = key & mask
        if not self._lock.acquire(timeout=LOCK_WAIT_S):
            return True
        try:
            for _ in range(PROBES):
                held = slots[slot]
                if held == 0:
                    slots[slot] = key
                    return True
                if held == key:
                    return False
                slot = (slot + 1) & mask
        finally:
            self._lock.release()
        return True
