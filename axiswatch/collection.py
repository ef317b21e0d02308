"""How often CPython's cyclic garbage collector runs during a night.

A night keeps a growing heap of objects alive until its end: tens of thousands of feed entries,
downloads and extractions. With CPython's default thresholds (a collection every 700 new
container objects) the collector rescanned that whole heap 20-21 times per benchmark night,
0.04-0.32 s each, and every collection stalls all threads, the 64 download threads included.
Collections longer than 5 ms paused 5.3-5.8 s per night in all (measured with ``gc.callbacks``,
three nights; the benchmark's local HTTP servers run in the same process). Collecting after
10,000 new objects cut that to 0.85-1.39 s, and peak memory did not grow (837-853 MB against
856-873 MB): almost nothing a night allocates forms reference cycles, so reference counting
frees it without the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

NIGHT_THRESHOLDS = (10_000, 10, 10)


@contextmanager
def fewer_collections(thresholds: tuple[int, int, int] = NIGHT_THRESHOLDS) -> Iterator[None]:
    """Run the block with the collector's ``thresholds``, restoring the previous ones after."""
    previous = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
