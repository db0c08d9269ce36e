"""Wiring: builds each service once per container, on first use, from the one Settings object.

Handlers call ``services()``; tests and the local stack may ``use(Services(...))`` with their own
settings or clock. Nothing here runs at import time.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

from chalicelib.clock import Clock, SystemClock
from chalicelib.settings import Settings, get_settings


class Services:
    def __init__(self, settings: Settings, clock: Clock | None = None):
        from chalicelib.data import models

        self.settings = settings
        self.clock = clock or SystemClock()
        models.bind(settings.table_name, settings.region, settings.aws_endpoint_url)

    @functools.cached_property
    def measures(self):
        """What the engine counts for the operator (EMF lines, flushed by each handler)."""
        from chalicelib.measures import EmfMeasures

        return EmfMeasures()

    @functools.cached_property
    def api_keys(self):
        from chalicelib.data.api_keys import ApiKeyStore
        from chalicelib.domain.api_keys import ApiKeyService

        return ApiKeyService(ApiKeyStore(), self.clock, self.settings.auth_cache_seconds)

    @property
    def authenticator(self):
        return self.api_keys

    @functools.cached_property
    def rate_limiter(self):
        from chalicelib.data.rate_limits import RateLimitCounters, RateLimitOverrides
        from chalicelib.domain.rate_limits import RateLimiter

        return RateLimiter(
            RateLimitCounters(lambda: self.aws_client("dynamodb")),
            RateLimitOverrides(),
            self.clock,
            self.settings,
            measures=self.measures,
        )

    @functools.cached_property
    def integrations(self):
        from chalicelib.data.integrations import IntegrationStore
        from chalicelib.domain.integrations import IntegrationService

        return IntegrationService(IntegrationStore(), lambda: self.credentials, lambda: self.events, self.clock)

    @functools.cached_property
    def credentials(self):
        from chalicelib.data.credentials import CredentialStore

        return CredentialStore(self.secret_box, self.credentials_cache)

    @functools.cached_property
    def credentials_cache(self):
        """Sealed credentials a publish read, and the versions this container has opened."""
        from chalicelib.data.credentials import SealedCredentialsCache

        return SealedCredentialsCache()

    @functools.cached_property
    def events(self):
        from chalicelib.data.queues import EventQueue

        return EventQueue(lambda: self.aws_client("sqs"), self.settings.queue_url("events"))

    @functools.cached_property
    def webhooks(self):
        from chalicelib.data.webhooks import WebhookStore
        from chalicelib.domain.webhooks import WebhookService

        return WebhookService(
            WebhookStore(),
            self.secret_box,
            self.clock,
            allow_local=self.settings.allow_local_webhooks,
            events=self.events,
        )

    @functools.cached_property
    def webhook_deliveries(self):
        from chalicelib.data.webhooks import DeliveryStore
        from chalicelib.domain.webhook_delivery import WebhookDeliveries

        return WebhookDeliveries(
            self.webhooks,
            DeliveryStore(),
            self.events,
            self.clock,
            allow_local=self.settings.allow_local_webhooks,
            measures=self.measures,
        )

    @functools.cached_property
    def events_dead_letters(self):
        from chalicelib.data.queues import DeadLetters

        return DeadLetters(lambda: self.aws_client("sqs"), self.settings.queue_url("events-dlq"))

    def adapter(self, integration):
        """The adapter for an integration, holding its credentials (none for sandbox accounts)."""
        from chalicelib.domain.credentials import AccountCredentials
        from chalicelib.platforms import adapter_for

        if integration.sandbox:
            return adapter_for(integration, deployment=self.deployment)
        held = AccountCredentials(self.credentials, integration.workspace_id, integration.mode, integration.id)
        return adapter_for(integration, held, deployment=self.deployment)

    @functools.cached_property
    def deployment(self):
        """What adapters are given when they are built: the settings, the platform apps' credentials
        read on demand (so a container that never needs them never loads the reader), the one HTTP
        session they share (kept-alive connections across invocations) and the clock."""
        from chalicelib.platforms import http
        from chalicelib.platforms.base import Deployment

        return Deployment(
            self.settings,
            lambda platform, fresh=False: self.app_secrets.credentials(platform, fresh=fresh),
            session=http.new_session(),
            clock=self.clock,
        )

    @functools.cached_property
    def workspaces(self):
        from chalicelib.data.workspaces import WorkspaceStore
        from chalicelib.domain.workspaces import WorkspaceService

        return WorkspaceService(WorkspaceStore(), self.api_keys, self.clock)

    @functools.cached_property
    def posts(self):
        from chalicelib.data.integrations import IntegrationStore
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.integrations import IntegrationCache
        from chalicelib.domain.post_service import PostService

        integrations = IntegrationCache(IntegrationStore(), self.clock, self.settings.auth_cache_seconds)
        return PostService(
            PostStore(),
            integrations,
            lambda: self.publish_queue,
            lambda: self.dispatcher,
            self.clock,
            lambda: self.media,
        )

    @functools.cached_property
    def media(self):
        from chalicelib.data.media import MediaStore
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.media_service import MediaService

        return MediaService(
            MediaStore(),
            self.media_objects,
            PostStore(),
            self.clock,
            allow_loopback_urls=self.settings.allow_loopback_media_urls,
            events=self.events,
        )

    @functools.cached_property
    def media_objects(self):
        from chalicelib.data.media import MediaObjects

        return MediaObjects(lambda: self.aws_client("s3"), self.settings.media_bucket)

    @functools.cached_property
    def slots(self):
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.slots import SlotService

        return SlotService(self.integrations, PostStore(), self.clock)

    @functools.cached_property
    def publish_queue(self):
        from chalicelib.data.queues import PublishQueue

        return PublishQueue(lambda: self.aws_client("sqs"), self.settings.queue_url("publish"))

    @functools.cached_property
    def dispatcher(self):
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.dispatching import Dispatcher

        return Dispatcher(PostStore(), self.publish_queue, self.clock)

    @functools.cached_property
    def publisher(self):
        from chalicelib.data.integrations import IntegrationStore
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.publishing import TargetPublisher

        return TargetPublisher(
            PostStore(),
            IntegrationStore(self.credentials_cache),
            self.events,
            self.clock,
            self.adapter,
            media=self.media_objects,
            on_published=self.analytics.track,
            measures=self.measures,
        )

    @functools.cached_property
    def reconciler(self):
        from chalicelib.data.posts import PostStore
        from chalicelib.data.queues import DeadLetters
        from chalicelib.domain.reconciling import Reconciler

        dead_letters = DeadLetters(lambda: self.aws_client("sqs"), self.settings.queue_url("publish-dlq"))
        return Reconciler(
            PostStore(), self.publish_queue, dead_letters, self.publisher, self.clock, measures=self.measures
        )

    @functools.cached_property
    def secret_box(self):
        from chalicelib.data.secrets import SecretBox

        return SecretBox(lambda: self.aws_client("kms"), self.settings.tokens_key_id)

    @functools.cached_property
    def app_secrets(self):
        from chalicelib.data.app_secrets import AppSecrets

        return AppSecrets(
            lambda: self.aws_client("secretsmanager"),
            self.settings.app_secrets,
            self.settings.app_secrets_max_age,
            self.clock,
        )

    # --- analytics -------------------------------------------------------------------------------
    @functools.cached_property
    def analytics(self):
        from chalicelib.data.analytics import AnalyticsStore, ExportFiles
        from chalicelib.data.integrations import IntegrationStore
        from chalicelib.data.posts import PostStore
        from chalicelib.domain.analytics.service import AnalyticsService

        files = ExportFiles(lambda: self.aws_client("s3"), self.settings.media_bucket)
        return AnalyticsService(
            AnalyticsStore(), PostStore(), IntegrationStore(), self.analytics_queue, files, self.clock
        )

    @functools.cached_property
    def analytics_queue(self):
        from chalicelib.data.analytics import AnalyticsQueue

        return AnalyticsQueue(lambda: self.aws_client("sqs"), self.settings.queue_url("analytics"))

    @functools.cached_property
    def analytics_planner(self):
        from chalicelib.data.analytics import AnalyticsStore
        from chalicelib.domain.analytics.planner import Planner

        return Planner(AnalyticsStore(), self.analytics_queue, self.clock)

    @functools.cached_property
    def analytics_refresher(self):
        from chalicelib.data.analytics import AnalyticsStore
        from chalicelib.data.integrations import IntegrationStore
        from chalicelib.domain.analytics.refresh import Refresher

        return Refresher(
            AnalyticsStore(),
            IntegrationStore(),
            self.metrics_reader,
            self.clock,
            self.settings.metered_reads_per_month,
            events=self.events,
            measures=self.measures,
        )

    def metrics_reader(self, integration):
        """The metrics reader for an integration, holding its credentials (none for sandbox accounts)."""
        from chalicelib.domain.credentials import AccountCredentials
        from chalicelib.platforms.metrics import reader_for

        if integration.sandbox:
            return reader_for(integration, now=self.clock.now)
        held = AccountCredentials(self.credentials, integration.workspace_id, integration.mode, integration.id)
        return reader_for(integration, held, deployment=self.deployment, now=self.clock.now)

    def aws_client(self, service: str):
        from chalicelib.data.sessions import client

        return client(service, self.settings.region, self.settings.aws_endpoint_url)

    @functools.cached_property
    def idempotency(self):
        from chalicelib.api.idempotency import IdempotentRequests

        return IdempotentRequests(self.settings, self.secret_box, lambda: self.aws_client("dynamodb"), self.clock)


_current: Services | None = None
# The container serving the code running now, where one process hosts several (the local stack runs
# a function's concurrent invocations side by side, each in a container of its own).
_serving: contextvars.ContextVar[Services | None] = contextvars.ContextVar("serving", default=None)


def services() -> Services:
    global _current
    own = _serving.get()
    if own is not None:
        return own
    if _current is None:
        _current = Services(get_settings())
    return _current


def use(replacement: Services | None) -> None:
    """Install a Services built elsewhere (tests, the local stack); None rebuilds from settings."""
    global _current
    _current = replacement


@contextlib.contextmanager
def serving(state: Services):
    """Run a block (and the threads it starts with its context) with ``state`` as its container."""
    token = _serving.set(state)
    try:
        yield state
    finally:
        _serving.reset(token)
