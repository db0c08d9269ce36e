"""/v1/posts: create, list, read, edit, publish, duplicate, delete, and groups."""

from __future__ import annotations

from typing import Any

from chalicelib.api.post_schemas import (
    CreatePost,
    ListPosts,
    MediaOut,
    PlatformResult,
    PostOut,
    PostTarget,
    TargetIntegration,
    UpdatePost,
)
from chalicelib.api.routing import ApiBlueprint, Call, Page, Reply
from chalicelib.api.schemas import PageQuery, encode_cursor
from chalicelib.container import services
from chalicelib.domain.posts import Post

blueprint = ApiBlueprint(__name__, tag="Posts")


def fields_of(body) -> dict[str, Any]:
    """The fields the client sent, as plain data (omitted ones absent, so they keep their value)."""
    fields = body.model_dump(exclude_unset=True)
    if "platform_settings" in fields and fields["platform_settings"] is not None:
        fields["platform_settings"] = {
            platform: {key: value for key, value in settings.items() if value is not None}
            for platform, settings in body.platform_settings.model_dump(exclude_unset=True).items()
            if settings is not None
        }
    if fields.get("media") is not None:
        fields["media"] = body.media.model_dump(mode="json")
    return fields


def _results(post: Post) -> dict[str, PlatformResult] | None:
    """Octopost's view of the targets: one entry per platform (a second account on the same platform
    is keyed "platform:username"), once publishing has produced a result."""
    finished = [t for t in post.targets if t.status in ("published", "failed")]
    if not finished:
        return None
    results: dict[str, PlatformResult] = {}
    for target in finished:
        key = target.platform if target.platform not in results else f"{target.platform}:{target.username}"
        error = (target.error or {}).get("message")
        results[key] = PlatformResult(
            success=target.status == "published",
            post_id=target.platform_post_id,
            post_url=target.platform_post_url,
            error=error,
        )
    return results


