"""Model providers. See :mod:`pytest_honesty.backends._base` for the contract."""

from ._base import (
    AuthenticationFailed,
    Backend,
    BackendError,
    BackendOptions,
    BackendUnavailable,
    ConnectionFailed,
    ModelSpec,
    PermanentError,
    RateLimited,
    StructuredOutputRejected,
    TransientError,
    import_optional,
)

__all__ = [
    "AuthenticationFailed",
    "Backend",
    "BackendError",
    "BackendOptions",
    "BackendUnavailable",
    "ConnectionFailed",
    "ModelSpec",
    "PermanentError",
    "RateLimited",
    "StructuredOutputRejected",
    "TransientError",
    "import_optional",
]
