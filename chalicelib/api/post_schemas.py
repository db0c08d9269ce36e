"""The Post contract: what clients send and what they get back.

OpenPost's names are canonical; Octopost's are accepted too (``scheduled_for`` for ``schedule_at``,
``x`` for ``twitter``) and its extra fields (``platforms``, ``media``, ``segments``,
``platform_results``, ``updated_at``) are served alongside.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from chalicelib.api.schemas import PageQuery, RequestModel, ResponseModel, Timestamp
from chalicelib.domain.platforms import ALIASES, PLATFORMS, PlatformName, canonical, describe, http_url

MAX_SEGMENTS = 24
MAX_SEGMENT_CHARACTERS = 5000
MAX_IMAGES = 4
# Facebook's 63,206 characters: the longest text any platform takes.
MAX_CONTENT_CHARACTERS = 63206
POST_STATUSES = ("draft", "scheduled", "publishing", "published", "failed")
PostStatus = Literal["draft", "scheduled", "publishing", "published", "failed"]


def _platform_key(value: str) -> str:
    name = canonical(value)
    if name not in PLATFORMS:
        known = ", ".join(PLATFORMS)
        aliases = ", ".join(sorted(ALIASES))
        raise ValueError(
            f"unknown platform {value!r}; expected one of {known}" + (f" (or {aliases})" if aliases else "")
        )
    return name


# A platform name as clients may write it ("X", "x", "twitter"), validated item by item so an
# error names the very entry ("platforms[1]").
PlatformKey = Annotated[str, AfterValidator(_platform_key)]


def _platform_settings() -> type:
    """``{platform: {...}}``: each platform's own settings model (its descriptor's ``settings``),
    under its name and its aliases; a platform without documented settings takes an empty object."""
    fields = {}
    for name in PLATFORMS:
        declared = describe(name)
        alias = AliasChoices(name, *declared.aliases) if declared.aliases else None
        fields[name] = (declared.settings | None, Field(default=None, validation_alias=alias))
    return create_model(
        "PlatformSettings",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, defer_build=True),
        __doc__="``{platform: {...}}``. A platform without documented settings takes an empty object.",
        **fields,
    )


PlatformSettings = _platform_settings()


# --- media and segments (004) ----------------------------------------------------------------------
class Image(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used, as RequestModel
    url: str
    alt_text: str | None = Field(default=None, max_length=1500)

    _check_url = field_validator("url")(lambda cls, v: http_url(v))


class Video(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used, as RequestModel
    url: str
    thumbnail_url: str | None = None

    _check_urls = field_validator("url", "thumbnail_url")(lambda cls, v: v if v is None else http_url(v))


class Media(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used, as RequestModel
    images: list[Image] = Field(default_factory=list)
    video: Video | None = None

    @field_validator("images")
    @classmethod
    def _at_most_four(cls, images):
        if len(images) > MAX_IMAGES:
            raise ValueError(f"at most {MAX_IMAGES} images; got {len(images)}")
        return images

    @model_validator(mode="after")
    def _not_both(self):
        if self.images and self.video is not None:
            raise ValueError("images and a video cannot be combined; send one or the other")
        return self


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used, as RequestModel
    content: str = Field(max_length=MAX_SEGMENT_CHARACTERS)
    media_urls: list[str] = Field(default_factory=list, max_length=MAX_IMAGES)

    _check_urls = field_validator("media_urls")(lambda cls, v: [http_url(url) for url in v])


class _PostFields(RequestModel):
    content: str | None = Field(default=None, max_length=MAX_CONTENT_CHARACTERS)
    platforms: list[PlatformKey] | None = Field(default=None, max_length=len(PLATFORMS) + 1)
    integrations: list[str] | None = Field(default=None, max_length=50)
    schedule_at: dt.datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("schedule_at", "scheduled_for", "scheduled_at"),
        description="When to publish (ISO 8601 with a zone; at most 180 days ahead). Also accepted as "
        "scheduled_for or scheduled_at. Omit for a draft; null unschedules.",
    )
    tags: list[str] | None = Field(default=None, max_length=50)
    # Each override is capped like the content: no platform takes a longer text.
    platform_overrides: dict[PlatformKey, Annotated[str, Field(max_length=MAX_CONTENT_CHARACTERS)]] | None = None
    platform_settings: PlatformSettings | None = None
    group_id: str | None = None
    status: Literal["draft", "scheduled"] | None = Field(
        default=None, description="Usually left unset: a post with a schedule is scheduled, one without is a draft."
    )
    # A list is moved to media_ids before validation (_media_as_ids), so at run time media is a Media;
    # the list is in the type so the document shows both forms clients may send.
    media: Media | Annotated[list[str], Field(max_length=MAX_IMAGES)] | None = Field(
        default=None, description="{images: [...], video: {...}}, or a list of media ids."
    )
    media_ids: list[str] | None = Field(
        default=None, max_length=MAX_IMAGES, description="Uploaded media ids (also accepted as a list in media)."
    )
    segments: list[Segment] | None = Field(default=None, max_length=MAX_SEGMENTS)

    @model_validator(mode="before")
    @classmethod
    def _media_as_ids(cls, data):
        # OpenPost sends media as a list of uploaded ids, Octopost as an object: one field each here.
        if isinstance(data, dict) and isinstance(data.get("media"), list):
            data = dict(data)
            data["media_ids"] = data.pop("media")
        return data

    @field_validator("platforms")
    @classmethod
    def _distinct(cls, names):
        return None if names is None else list(dict.fromkeys(names))

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags):
        if tags is None:
            return None
        for tag in tags:
            if not 1 <= len(tag) <= 100:
                raise ValueError("each tag is 1 to 100 characters")
        return list(dict.fromkeys(tags))

    @field_validator("schedule_at", mode="before")
    @classmethod
    def _zone_required(cls, value):
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError as exc:
                raise ValueError("must be an ISO 8601 date-time such as 2026-05-01T14:00:00Z") from exc
            if parsed.tzinfo is None:
                raise ValueError("must carry a time zone (Z or an offset such as +02:00)")
            try:
                return parsed.astimezone(dt.UTC)
            except OverflowError as exc:
                # 0001-01-01T00:00:00+01:00 parses, but is before year 1 in UTC. Pydantic turns only
                # ValueError into a field error; anything else would leave as a 500.
                raise ValueError("is out of range once converted to UTC") from exc
        if value is not None and not isinstance(value, dt.datetime):
            raise ValueError("must be an ISO 8601 date-time string")
        return value

    @field_validator("group_id")
    @classmethod
    def _group_id(cls, value):
        if value is not None and not (1 <= len(value) <= 100 and value.replace("-", "").replace("_", "").isalnum()):
            raise ValueError("must be 1 to 100 letters, digits, '-' or '_' (a UUID is typical)")
        return value


class CreatePost(_PostFields):
    """Create a draft, or a scheduled post when schedule_at (or scheduled_for) is given."""

    content: str = Field(max_length=MAX_CONTENT_CHARACTERS)


class UpdatePost(_PostFields):
    """Partial update: omitted fields keep their value; schedule_at null unschedules; segments [] removes a thread."""


class ListPosts(PageQuery):
    status: PostStatus | None = Field(default=None, description="Only posts in this status.")


# --- responses -------------------------------------------------------------------------------------
class TargetIntegration(ResponseModel):
    id: str
    platform: PlatformName
    username: str


class PostTarget(ResponseModel):
    id: str
    status: Literal["pending", "publishing", "published", "failed", "cancelled"]
    platform_post_id: str | None
    platform_post_url: str | None
    published_at: Timestamp | None
    error: dict[str, Any] | None
    integrations: TargetIntegration


class PlatformResult(ResponseModel):
    success: bool
    post_id: str | None = None
    post_url: str | None = None
    error: str | None = None


class MediaOut(ResponseModel):
    images: list[Image]
    video: Video | None


class PostOut(ResponseModel):
    id: str
    status: PostStatus
    content: str
    scheduled_at: Timestamp | None
    scheduled_for: Timestamp | None = Field(description="The same as scheduled_at (Octopost's name).")
    published_at: Timestamp | None
    tags: list[str]
    platforms: list[PlatformName]
    integrations: list[str]
    post_targets: list[PostTarget]
    platform_results: dict[str, PlatformResult] | None
    platform_overrides: dict[str, str]
    platform_settings: dict[str, dict[str, Any]]
    group_id: str | None
    media: MediaOut | None
    media_ids: list[str]
    segments: list[Segment] | None
    created_at: Timestamp
    updated_at: Timestamp
    truncated: bool = Field(
        default=False,
        description=(
            "In a list only: the post's texts were cut so that a page stays within the API's response "
            "limit. GET the post for them in full."
        ),
    )
