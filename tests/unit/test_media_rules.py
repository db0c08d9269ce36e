"""Each platform's media rules (chalicelib/media/rules.py): a passing and a failing case for every
kind of rule, the exact boundaries, and the table itself.

Expected figures are the platforms' own (see the comments in rules.py), written out here by hand
rather than read back from the table, so a slip in the table fails a test.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.domain.platforms import PLATFORMS
from chalicelib.media.rules import (
    IMAGE_TYPES,
    RULES,
    VIDEO_TYPES,
    MediaRules,
    MediaViolation,
    check,
    rules_for,
)

MiB = 1024 * 1024
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 5 code points, 8 UTF-16 units
GRINNING = "\U0001f600"  # one code point, 2 UTF-16 units


def image(index: int = 0, **fields):
    item = {
        "kind": "image",
        "content_type": "image/png",
        "size": 1000,
        "alt_text": None,
        "width": 64,
        "height": 48,
        "field": f"media.images[{index}]",
    }
    item.update(fields)
    return item


def video(**fields):
    item = {
        "kind": "video",
        "content_type": "video/mp4",
        "size": 1000,
        "alt_text": None,
        "width": 1280,
        "height": 720,
        "field": "media.video",
    }
    item.update(fields)
    return item


def images(count: int, **fields):
    return [image(index, **fields) for index in range(count)]


def codes(violations):
    return [violation.code for violation in violations]


# --- each rule: (platform, items, first_part) that pass, and that fail with the code -------------
PASSING = [
    ("bluesky", images(4), "four images, Bluesky's maximum"),
    ("twitter", [video()], "one video on X"),
    ("discord", images(5) + [video(field=f"media_ids[{i}]") for i in range(5)], "ten attachments on Discord"),
    ("telegram", images(2) + [video()], "Telegram albums mix photos and videos"),
    ("instagram", [image(content_type="image/jpeg", width=1080, height=1350)], "JPEG at 4:5 on Instagram"),
    ("tiktok", [image(content_type="image/webp")], "WebP photo on TikTok"),
    ("bluesky", [image()], "an image on Bluesky"),
    ("youtube", [video()], "a video on YouTube"),
    ("twitter", [image(content_type="image/gif")], "a GIF alone on X"),
    ("mastodon", [image(alt_text="a" * 1500)], "Mastodon description at 1,500"),
    ("slack", [image(size=5 * MiB), video(size=20 * MiB)], "Slack takes large files"),
]

FAILING = [
    ("bluesky", images(5), "too_many_images"),
    ("twitter", [video(), video(field="media_ids[1]")], "too_many_videos"),
    ("discord", images(6) + [video(field=f"media_ids[{i}]") for i in range(5)], "too_many_media"),
    ("twitter", [image(), video()], "video_with_images"),
    ("mastodon", images(3) + [video()], "video_with_images"),
    ("instagram", [image(content_type="image/webp")], "media_type_not_supported"),
    ("tiktok", [image(content_type="image/png")], "media_type_not_supported"),
    ("bluesky", [video()], "media_kind_not_supported"),
    ("youtube", [image()], "media_kind_not_supported"),
    ("bluesky", [image(size=1_204_331)], "media_too_large"),
    ("twitter", [image(content_type="image/gif"), image(1)], "media_must_be_alone"),
    ("mastodon", [image(alt_text="a" * 1501)], "alt_text_too_long"),
    ("instagram", [image(content_type="image/jpeg", width=1080, height=2400)], "media_dimensions_not_supported"),
]


@pytest.mark.parametrize("platform,items,why", PASSING, ids=[case[2] for case in PASSING])
def test_media_within_the_rules_passes(platform, items, why):
    assert check(platform, items, "media") == []


@pytest.mark.parametrize("platform,items,code", FAILING, ids=[f"{case[0]}-{case[2]}" for case in FAILING])
def test_media_breaking_a_rule_fails_with_its_code(platform, items, code):
    assert codes(check(platform, items, "media")) == [code]


# --- media_required ---------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", ["instagram", "tiktok", "youtube"])
def test_first_part_without_media_fails_where_media_is_required(platform):
    assert check(platform, [], "media") == [
        MediaViolation(
            "media", f"{rules_for(platform).name} posts must carry an image or a video; add one.", "media_required"
        )
    ]


@pytest.mark.parametrize("platform", ["instagram", "tiktok", "youtube"])
def test_later_parts_without_media_pass(platform):
    assert check(platform, [], "segments[1].media_urls", first_part=False) == []


@pytest.mark.parametrize(
    "platform", ["twitter", "bluesky", "mastodon", "linkedin", "threads", "facebook", "discord", "slack", "telegram"]
)
def test_text_only_posts_pass_elsewhere(platform):
    assert check(platform, [], "media") == []


# --- exact boundaries ------------------------------------------------------------------------------
BOUNDARIES = [
    # (platform, item at the limit, item one past it)
    ("bluesky", image(size=1_000_000), image(size=1_000_001)),
    ("twitter", image(size=5_242_880), image(size=5_242_881)),  # 5 MiB
    (
        "twitter",
        image(content_type="image/gif", size=15_728_640),
        image(content_type="image/gif", size=15_728_641),
    ),  # 15 MiB
    ("twitter", video(size=536_870_912), video(size=536_870_913)),  # 512 MiB
    ("mastodon", image(size=16_777_215), image(size=16_777_216)),  # less than 16 MiB, strictly
    ("mastodon", video(size=103_809_023), video(size=103_809_024)),  # less than 99 MiB
    ("discord", image(size=10_485_760), image(size=10_485_761)),  # 10 MiB
    ("telegram", image(size=10_000_000), image(size=10_000_001)),
    ("telegram", video(size=50_000_000), video(size=50_000_001)),
    ("instagram", image(content_type="image/jpeg", size=8_000_000), image(content_type="image/jpeg", size=8_000_001)),
]


@pytest.mark.parametrize(
    "platform,at_limit,past_limit",
    BOUNDARIES,
    ids=[f"{case[0]}-{case[1]['content_type']}-{case[1]['size']}" for case in BOUNDARIES],
)
def test_size_at_the_limit_passes_and_one_byte_more_fails(platform, at_limit, past_limit):
    assert check(platform, [at_limit], "media") == []
    assert codes(check(platform, [past_limit], "media")) == ["media_too_large"]


def test_the_gif_limit_applies_to_gifs_only():
    # 6 MiB is a fine GIF on X and too large for any other image.
    assert check("twitter", [image(content_type="image/gif", size=6 * MiB)], "media") == []
    assert codes(check("twitter", [image(content_type="image/jpeg", size=6 * MiB)], "media")) == ["media_too_large"]


ALT_TEXT = [
    # X: 1,000 in UTF-16 code units, so an emoji costs 2.
    ("twitter", "a" * 1000, "a" * 1001),
    ("twitter", GRINNING * 500, GRINNING * 500 + "a"),
    # Bluesky: 2,000 graphemes, a family emoji being one.
    ("bluesky", FAMILY * 2000, FAMILY * 2001),
    # Discord: 1,024 code points.
    ("discord", GRINNING * 1024, GRINNING * 1025),
    # Slack: 1,000.
    ("slack", "a" * 1000, "a" * 1001),
]


@pytest.mark.parametrize(
    "platform,at_limit,past_limit", ALT_TEXT, ids=[f"{case[0]}-{len(case[1])}" for case in ALT_TEXT]
)
def test_alt_text_at_the_limit_passes_and_one_more_fails(platform, at_limit, past_limit):
    assert check(platform, [image(alt_text=at_limit)], "media") == []
    assert codes(check(platform, [image(alt_text=past_limit)], "media")) == ["alt_text_too_long"]


@pytest.mark.parametrize("platform", ["telegram", "tiktok", "instagram"])
def test_alt_text_is_not_refused_where_no_limit_is_known(platform):
    item = image(content_type="image/jpeg", width=1080, height=1080, alt_text="a" * 20_000)
    assert check(platform, [item], "media") == []


DIMENSIONS = [
    # Mastodon: 7680 x 4320 = 33,177,600 pixels; GIFs 1280 x 720 = 921,600; videos 3840 x 2160.
    ("mastodon", image(width=7680, height=4320), image(width=7681, height=4320)),
    (
        "mastodon",
        image(content_type="image/gif", width=1280, height=720),
        image(content_type="image/gif", width=1281, height=720),
    ),
    ("mastodon", video(width=3840, height=2160), video(width=3841, height=2160)),
    # LinkedIn: fewer than 36,152,320 pixels (7520 x 4807 = 36,148,640; 6016 x 6010 = 36,156,160).
    ("linkedin", image(width=7520, height=4807), image(width=6016, height=6010)),
    # Telegram: width + height at most 10,000, and a ratio of at most 20.
    ("telegram", image(width=5000, height=5000), image(width=5001, height=5000)),
    ("telegram", image(width=2000, height=100), image(width=2001, height=100)),
    # Instagram: 4:5 to 1.91:1.
    (
        "instagram",
        image(content_type="image/jpeg", width=1910, height=1000),
        image(content_type="image/jpeg", width=1911, height=1000),
    ),
    (
        "instagram",
        image(content_type="image/jpeg", width=1080, height=1350),
        image(content_type="image/jpeg", width=1080, height=2400),
    ),
    # X video: 1:3 to 3:1.
    ("twitter", video(width=600, height=1800), video(width=600, height=1801)),
]


@pytest.mark.parametrize(
    "platform,fitting,not_fitting",
    DIMENSIONS,
    ids=[f"{case[0]}-{case[2]['width']}x{case[2]['height']}" for case in DIMENSIONS],
)
def test_dimensions_at_the_limit_pass_and_past_it_fail(platform, fitting, not_fitting):
    assert check(platform, [fitting], "media") == []
    assert codes(check(platform, [not_fitting], "media")) == ["media_dimensions_not_supported"]


def test_a_picture_stored_on_its_side_passes_when_turned_it_fits():
    # 1080 x 1920 (9:16, too tall for Instagram) may be a 16:9 landscape photo stored on its side
    # with an EXIF rotation, which probe does not apply: turned, it fits.
    assert check("instagram", [image(content_type="image/jpeg", width=1080, height=1920)], "media") == []


def test_unknown_dimensions_are_not_checked():
    assert check("mastodon", [image(width=None, height=None)], "media") == []


def test_discord_holds_a_message_to_ten_mib_in_all():
    six_mib = [image(size=6 * MiB), image(1, size=6 * MiB)]
    assert check("discord", six_mib, "segments[1].media_urls") == [
        MediaViolation(
            "segments[1].media_urls",
            "Discord takes at most 10,485,760 bytes of files per message; this one has 12,582,912.",
            "media_too_large",
        )
    ]
    # A file too large by itself is reported once, on the file.
    assert codes(check("discord", [image(size=11 * MiB)], "media")) == ["media_too_large"]


# --- fields, codes and messages ----------------------------------------------------------------------
def test_per_item_violations_name_the_item_and_part_violations_the_part():
    items = [image(0, content_type="image/gif", size=16 * MiB), image(1, field="media_ids[1]"), video()]
    assert check("twitter", items, "media") == [
        MediaViolation(
            "media.images[0]",
            "X takes GIFs of at most 15,728,640 bytes; this one is 16,777,216 bytes.",
            "media_too_large",
        ),
        MediaViolation(
            "media.images[0]",
            "X takes a GIF only on its own in a post; this part has 3 media files.",
            "media_must_be_alone",
        ),
        MediaViolation(
            "media",
            "X does not take images and a video in the same post; put them in separate parts.",
            "video_with_images",
        ),
    ]


def test_the_message_names_the_platform_and_the_figures():
    assert check("bluesky", [image(size=1_204_331)], "media") == [
        MediaViolation(
            "media.images[0]",
            "Bluesky takes images of at most 1,000,000 bytes; this one is 1,204,331 bytes.",
            "media_too_large",
        )
    ]
    assert check("bluesky", images(5), "segments[2].media_urls") == [
        MediaViolation(
            "segments[2].media_urls", "Bluesky takes at most 4 images per post; this one has 5.", "too_many_images"
        )
    ]
    assert check("instagram", [image(content_type="image/png")], "media")[0].message == (
        "Instagram takes images as JPEG only; this one is PNG."
    )
    assert check("threads", [image(content_type="image/gif")], "media")[0].message == (
        "Threads takes images as JPEG or PNG; this one is GIF."
    )
    assert check("twitter", [image(alt_text="a" * 1001)], "media")[0].message == (
        "X takes alt text of at most 1,000 UTF-16 code units; this one has 1,001."
    )


def test_an_item_without_a_field_is_named_by_its_place_in_the_part():
    item = image(size=2_000_000)
    del item["field"]
    assert [v.field for v in check("bluesky", [image(), item], "segments[3].media_urls")] == [
        "segments[3].media_urls[1]"
    ]


def test_a_kind_the_platform_cannot_take_is_reported_once():
    # The video is not also counted as "too many videos" nor as "video with images".
    result = check("bluesky", images(2) + [video()], "media")
    assert result == [
        MediaViolation(
            "media.video",
            "Videos cannot be published to Bluesky; remove this one or leave Bluesky out of this post.",
            "media_kind_not_supported",
        )
    ]


def test_too_many_of_a_kind_is_not_also_reported_as_too_many_media():
    assert codes(check("mastodon", images(5), "media")) == ["too_many_images"]


def test_every_problem_is_reported_at_once():
    items = [image(0, size=2_000_000), image(1, content_type="image/jpeg", alt_text=FAMILY * 2001)] + images(3)
    assert [(v.field, v.code) for v in check("bluesky", items, "media")] == [
        ("media.images[0]", "media_too_large"),
        ("media.images[1]", "alt_text_too_long"),
        ("media", "too_many_images"),
    ]


# --- the table ---------------------------------------------------------------------------------------
def test_every_platform_has_rules():
    assert set(RULES) == set(PLATFORMS)


@pytest.mark.parametrize("platform", sorted(RULES))
def test_rules_are_sane(platform):
    rules = RULES[platform]
    assert rules.platform == platform and rules.name
    assert rules.image_types <= IMAGE_TYPES and rules.video_types <= VIDEO_TYPES
    assert rules.max_images >= 0 and rules.max_videos >= 0
    assert max(rules.max_images, rules.max_videos) <= rules.max_media <= rules.max_images + rules.max_videos
    for count, types, size in (
        (rules.max_images, rules.image_types, rules.max_image_bytes),
        (rules.max_videos, rules.video_types, rules.max_video_bytes),
    ):
        if count:
            assert types and size > 0
        else:
            assert not types and size == 0
    assert all(
        size > 0 and content_type in rules.image_types | rules.video_types
        for content_type, size in rules.type_max_bytes.items()
    )
    assert rules.alone_types <= rules.image_types | rules.video_types
    assert rules.max_alt_text is None or (rules.alt_text and rules.max_alt_text > 0)
    for aspect in (rules.image_aspect, rules.video_aspect):
        assert aspect is None or 0 < aspect.minimum <= 1 <= aspect.maximum


KNOWN = [
    # (platform, attribute, value): the figures the API's users rely on.
    ("bluesky", "max_images", 4),
    ("bluesky", "max_videos", 0),
    ("bluesky", "max_image_bytes", 1_000_000),
    ("bluesky", "alt_text", True),
    ("twitter", "max_images", 4),
    ("twitter", "max_videos", 1),
    ("twitter", "max_image_bytes", 5 * MiB),
    ("twitter", "max_video_bytes", 512 * MiB),
    ("twitter", "max_alt_text", 1000),
    ("twitter", "images_with_video", False),
    ("mastodon", "max_media", 4),
    ("mastodon", "max_alt_text", 1500),
    ("mastodon", "images_with_video", False),
    ("discord", "max_media", 10),
    ("discord", "max_image_bytes", 10 * MiB),
    ("discord", "max_alt_text", 1024),
    ("telegram", "max_media", 10),
    ("telegram", "alt_text", False),
    ("telegram", "max_alt_text", None),
    ("instagram", "requires_media", True),
    ("tiktok", "requires_media", True),
    ("youtube", "requires_media", True),
    ("youtube", "max_images", 0),
    ("twitter", "requires_media", False),
]


@pytest.mark.parametrize("platform,attribute,value", KNOWN, ids=[f"{p}-{a}" for p, a, _ in KNOWN])
def test_known_figures(platform, attribute, value):
    assert getattr(RULES[platform], attribute) == value


def test_x_is_an_alias_for_twitter():
    assert rules_for("x") is RULES["twitter"]
    assert rules_for("twitter").name == "X"


@pytest.mark.parametrize("platform", ["myspace", "", "Bluesky"])
def test_an_unknown_platform_raises_key_error(platform):
    with pytest.raises(KeyError):
        rules_for(platform)
    with pytest.raises(KeyError):
        check(platform, [image()], "media")


def test_a_table_entry_with_a_type_we_do_not_accept_is_refused():
    with pytest.raises(ValueError, match="types"):
        MediaRules(
            platform="example",
            name="Example",
            max_images=1,
            max_videos=0,
            max_media=1,
            image_types=frozenset({"image/bmp"}),
            video_types=frozenset(),
            max_image_bytes=1,
            max_video_bytes=0,
            images_with_video=False,
            alt_text=False,
            max_alt_text=None,
        )


def test_aspect_ranges_are_exact_fractions():
    # 1.91:1 must not be a float that lets 1911 x 1000 through by rounding.
    assert RULES["instagram"].image_aspect.maximum == Fraction(191, 100)
