"""The engine skips its read-only cache lookup while lookups keep missing (a cold
run), and the results stay the same: the claim's transaction still finds stored
results, so nothing is called twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pytest_honesty.backends import Backend, BackendOptions, ModelSpec
from pytest_honesty.calls.cache import Cache
from pytest_honesty.calls.engine import Engine
from pytest_honesty.types import Completion, Message, SamplingParams

PARAMS = SamplingParams()


class Counting(Backend):
    def __init__(self) -> None:
        super().__init__(ModelSpec("fake", "m"), BackendOptions())
        self.calls: list[str] = []

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.calls.append(messages[-1].content)
        await asyncio.sleep(0)
        return Completion(text=f"answer to {messages[-1].content}")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache") as opened:
        yield opened


def _count_lookups(engine: Engine) -> list[str]:
    worker = engine._worker
    assert worker is not None
    seen: list[str] = []
    original = worker.lookup

    async def lookup(key: str) -> Completion | None:
        seen.append(key)
        return await original(key)

    worker.lookup = lookup  # type: ignore[method-assign]
    return seen


async def _ask(engine: Engine, backend: Backend, prompts: list[str]) -> list[str]:
    replies = [await engine.complete(backend, [Message("user", p)], PARAMS) for p in prompts]
    await engine.aclose()
    return [r.text for r in replies]


def test_a_cold_run_stops_looking_up_and_still_calls_each_prompt_once(cache: Cache) -> None:
    engine, backend = Engine(cache=cache), Counting()
    lookups = _count_lookups(engine)
    prompts = [f"q{i}" for i in range(200)]
    replies = asyncio.run(_ask(engine, backend, prompts))
    assert replies == [f"answer to {p}" for p in prompts]
    assert backend.calls == prompts
    # a few dozen misses turn the lookups off; the claims still run for every call
    assert 10 < len(lookups) < 60
    assert cache.counts()["completions"] == 200


def test_a_skipped_lookup_still_finds_the_stored_result(cache: Cache) -> None:
    first, backend = Engine(cache=cache), Counting()
    asyncio.run(_ask(first, backend, ["stored"]))
    engine = Engine(cache=cache)
    engine._hit_rate = 0.0  # as after a long run of misses
    lookups = _count_lookups(engine)
    replies = asyncio.run(_ask(engine, backend, ["stored", "new"]))
    assert replies == ["answer to stored", "answer to new"]
    assert backend.calls == ["stored", "new"]  # "stored" came from the claim's check
    assert engine.stats.cache_hits == 1
    assert lookups == []


def test_a_warm_run_keeps_looking_up(cache: Cache) -> None:
    prompts = [f"q{i}" for i in range(100)]
    asyncio.run(_ask(Engine(cache=cache), Counting(), prompts))
    engine, backend = Engine(cache=cache), Counting()
    lookups = _count_lookups(engine)
    asyncio.run(_ask(engine, backend, prompts))
    assert backend.calls == []
    assert len(lookups) == 100


def test_hits_through_claims_turn_the_lookups_back_on(cache: Cache) -> None:
    prompts = [f"q{i}" for i in range(100)]
    asyncio.run(_ask(Engine(cache=cache), Counting(), prompts))
    engine, backend = Engine(cache=cache), Counting()
    engine._hit_rate = 0.0
    lookups = _count_lookups(engine)
    asyncio.run(_ask(engine, backend, prompts))
    assert backend.calls == []
    assert engine.stats.cache_hits == 100
    assert 0 < len(lookups) < 100  # skipped at first, resumed once claims kept hitting
