"""Images and videos on Discord, Slack and Telegram, each adapter against its local server
(tests/platform_servers/chat_apis.py), which parses the uploads as the platform does and keeps the
files with their bytes, names, types and alt text.

What each test reads back is what a person in the channel would get: the files of each message,
the message they belong to, and, where a call failed, that nothing was shown or that nothing is
shown twice.
"""

from __future__ import annotations

import io

import pytest

from chalicelib.domain.records import Integration
from chalicelib.platforms.base import (
    Attachment,
    OutcomeUnknownError,
    Part,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)
from chalicelib.platforms.discord import Discord
from chalicelib.platforms.slack import Slack
from chalicelib.platforms.telegram import Telegram
from tests import media_samples
from tests.conftest import TIME_LEFT
from tests.platform_servers.chat_apis import DiscordServer, SentFile, SlackServer, TelegramServer

PNG = media_samples.image("image/png", 64, 48)
JPEG = media_samples.image("image/jpeg", 80, 60, seed=2)
GIF = media_samples.image("image/gif", 32, 32, seed=3)
MP4 = media_samples.video("video/mp4", 1280, 720, size=6000)


def media(
    data: bytes,
    content_type: str,
    *,
    id: str,
    alt: str | None = None,
    filename: str = "",
    width: int | None = None,
    height: int | None = None,
    size: int | None = None,
) -> Attachment:
    kind = "video" if content_type.startswith("video/") else "image"
    return Attachment(
        id=id,
        kind=kind,
        content_type=content_type,
        size=len(data) if size is None else size,
        filename=filename,
        alt_text=alt,
        width=width,
        height=height,
        opener=lambda: io.BytesIO(data),
    )


def never_read(content_type: str, size: int) -> Attachment:
    """A file too large for the platform, whose bytes must not even be read."""

    def opener():
        raise AssertionError("a file the platform cannot take was read")

    kind = "video" if content_type.startswith("video/") else "image"
    return Attachment(id="big", kind=kind, content_type=content_type, size=size, opener=opener)


def two_images():
    return [
        media(PNG, "image/png", id="m1", alt="A blue square on white", filename="square.png", width=64, height=48),
        media(JPEG, "image/jpeg", id="m2", alt="The team at the launch", filename="team.png", width=80, height=60),
    ]


def video():
    return media(MP4, "video/mp4", id="v1", alt="A demo of the editor", filename="demo.mp4", width=1280, height=720)


def part(text: str, files=(), *, index: int = 0, total: int = 1, reply_to=None, root=None) -> Part:
    return Part(
        text=text,
        index=index,
        total=total,
        idempotency_key=f"t:{index}",
        reply_to=reply_to,
        root=root,
        media=list(files),
        time_left=TIME_LEFT,
    )


def integration(platform: str, profile: dict) -> Integration:
    return Integration(
        id="i",
        workspace_id="w",
        mode="live",
        platform=platform,
        username="news",
        display_name="news",
        status="active",
        created_at=None,
        updated_at=None,
        profile=profile,
    )


class _Held:
    """Credentials as an adapter holds them (AccountCredentials' reading side)."""

    def __init__(self, value):
        self.value = value


# --- Discord ---------------------------------------------------------------------------------------
def discord_adapter(server: DiscordServer) -> Discord:
    profile = {"guild_id": server.GUILD_ID, "channel_id": server.CHANNEL_ID}
    return Discord(integration("discord", profile), _Held({"webhook_url": server.webhook_url}))


def test_discord_two_images_with_alt_text_are_one_message(discord):
    ref = discord_adapter(discord).publish(part("Launch photos", two_images()))
    (message,) = discord.messages
    assert message["content"] == "Launch photos" and ref.id == message["id"]
    assert discord.attachments(message) == [
        SentFile("square.png", "image/png", PNG, "A blue square on white"),
        SentFile("team.jpg", "image/jpeg", JPEG, "The team at the launch"),  # named for what the bytes are
    ]
    assert discord.calls.count("execute") == 1


