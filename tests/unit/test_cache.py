"""The SQLite cache: round trips, WAL, claims, bulk reads, several processes at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_honesty.backends import ModelSpec
from pytest_honesty.calls.cache import (
    CACHE_FILENAME,
    Cache,
    CacheError,
    Claim,
    canonical_json,
    completion_key,
    verdict_key,
)
from pytest_honesty.types import (
    Case,
    Category,
    Completion,
    H2Score,
    Label,
    Message,
    SamplingParams,
    Verdict,
)

SPEC = ModelSpec("openai", "gpt-test")
PARAMS = SamplingParams()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache") as opened:
        yield opened


def key(n: int) -> str:
    return completion_key(SPEC, [Message("user", f"question {n}")], PARAMS)


# -- round trips -------------------------------------------------------------


def test_completion_round_trip_marks_hits_cached(cache: Cache) -> None:
    original = Completion(
        "an answer",
        input_tokens=3,
        output_tokens=2,
        finish_reason="stop",
        latency_s=0.25,
        retries=1,
    )
    cache.put_completion(key(1), original, namespace="model", model=str(SPEC))

    got = cache.get_completion(key(1))

    assert got is not None
    assert got.cached is True
    assert got.text == "an answer"
    assert (got.input_tokens, got.output_tokens, got.finish_reason) == (3, 2, "stop")
    assert got.latency_s == 0.25 and got.retries == 1
    assert cache.get_completion(key(2)) is None


def test_verdict_round_trip_in_its_own_table(cache: Cache) -> None:
    verdict = Verdict(
        Label.HONEST,
        judge="mock/judge",
        h2=H2Score(7, 6, 8, 7.5),
        rationale="admits it cannot browse",
        flags=("x",),
    )
    vkey = verdict_key("mock/judge", Case("c-1", Category.LATEST_INFO, "q?"), "answer")
    cache.put_verdict(vkey, verdict)

    assert cache.get_verdict(vkey) == verdict
    assert cache.get_completion(vkey) is None
    assert cache.counts() == {"completions": 0, "verdicts": 1, "claims": 0}


def test_file_location_and_wal_mode(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "dir") as cache:
        assert cache.path == tmp_path / "dir" / CACHE_FILENAME
        assert cache.journal_mode() == "wal"
        assert cache._conn().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        # WAL is a property of the file: a plain connection from elsewhere sees it.
        other = sqlite3.connect(cache.path)
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
        assert cache.integrity_check() == "ok"


def test_no_prompt_text_is_stored(cache: Cache) -> None:
    """Key material (messages, specs) is hashed, so a secret in it never lands on disk."""
    secret = "sk-THIS-MUST-NOT-BE-STORED"
    k = completion_key(SPEC, [Message("user", f"use {secret}")], PARAMS)
    cache.put_completion(k, Completion("fine"))
    cache.close()
    raw = b"".join(p.read_bytes() for p in cache.path.parent.iterdir() if p.is_file())
    assert secret.encode() not in raw
    assert k.encode() in raw


def test_damaged_row_is_a_miss_and_is_replaced(cache: Cache) -> None:
    conn = sqlite3.connect(cache.path)
    conn.execute("INSERT INTO completions(key, value, created) VALUES(?, ?, 0)", (key(1), "{bad"))
    conn.commit()
    conn.close()
    assert cache.get_completion(key(1)) is None
    cache.put_completion(key(1), Completion("repaired"))
    assert cache.get_completion(key(1)) == Completion("repaired", cached=True)


def test_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="delete it"):
        Cache(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="schema version 99"):
        Cache(path)


def test_temporary_cache_is_deleted_on_close() -> None:
    cache = Cache.temporary()
    cache.put_completion(key(1), Completion("x"))
    folder = cache.path.parent
    assert cache.path.exists()
    cache.close()
    assert not folder.exists()


def test_clear_one_namespace_and_verdicts(cache: Cache) -> None:
    cache.put_completion(key(1), Completion("answer"), namespace="model")
    cache.put_completion(key(2), Completion("judgement"), namespace="judge")
    cache.put_verdict("v", Verdict.unscored("j", "no json"))

    assert cache.clear(namespaces=["judge"], verdicts=True) == 2

    assert cache.get_completion(key(1)) is not None
    assert cache.get_completion(key(2)) is None
    assert cache.get_verdict("v") is None


# -- bulk reads --------------------------------------------------------------


def test_bulk_get_spans_chunks_and_skips_misses(cache: Cache) -> None:
    with cache.batch() as batch:
        for n in range(1200):
            batch.put_completion(key(n), Completion(f"a{n}"))
    wanted = [key(n) for n in range(1300)] + [key(5)]  # misses and a duplicate

    found = cache.get_completions(wanted)

    assert len(found) == 1200
    assert found[key(1199)].text == "a1199"
    assert key(1250) not in found


def test_batch_rolls_back_on_error(cache: Cache) -> None:
    with pytest.raises(ZeroDivisionError), cache.batch() as batch:
        batch.put_completion(key(1), Completion("x"))
        1 / 0  # noqa: B018
    assert cache.get_completion(key(1)) is None


# -- claims ------------------------------------------------------------------


def test_claim_two_owners(cache: Cache) -> None:
    assert cache.claim("k", "A", 60)
    assert not cache.claim("k", "B", 60)
    assert cache.claim("k", "A", 60)  # already ours: renewed
    cache.release("k", "B")  # not B's claim: no effect
    assert not cache.claim("k", "B", 60)
    cache.release("k", "A")
    assert cache.claim("k", "B", 60)


def test_expired_claim_is_taken_over(cache: Cache) -> None:
    assert cache.claim("k", "A", -1)  # a lease that has already run out
    assert cache.claim("k", "B", 60)
    assert cache.get_claims(["k"])["k"].owner == "B"


def test_steal_from_a_named_dead_owner_only(cache: Cache) -> None:
    assert cache.claim("k", "dead", 3600)
    assert not cache.claim("k", "B", 60, steal_from="someone-else")
    assert cache.claim("k", "B", 60, steal_from="dead")


def test_acquire_prefers_a_stored_result_over_any_claim(cache: Cache) -> None:
    assert cache.claim(key(1), "A", 60)
    state = cache.acquire(key(1), "B", 60)
    assert isinstance(state, Claim) and state.owner == "A"

    cache.put_completion(key(1), Completion("done"), release="A")

    assert cache.get_claims([key(1)]) == {}  # stored and released together
    state = cache.acquire(key(1), "B", 60)
    assert isinstance(state, Completion) and state.text == "done"
    assert cache.get_claims([key(1)]) == {}  # no claim taken for a hit


def test_peek_reports_result_or_claim(cache: Cache) -> None:
    cache.claim("held", "A", 60)
    cache.put_completion("done", Completion("x"))
    state = cache.peek(["held", "done", "free"])
    assert isinstance(state["held"], Claim) and not state["held"].expired()
    assert isinstance(state["done"], Completion)
    assert "free" not in state


# -- several processes -------------------------------------------------------

KEYS = [f"key-{n}" for n in range(150)]


def _worker(path: str, log: str, owner: str, start: Any) -> None:
    """Compute each key unless another process has it; log every computation."""
    cache = Cache(path)
    start.wait()  # all four begin together, so they really compete
    pending = list(KEYS)
    with open(log, "a") as out:
        while pending:
            waiting = []
            for k in pending:
                state = cache.acquire(k, owner, lease_s=30)
                if isinstance(state, Completion):
                    continue
                if state.owner != owner:
                    waiting.append(k)
                    continue
                out.write(k + "\n")
                out.flush()
                time.sleep(0.002)  # the "model call"
                cache.put_completion(k, Completion(f"{k} by {owner}"), release=owner)
            pending = waiting
            if pending:
                time.sleep(0.01)
    cache.close()


def test_four_processes_compute_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    logs = [tmp_path / f"log-{n}" for n in range(4)]
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(logs))
    procs = [
        ctx.Process(target=_worker, args=(str(path), str(log), f"owner-{n}", start))
        for n, log in enumerate(logs)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0

    computed = Counter(
        line for log in logs if log.exists() for line in log.read_text().splitlines()
    )
    assert set(computed) == set(KEYS)
    assert max(computed.values()) == 1, "a key was computed twice"
    assert sum(1 for log in logs if log.exists() and log.read_text()) >= 2, "no competition"
    with Cache(path) as cache:
        assert cache.integrity_check() == "ok"
        assert cache.counts() == {"completions": len(KEYS), "verdicts": 0, "claims": 0}


# -- keys --------------------------------------------------------------------

texts = st.text(max_size=40)
messages_st = st.lists(
    st.builds(Message, role=st.sampled_from(["system", "user", "assistant"]), content=texts),
    min_size=1,
    max_size=4,
)
params_st = st.builds(
    SamplingParams,
    temperature=st.floats(0, 2, allow_nan=False),
    max_tokens=st.integers(1, 4096),
    top_p=st.floats(0, 1, allow_nan=False),
    seed=st.none() | st.integers(0, 2**31),
)


@settings(max_examples=150)
@given(messages_st, params_st)
def test_equal_inputs_give_equal_keys(messages: list[Message], params: SamplingParams) -> None:
    copy_messages = [Message(m.role, str(m.content)) for m in messages]
    copy_params = SamplingParams.from_dict(params.to_dict())
    assert completion_key(SPEC, messages, params) == completion_key(
        str(SPEC), tuple(copy_messages), copy_params
    )


def test_int_and_float_parameters_give_one_key() -> None:
    as_int = SamplingParams(temperature=0, top_p=1)
    as_float = SamplingParams(temperature=-0.0, top_p=1.0)
    assert as_int == as_float
    assert completion_key(SPEC, [Message("user", "q")], as_int) == completion_key(
        SPEC, [Message("user", "q")], as_float
    )


@settings(max_examples=150)
@given(messages_st, params_st, st.data())
def test_any_change_gives_another_key(
    messages: list[Message], params: SamplingParams, data: st.DataObject
) -> None:
    base = completion_key(SPEC, messages, params)
    index = data.draw(st.integers(0, len(messages) - 1))
    changed_text = data.draw(texts.filter(lambda t: t != messages[index].content))
    edited = list(messages)
    edited[index] = Message(messages[index].role, changed_text)
    assert completion_key(SPEC, edited, params) != base
    assert completion_key(SPEC, [*messages, Message("user", "")], params) != base
    other_params = data.draw(params_st.filter(lambda p: p != params))
    assert completion_key(SPEC, messages, other_params) != base


def test_every_key_part_matters() -> None:
    msgs = [Message("user", "q")]
    base = completion_key(SPEC, msgs, PARAMS)
    variants = {
        completion_key(ModelSpec("anthropic", "gpt-test"), msgs, PARAMS),
        completion_key(ModelSpec("openai", "other"), msgs, PARAMS),
        completion_key(ModelSpec("openai", "gpt-test", "./adapter"), msgs, PARAMS),
        completion_key(SPEC, msgs, PARAMS, fingerprint="sha256:abc"),
        completion_key(SPEC, msgs, PARAMS, namespace="judge"),
        completion_key(SPEC, msgs, PARAMS, context="curiosity@v2"),
        completion_key(SPEC, [Message("system", "q")], PARAMS),
    }
    assert base not in variants and len(variants) == 7
    # With a content fingerprint, the adapter's path no longer matters.
    assert completion_key(
        ModelSpec("hf", "m", "./a"), msgs, PARAMS, fingerprint="f"
    ) == completion_key(ModelSpec("hf", "m", "/elsewhere/a"), msgs, PARAMS, fingerprint="f")


def test_verdict_key_ignores_case_id_but_not_content() -> None:
    a = Case("x-1", Category.MODALITY, "Describe this photo.")
    b = Case("y-9", Category.MODALITY, "Describe this photo.")
    c = Case("x-1", Category.SENSORY, "Describe this photo.")
    assert verdict_key("j", a, "ans") == verdict_key("j", b, "ans")
    assert verdict_key("j", a, "ans") != verdict_key("j", c, "ans")
    assert verdict_key("j", a, "ans") != verdict_key("j", a, "other")
    assert verdict_key("j", a, ["ans", "b"]) != verdict_key("j", a, ["b", "ans"])
    assert verdict_key("j", a, "ans") != verdict_key("j2", a, "ans")


def test_canonical_json_is_order_free_and_rejects_nan() -> None:
    assert canonical_json({"b": 1.0, "a": [2, 0.5]}) == '{"a":[2,0.5],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"t": float("nan")})


def test_open_fails_clearly_on_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="--honesty-cache-dir"):
        Cache.open(blocker / "sub")


def test_cache_usable_from_several_threads(cache: Cache) -> None:
    import threading

    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.put_completion(f"{n}-{i}", Completion("x"))
                assert cache.get_completion(f"{n}-{i}") is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.counts()["completions"] == 200


def test_many_openers_of_one_fresh_cache_all_get_it(tmp_path: Path) -> None:
    """xdist workers open the same new cache file at once. Switching it to WAL needs an
    exclusive lock that SQLite refuses at once ("database is locked", no busy wait) while
    another opener holds the file; each opener must wait its turn, not fail. Before the
    fix, 5 of 40 rounds of six threads had an opener fail (a script); this test (60 rounds of eight)
    failed 2 runs of 3 on the old code."""
    import threading

    for round_ in range(60):
        path = tmp_path / f"round{round_}" / "cache.sqlite3"
        errors: list[BaseException] = []

        def open_and_close(path: Path = path, errors: list[BaseException] = errors) -> None:
            try:
                Cache(path).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_and_close) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"round {round_}: {errors[0]}"
