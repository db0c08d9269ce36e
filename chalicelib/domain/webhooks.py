"""Webhook endpoints: where a workspace wants its events, and the secrets that sign them.

A URL is checked when it is registered or changed (and again before every send, in
chalicelib/webhook_sender.py): https only, unless the local development switch allows http and
loopback; never a private, link-local or metadata address.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt

from chalicelib.domain.events import EVENT_TYPES
from chalicelib.domain.principal import Principal
from chalicelib.domain.records import Webhook
from chalicelib.errors import ConflictError, ValidationError
from chalicelib.ids import uuid7

ROTATION_OVERLAP = dt.timedelta(hours=24)  # the previous secret signs too, for this long
MAX_WEBHOOKS = 50  # per workspace and mode
CHANGE_ATTEMPTS = 5


def secret_context(webhook: Webhook) -> dict[str, str]:
    """Binds a sealed secret to its endpoint: copied onto another record, it does not open."""
    return {"workspace_id": webhook.workspace_id, "mode": webhook.mode, "webhook_id": webhook.id}


def check_events(events: builtins.list[str]) -> tuple[str, ...]:
    unknown = [name for name in events if name != "*" and name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            f"Unknown event type {unknown[0]!r}. Known: {', '.join(EVENT_TYPES)}, or '*' for all.",
            errors=[{"field": "events", "message": f"unknown event type {unknown[0]!r}"}],
            code="unknown_event_type",
        )
    return tuple(dict.fromkeys(events))


class WebhookService:
    def __init__(self, store, secret_box, clock, *, allow_local: bool, events=None):
        self._store = store
        self._box = secret_box
        self._clock = clock
        self._allow_local = allow_local
        self._events = events  # the events queue, for webhook.disabled

    def check_url(self, url: str) -> str:
        from chalicelib.webhook_sender import WebhookUrlError, check_redirect, check_url

        try:
            check_url(url, allow_local=self._allow_local)
            check_redirect(url, allow_local=self._allow_local, clock=self._clock)
        except WebhookUrlError as refused:
            raise ValidationError(
                refused.message, errors=[{"field": "url", "message": refused.message}], code="webhook_url_not_allowed"
            ) from None
        return url

    def create(
        self, principal: Principal, url: str, events: builtins.list[str], description: str = "", enabled: bool = True
    ) -> tuple[Webhook, str]:
        """The new endpoint and its signing secret, which is shown this once."""
        from chalicelib.webhook_sender import new_secret

        self.check_url(url)
        subscribed = check_events(events)
        if len(self._store.list(principal.workspace_id, principal.mode)) >= MAX_WEBHOOKS:
            raise ValidationError(
                f"A workspace has at most {MAX_WEBHOOKS} webhooks in each mode.", code="too_many_webhooks"
            )
        now = self._clock.now()
        secret = new_secret()
        webhook = Webhook(
            id=uuid7(self._clock),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            url=url,
            events=subscribed,
            description=description,
            enabled=enabled,
            sealed_secret="",
            created_at=now,
            updated_at=now,
        )
        webhook = dataclasses.replace(webhook, sealed_secret=self._seal(webhook, secret))
        self._store.create(webhook)
        return webhook, secret

    def list(self, principal: Principal) -> builtins.list[Webhook]:
        """Newest first."""
        return sorted(self._store.list(principal.workspace_id, principal.mode), key=lambda w: w.id, reverse=True)

    def get(self, principal: Principal, webhook_id: str) -> Webhook:
        return self._store.get(principal.workspace_id, principal.mode, webhook_id)

    def of_workspace(self, workspace_id: str, mode: str) -> builtins.list[Webhook]:
        return self._store.list(workspace_id, mode)

    def find(self, workspace_id: str, mode: str, webhook_id: str) -> Webhook:
        return self._store.get(workspace_id, mode, webhook_id)

    def update(self, principal: Principal, webhook_id: str, changes: dict) -> Webhook:
        """Change url, events, description or enabled. Enabling clears ``disabled_reason`` and
        ``failing_since``: delivery of new events resumes."""
        if "url" in changes:
            self.check_url(changes["url"])
        if "events" in changes:
            changes = {**changes, "events": check_events(changes["events"])}

        def change(current: Webhook) -> Webhook:
            updated = dataclasses.replace(current, **changes, updated_at=self._clock.now())
            if changes.get("enabled") is True:
                updated = dataclasses.replace(updated, disabled_reason=None, failing_since=None)
            if changes.get("enabled") is False and not current.disabled_reason:
                updated = dataclasses.replace(updated, disabled_reason="disabled_by_user")
            return updated

        return self._change(principal.workspace_id, principal.mode, webhook_id, change)

    def delete(self, principal: Principal, webhook_id: str) -> None:
        self._store.delete(self.get(principal, webhook_id))

    def rotate_secret(self, principal: Principal, webhook_id: str) -> tuple[Webhook, str]:
        """A new secret; the current one keeps signing beside it for 24 hours (two signatures)."""
        from chalicelib.webhook_sender import new_secret

        secret = new_secret()

        def rotate(current: Webhook) -> Webhook:
            now = self._clock.now()
            return dataclasses.replace(
                current,
                sealed_secret=self._seal(current, secret),
                sealed_previous_secret=current.sealed_secret,
                previous_secret_until=now + ROTATION_OVERLAP,
                updated_at=now,
            )

        return self._change(principal.workspace_id, principal.mode, webhook_id, rotate), secret

    def signing_secrets(self, webhook: Webhook, now: dt.datetime) -> builtins.list[str]:
        """The secrets that sign a message now: the current one, and the previous one for 24 hours
        after a rotation."""
        found = [self._open(webhook, webhook.sealed_secret)]
        if webhook.sealed_previous_secret and webhook.previous_secret_until and now < webhook.previous_secret_until:
            found.append(self._open(webhook, webhook.sealed_previous_secret))
        return found

    # --- what deliveries report ----------------------------------------------------------------
    def succeeded(self, webhook: Webhook) -> None:
        if webhook.failing_since is not None:
            self._change_quietly(webhook, lambda current: dataclasses.replace(current, failing_since=None))

    def failed(self, webhook: Webhook, now: dt.datetime, disable_after: dt.timedelta) -> Webhook | None:
        """Note a failed attempt; returns the endpoint if this failure disabled it (failing since
        ``disable_after`` ago with no success in between)."""
        if webhook.failing_since is None:
            self._change_quietly(
                webhook,
                lambda current: current if current.failing_since else dataclasses.replace(current, failing_since=now),
            )
            return None
        if now - webhook.failing_since >= disable_after:
            return self.disable(webhook, "failing_for_5_days")
        return None

    def disable(self, webhook: Webhook, reason: str) -> Webhook | None:
        """Disable the endpoint (once) and tell the workspace's other endpoints (webhook.disabled)."""
        from chalicelib.clock import format_timestamp
        from chalicelib.domain.events import WebhookDisabled, event

        def switch_off(current: Webhook) -> Webhook:
            if not current.enabled:
                raise _Unchanged()
            return dataclasses.replace(current, enabled=False, disabled_reason=reason, updated_at=self._clock.now())

        try:
            disabled = self._change(webhook.workspace_id, webhook.mode, webhook.id, switch_off)
        except _Unchanged:
            return None
        now = self._clock.now()
        self._events.send(
            event(
                f"evt_{disabled.id}_disabled_{int(now.timestamp())}",
                "webhook.disabled",
                now,
                disabled.workspace_id,
                disabled.mode,
                WebhookDisabled(
                    webhook_id=disabled.id,
                    url=disabled.url,
                    disabled_reason=reason,
                    failing_since=format_timestamp(disabled.failing_since),
                ),
            )
        )
        return disabled

    # --- writing -------------------------------------------------------------------------------
    def _change_quietly(self, webhook: Webhook, mutate) -> None:
        try:
            self._change(webhook.workspace_id, webhook.mode, webhook.id, mutate)
        except _Unchanged:
            pass

    def _change(self, workspace_id: str, mode: str, webhook_id: str, mutate) -> Webhook:
        for _ in range(CHANGE_ATTEMPTS):
            current = self._store.get(workspace_id, mode, webhook_id)
            after = mutate(current)
            if after == current:
                return current
            try:
                return self._store.replace(current, after)
            except ConflictError:
                continue
        raise ConflictError("The webhook kept changing; try again.", code="webhook_changed")

    def _seal(self, webhook: Webhook, secret: str) -> str:
        return self._box.seal(secret.encode(), secret_context(webhook))

    def _open(self, webhook: Webhook, sealed: str) -> str:
        key = (sealed, webhook.id)
        if key not in _opened:
            if len(_opened) > 1024:
                _opened.clear()
            _opened[key] = self._box.open(sealed, secret_context(webhook)).decode()
        return _opened[key]


# Secrets opened in this container, by sealed value: one KMS call per secret, not per delivery.
_opened: dict[tuple[str, str], str] = {}


class _Unchanged(Exception):
    pass
