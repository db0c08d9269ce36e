"""One class per resource of the API; one method per operation of /v1/openapi.json.

A method says which operation it is (``@operation``) and what it sends (a ``Call``); the client does
the sending, the retries and the parsing. To cover a new operation: add a method here with its
method, path and response model, after regenerating the models (``make client-models``).
tests/client/test_in_step.py fails until every operation in the document has its method.
"""

from __future__ import annotations

from typing import Any

from openpost import models
from openpost._base import Call, Resource, body_of, list_operation, operation, paged_operation, query_of


class Posts(Resource):
    @operation("POST", "/v1/posts", models.PostOut)
    def create(self, body: Any = None, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        """Create a post (a draft, scheduled with ``schedule_at``, or publishing at once).
        Retried safely: the Idempotency-Key (yours, or one generated) is the same on every attempt."""
        return Call(body=body_of(body, fields), idempotency_key=idempotency_key)

    @paged_operation("GET", "/v1/posts", models.PostOut)
    def list(self, **query: Any) -> Call:
        """Every post, newest first, fetched page by page as you iterate (status=, limit=, ...)."""
        return Call(query=query_of(query))

    @operation("GET", "/v1/posts/{post_id}", models.PostOut)
    def get(self, post_id: str) -> Call:
        return Call(path={"post_id": post_id})

    @operation("PATCH", "/v1/posts/{post_id}", models.PostOut)
    def update(self, post_id: str, body: Any = None, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(path={"post_id": post_id}, body=body_of(body, fields), idempotency_key=idempotency_key)

    @operation("PUT", "/v1/posts/{post_id}", models.PostOut)
    def replace(self, post_id: str, body: Any = None, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(path={"post_id": post_id}, body=body_of(body, fields), idempotency_key=idempotency_key)

    @operation("DELETE", "/v1/posts/{post_id}")
    def delete(self, post_id: str) -> Call:
        return Call(path={"post_id": post_id})

    @operation("POST", "/v1/posts/{post_id}/publish", models.PostOut)
    def publish(self, post_id: str, *, idempotency_key: str | None = None) -> Call:
        return Call(path={"post_id": post_id}, idempotency_key=idempotency_key)

    @operation("POST", "/v1/posts/{post_id}/duplicate", models.PostOut)
    def duplicate(self, post_id: str, *, idempotency_key: str | None = None) -> Call:
        return Call(path={"post_id": post_id}, idempotency_key=idempotency_key)

    @paged_operation("GET", "/v1/posts/group/{group_id}", models.PostOut)
    def list_group(self, group_id: str, **query: Any) -> Call:
        return Call(path={"group_id": group_id}, query=query_of(query))

    @operation("DELETE", "/v1/posts/group/{group_id}")
    def delete_group(self, group_id: str) -> Call:
        return Call(path={"group_id": group_id})


class Media(Resource):
    @operation("POST", "/v1/media/upload", models.UploadOut)
    def request_upload(
        self, *, filename: str, content_type: str, size: int, idempotency_key: str | None = None, **fields: Any
    ) -> Call:
        """Step one of an upload: a presigned URL to PUT the bytes to. ``upload()`` does both steps."""
        body = body_of(None, {"filename": filename, "content_type": content_type, "size": size, **fields})
        return Call(body=body, idempotency_key=idempotency_key)

    @operation("POST", "/v1/media", models.MediaFileOut)
    def import_url(self, url: str, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        """The API fetches the file from ``url`` itself."""
        return Call(body=body_of(None, {"url": url, **fields}), idempotency_key=idempotency_key)

    @operation("GET", "/v1/media/{media_id}", models.MediaFileOut)
    def get(self, media_id: str) -> Call:
        return Call(path={"media_id": media_id})

    @operation("PATCH", "/v1/media/{media_id}", models.MediaFileOut)
    def update(self, media_id: str, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        """Set the alt text (``alt_text=``)."""
        return Call(path={"media_id": media_id}, body=body_of(None, fields), idempotency_key=idempotency_key)

    @operation("DELETE", "/v1/media/{media_id}")
    def delete(self, media_id: str) -> Call:
        return Call(path={"media_id": media_id})

    def upload(self, file: Any, **options: Any) -> Any:
        """Upload a file (a path or a binary file object) in the two steps, streaming it, and wait until
        the API has verified it: returns the ``MediaFileOut``, ready. Options: ``alt_text``,
        ``content_type``, ``filename``, ``on_progress(sent, total)``, ``wait`` (default True), ``timeout``."""
        return self._client._upload(self, file, **options)


class Integrations(Resource):
    @paged_operation("GET", "/v1/integrations", models.IntegrationOut)
    def list(self, **query: Any) -> Call:
        return Call(query=query_of(query))

    @operation("GET", "/v1/integrations/{integration_id}", models.IntegrationOut)
    def get(self, integration_id: str) -> Call:
        return Call(path={"integration_id": integration_id})

    @operation("DELETE", "/v1/integrations/{integration_id}")
    def disconnect(self, integration_id: str) -> Call:
        return Call(path={"integration_id": integration_id})

    @operation("GET", "/v1/integrations/{integration_id}/next-slot", models.NextSlotOut)
    def next_slot(self, integration_id: str, **query: Any) -> Call:
        return Call(path={"integration_id": integration_id}, query=query_of(query))

    @operation("POST", "/v1/integrations/{integration_id}/reconnect", models.IntegrationOut)
    def reconnect(self, integration_id: str, *, idempotency_key: str | None = None) -> Call:
        return Call(path={"integration_id": integration_id}, idempotency_key=idempotency_key)

    @operation("GET", "/v1/integrations/bluesky/connect", models.CredentialInstructions)
    def bluesky_instructions(self) -> Call:
        """What to enter to connect Bluesky (an app password), for a form."""
        return Call()

    @operation("POST", "/v1/integrations/bluesky/connect", models.IntegrationOut)
    def connect_bluesky(self, *, idempotency_key: str | None = None, **credentials: Any) -> Call:
        return Call(body=body_of(None, credentials), idempotency_key=idempotency_key)

    @operation("POST", "/v1/integrations/discord/connect", models.IntegrationOut)
    def connect_discord(self, *, idempotency_key: str | None = None, **credentials: Any) -> Call:
        return Call(body=body_of(None, credentials), idempotency_key=idempotency_key)

    @operation("POST", "/v1/integrations/mastodon/connect", models.IntegrationOut)
    def connect_mastodon(self, *, idempotency_key: str | None = None, **credentials: Any) -> Call:
        return Call(body=body_of(None, credentials), idempotency_key=idempotency_key)

    @operation("POST", "/v1/integrations/slack/connect", models.IntegrationOut)
    def connect_slack(self, *, idempotency_key: str | None = None, **credentials: Any) -> Call:
        return Call(body=body_of(None, credentials), idempotency_key=idempotency_key)

    @operation("POST", "/v1/integrations/telegram/connect", models.IntegrationOut)
    def connect_telegram(self, *, idempotency_key: str | None = None, **credentials: Any) -> Call:
        return Call(body=body_of(None, credentials), idempotency_key=idempotency_key)

    @operation("GET", "/v1/integrations/threads/connect", models.ConnectOut)
    def connect_threads(self, **query: Any) -> Call:
        """The authorization URL to open in a browser (OAuth)."""
        return Call(query=query_of(query))

    @operation("GET", "/v1/integrations/twitter/connect", models.ConnectOut)
    def connect_twitter(self, **query: Any) -> Call:
        """The authorization URL to open in a browser (OAuth)."""
        return Call(query=query_of(query))

    def connect(self, platform: str, **credentials: Any) -> Any:
        """Connect by platform name: credentials for those that take them, else the OAuth URL."""
        method = getattr(self, f"connect_{platform}", None)
        if method is None:
            raise ValueError(f"no way to connect {platform!r} from the client")
        return method(**credentials)


class ApiKeys(Resource):
    @operation("POST", "/v1/api-keys", models.ApiKeyWithSecret)
    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(body=body_of(None, fields), idempotency_key=idempotency_key)

    @paged_operation("GET", "/v1/api-keys", models.ApiKeyOut)
    def list(self, **query: Any) -> Call:
        return Call(query=query_of(query))

    @operation("DELETE", "/v1/api-keys/{key_id}")
    def delete(self, key_id: str) -> Call:
        return Call(path={"key_id": key_id})

    @operation("POST", "/v1/api-keys/{key_id}/rotate", models.RotatedApiKey)
    def rotate(self, key_id: str, *, idempotency_key: str | None = None) -> Call:
        """A new secret; the old one keeps working for 24 hours."""
        return Call(path={"key_id": key_id}, idempotency_key=idempotency_key)


class Webhooks(Resource):
    @operation("POST", "/v1/webhooks", models.WebhookWithSecret)
    def create(self, *, url: str, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(body=body_of(None, {"url": url, **fields}), idempotency_key=idempotency_key)

    @paged_operation("GET", "/v1/webhooks", models.WebhookOut)
    def list(self, **query: Any) -> Call:
        return Call(query=query_of(query))

    @operation("GET", "/v1/webhooks/{webhook_id}", models.WebhookOut)
    def get(self, webhook_id: str) -> Call:
        return Call(path={"webhook_id": webhook_id})

    @operation("PATCH", "/v1/webhooks/{webhook_id}", models.WebhookOut)
    def update(self, webhook_id: str, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(path={"webhook_id": webhook_id}, body=body_of(None, fields), idempotency_key=idempotency_key)

    @operation("DELETE", "/v1/webhooks/{webhook_id}")
    def delete(self, webhook_id: str) -> Call:
        return Call(path={"webhook_id": webhook_id})

    @paged_operation("GET", "/v1/webhooks/{webhook_id}/deliveries", models.DeliveryOut)
    def deliveries(self, webhook_id: str, **query: Any) -> Call:
        return Call(path={"webhook_id": webhook_id}, query=query_of(query))

    @operation("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", models.DeliveryOut)
    def retry_delivery(self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None) -> Call:
        return Call(path={"webhook_id": webhook_id, "delivery_id": delivery_id}, idempotency_key=idempotency_key)

    @operation("POST", "/v1/webhooks/{webhook_id}/rotate-secret", models.WebhookWithSecret)
    def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        body = body_of(None, fields) or None
        return Call(path={"webhook_id": webhook_id}, body=body, idempotency_key=idempotency_key)

    @operation("POST", "/v1/webhooks/{webhook_id}/test", models.DeliveryOut)
    def test(self, webhook_id: str, *, idempotency_key: str | None = None) -> Call:
        """Send a webhook.test event to the endpoint now."""
        return Call(path={"webhook_id": webhook_id}, idempotency_key=idempotency_key)


class Analytics(Resource):
    @list_operation("GET", "/v1/analytics", models.SnapshotOut)
    def list(self, **query: Any) -> Call:
        """Recent analytics snapshots (a list)."""
        return Call(query=query_of(query))

    @operation(
        "GET", "/v1/analytics/post/{post_id}", models.PostAnalyticsOut, aliases=("/v1/analytics/posts/{post_id}",)
    )
    def post(self, post_id: str, **query: Any) -> Call:
        """A post's totals, per channel, and its snapshots."""
        return Call(path={"post_id": post_id}, query=query_of(query))

    @operation("POST", "/v1/analytics/post/{post_id}/refresh", models.RefreshOut)
    def refresh(self, post_id: str, *, idempotency_key: str | None = None) -> Call:
        return Call(path={"post_id": post_id}, idempotency_key=idempotency_key)

    @operation("POST", "/v1/analytics/exports", models.ExportOut)
    def export(self, *, idempotency_key: str | None = None, **fields: Any) -> Call:
        return Call(body=body_of(None, fields), idempotency_key=idempotency_key)

    @operation("GET", "/v1/analytics/exports/{export_id}", models.ExportOut)
    def get_export(self, export_id: str) -> Call:
        return Call(path={"export_id": export_id})


class Meta(Resource):
    @operation("GET", "/v1/openapi.json", raw=True)
    def openapi(self) -> Call:
        """The API's OpenAPI 3.1 document."""
        return Call()

    @operation("GET", "/v1/health", models.Health)
    def health(self) -> Call:
        """Whether the API and its table answer, and the deployment's version (no key needed)."""
        return Call()


RESOURCES: list[type[Resource]] = [Posts, Media, Integrations, ApiKeys, Webhooks, Analytics, Meta]
