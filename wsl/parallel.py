"""``--jobs N``: run one function over many inputs in N processes, results in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from wsl.progress import track

T = TypeVar("T")
R = TypeVar("R")


def map_jobs(fn: Callable[[T], R], items: Sequence[T], jobs: int = 1, description: str = "working") -> Iterator[R]:
    """Yield ``fn(item)`` for each item, in order, using ``jobs`` worker processes (1: in this process).

    ``fn`` must be a module-level function so it can be sent to the workers. A worker's exception
    (a BadInput, say) is re-raised here unchanged.
    """
    if jobs < 1:
        from wsl.errors import BadInput

        raise BadInput(f"--jobs must be at least 1, got {jobs}")
    if jobs == 1 or len(items) <= 1:
        for item in track(items, description):
            yield fn(item)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        yield from track(pool.map(fn, items), description, total=len(items))


def shard_items(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items of shard K of N (1-based): every N-th item of the sorted list, starting at the K-th.

    Deterministic and independent of the machine, so N jobs of a SLURM array (or GNU parallel) each
    take their share of one folder with no file lists, and together cover it exactly once.
    """
    ordered = sorted(items, key=str)
    if shard is None:
        return ordered
    k, n = shard
    return ordered[k - 1 :: n]


def shard_inputs(items: Sequence[T], shard: tuple[int, int] | None, noun: str) -> list[T]:
    """``shard_items``, refusing an empty result with a message naming what was looked for."""
    chosen = shard_items(items, shard)
    if not chosen:
        from wsl.errors import BadInput

        raise BadInput(f"no {noun} files in the given inputs" + (f" for shard {shard[0]}/{shard[1]}" if shard else ""))
    return chosen
