"""The embedded SmolLM2-135M-Instruct model, really loaded and asked (transformers runtime).

The first run on a machine exports the GGUF to the model cache (~40 s); later runs
load the exported folder in about a second. One model serves the whole module.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from pytest_honesty.backends import BackendOptions, ModelSpec
from pytest_honesty.backends._hf import EmbeddedBackend
from pytest_honesty.types import Completion, Message, SamplingParams

pytest.importorskip("torch")
pytest.importorskip("transformers")

GREEDY = SamplingParams(temperature=0.0, max_tokens=24)


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedBackend]:
    # Forced to transformers: with llama-cpp-python installed, auto would pick llama.cpp,
    # and the batching checks below are about the transformers path.
    backend = EmbeddedBackend(
        ModelSpec.parse("embedded"), BackendOptions(extra={"runtime": "transformers"})
    )
    backend.check()
    backend.load()
    yield backend
    asyncio.run(backend.aclose())


def _ask(backend: EmbeddedBackend, question: str) -> Completion:
    result: Completion = asyncio.run(backend.complete([Message("user", question)], GREEDY))
    return result


def test_it_answers_simple_questions_greedily(embedded: EmbeddedBackend) -> None:
    capital = _ask(embedded, "What is the capital of France? Answer in one sentence.")
    assert "Paris" in capital.text
    assert capital.finish_reason == "stop"
    assert "<|im_end|>" not in capital.text

    arithmetic = _ask(embedded, "What is 2+2?")
    assert "4" in arithmetic.text
    assert arithmetic.input_tokens and arithmetic.input_tokens > 10  # system prompt + question
    assert arithmetic.output_tokens and arithmetic.output_tokens <= GREEDY.max_tokens
    # Greedy decoding is deterministic.
    assert _ask(embedded, "What is 2+2?").text == arithmetic.text


def test_batched_answers_equal_one_by_one_answers(embedded: EmbeddedBackend) -> None:
    questions = [
        "Name a primary color.",
        "Which planet is known as the red planet?",
        "Give me one word that rhymes with cat.",
        "In one short sentence, why do leaves change color in autumn?",
    ]
    one_by_one = [_ask(embedded, q) for q in questions]
    stats = embedded._get_continuous().stats
    widths_before = dict(stats.widths)
    release = threading.Event()
    embedded._executor.submit(release.wait)  # hold the worker until all four are queued

    async def together() -> list[Completion]:
        tasks = [asyncio.ensure_future(embedded.complete([Message("user", q)], GREEDY))
                 for q in questions]
        await asyncio.sleep(0.05)
        release.set()
        return list(await asyncio.gather(*tasks))

    batched = asyncio.run(together())
    # all four really ran together: some decode step had every one of them
    new_widths = {w for w, n in stats.widths.items() if n > widths_before.get(w, 0)}
    assert max(new_widths) == len(questions)
    assert [c.text for c in batched] == [c.text for c in one_by_one]
    assert [c.output_tokens for c in batched] == [c.output_tokens for c in one_by_one]
    assert all(c.text for c in batched)