def test_discord_video(discord):
    discord_adapter(discord).publish(part("Watch the demo", [video()]))
    (message,) = discord.messages
    assert discord.attachments(message) == [SentFile("demo.mp4", "video/mp4", MP4, "A demo of the editor")]


def test_discord_media_alone_and_long_alt_text(discord):
    long_alt = "word " * 300
    discord_adapter(discord).publish(part("", [media(PNG, "image/png", id="m1", alt=long_alt)]))
    (message,) = discord.messages
    (sent,) = discord.attachments(message)
    assert message["content"] == "" and sent.filename == "m1.png" and sent.data == PNG
    assert len(sent.description) == 1024 and sent.description.startswith("word word")


def test_discord_forum_thread_with_an_image_in_a_reply():
    with DiscordServer(forum=True) as forum:
        adapter = discord_adapter(forum)
        first = adapter.publish(part("Launch day\nEverything new in 2.0", two_images(), total=2))
        second = adapter.publish(part("And a video", [video()], index=1, total=2, reply_to=first, root=first))
        (thread_id,) = forum.threads
        assert forum.channel() == ["Launch day"]
        assert forum.thread(thread_id) == ["Launch day\nEverything new in 2.0", "And a video"]
        opening, reply = forum.messages
        assert [f.description for f in forum.attachments(opening)] == [
            "A blue square on white",
            "The team at the launch",
        ]
        assert forum.attachments(reply) == [SentFile("demo.mp4", "video/mp4", MP4, "A demo of the editor")]
        assert second.extra["thread_id"] == thread_id


def test_discord_upload_failing_is_retryable_and_shows_nothing(discord):
    discord.fail_next("5xx")
    with pytest.raises(TransientError) as failed:
        discord_adapter(discord).publish(part("Launch photos", two_images()))
    assert not isinstance(failed.value, PlatformRateLimitedError)
    assert discord.messages == []


def test_discord_429_with_files(discord):
    discord.fail_next("429", retry_after=2.5)
    with pytest.raises(PlatformRateLimitedError) as limited:
        discord_adapter(discord).publish(part("Launch photos", two_images()))
    assert limited.value.retry_after == 2.5 and discord.messages == []


def test_discord_lost_answer_with_files_is_never_sent_twice(discord, monkeypatch):
    monkeypatch.setattr(Discord, "timeout", (2.0, 0.3))
    discord.fail_next("slow", delay=1.0)
    with pytest.raises(OutcomeUnknownError):
        discord_adapter(discord).publish(part("Launch photos", two_images()))
    assert discord.calls.count("execute") == 1


def test_discord_file_over_its_limit_is_refused_unread(discord):
    with pytest.raises(PermanentError) as refused:
        discord_adapter(discord).publish(part("Big", [never_read("video/mp4", 10 * 1024 * 1024 + 1)]))
    assert refused.value.code == "media_too_large" and discord.calls.items == []


def test_discord_refusing_the_file_is_permanent(discord):
    discord.upload_limit = len(PNG) - 1  # a smaller limit than this adapter guards for
    with pytest.raises(PermanentError) as refused:
        discord_adapter(discord).publish(part("Too big here", [media(PNG, "image/png", id="m1")]))
    assert "Request entity too large" in refused.value.message and discord.messages == []


# --- Slack -----------------------------------------------------------------------------------------
def slack_adapter(server: SlackServer) -> Slack:
    profile = {"channel_id": server.CHANNEL_ID, "team_url": server.TEAM_URL}
    return Slack(integration("slack", profile), _Held({"bot_token": server.TOKEN}), api_url=server.api_url)


def test_slack_two_images_with_alt_text_follow_their_text(slack):
    ref = slack_adapter(slack).publish(part("Launch photos & more", two_images()))
    text, files = slack.history()
    # The text is the message users see first, and the one the PostRef names; the files follow it.
    assert text["text"] == "Launch photos & more" and text["files"] == [] and ref.id == text["ts"]
    assert ref.url == f"{slack.TEAM_URL}archives/{slack.CHANNEL_ID}/p{ref.id.replace('.', '')}"
    assert files["text"] == "" and files["files"] == [
        SentFile("square.png", "image/png", PNG, "A blue square on white", "square.png"),
        SentFile("team.jpg", "image/jpeg", JPEG, "The team at the launch", "team.jpg"),
    ]
    # Both files were up before anything was shown.
    names = [name for _, name in slack.calls.items]
    assert names == ["files.getUploadURLExternal", "upload"] * 2 + ["chat.postMessage", "files.completeUploadExternal"]


