"""What a platform declares about itself: one ``PlatformDescriptor`` per platform package.

Every platform is a package under chalicelib/platforms/ whose ``__init__`` holds ``PLATFORM``, a
descriptor, in the spirit of Apprise's plugins: plain declarations, no behaviour. The registry
(registry.py) finds the packages, and every table of the API is derived from the descriptors: the
names the API accepts, the ``platform_settings`` schema, the character and media limits, how
threads go out, the sandbox's ids and URLs, the deployment's app secrets, the connect routes.

A descriptor is read when the API starts, so this module and every ``__init__`` stay cheap: no
HTTP client, no platform SDK. The code that talks to the platform lives beside the descriptor (an
``adapter`` module, a ``connect`` module) and is named by a "module:attribute" string, imported on
first use only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.media.spec import MediaRules

REPLY, NUMBERED = "reply", "numbered"


class PlatformSettingsModel(BaseModel):
    """Base of a platform's ``platform_settings`` model; fields it does not list are ignored. The
    API validates it as part of a post (``PlatformSettings``), so its own validator is built only if
    something uses the model alone."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class ConnectRequest(BaseModel):
    """Base of a platform's connect request body: unknown fields are refused, so a typo never passes
    silently (as every request model of the API). Its validator is built on first use, not when the
    API starts: only a connect request (or the OpenAPI document) needs it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


@dataclass(frozen=True)
class TextLimit:
    """At most ``maximum`` of ``unit`` (chalicelib/text/units.py names the units and their counters)."""

    maximum: int
    unit: str


@dataclass(frozen=True)
class TextRule:
    """How a platform limits a post's text.

    ``caption`` applies instead of ``text`` when the text is a media caption; ``description`` when
    the post's text goes out as a description (``body="description"``: a video's, on a platform
    whose posts are titled videos). ``adjustable``: an account or server sets its own maximum,
    kept on the integration's profile as ``max_characters`` (a Mastodon instance's limit).
    ``title_setting`` names a ``platform_settings`` field every post there needs, limited by ``text``.
    """

    text: tuple[TextLimit, ...]
    caption: tuple[TextLimit, ...] | None = None
    description: tuple[TextLimit, ...] | None = None
    adjustable: bool = False
    body: str = "text"
    title_setting: str | None = None


@dataclass(frozen=True)
class SandboxIdentity:
    """How the sandbox stands in for the platform in test mode (docs/sandbox.md): the sandbox
    account's names, and ids and URLs shaped like the platform's own.

    ``post_id(integration_id)`` makes a new post id (chalicelib/platforms/shapes.py has the
    shapes). ``url`` is a template over ``base``, ``platform``, ``handle``, ``id`` and ``rkey``
    (the id's last path segment). ``content_ids``: posts carry a content hash (a cid) that a reply
    must name, and the sandbox refuses a reply without it, as the platform does."""

    username: str
    display_name: str
    post_id: Callable[[str, Any], str]  # (integration id, clock): a new post id (platforms/shapes.py)
    url: str = "{base}/{platform}/{handle}/{id}"
    content_ids: bool = False


@dataclass(frozen=True)
class Connect:
    """How a user connects an account on the platform.

    The API's connect blueprint (chalicelib/api/connect.py) gives every platform
    ``/v1/integrations/{name}/connect``. With ``kind`` "credentials" it takes ``POST`` of ``body``
    (a ``ConnectRequest``), and ``check`` ("module:function") is called with the validated body and
    a ``ConnectContext`` (chalicelib/platforms/connecting.py): it checks the credentials with the
    platform and returns the ``ConnectedAccount``. ``instructions`` adds a ``GET`` saying what to send.

    With ``kind`` "oauth" (OAuth 2.0 with PKCE, on the app credentials the descriptor names), ``GET``
    answers the consent screen's URL, made by ``consent`` ("module:function" of the context, the
    app's credentials, the state, the PKCE challenge and the redirect URI); the platform sends the
    browser back to ``callback_path``, where ``finish`` ("module:function" of the code, the
    verifier, the redirect URI and the context) exchanges the code and returns the account.
    ``handle_prefix`` is how the platform writes a handle in the page the browser is shown ("@").
    """

    kind: str
    summary: str
    description: str
    body: type[BaseModel] | None = None
    check: str | None = None
    instructions: str | None = None
    consent: str | None = None
    finish: str | None = None
    callback_path: str | None = None
    callback_summary: str = ""
    callback_description: str = ""
    handle_prefix: str = ""


@dataclass(frozen=True)
class Metrics:
    """How openpost reads a platform's counters of published posts (chalicelib/domain/analytics/).

    ``reader`` is the "module:Class" of a ``MetricsReader`` (chalicelib/platforms/metrics.py) built
    for one integration; ``batch`` the most posts one call of the platform's API reads (the refresh
    asks for no fewer per call). ``exposes`` names which of the API's metrics (impressions, likes,
    comments, shares) the platform counts: the others are null, never 0. ``metered``: the platform
    charges per post read, so reads count against the deployment's monthly budget per integration.
    """

    reader: str
    batch: int
    exposes: frozenset = frozenset({"impressions", "likes", "comments", "shares"})
    metered: bool = False


@dataclass(frozen=True)
class DeploymentSetting:
    """A setting a platform needs from the deployment (where its API is), read once with every other
    setting (chalicelib/settings.py) from the environment variable ``OPENPOST_<NAME>``, else
    ``default``: deployments keep the default, tests and self-hosters point it elsewhere."""

    name: str  # the Settings attribute: "x_api_url"
    default: str

    @property
    def variable(self) -> str:
        return f"OPENPOST_{self.name.upper()}"


@dataclass(frozen=True)
class PlatformDescriptor:
    """Everything openpost knows about one platform, declared in one place.

    ``adapter`` is the "module:Class" of its live adapter, or None while there is none: a live
    target on it then fails with ``platform_not_available`` (test mode still rehearses it in the
    sandbox). ``metrics`` says how analytics read its counters (None: they cannot).
    ``app_credentials`` names what the deployment must hold of openpost's own app there (X's OAuth
    client id and secret): each platform naming some gets a Secrets Manager secret.
    ``deployment_settings`` are the settings it reads from the deployment (its API's URL).
    """

    name: str  # as the API writes it: "twitter"
    title: str  # as users know it: "X"
    text: TextRule
    media: MediaRules
    thread_style: str  # REPLY: each part replies to the one before; NUMBERED: " (i/n)"
    idempotent: bool  # a repeated request is recognised, so a lost answer may be retried
    settings: type[BaseModel]
    sandbox: SandboxIdentity
    aliases: tuple[str, ...] = ()
    adapter: str | None = None
    connect: Connect | None = None
    app_credentials: tuple[str, ...] = ()
    # None: the platform lets openpost read no counters of its posts (analytics say so per target).
    metrics: Metrics | None = None
    deployment_settings: tuple[DeploymentSetting, ...] = ()

    def __post_init__(self):
        # Declarations typed in by hand: a slip fails at start-up, and in the contract test.
        problems = []
        if self.thread_style not in (REPLY, NUMBERED):
            problems.append(f"thread_style {self.thread_style!r}")
        if self.media.platform != self.name:
            problems.append(f"media rules for {self.media.platform!r}")
        if not issubclass(self.settings, BaseModel):
            problems.append("settings is not a pydantic model")
        if self.text.body not in ("text", "description") or (
            self.text.body == "description" and self.text.description is None
        ):
            problems.append("text body")
        if problems:
            raise ValueError(f"platform {self.name}: {', '.join(problems)}")

    @property
    def numbered(self) -> bool:
        return self.thread_style == NUMBERED


def http_url(value: str) -> str:
    """A validator for URL fields of settings and requests: http(s), at most 2048 characters."""
    if not (value.startswith("https://") or value.startswith("http://")) or len(value) > 2048:
        raise ValueError("must be an http or https URL of at most 2048 characters")
    return value
