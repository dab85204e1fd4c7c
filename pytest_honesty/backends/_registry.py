"""Provider registry: built-ins plus whatever plugins add through the hook."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ._base import Backend, BackendOptions, BackendUnavailable, ModelSpec

__all__ = ["BackendFactory", "BackendRegistry", "default_registry"]

BackendFactory = Callable[[ModelSpec, BackendOptions], Backend]


def _lazy(module: str, cls: str) -> BackendFactory:
    """A factory that imports its module only when a model of that provider is used."""

    def factory(spec: ModelSpec, options: BackendOptions) -> Backend:
        backend_cls = getattr(importlib.import_module(module, __package__), cls)
        backend: Backend = backend_cls(spec, options)
        return backend

    return factory


_BUILTINS: dict[str, BackendFactory] = {
    "mock": _lazy("._mock", "MockBackend"),
    "openai": _lazy("._openai", "OpenAIBackend"),
    "openai-compatible": _lazy("._openai", "OpenAIBackend"),
    "anthropic": _lazy("._anthropic", "AnthropicBackend"),
    "hf": _lazy("._hf", "HFBackend"),
    "embedded": _lazy("._hf", "EmbeddedBackend"),
}


class BackendRegistry:
    """Maps a provider name (the part of a spec before '/') to a factory."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = dict(_BUILTINS)

    def register(self, provider: str, factory: BackendFactory, *, replace: bool = False) -> None:
        if not provider or "/" in provider or "+" in provider:
            raise ValueError(f"invalid provider name {provider!r}: no '/', '+' or empty names")
        if provider in self._factories and not replace:
            raise ValueError(
                f"provider {provider!r} is already registered; pass replace=True to override it"
            )
        self._factories[provider] = factory

    @property
    def providers(self) -> list[str]:
        return sorted(self._factories)

    def create(self, spec: str | ModelSpec, options: BackendOptions | None = None) -> Backend:
        """Build the backend for a spec; unknown providers name the known ones."""
        try:
            parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
        except ValueError as exc:
            raise BackendUnavailable(str(exc)) from None
        factory = self._factories.get(parsed.provider)
        if factory is None:
            raise BackendUnavailable(
                f"unknown model provider {parsed.provider!r} in {str(spec)!r}; "
                f"known providers: {', '.join(self.providers)} "
                "(a conftest can add one with the pytest_honesty_register_backends hook)"
            )
        return factory(parsed, options or BackendOptions())


def default_registry() -> BackendRegistry:
    return BackendRegistry()