def test_slack_video_goes_without_alt_text(slack):
    slack_adapter(slack).publish(part("Watch the demo", [video()]))
    _, files = slack.history()
    assert files["files"] == [SentFile("demo.mp4", "video/mp4", MP4, None, "demo.mp4")]  # alt_txt is for images


def test_slack_reply_with_an_image_stays_in_the_thread(slack):
    adapter = slack_adapter(slack)
    first = adapter.publish(part("Thread, part one", total=2))
    second = adapter.publish(
        part(
            "Part two", [media(PNG, "image/png", id="m1", alt="A chart")], index=1, total=2, reply_to=first, root=first
        )
    )
    (root,) = slack.history()
    assert root["ts"] == first.id and root["replies"] == ["Part two", ""]
    reply, files = slack.thread(first.id)
    assert reply["ts"] == second.id and reply["text"] == "Part two"
    assert files["files"] == [SentFile("m1.png", "image/png", PNG, "A chart", "m1.png")]
    assert second.url.endswith(f"?thread_ts={first.id}&cid={slack.CHANNEL_ID}")


def test_slack_upload_failing_is_retryable_and_shows_nothing(slack):
    slack.fail_next("5xx", on="upload")
    with pytest.raises(TransientError) as failed:
        slack_adapter(slack).publish(part("Launch photos", two_images()))
    assert not isinstance(failed.value, PlatformRateLimitedError)
    assert slack.history() == [] and slack.calls.count("chat.postMessage") == 0


def test_slack_lost_upload_answer_is_safe_to_repeat(slack, monkeypatch):
    monkeypatch.setattr(Slack, "timeout", (2.0, 0.3))
    slack.fail_next("slow", on="upload", delay=1.0)
    adapter = slack_adapter(slack)
    with pytest.raises(TransientError):
        adapter.publish(part("Launch photos", two_images()))
    assert slack.history() == []
    adapter.publish(part("Launch photos", two_images()))  # the engine's retry
    assert [item["text"] for item in slack.history()] == ["Launch photos", ""]


