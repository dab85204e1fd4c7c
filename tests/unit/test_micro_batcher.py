"""The micro-batcher and the bucket planner, with plain Python work instead of a model."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pytest_honesty.backends._batcher import MicroBatcher
from pytest_honesty.backends._hf_runner import plan_buckets


class Recorder:
    """A batch function that doubles numbers and remembers how it was called."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[int] = set()
        self.delay_s = delay_s
        self.active = 0
        self.max_active = 0
        #: set once the first batch is being worked on
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, batch: list[int]) -> list[int | BaseException]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.batches.append(list(batch))
            self.threads.add(threading.get_ident())
            self.started.set()
            if self.delay_s:
                time.sleep(self.delay_s)
            return [ValueError(f"bad {n}") if n < 0 else n * 2 for n in batch]
        finally:
            with self._lock:
                self.active -= 1


def test_concurrent_calls_are_batched_and_results_routed_back() -> None:
    work = Recorder(delay_s=0.05)
    batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=4, max_wait_s=0.01)

    async def main() -> list[int]:
        try:
            return await asyncio.gather(*(batcher.submit(n) for n in range(10)))
        finally:
            await batcher.aclose()

    results = asyncio.run(main())
    assert results == [n * 2 for n in range(10)]
    assert sorted(len(b) for b in work.batches) == [2, 4, 4]
    assert sorted(n for b in work.batches for n in b) == list(range(10))
    # One worker thread, never the event loop's, never two batches at once.
    assert len(work.threads) == 1
    assert threading.get_ident() not in work.threads
    assert work.max_active == 1
    assert batcher.stats.sizes == [len(b) for b in work.batches]


def test_requests_arriving_while_the_worker_is_busy_form_the_next_batch() -> None:
    work = Recorder(delay_s=0.1)
    batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=8, max_wait_s=0.0)

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit(1))
        # the worker now runs [1] (an event, not a sleep: a busy machine may start it late)
        assert await asyncio.to_thread(work.started.wait, 30)
        later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
        assert await first == 2
        assert await asyncio.gather(*later) == [4, 6, 8]
        await batcher.aclose()

    asyncio.run(main())
    assert work.batches == [[1], [2, 3, 4]]


def test_an_error_for_one_request_reaches_only_its_caller() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(Recorder(), max_batch=8)

    async def main() -> list[object]:
        try:
            return await asyncio.gather(
                *(batcher.submit(n) for n in (1, -1, 3)), return_exceptions=True
            )
        finally:
            await batcher.aclose()

    ok1, bad, ok3 = asyncio.run(main())
    assert ok1 == 2 and ok3 == 6
    assert isinstance(bad, ValueError) and str(bad) == "bad -1"


def test_a_failing_batch_fails_every_caller_and_the_batcher_goes_on() -> None:
    calls = 0

    def flaky(batch: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("worker exploded")
        return list(batch)

    batcher: MicroBatcher[int, int] = MicroBatcher(flaky, max_batch=8)

    async def main() -> tuple[list[object], int]:
        failed = await asyncio.gather(*(batcher.submit(n) for n in (1, 2)), return_exceptions=True)
        after = await batcher.submit(5)
        await batcher.aclose()
        return list(failed), after

    failed, after = asyncio.run(main())
    assert [str(e) for e in failed] == ["worker exploded", "worker exploded"]
    assert after == 5


def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    work = Recorder(delay_s=0.2)
    batcher: MicroBatcher[int, int] = MicroBatcher(work, max_batch=8)

    async def main() -> int:
        impatient = asyncio.ensure_future(asyncio.wait_for(batcher.submit(1), 0.05))
        patient = asyncio.ensure_future(batcher.submit(2))
        with pytest.raises(asyncio.TimeoutError):
            await impatient
        result = await patient
        await batcher.aclose()
        return result

    assert asyncio.run(main()) == 4


def test_the_batcher_survives_successive_event_loops() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(Recorder(), max_batch=8)
    assert asyncio.run(batcher.submit(1)) == 2
    assert asyncio.run(batcher.submit(2)) == 4  # a fresh loop: a fresh collector task

    asyncio.run(batcher.aclose())
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(batcher.submit(3))


def test_a_wrong_number_of_results_is_an_error_not_a_hang() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda batch: [], max_batch=8)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="0 results for 1 requests"):
            await batcher.submit(1)
        await batcher.aclose()

    asyncio.run(main())


def test_plan_buckets_groups_by_key_and_similar_length() -> None:
    lengths = [30, 300, 40, 35, 90, 1000]
    keys = ["g", "g", "g", "s", "g", "g"]
    buckets = plan_buckets(lengths, keys)
    assert sorted(i for b in buckets for i in b) == list(range(6))
    assert [3] in buckets  # another sampling key never shares a call
    assert [0, 2, 4] in buckets  # 30..90: within 64 tokens of the shortest
    assert [1] in buckets and [5] in buckets  # 300 and 1000 are far apart
    for bucket in buckets:
        assert len({keys[i] for i in bucket}) == 1
        assert [lengths[i] for i in bucket] == sorted(lengths[i] for i in bucket)


def test_plan_buckets_keeps_equal_prompts_together() -> None:
    assert plan_buckets([50] * 8, ["g"] * 8) == [list(range(8))]
    assert plan_buckets([], []) == []
