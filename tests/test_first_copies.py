"""The table the extraction workers share to give only the first page with a text its tag,
supply events and signature."""

import multiprocessing

from transform.first_copies import PROBES, FirstCopies


def _claim(copies: FirstCopies, content_hash: str, answers) -> None:
    answers.put(copies.first(content_hash))


def test_only_the_first_claim_of_a_text_is_first_in_any_process():
    copies = FirstCopies(100)
    a, b = "a" * 64, "b" * 64
    answers = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_claim, args=(copies, a, answers))
    child.start()
    child.join()
    assert answers.get(timeout=5) is True  # the child saw the text first
    assert copies.first(a) is False  # ...so here it is a copy
    assert copies.first(b) is True and copies.first(b) is False


def test_a_text_that_finds_no_free_slot_counts_as_first():
    copies = FirstCopies(1)
    size = len(copies._slots)
    # PROBES texts whose keys all start at slot 1 fill the slots a further one would look at.
    crowd = [f"{(i * size + 1):016x}" + "0" * 48 for i in range(PROBES)]
    assert all(copies.first(h) for h in crowd)
    crowded = f"{(PROBES * size + 1):016x}" + "0" * 48
    assert copies.first(crowded) is True and copies.first(crowded) is True  # work done twice, never skipped
    assert copies.first(crowd[0]) is False


def _die_holding_the_lock(copies: FirstCopies) -> None:
    import os

    copies._lock.acquire()
    os._exit(0)  # as a worker killed at its page's time limit: the lock is never released


def test_a_worker_killed_holding_the_lock_does_not_stop_the_others():
    """Fails (the claim never returns) when the lock is waited for without a limit."""
    import threading

    copies = FirstCopies(100)
    child = multiprocessing.get_context("fork").Process(target=_die_holding_the_lock, args=(copies,))
    child.start()
    child.join()
    answers = []
    claim = threading.Thread(target=lambda: answers.append(copies.first("c" * 64)), daemon=True)
    claim.start()
    claim.join(timeout=10)
    assert not claim.is_alive() and answers == [True]  # counted as first: the work is done, not lost