def post_out(post: Post) -> PostOut:
    media = MediaOut(**post.media) if post.media else None
    return PostOut(
        id=post.id,
        status=post.status,
        content=post.content,
        scheduled_at=post.scheduled_at,
        scheduled_for=post.scheduled_at,
        published_at=post.published_at,
        tags=post.tags,
        platforms=sorted({t.platform for t in post.targets} | set(post.platforms)),
        integrations=[t.integration_id for t in post.targets],
        post_targets=[
            PostTarget(
                id=t.id,
                status=t.status,
                platform_post_id=t.platform_post_id,
                platform_post_url=t.platform_post_url,
                published_at=t.published_at,
                error=t.error,
                integrations=TargetIntegration(id=t.integration_id, platform=t.platform, username=t.username),
            )
            for t in post.targets
        ],
        platform_results=_results(post),
        platform_overrides=post.platform_overrides,
        platform_settings=post.platform_settings,
        group_id=post.group_id,
        media=media,
        media_ids=post.media_ids,
        segments=post.segments,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


# A list item carries at most this much text (UTF-8), so that the largest page (100 posts) stays
# near 5 MB, within Lambda's 6 MB response; a post can hold 250 KB of text.
LISTED_TEXT_BYTES = 48 * 1024


def _cut(text: str, size: int) -> str:
    return text.encode()[:size].decode(errors="ignore")


def listed(post: Post) -> PostOut:
    """A post as lists show it: its texts cut to an equal share of LISTED_TEXT_BYTES when together
    they are longer, with ``truncated`` set; GET /v1/posts/{id} has them whole."""
    out = post_out(post)
    texts = [out.content, *out.platform_overrides.values(), *(segment.content for segment in out.segments or [])]
    if sum(len(text.encode()) for text in texts) <= LISTED_TEXT_BYTES:
        return out
    share = LISTED_TEXT_BYTES // len(texts)
    segments = (
        None
        if out.segments is None
        else [segment.model_copy(update={"content": _cut(segment.content, share)}) for segment in out.segments]
    )
    return out.model_copy(
        update={
            "content": _cut(out.content, share),
            "platform_overrides": {platform: _cut(text, share) for platform, text in out.platform_overrides.items()},
            "segments": segments,
            "truncated": True,
        }
    )


@blueprint.operation(
    "POST",
    "/v1/posts",
    summary="Create a post",
    status=201,
    body=CreatePost,
    response=PostOut,
    idempotent=True,
    errors=(409,),
    rate_limit="posts",
)
def create_post(call: Call):
    """A draft, or a scheduled post when schedule_at (or scheduled_for) is given."""
    return post_out(services().posts.create(call.principal, fields_of(call.body), call.request_key, call.time_left))


@blueprint.operation("GET", "/v1/posts", summary="List posts", query=ListPosts, response=PostOut, paginated=True)
def list_posts(call: Call):
    """Newest first, optionally of one status, with the exact total."""
    query = call.query
    items, total, more = services().posts.page(call.principal, query.status, query.limit, query.offset, query.after)
    return _page(items, total, more, query)


def _page(items, total: int, more: bool, query) -> Page:
    return Page(
        [listed(post) for post in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_cursor=encode_cursor(items[-1].id) if more and items else None,
    )


@blueprint.operation("GET", "/v1/posts/{post_id}", summary="Get a post", response=PostOut, errors=(404,))
def get_post(call: Call, post_id: str):
    """The post with each target's publishing status."""
    return post_out(services().posts.get(call.principal, post_id))


@blueprint.operation(
    "PATCH",
    "/v1/posts/{post_id}",
    summary="Update a post",
    body=UpdatePost,
    response=PostOut,
    idempotent=True,
    errors=(404, 409),
)
def patch_post(call: Call, post_id: str):
    """Only draft and scheduled posts; omitted fields keep their value, schedule_at null unschedules."""
    return post_out(services().posts.update(call.principal, post_id, fields_of(call.body), call.time_left))


@blueprint.operation(
    "PUT",
    "/v1/posts/{post_id}",
    summary="Update a post (as PATCH)",
    body=UpdatePost,
    response=PostOut,
    idempotent=True,
    errors=(404, 409),
)
def put_post(call: Call, post_id: str):
    """The same partial update as PATCH."""
    return post_out(services().posts.update(call.principal, post_id, fields_of(call.body), call.time_left))


@blueprint.operation("DELETE", "/v1/posts/{post_id}", summary="Delete or cancel a post", status=204, errors=(404, 409))
def delete_post(call: Call, post_id: str):
    """Deletes a draft, cancels a scheduled post, removes a published one from the workspace
    (the platform's copy stays)."""
    services().posts.delete(call.principal, post_id)
    return Reply(status=204)


@blueprint.operation(
    "POST",
    "/v1/posts/{post_id}/publish",
    summary="Publish a post now",
    status=202,
    response=PostOut,
    idempotent=True,
    errors=(404, 409, 422, 503),
)
def publish_post(call: Call, post_id: str):
    """Starts publishing at once: the answer is the post, publishing; poll it or use webhooks."""
    return post_out(services().posts.publish_now(call.principal, post_id))


@blueprint.operation(
    "POST",
    "/v1/posts/{post_id}/duplicate",
    summary="Duplicate a post",
    status=201,
    response=PostOut,
    idempotent=True,
    errors=(404, 422),
    rate_limit="posts",
)
def duplicate_post(call: Call, post_id: str):
    """A new draft with the same content, targets and settings."""
    return post_out(services().posts.duplicate(call.principal, post_id, call.request_key))


@blueprint.operation(
    "GET",
    "/v1/posts/group/{group_id}",
    summary="List the posts of a group",
    query=PageQuery,
    response=PostOut,
    paginated=True,
)
def list_group(call: Call, group_id: str):
    query = call.query
    items, total, more = services().posts.group(call.principal, group_id, query.limit, query.offset, query.after)
    return _page(items, total, more, query)


@blueprint.operation(
    "DELETE", "/v1/posts/group/{group_id}", summary="Delete every post of a group", status=204, errors=(409,)
)
def delete_group(call: Call, group_id: str):
    services().posts.delete_group(call.principal, group_id)
    return Reply(status=204)
