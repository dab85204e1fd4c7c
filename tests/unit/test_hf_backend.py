"""HFBackend on a tiny random Llama (fast), adapters, and the embedded runtime choice.

The tiny model uses the SmolLM2 tokenizer (exported once per machine into the
model cache: ~40 s the first time, then under a second).
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _tiny_llama import save_tiny_llama

from pytest_honesty.backends import BackendOptions, BackendUnavailable, ModelSpec, PermanentError
from pytest_honesty.backends._hf import EmbeddedBackend, HFBackend, select_embedded_runtime
from pytest_honesty.backends._hf_runner import GenResult
from pytest_honesty.backends._local_model import embedded_model_dir
from pytest_honesty.types import Completion, Message, SamplingParams

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PROMPTS = [
    "Hi.",
    "Tell me something about the moon and the tides, please.",
    "Why is the sky blue during the day but red at sunset, in two sentences?",
    "Count to three.",
]
GREEDY = SamplingParams(max_tokens=12)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer and chat template."""
    return save_tiny_llama(
        tmp_path_factory.mktemp("tiny-llama"),
        transformers.AutoTokenizer.from_pretrained(embedded_model_dir()),
        max_position_embeddings=1024,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        # Untied, with a wide init: a tied random model only repeats its last prompt token.
        tie_word_embeddings=False,
        initializer_range=0.2,
    )


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) weights, so that it changes the outputs."""
    peft = pytest.importorskip("peft")
    folder = tmp_path_factory.mktemp("tiny-adapter")
    torch.manual_seed(1)
    base = transformers.LlamaForCausalLM.from_pretrained(tiny_model_dir)
    config = peft.LoraConfig(
        r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    with warnings.catch_warnings():  # peft uses a property transformers 5 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        peft.get_peft_model(base, config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> Iterator[HFBackend]:
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"), BackendOptions())
    yield backend
    asyncio.run(backend.aclose())


def _ask(backend: Any, prompt: str, params: SamplingParams = GREEDY) -> Completion:
    result: Completion = asyncio.run(backend.complete([Message("user", prompt)], params))
    return result


def test_check_accepts_a_real_model_folder(tiny_model_dir: Path) -> None:
    HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"), BackendOptions()).check()


def test_hf_spec_without_a_folder_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="names no folder"):
        HFBackend(ModelSpec.parse("hf"), BackendOptions())


def test_a_reply_counts_its_tokens(tiny_backend: HFBackend, tiny_model_dir: Path) -> None:
    reply = _ask(tiny_backend, PROMPTS[1])
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt_ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPTS[1]}], add_generation_prompt=True, tokenize=True
    )["input_ids"]
    assert reply.input_tokens == len(prompt_ids)
    assert reply.finish_reason in ("stop", "length")
    assert reply.output_tokens is not None and 0 < reply.output_tokens <= GREEDY.max_tokens
    if reply.finish_reason == "length":
        assert reply.output_tokens == GREEDY.max_tokens
    assert reply.latency_s > 0
    assert "<|im_end|>" not in reply.text and "<|im_start|>" not in reply.text


def _together(backend: HFBackend, calls: list[tuple[str, SamplingParams]]) -> list[Completion]:
    """Run the calls concurrently; the worker is held until all of them are queued, so
    that what forms a batch does not depend on thread timing."""
    release = threading.Event()
    backend._executor.submit(release.wait)

    async def run() -> list[Completion]:
        tasks = [asyncio.ensure_future(backend.complete([Message("user", p)], params))
                 for p, params in calls]
        await asyncio.sleep(0.05)  # every call parks its request
        release.set()
        return list(await asyncio.gather(*tasks))

    return asyncio.run(run())


def test_batched_greedy_output_equals_one_by_one(tiny_model_dir: Path) -> None:
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"),
                        BackendOptions(extra={"batching": "static"}))
    one_by_one = [_ask(backend, p) for p in PROMPTS]
    batches_before = len(backend._get_batcher().stats.sizes)
    batched = _together(backend, [(p, GREEDY) for p in PROMPTS])
    assert backend._get_batcher().stats.sizes[batches_before:] == [len(PROMPTS)]
    assert [c.text for c in batched] == [c.text for c in one_by_one]
    assert [c.output_tokens for c in batched] == [c.output_tokens for c in one_by_one]
    assert len({c.text for c in one_by_one}) > 1  # the prompts really differ
    backend.close()


def _generate_alone(backend: HFBackend, prompt: str, params: SamplingParams) -> GenResult:
    """The reference: one plain model.generate() call for this prompt alone."""
    model = backend._transformers_runner().load()
    result = model.generate([model.encode([Message("user", prompt)])], [params])[0]
    assert isinstance(result, GenResult)
    return result


def test_continuous_batching_equals_one_by_one(tiny_backend: HFBackend) -> None:
    assert tiny_backend.batching == "continuous"
    one_by_one = [_generate_alone(tiny_backend, p, GREEDY) for p in PROMPTS]
    stats = tiny_backend._get_continuous().stats
    steps_before = stats.decode_steps
    widths_before = dict(stats.widths)
    passes_before, rows_before = stats.prefills, stats.prefill_rows
    batched = _together(tiny_backend, [(p, GREEDY) for p in PROMPTS])
    assert [(c.text, c.output_tokens) for c in batched] == [
        (c.text, c.output_tokens) for c in one_by_one
    ]
    # the four prompts (close lengths) went through the model in one padded pass
    assert (stats.prefills - passes_before, stats.prefill_rows - rows_before) == (1, 4)
    # all four were stepped together: the widest step had every row
    new_widths = {w for w, n in stats.widths.items() if n > widths_before.get(w, 0)}
    assert max(new_widths) == len(PROMPTS)
    assert stats.decode_steps - steps_before < sum(c.output_tokens or 0 for c in batched)


def test_requests_join_a_running_batch_as_rows_finish(tiny_model_dir: Path) -> None:
    # two slots, six calls with different prompt lengths and limits: rows leave when
    # they end and waiting calls take their place, mid-flight, left padded
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"),
                        BackendOptions(extra={"batch_size": "2"}))
    calls = [(PROMPTS[i % 4], SamplingParams(max_tokens=3 + 4 * i)) for i in range(6)]
    alone = [_generate_alone(backend, p, params) for p, params in calls]
    joined = _together(backend, calls)
    assert [(c.text, c.output_tokens, c.finish_reason) for c in joined] == [
        (c.text, c.output_tokens, c.finish_reason) for c in alone
    ]
    stats = backend._get_continuous().stats
    assert max(stats.widths) == 2
    assert stats.prefill_rows == 6  # each call's prompt ran through the model once
    backend.close()


LONG_PROMPT = "Summarise this: " + " ".join(f"item {i} is red, blue or green;" for i in range(40))


def test_prompts_of_very_different_lengths_equal_one_by_one(tiny_model_dir: Path) -> None:
    # a ~400-token prompt among short ones, three slots, limits from 2 to 40 tokens:
    # the long row joins (the window grows to the left), leaves early or late, short
    # rows join behind it; prompt passes are shared where lengths are close
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"),
                        BackendOptions(extra={"batch_size": "3"}))
    prompts = [PROMPTS[0], LONG_PROMPT, PROMPTS[2], PROMPTS[3], LONG_PROMPT[:200], PROMPTS[1],
               LONG_PROMPT, PROMPTS[0]]
    limits = [40, 2, 30, 5, 25, 12, 40, 3]
    calls = [(p, SamplingParams(max_tokens=m)) for p, m in zip(prompts, limits, strict=True)]
    alone = [_generate_alone(backend, p, params) for p, params in calls]
    assert max(c.input_tokens for c in alone) > 6 * min(c.input_tokens for c in alone)
    joined = _together(backend, calls)
    assert [(c.text, c.output_tokens, c.finish_reason) for c in joined] == [
        (c.text, c.output_tokens, c.finish_reason) for c in alone
    ]
    stats = backend._get_continuous().stats
    assert stats.prefill_rows == len(calls)
    assert stats.prefills < len(calls)  # some prompt passes carried several prompts
    assert 0 < stats.padding_share < 1
    backend.close()


def test_a_shorter_max_tokens_in_a_shared_batch_is_honoured(tiny_backend: HFBackend) -> None:
    long_params = SamplingParams(max_tokens=12)
    short_params = SamplingParams(max_tokens=3)

    async def together() -> tuple[Completion, Completion]:
        return await asyncio.gather(
            tiny_backend.complete([Message("user", PROMPTS[0])], long_params),
            tiny_backend.complete([Message("user", PROMPTS[3])], short_params),
        )

    _, short = asyncio.run(together())
    alone = _ask(tiny_backend, PROMPTS[3], short_params)
    assert short.output_tokens is not None and short.output_tokens <= 3
    assert (short.text, short.output_tokens) == (alone.text, alone.output_tokens)


def test_sampling_is_reproducible_with_a_seed(tiny_backend: HFBackend) -> None:
    params = SamplingParams(temperature=1.0, max_tokens=10, seed=7)
    first = _ask(tiny_backend, PROMPTS[0], params)
    assert _ask(tiny_backend, PROMPTS[0], params).text == first.text
    others = {_ask(tiny_backend, PROMPTS[0], SamplingParams(1.0, 10, 1.0, s)).text for s in (1, 2)}
    assert others != {first.text}


def test_a_seeded_sample_does_not_depend_on_its_batch(tiny_model_dir: Path) -> None:
    """Each sampled row draws from its own generator: a request gives the same answer
    alone and in one batch with other prompts, seeds and temperatures."""
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"),
                        BackendOptions(extra={"batching": "static"}))
    calls = [
        (PROMPTS[0], SamplingParams(temperature=1.0, max_tokens=10, seed=7)),
        (PROMPTS[0], SamplingParams(temperature=1.0, max_tokens=10, seed=7)),
        (PROMPTS[1], SamplingParams(temperature=1.0, max_tokens=10, seed=8)),
        (PROMPTS[2], SamplingParams(temperature=0.7, max_tokens=6, top_p=0.9, seed=7)),
        (PROMPTS[3], SamplingParams(temperature=1.3, max_tokens=10, seed=None)),
    ]
    alone = [_ask(backend, prompt, params) for prompt, params in calls[:4]]
    batches_before = len(backend._get_batcher().stats.sizes)
    batched = _together(backend, calls)
    assert backend._get_batcher().stats.sizes[batches_before:] == [len(calls)]
    assert [(c.text, c.output_tokens) for c in batched[:4]] == [
        (c.text, c.output_tokens) for c in alone
    ]
    assert batched[0].text == batched[1].text  # same request, same batch, same answer
    assert batched[3].output_tokens is not None and batched[3].output_tokens <= 6
    greedy = _ask(backend, PROMPTS[0], SamplingParams(max_tokens=10))
    assert alone[0].text != greedy.text  # it really sampled
    backend.close()


def test_a_tiny_top_p_keeps_only_the_most_likely_token(tiny_backend: HFBackend) -> None:
    greedy = _ask(tiny_backend, PROMPTS[1], SamplingParams(max_tokens=10))
    for seed in (1, 2, 3):
        nucleus = SamplingParams(temperature=1.0, max_tokens=10, top_p=1e-6, seed=seed)
        assert _ask(tiny_backend, PROMPTS[1], nucleus).text == greedy.text


def test_a_prompt_beyond_the_context_fails_alone(tiny_backend: HFBackend) -> None:
    async def together() -> tuple[object, object]:
        return await asyncio.gather(
            tiny_backend.complete([Message("user", PROMPTS[0])], SamplingParams(max_tokens=2000)),
            tiny_backend.complete([Message("user", PROMPTS[0])], SamplingParams(max_tokens=4)),
            return_exceptions=True,
        )

    too_long, fine = asyncio.run(together())
    assert isinstance(too_long, PermanentError)
    assert "exceeds the model's context of 1024 tokens" in str(too_long)
    assert isinstance(fine, Completion) and fine.output_tokens


def test_end_tokens_are_cut_and_not_counted(tiny_backend: HFBackend) -> None:
    model = tiny_backend._transformers_runner().load()
    hello = model.tokenizer.encode("Hello there", add_special_tokens=False)
    end = model.eos_ids[0]
    result = model.finish([*hello, end, end, end], input_tokens=5, max_tokens=50)
    assert (result.text, result.output_tokens, result.finish_reason) == (
        "Hello there",
        len(hello),
        "stop",
    )
    cut = model.finish([*hello, end], input_tokens=5, max_tokens=1)
    assert (cut.output_tokens, cut.finish_reason) == (1, "length")


def test_a_closed_backend_refuses_work_and_lets_a_running_batch_finish(
    tiny_model_dir: Path,
) -> None:
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"), BackendOptions())

    async def close_while_running() -> Completion:
        running = asyncio.ensure_future(
            backend.complete([Message("user", PROMPTS[0])], SamplingParams(max_tokens=30))
        )
        while not backend.loaded:  # wait until the worker holds the model
            await asyncio.sleep(0.01)
        backend.close()
        return await running

    finished = asyncio.run(close_while_running())
    assert finished.output_tokens
    with pytest.raises(BackendUnavailable, match="closed"):
        _ask(backend, "hello")


def test_batch_size_option_sets_the_default_concurrency(tiny_model_dir: Path) -> None:
    options = BackendOptions(extra={"batch_size": "4", "batching": "static"})
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"), options)
    assert backend.default_concurrency == backend.batch_size == 4
    backend.close()
    # continuous: calls waiting beyond the batch are what refills a slot at once
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}"),
                        BackendOptions(extra={"batch_size": "4"}))
    assert (backend.batch_size, backend.default_concurrency) == (4, 16)
    # queued calls wait for up to 4 others per slot: their time limit allows for it
    assert backend.min_timeout_s == 4 * HFBackend.min_timeout_s
    assert backend.generation_settings() == {
        "runtime": "transformers", "threads": backend.threads, "batching": "continuous",
        "batch_size": 4, "dtype": "float32", "device": "cpu",
    }
    backend.close()
    with pytest.raises(BackendUnavailable, match="batching"):
        HFBackend(ModelSpec.parse("hf/x"), BackendOptions(extra={"batching": "paged"}))
    with pytest.raises(BackendUnavailable, match="batch_size"):
        HFBackend(ModelSpec.parse("hf/x"), BackendOptions(extra={"batch_size": "many"}))


def test_an_adapter_is_applied_and_fingerprinted(
    tiny_backend: HFBackend, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    adapted = HFBackend(
        ModelSpec.parse(f"hf/{tiny_model_dir}+{tiny_adapter_dir}"), BackendOptions()
    )
    try:
        adapted.check()
        assert adapted.fingerprint() != tiny_backend.fingerprint()
        assert "adapter=" in adapted.fingerprint()
        base_answers = [_ask(tiny_backend, p).text for p in PROMPTS]
        adapted_answers = [_ask(adapted, p).text for p in PROMPTS]
        assert adapted_answers != base_answers
    finally:
        adapted.close()


def test_an_adapter_with_pickle_weights_is_refused_before_loading(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.bin").write_bytes(b"not loaded")
    backend = HFBackend(ModelSpec.parse(f"hf/{tiny_model_dir}+{adapter}"), BackendOptions())
    with pytest.raises(BackendUnavailable, match="Only safetensors weights are accepted"):
        backend.check()
    with pytest.raises(BackendUnavailable, match=r"adapter_model\.bin"):
        _ask(backend, "hello")
    backend.close()


# -- the embedded backend's runtime: llama.cpp when installed, with a fake module ------------


class FakeLlama:
    """Stands in for llama_cpp.Llama: records calls and checks they never overlap."""

    instances: ClassVar[list[FakeLlama]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[dict[str, Any]] = []
        self.threads: set[int] = set()
        self.active = 0
        self.overlapped = False
        FakeLlama.instances.append(self)

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.active += 1
        self.overlapped |= self.active > 1
        time.sleep(0.01)
        self.active -= 1
        self.calls.append(kwargs)
        self.threads.add(threading.get_ident())
        return {
            "choices": [
                {
                    "message": {"role": "assistant", "content": "  a fake answer \n"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 4},
        }


@pytest.fixture
def fake_llama_cpp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeLlama]:
    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.Llama = FakeLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    monkeypatch.setattr(FakeLlama, "instances", [])
    monkeypatch.delenv("PYTEST_HONESTY_EMBEDDED_RUNTIME", raising=False)
    monkeypatch.setenv("PYTEST_HONESTY_MODEL_CACHE", str(tmp_path / "cache"))
    return FakeLlama


def test_embedded_uses_llama_cpp_when_installed(fake_llama_cpp: type[FakeLlama]) -> None:
    backend = EmbeddedBackend(ModelSpec.parse("embedded"), BackendOptions())
    assert backend.runtime == "llama_cpp"
    backend.check()

    async def many() -> list[Completion]:
        return await asyncio.gather(
            *(backend.complete([Message("user", f"q{i}")], GREEDY) for i in range(5))
        )

    replies = asyncio.run(many())
    assert [r.text for r in replies] == ["a fake answer"] * 5
    assert (replies[0].input_tokens, replies[0].output_tokens) == (11, 4)
    [llama] = fake_llama_cpp.instances  # one model for all calls
    assert llama.kwargs["model_path"].endswith(".gguf")
    assert len(llama.calls) == 5 and not llama.overlapped and len(llama.threads) == 1
    assert threading.get_ident() not in llama.threads
    call = llama.calls[0]
    assert (call["temperature"], call["max_tokens"]) == (0.0, GREEDY.max_tokens)
    assert call["messages"] == [{"role": "user", "content": "q0"}]
    assert backend.fingerprint().startswith("runtime=llama_cpp;")
    asyncio.run(backend.aclose())


def test_embedded_with_an_adapter_falls_back_to_transformers(
    fake_llama_cpp: type[FakeLlama], tiny_adapter_dir: Path
) -> None:
    backend = EmbeddedBackend(ModelSpec.parse(f"embedded+{tiny_adapter_dir}"), BackendOptions())
    assert backend.runtime == "transformers"
    forced = EmbeddedBackend(
        ModelSpec.parse("embedded"), BackendOptions(extra={"runtime": "transformers"})
    )
    assert forced.runtime == "transformers"
    auto = EmbeddedBackend(ModelSpec.parse("embedded"), BackendOptions())
    assert forced.fingerprint() != auto.fingerprint()  # different runtimes, different answers
    for backend_ in (backend, forced, auto):
        backend_.close()
    assert fake_llama_cpp.instances == []  # nothing was loaded


def test_runtime_selection_rules() -> None:
    assert select_embedded_runtime("", has_adapter=False, llama_cpp=False) == "transformers"
    assert select_embedded_runtime("auto", has_adapter=False, llama_cpp=True) == "llama_cpp"
    assert select_embedded_runtime("auto", has_adapter=True, llama_cpp=True) == "transformers"
    assert select_embedded_runtime("llama-cpp", has_adapter=False, llama_cpp=True) == "llama_cpp"
    with pytest.raises(BackendUnavailable, match="cannot apply a PEFT adapter"):
        select_embedded_runtime("llama_cpp", has_adapter=True, llama_cpp=True)
    with pytest.raises(BackendUnavailable, match="pip install llama-cpp-python"):
        select_embedded_runtime("llama_cpp", has_adapter=False, llama_cpp=False)
    with pytest.raises(BackendUnavailable, match="unknown embedded runtime 'fast'"):
        select_embedded_runtime("fast", has_adapter=False, llama_cpp=True)


def test_embedded_refuses_other_model_names() -> None:
    with pytest.raises(BackendUnavailable, match="unknown embedded model 'gpt-5'"):
        EmbeddedBackend(ModelSpec.parse("embedded/gpt-5"), BackendOptions())
