"""How long-running steps report where they are: ``progress(stage, done, total)``.

The command line draws bars from these calls; Airflow tasks and tests pass ``no_progress``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@contextmanager
def one_step(progress: Progress, name: str) -> Iterator[None]:
    """Report a one-step stage's start and end (so long runs show where the time goes)."""
    progress(name, 0, 1)
    yield
    progress(name, 1, 1)
