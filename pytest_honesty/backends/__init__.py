"""Model providers. See :mod:`pytest_honesty.backends._base` for the contract."""

from ._base import (
    Backend,
    BackendError,
    BackendOptions,
    BackendUnavailable,
    ModelSpec,
    PermanentError,
    RateLimited,
    StructuredOutputRejected,
    TransientError,
    import_optional,
)

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "BackendUnavailable",
    "ModelSpec",
    "PermanentError",
    "RateLimited",
    "StructuredOutputRejected",
    "TransientError",
    "import_optional",
]
