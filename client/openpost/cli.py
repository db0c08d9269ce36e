"""The ``openpost`` command: the API from a shell. Human tables by default, ``--json`` for scripts;
exit codes a script can test (see EXIT_CODES); errors are the API's own messages."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import openpost
from openpost import _cli_format as fmt
from openpost import errors

EXIT_CODES = {
    "ok": 0,
    "error": 1,  # any other API error
    "usage": 2,  # bad arguments (argparse's own code)
    "auth": 3,  # 401, 403, or no key
    "not_found": 4,
    "conflict": 5,  # 409
    "invalid": 6,  # 422
    "rate_limited": 7,  # 429
    "unavailable": 8,  # 5xx or no connection, after the retries
}
POST_COLUMNS = ("id", "status", "platforms", "scheduled_at", "published_at", "content")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not getattr(args, "run", None):
        parser().print_help(sys.stderr)
        return EXIT_CODES["usage"]
    try:
        client = openpost.Openpost(api_key=args.api_key, base_url=args.base_url)
        with client:
            return args.run(client, args) or 0
    except errors.ConfigurationError as error:
        return fail(str(error), "auth")
    except ValueError as error:  # a time or a file the CLI could not read
        return fail(str(error), "usage")
    except errors.APIError as error:
        return fail(str(error), kind_of(error))
    except errors.APIConnectionError as error:
        return fail(f"cannot reach the API: {error}", "unavailable")
    except errors.OpenpostError as error:
        return fail(str(error), "error")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left early (| head): nothing more to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def kind_of(error: errors.APIError) -> str:
    if isinstance(error, errors.AuthenticationError | errors.PermissionDeniedError):
        return "auth"
    if isinstance(error, errors.NotFoundError):
        return "not_found"
    if isinstance(error, errors.ConflictError):
        return "conflict"
    if isinstance(error, errors.ValidationError):
        return "invalid"
    if isinstance(error, errors.RateLimitedError):
        return "rate_limited"
    if isinstance(error, errors.ServerError):
        return "unavailable"
    return "error"


def fail(message: str, kind: str) -> int:
    print(f"openpost: {message}", file=sys.stderr)
    return EXIT_CODES[kind]


def emit(args: argparse.Namespace, value: Any, human: str) -> None:
    if args.json:
        print(json.dumps(dump(value), indent=2, ensure_ascii=False))
    else:
        print(human)


def dump(value: Any) -> Any:
    if isinstance(value, list):
        return [dump(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    return value


def row(model: Any) -> dict[str, Any]:
    return {**(model.model_dump() if hasattr(model, "model_dump") else model)}


def post_detail(post: Any) -> str:
    lines = [fmt.table([row(post)], POST_COLUMNS)]
    for target in post.post_targets or []:
        where = target.platform_post_url or target.error or ""
        lines.append(f"  → {target.integrations.platform:<10} {target.status:<10} {fmt.text(where)}")
    return "\n".join(lines)


# --- posts -----------------------------------------------------------------------------------------
def posts_create(client: openpost.Openpost, args: argparse.Namespace) -> int:
    if args.alt and len(args.alt) > len(args.image or []):
        raise ValueError("--alt describes an --image: give one --image per --alt")
    media = list(args.media or [])
    for number, image in enumerate(args.image or []):
        alt = args.alt[number] if args.alt and number < len(args.alt) else None
        progress = None if args.json else fmt.ProgressBar(Path(image).name)
        media.append(client.media.upload(image, alt_text=alt, on_progress=progress).id)
    body: dict[str, Any] = {"content": args.content}
    platforms = [p for value in args.to or [] for p in value.split(",") if p]
    if platforms:
        body["platforms"] = platforms
    if args.integration:
        body["integrations"] = args.integration
    if media:
        body["media"] = media
    if args.at:
        body["schedule_at"] = fmt.parse_when(args.at)
    if args.tag:
        body["tags"] = args.tag
    post = client.posts.create(body, idempotency_key=args.idempotency_key)
    emit(args, post, post_detail(post))
    return 0


def posts_list(client: openpost.Openpost, args: argparse.Namespace) -> int:
    posts = []
    for post in client.posts.list(status=args.status, limit=min(args.limit, 100)):
        posts.append(post)
        if len(posts) >= args.limit:
            break
    emit(args, posts, fmt.table([row(p) for p in posts], POST_COLUMNS))
    return 0


def posts_get(client: openpost.Openpost, args: argparse.Namespace) -> int:
    post = client.posts.get(args.id)
    emit(args, post, post_detail(post))
    return 0


def posts_publish(client: openpost.Openpost, args: argparse.Namespace) -> int:
    post = client.posts.publish(args.id)
    emit(args, post, post_detail(post))
    return 0


def posts_delete(client: openpost.Openpost, args: argparse.Namespace) -> int:
    client.posts.delete(args.id)
    emit(args, {"id": args.id, "deleted": True}, f"deleted {args.id}")
    return 0


# --- media, integrations, api keys ----------------------------------------------------------------
def media_upload(client: openpost.Openpost, args: argparse.Namespace) -> int:
    progress = None if args.json else fmt.ProgressBar(Path(args.file).name)
    media = client.media.upload(args.file, alt_text=args.alt, content_type=args.content_type, on_progress=progress)
    emit(args, media, fmt.table([row(media)], ("id", "status", "kind", "content_type", "size", "width", "height")))
    return 0


def integrations_list(client: openpost.Openpost, args: argparse.Namespace) -> int:
    found = list(client.integrations.list())
    emit(args, found, fmt.table([row(i) for i in found], ("id", "platform", "username", "status", "sandbox")))
    return 0


def integrations_connect(client: openpost.Openpost, args: argparse.Namespace) -> int:
    credentials = dict(pair.split("=", 1) for pair in args.field or [])
    if args.identifier:
        credentials["identifier"] = args.identifier
    if args.password:
        credentials["password"] = args.password
    elif args.platform == "bluesky" and sys.stdin.isatty():
        import getpass

        credentials.setdefault("identifier", input("Bluesky handle: ").strip())
        credentials["password"] = getpass.getpass("App password (not your account password): ")
    result = client.integrations.connect(args.platform, **credentials)
    if getattr(result, "url", None) and not getattr(result, "platform", None):
        emit(args, result, f"Open this URL in a browser to connect {args.platform}:\n{result.url}")
    else:
        emit(args, result, fmt.table([row(result)], ("id", "platform", "username", "status")))
    return 0


def api_keys_list(client: openpost.Openpost, args: argparse.Namespace) -> int:
    keys = list(client.api_keys.list())
    emit(args, keys, fmt.table([row(k) for k in keys], ("id", "name", "mode", "redacted", "expires_at")))
    return 0


def api_keys_rotate(client: openpost.Openpost, args: argparse.Namespace) -> int:
    key_id = args.id or current_key_id(client)
    rotated = client.api_keys.rotate(key_id)
    human = (
        f"New key (shown once; store it now): {rotated.secret}\n"
        f"The old key ({rotated.replaces.redacted}) keeps working until {fmt.text(rotated.replaces.expires_at)}."
    )
    emit(args, rotated, human)
    return 0


def current_key_id(client: openpost.Openpost) -> str:
    """The id of the key this command runs with: the listed key whose redacted form matches it."""
    for key in client.api_keys.list():
        head, _, tail = key.redacted.partition("…")
        if client.api_key.startswith(head) and client.api_key.endswith(tail):
            return key.id
    raise errors.OpenpostError("cannot tell which key is in use; give its id")


def analytics_post(client: openpost.Openpost, args: argparse.Namespace) -> int:
    import time

    while True:
        result = client.analytics.post(args.id)
        if args.json:
            emit(args, result, "")
        else:
            print(analytics_chart(result, args.metric))
        if not args.watch:
            return 0
        time.sleep(args.watch)
        if not args.json:
            print()


def analytics_chart(result: Any, metric: str) -> str:
    lines = [f"post {result.post_id}: {metric} {fmt.text(getattr(result.totals, metric, None))} in total"]
    for target in result.targets:
        reason = f" ({target.analytics_reason})" if target.analytics_reason else ""
        lines.append(f"\n{target.platform} @{target.username}: {target.analytics_status}{reason}")
        points = [
            (snapshot.captured_at.strftime("%m-%d %H:%M"), float(getattr(snapshot, metric) or 0))
            for snapshot in reversed(target.snapshots)  # oldest first, as time runs
        ]
        lines.append(fmt.bar_chart(points))
    return "\n".join(lines)


def webhooks_listen(client: openpost.Openpost, args: argparse.Namespace) -> int:
    from openpost._cli_listen import listen

    return listen(client, args, emit)


# --- the parser ------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="openpost",
        description="The openpost API from your shell. The key and URL come from --api-key/--base-url, "
        "OPENPOST_API_KEY/OPENPOST_BASE_URL, or the local stack's .openpost/local.json.",
        epilog="Exit codes: " + ", ".join(f"{code} {name}" for name, code in EXIT_CODES.items()),
    )
    root.add_argument("--api-key")
    root.add_argument("--base-url")
    root.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    groups = root.add_subparsers(dest="group", metavar="{posts,media,integrations,api-keys,analytics,webhooks}")

    def command(group, name, run, help_text):
        sub = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
        return sub

    posts = groups.add_parser("posts", help="create, list, read, publish and delete posts").add_subparsers()
    create = command(posts, "create", posts_create, "Create a post (a draft, or scheduled with --at)")
    create.add_argument("--content", required=True)
    create.add_argument("--to", action="append", help="platform(s): bluesky, or twitter,bluesky (repeatable)")
    create.add_argument("--integration", action="append", help="an integration id (repeatable)")
    create.add_argument("--at", help="when: '2026-12-24 09:00 Europe/Paris', an ISO time with offset, now+2h")
    create.add_argument("--image", action="append", help="a file to upload and attach (repeatable)")
    create.add_argument("--alt", action="append", help="alt text of the --image at the same position")
    create.add_argument("--media", action="append", help="the id of media uploaded before (repeatable)")
    create.add_argument("--tag", action="append")
    create.add_argument("--idempotency-key", help="retrying with the same key never creates twice")
    listing = command(posts, "list", posts_list, "List posts, newest first")
    listing.add_argument("--status", choices=("draft", "scheduled", "publishing", "published", "failed"))
    listing.add_argument("--limit", type=int, default=20, help="how many to show (every page is followed)")
    for name, run, text in (
        ("get", posts_get, "Show a post and its targets"),
        ("publish", posts_publish, "Publish a post now"),
        ("delete", posts_delete, "Delete a draft or cancel a scheduled post"),
    ):
        command(posts, name, run, text).add_argument("id")

    media = groups.add_parser("media", help="upload media").add_subparsers()
    upload = command(media, "upload", media_upload, "Upload a file (a progress bar) and wait until it is ready")
    upload.add_argument("file")
    upload.add_argument("--alt", help="alt text")
    upload.add_argument("--content-type", help="when the file name does not tell")

    integrations = groups.add_parser("integrations", help="connected accounts").add_subparsers()
    command(integrations, "list", integrations_list, "List connected accounts")
    connect = command(integrations, "connect", integrations_connect, "Connect an account")
    connect.add_argument("platform", help="bluesky, mastodon, telegram, ... (OAuth ones print a URL to open)")
    connect.add_argument("--identifier", help="Bluesky: the handle")
    connect.add_argument("--password", help="Bluesky: an app password")
    connect.add_argument("--field", action="append", help="another credential, as name=value (repeatable)")

    keys = groups.add_parser("api-keys", help="API keys").add_subparsers()
    command(keys, "list", api_keys_list, "List the workspace's keys")
    rotate = command(keys, "rotate", api_keys_rotate, "Rotate a key: a new secret, the old one valid 24 h")
    rotate.add_argument("id", nargs="?", help="the key's id (default: the key in use)")

    analytics = groups.add_parser("analytics", help="metrics").add_subparsers()
    post = command(analytics, "post", analytics_post, "A post's metrics, charted by snapshot")
    post.add_argument("id")
    post.add_argument("--metric", default="impressions", choices=("impressions", "likes", "comments", "shares"))
    post.add_argument("--watch", type=float, metavar="SECONDS", help="redraw every SECONDS as snapshots land")

    webhooks = groups.add_parser("webhooks", help="webhook tools").add_subparsers()
    listen = command(webhooks, "listen", webhooks_listen, "Receive events here: a temporary endpoint, verified")
    listen.add_argument("--events", default="*", help="comma-separated event types (default: all)")
    listen.add_argument("--port", type=int, default=0, help="local port to listen on (default: any free one)")
    listen.add_argument("--forward-to", help="also POST each verified event's body to this URL")
    listen.add_argument("--count", type=int, help="stop after this many events")
    return root


if __name__ == "__main__":
    sys.exit(main())
