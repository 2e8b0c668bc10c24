"""CPU-bound passes over many texts, split over two cores by forking.

Redaction is Python and spaCy work per text, one core at a time. A forked child shares the
parent's loaded models (spaCy, Presidio's recognizers) copy-on-write, so it starts at once and
nothing large is pickled: the work itself is handed over in a module global set before the
fork, only the item range ``(start, end)`` is sent, and only the child's plain result comes
back. ``concurrent.futures`` rather than ``multiprocessing.Pool``: a child that dies (killed
for memory, say) raises ``BrokenProcessPool`` in the parent instead of leaving it waiting.

One split at a time: inside a split, in the parent and in the child, ``split_in_two`` runs its
work serially, so a split redaction does not split its NER again (two cores, two processes).
"""

import bisect
import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

_job: Callable[[int, int], object] | None = None
_splitting = False


def _child(start: int, end: int) -> object:
    if _job is None:
        raise RuntimeError("no work was set before the fork")
    return _job(start, end)


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split_in_two[T](
    work: Callable[[int, int], T],
    weights: Sequence[int],
    *,
    min_items: int,
    min_weight: int,
) -> list[T]:
    """``work(start, end)`` over the items ``[0, len(weights))``: one call, or, when there are
    at least ``min_items`` items or ``min_weight`` in all, two calls on both cores (the second
    half in a forked child), halves of about equal weight. The results, in item order.
    """
    global _job, _splitting
    count, total = len(weights), sum(weights)
    small = count < min_items and total < min_weight
    if _splitting or small or count < 2 or cores() < 2 or not _can_fork():
        return [work(0, count)]
    sizes = list(itertools.accumulate(weights))
    half = min(max(bisect.bisect_left(sizes, total / 2), 1), count - 1)
    _job, _splitting = work, True
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            second = pool.submit(_child, half, count)
            first = work(0, half)
            return [first, second.result()]
    finally:
        _job, _splitting = None, False


def _can_fork() -> bool:
    """Fork is POSIX only, and a daemonic process (a pool's worker) may not have children."""
    return "fork" in multiprocessing.get_all_start_methods() and (
        not multiprocessing.current_process().daemon
    )
