"""/v1/media: upload a file in two steps, fetch one from a URL, read, describe and delete it.

Step one answers a presigned ``upload_url``; step two is the client's PUT of the bytes straight to
S3, with the Content-Type and Content-Length it announced (both are signed). The file is ``pending``
until the verifier has read what arrived; then ``ready`` (usable in posts) or ``rejected``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from chalicelib.api.post_schemas import http_url
from chalicelib.api.routing import ApiBlueprint, Call, Reply
from chalicelib.api.schemas import RequestModel, ResponseModel, Timestamp
from chalicelib.container import services
from chalicelib.domain.media import UPLOAD_TYPES, Media

blueprint = ApiBlueprint(__name__, tag="Media")

ALT_TEXT_MAX = 1500  # the longest any platform keeps (Mastodon); each platform's own limit is checked per post


class CreateUpload(RequestModel):
    filename: str = Field(min_length=1, max_length=255, description="The file's name, kept for reference.")
    content_type: str = Field(max_length=100, description=f"One of {', '.join(UPLOAD_TYPES)}.", examples=["image/jpeg"])
    size: int = Field(ge=1, description="The exact length in bytes of the file you will PUT.")
    alt_text: str | None = Field(
        default=None, max_length=ALT_TEXT_MAX, description="A description for people who cannot see the image."
    )

    @field_validator("filename")
    @classmethod
    def _printable(cls, name: str) -> str:
        if any(ord(char) < 32 or char in "/\\" for char in name):
            raise ValueError("a file name without path separators or control characters")
        return name


class ImportFromUrl(RequestModel):
    url: str = Field(max_length=2048, description="An http(s) URL of a public JPEG, PNG, GIF, WebP, MP4 or MOV file.")
    alt_text: str | None = Field(default=None, max_length=ALT_TEXT_MAX)

    _check_url = field_validator("url")(lambda cls, v: http_url(v))


class DescribeMedia(RequestModel):
    alt_text: str | None = Field(max_length=ALT_TEXT_MAX, description="The new alt text; null removes it.")


class MediaFileOut(ResponseModel):
    id: str
    status: str = Field(description="pending (awaiting the upload or its verification), ready, or rejected.")
    kind: str = Field(description="image or video.")
    content_type: str
    filename: str
    size: int | None = Field(description="Bytes, as verified; null until then.")
    declared_size: int = Field(description="Bytes, as announced when the upload was requested.")
    width: int | None
    height: int | None
    alt_text: str | None
    source_url: str | None = Field(description="The URL the file was fetched from, if it was.")
    rejection_code: str | None = Field(description="Why the file was rejected, for programs.")
    rejection_reason: str | None = Field(description="Why the file was rejected, for people.")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, media: Media) -> MediaFileOut:
        return cls(
            id=media.id,
            status=media.status,
            kind=media.kind,
            content_type=media.content_type,
            filename=media.filename,
            size=media.size,
            declared_size=media.declared_size,
            width=media.width,
            height=media.height,
            alt_text=media.alt_text,
            source_url=media.source_url,
            rejection_code=media.reason_code,
            rejection_reason=media.reason,
            created_at=media.created_at,
            updated_at=media.updated_at,
        )


class UploadOut(MediaFileOut):
    upload_url: str = Field(description="PUT the bytes here, before upload_expires_at.")
    upload_method: str = "PUT"
    upload_headers: dict[str, str] = Field(description="Send exactly these headers with the PUT: they are signed.")
    upload_expires_at: Timestamp


@blueprint.operation(
    "POST",
    "/v1/media/upload",
    summary="Request an upload URL",
    status=201,
    body=CreateUpload,
    response=UploadOut,
    idempotent=True,
    errors=(400, 422),
    rate_limit="media",
)
def request_upload(call: Call):
    """Step one of two: answers the media id and a presigned URL. Then PUT the file's bytes to
    ``upload_url`` with the headers in ``upload_headers``; the media turns ready (or rejected, with
    the reason) once the file has been checked, usually within seconds."""
    body = call.body
    media, url = services().media.request_upload(
        call.principal, body.filename, body.content_type, body.size, body.alt_text
    )
    return UploadOut(
        **MediaFileOut.of(media).model_dump(),
        upload_url=url,
        upload_headers={"Content-Type": media.content_type, "Content-Length": str(media.declared_size)},
        upload_expires_at=media.upload_expires_at,
    )


@blueprint.operation(
    "POST",
    "/v1/media",
    summary="Fetch media from a URL",
    status=201,
    body=ImportFromUrl,
    response=MediaFileOut,
    idempotent=True,
    errors=(400, 422),
    rate_limit="media",
)
def import_media(call: Call):
    """Fetches a public URL into your media and verifies it; answers the ready media, or 422 with
    why the URL could not be taken. Posts may also name URLs directly (media.images[].url)."""
    media = services().media.import_url(call.principal, call.body.url, call.body.alt_text, call.time_left)
    return MediaFileOut.of(media)


@blueprint.operation("GET", "/v1/media/{media_id}", summary="Get media", response=MediaFileOut, errors=(404,))
def get_media(call: Call, media_id: str):
    """The media's status, verified size and dimensions, or why it was rejected."""
    return MediaFileOut.of(services().media.get(call.principal, media_id))


@blueprint.operation(
    "PATCH",
    "/v1/media/{media_id}",
    summary="Change media alt text",
    body=DescribeMedia,
    response=MediaFileOut,
    idempotent=True,
    errors=(404, 422),
)
def describe_media(call: Call, media_id: str):
    """Sets the alt text used wherever a post names this media by id. Posts already written keep
    the alt text they were written with."""
    return MediaFileOut.of(services().media.describe(call.principal, media_id, call.body.alt_text))


@blueprint.operation("DELETE", "/v1/media/{media_id}", summary="Delete media", status=204, errors=(404, 409))
def delete_media(call: Call, media_id: str):
    """Deletes the media and its file. A draft or scheduled post that uses it makes this a 409."""
    services().media.delete(call.principal, media_id)
    return Reply(status=204)