def test_slack_storage_failing_mid_upload_is_retryable_and_shows_nothing(slack):
    class BrokenStream(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise TransientError("Reading media v1 from storage failed; it will be tried again.")
            return super().read(size)

    item = Attachment(
        id="v1", kind="video", content_type="video/mp4", size=len(MP4) + 10, opener=lambda: BrokenStream(MP4)
    )
    with pytest.raises(TransientError) as failed:
        slack_adapter(slack).publish(part("Watch the demo", [item]))
    assert "storage" in failed.value.message and slack.history() == []


def test_slack_429(slack):
    slack.fail_next("429", retry_after=7)
    with pytest.raises(PlatformRateLimitedError) as limited:
        slack_adapter(slack).publish(part("Launch photos", two_images()))
    assert limited.value.retry_after == 7 and slack.history() == []


def test_slack_sharing_failing_after_the_text_is_never_retried(slack):
    slack.fail_next("5xx", on="files.completeUploadExternal")
    with pytest.raises(OutcomeUnknownError) as unknown:
        slack_adapter(slack).publish(part("Launch photos", two_images()))
    assert "posted the text" in unknown.value.message
    assert [item["text"] for item in slack.history()] == ["Launch photos"]


def test_slack_media_without_text_is_refused_before_anything_is_sent(slack):
    with pytest.raises(PermanentError) as refused:
        slack_adapter(slack).publish(part("  ", two_images()))
    assert refused.value.code == "text_required" and slack.calls.items == []


# --- Telegram --------------------------------------------------------------------------------------
def telegram_adapter(server: TelegramServer) -> Telegram:
    profile = {"chat_id": server.CHAT_ID, "chat_username": server.CHAT_USERNAME}
    return Telegram(integration("telegram", profile), _Held({"bot_token": server.TOKEN}), api_url=server.api_url)


def test_telegram_two_images_are_an_album_captioned_once(telegram):
    ref = telegram_adapter(telegram).publish(part("Launch photos", two_images()))
    first, second = telegram.feed()
    assert ref.id == str(first["id"]) and ref.url == f"https://t.me/openpost_news/{first['id']}"
    assert first["album"] == second["album"] is not None
    assert first["text"] == "Launch photos" and second["text"] == ""
    # Telegram has no alt text: the files arrive as they are.
    assert first["media"] == [("photo", SentFile("square.png", "image/png", PNG))]
    assert second["media"] == [("photo", SentFile("team.jpg", "image/jpeg", JPEG))]
    assert telegram.calls.count("sendMediaGroup") == 1


def test_telegram_video(telegram):
    telegram_adapter(telegram).publish(part("Watch the demo", [video()]))
    (message,) = telegram.feed()
    assert message["text"] == "Watch the demo" and message["media"] == [
        ("video", SentFile("demo.mp4", "video/mp4", MP4))
    ]
    assert telegram.messages[0]["video"]["width"] == 1280 and telegram.calls.count("sendVideo") == 1


def test_telegram_a_gif_alone_still_moves(telegram):
    telegram_adapter(telegram).publish(part("", [media(GIF, "image/gif", id="g1")]))
    (message,) = telegram.feed()
    assert message["media"] == [("animation", SentFile("g1.gif", "image/gif", GIF))]


def test_telegram_reply_with_an_image(telegram):
    adapter = telegram_adapter(telegram)
    first = adapter.publish(part("Launch photos", two_images(), total=2))
    second = adapter.publish(
        part("And the chart", [media(PNG, "image/png", id="m3")], index=1, total=2, reply_to=first, root=first)
    )
    *_, reply = telegram.feed()
    assert reply["id"] == int(second.id) and reply["reply_to"] == int(first.id)  # the album's first message
    assert reply["text"] == "And the chart" and reply["media"] == [("photo", SentFile("m3.png", "image/png", PNG))]
    assert telegram.calls.count("sendPhoto") == 1


def test_telegram_upload_failing_is_retryable_and_shows_nothing(telegram):
    telegram.fail_next("5xx")
    with pytest.raises(TransientError) as failed:
        telegram_adapter(telegram).publish(part("Launch photos", two_images()))
    assert not isinstance(failed.value, PlatformRateLimitedError)
    assert telegram.feed() == []


def test_telegram_429(telegram):
    telegram.fail_next("429", retry_after=11)
    with pytest.raises(PlatformRateLimitedError) as limited:
        telegram_adapter(telegram).publish(part("Watch the demo", [video()]))
    assert limited.value.retry_after == 11 and telegram.feed() == []


def test_telegram_lost_answer_with_a_photo_is_never_sent_twice(telegram, monkeypatch):
    monkeypatch.setattr(Telegram, "timeout", (2.0, 0.3))
    telegram.fail_next("slow", delay=1.0)
    with pytest.raises(OutcomeUnknownError):
        telegram_adapter(telegram).publish(part("Hello", [media(PNG, "image/png", id="m1")]))
    assert telegram.calls.count("sendPhoto") == 1


def test_telegram_caption_over_its_limit_is_refused_before_sending(telegram):
    with pytest.raises(PermanentError) as refused:
        telegram_adapter(telegram).publish(part("x" * 1025, two_images()))
    assert refused.value.code == "character_limit_exceeded" and telegram.calls.items == []


def test_telegram_video_over_its_limit_is_refused_unread(telegram):
    with pytest.raises(PermanentError) as refused:
        telegram_adapter(telegram).publish(part("Big", [never_read("video/mp4", 50 * 1024 * 1024 + 1)]))
    assert refused.value.code == "media_too_large" and telegram.calls.items == []
