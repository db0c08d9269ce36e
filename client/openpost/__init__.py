"""The openpost API from Python: ``Openpost`` (sync), ``AsyncOpenpost``, typed models, errors by
kind, and ``openpost.webhooks.verify`` for receivers."""

from openpost import models, webhooks
from openpost._base import VERSION as __version__
from openpost._client import AsyncOpenpost, AsyncPager, MediaRejectedError, Openpost, SyncPager
from openpost.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OpenpostError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from openpost.webhooks import WebhookVerificationError

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncOpenpost",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "MediaRejectedError",
    "NotFoundError",
    "Openpost",
    "OpenpostError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "SyncPager",
    "ValidationError",
    "WebhookVerificationError",
    "__version__",
    "models",
    "webhooks",
]
