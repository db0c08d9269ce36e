"""The media probe against real files: Pillow writes the images and is the oracle for their size;
movies are built box by box (tests/media_samples.py). Large files are served by a virtual reader that
never allocates them and counts what the probe asks for."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from chalicelib.media.probe import (
    HEAD_BYTES,
    MAX_READS,
    READ_SIZE,
    MediaRejectedError,
    Probe,
    probe,
    probe_bytes,
)
from tests import media_samples


class SparseFile:
    """A reader over a virtual file of ``size`` bytes: ``pieces`` at their offsets, zeros elsewhere.
    It records every request and how many bytes it handed back."""

    def __init__(self, size: int, pieces, *, piece_limit: int = 0):
        self.size = size
        self.pieces = list(pieces)
        self.piece_limit = piece_limit  # if set, hand back at most this much per call, as a stream may
        self.requests = []
        self.bytes_read = 0

    @classmethod
    def of(cls, data: bytes, **options) -> SparseFile:
        return cls(len(data), [(0, data)], **options)

    def __call__(self, start: int, length: int) -> bytes:
        self.requests.append((start, length))
        if self.piece_limit:
            length = min(length, self.piece_limit)
        end = min(start + length, self.size)
        out = bytearray(max(0, end - start))
        for at, piece in self.pieces:
            low, high = max(start, at), min(end, at + len(piece))
            if low < high:
                out[low - start : high - start] = piece[low - at : high - at]
        self.bytes_read += len(out)
        return bytes(out)


def pillow_size(data: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        return picture.size


def rejection(data: bytes) -> str:
    with pytest.raises(MediaRejectedError) as raised:
        probe_bytes(data)
    assert raised.value.message and raised.value.status == 422 and raised.value.code != "media_rejected"
    return raised.value.code


IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]


@pytest.mark.parametrize("content_type", IMAGE_TYPES)
@pytest.mark.parametrize("width,height", [(1, 1), (17, 5), (640, 480), (3000, 2), (2, 4000)])
def test_images_are_identified_and_measured_like_pillow(content_type, width, height):
    data = media_samples.image(content_type, width, height)
    assert pillow_size(data) == (width, height)
    assert probe_bytes(data) == Probe(content_type, "image", width, height)


@pytest.mark.parametrize("content_type", IMAGE_TYPES)
def test_large_noisy_images(content_type):
    data = media_samples.image(content_type, pad_to=300_000)
    found = probe_bytes(data)
    assert (found.content_type, found.kind) == (content_type, "image")
    assert (found.width, found.height) == pillow_size(data)


def test_progressive_jpeg():
    data = media_samples.jpeg(300, 200, progressive=True)
    assert b"\xff\xc2" in data and b"\xff\xc0" not in data
    assert probe_bytes(data) == Probe("image/jpeg", "image", *pillow_size(data))


def test_jpeg_frame_header_far_past_the_first_read_is_found_by_jumping_segments():
    data = media_samples.jpeg(123, 45, padding_segments=20)  # ~1.3 MB of metadata before the SOF
    assert data.index(b"\xff\xc0") > 20 * HEAD_BYTES
    reader = SparseFile.of(data)
    assert probe(reader, len(data)) == Probe("image/jpeg", "image", *pillow_size(data))
    assert max(length for _, length in reader.requests) <= READ_SIZE
    assert len(reader.requests) <= 25  # one window per 64 KB segment, not byte by byte


def test_animated_gif_reports_its_canvas():
    data = media_samples.animated_gif(90, 70, frames=4)
    from PIL import Image

    assert Image.open(io.BytesIO(data)).n_frames == 4
    assert probe_bytes(data) == Probe("image/gif", "image", 90, 70) and pillow_size(data) == (90, 70)


@pytest.mark.parametrize("options,chunk", [({}, b"VP8 "), ({"lossless": True}, b"VP8L"), ({"alpha": True}, b"VP8X")])
@pytest.mark.parametrize("width,height", [(1, 1), (333, 77), (16383, 2)])
def test_webp_lossy_lossless_and_extended(options, chunk, width, height):
    data = media_samples.webp(width, height, **options)
    assert data[12:16] == chunk
    assert probe_bytes(data) == Probe("image/webp", "image", *pillow_size(data))
    assert pillow_size(data) == (width, height)


MOVIE_LAYOUTS = [
    {},
    {"moov_last": True},
    {"wide_mdat": True},
    {"moov_last": True, "wide_mdat": True},
    {"tkhd_version": 1},
    {"tracks": [(0, 0), (1080, 1920)]},  # a sound track first: the picture track decides
]


@pytest.mark.parametrize("content_type", ["video/mp4", "video/quicktime"])
@pytest.mark.parametrize("layout", MOVIE_LAYOUTS)
def test_movies_in_every_layout(content_type, layout):
    data = media_samples.movie(content_type, 1920, 1080, **layout)
    expected = (1080, 1920) if "tracks" in layout else (1920, 1080)
    assert probe_bytes(data) == Probe(content_type, "video", *expected)


@pytest.mark.parametrize("content_type", ["video/mp4", "video/quicktime"])
def test_video_sample(content_type):
    assert probe_bytes(media_samples.video(content_type, 640, 360)) == Probe(content_type, "video", 640, 360)


@pytest.mark.parametrize("layout", [{"moov_last": True}, {"moov_last": True, "wide_mdat": True}, {}])
def test_a_100_mb_movie_is_probed_reading_well_under_1_mb(layout):
    size = 100 * 1024 * 1024
    before, gap, after = media_samples.movie_parts("video/mp4", 3840, 2160, mdat_size=size, **layout)
    reader = SparseFile(len(before) + gap + len(after), [(0, before), (len(before) + gap, after)])
    assert probe(reader, reader.size) == Probe("video/mp4", "video", 3840, 2160)
    assert reader.requests[0] == (0, HEAD_BYTES)
    assert reader.bytes_read < 200 * 1024 and len(reader.requests) <= 3
    assert max(length for _, length in reader.requests) <= READ_SIZE


def test_fill_bytes_before_a_jpeg_marker_are_skipped():
    data = media_samples.jpeg(31, 17)
    frame = data.index(b"\xff\xc0")
    data = data[:frame] + b"\xff\xff\xff" + data[frame:]
    assert probe_bytes(data) == Probe("image/jpeg", "image", 31, 17) == Probe("image/jpeg", "image", *pillow_size(data))


def test_a_reader_that_returns_short_pieces_is_asked_again():
    data = media_samples.jpeg(50, 60, padding_segments=3)
    assert probe(SparseFile.of(data, piece_limit=4096), len(data)) == Probe("image/jpeg", "image", 50, 60)


@pytest.mark.parametrize(
    "brand,expected",
    [
        (b"mp42", "video/mp4"),
        (b"iso5", "video/mp4"),
        (b"M4V ", "video/mp4"),
        (b"avc1", "video/mp4"),
        (b"qt  ", "video/quicktime"),
    ],
)
def test_accepted_brands(brand, expected):
    assert probe_bytes(media_samples.movie(brand=brand)).content_type == expected


@pytest.mark.parametrize("brand", [b"3gp4", b"3g2a", b"heic", b"avif", b"M4A ", b"crx "])
def test_other_brands_are_unsupported(brand):
    assert rejection(media_samples.movie(brand=brand)) == "unsupported_type"


def test_a_movie_without_a_picture_track_or_without_a_header():
    assert rejection(media_samples.movie(tracks=[(0, 0)])) == "no_video_track"
    assert rejection(media_samples.movie(tracks=[])) == "no_video_track"
    assert rejection(media_samples.movie(with_moov=False)) == "corrupt_file"


def test_a_last_box_of_size_zero_runs_to_the_end_of_the_file():
    data = bytearray(media_samples.movie(mdat_size=5000))
    mdat = data.index(b"mdat") - 4
    data[mdat : mdat + 4] = b"\0\0\0\0"
    assert probe_bytes(bytes(data)).width == 1280


@pytest.mark.parametrize(
    "data",
    [
        media_samples.lying_image(),
        b"just some notes\n" * 40,
        b"<!DOCTYPE html><html><head><title>x</title></head><body><img src=a.png></body></html>",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n",
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\0" * 32,
        b"PK\x03\x04" + b"\0" * 40,
        b"\xff\xd8",  # too short to tell
    ],
    ids=["lying_image", "text", "html", "pdf", "wav", "zip", "two_bytes"],
)
def test_files_that_are_not_media_are_unsupported(data):
    assert rejection(data) == "unsupported_type"


def test_an_empty_file():
    assert rejection(b"") == "empty_file"


def _png_sized(width: int, height: int) -> bytes:
    data = bytearray(media_samples.image("image/png", 4, 4))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _patched(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value) :]


def _jpeg_sized(width: int, height: int) -> bytes:
    data = media_samples.jpeg(8, 8)
    return _patched(data, data.index(b"\xff\xc0") + 5, struct.pack(">HH", height, width))


@pytest.mark.parametrize(
    "data",
    [
        _png_sized(0, 10),
        _png_sized(10, 30_001),
        _png_sized(2**31, 1),
        _jpeg_sized(40_000, 10),
        _jpeg_sized(10, 0),
        _patched(media_samples.image("image/gif"), 6, struct.pack("<H", 0)),
        _patched(media_samples.image("image/gif"), 8, struct.pack("<H", 65535)),
        _patched(media_samples.webp(alpha=True), 24, (200_000 - 1).to_bytes(3, "little")),  # needs all 24 bits
        media_samples.movie(width=30_001, height=10),
    ],
)
def test_absurd_dimensions(data):
    assert rejection(data) == "dimensions_invalid"


def test_the_largest_allowed_side():
    assert probe_bytes(_png_sized(30_000, 1)).width == 30_000


def _header_end(data: bytes) -> int:
    """Where the bytes the probe needs end, for each sample below."""
    if data.startswith(b"\xff\xd8"):
        return data.index(b"\xff\xc0") + 9
    if data.startswith(b"\x89PNG"):
        return 33
    if data.startswith(b"GIF"):
        return 10
    if data.startswith(b"RIFF"):
        return 30
    return data.index(b"mdat") if data.index(b"moov") < data.index(b"mdat") else len(data)


# Formats that state their own length: a cut anywhere is caught, not only inside the headers.
LENGTH_STATED = {
    "png": media_samples.image("image/png", 40, 30),
    "webp_lossy": media_samples.webp(40, 30),
    "webp_lossless": media_samples.webp(40, 30, lossless=True),
    "webp_alpha": media_samples.webp(40, 30, alpha=True),
    "mp4": media_samples.movie(),
    "mov": media_samples.movie("video/quicktime"),
    "mp4_moov_last": media_samples.movie(moov_last=True),
    "mp4_wide": media_samples.movie(wide_mdat=True),
}
HEADERS_ONLY = {
    "jpeg": media_samples.jpeg(40, 30),
    "jpeg_padded": media_samples.jpeg(40, 30, padding_segments=2),
    "gif": media_samples.animated_gif(40, 30),
}


@pytest.mark.parametrize("name", sorted(LENGTH_STATED) + sorted(HEADERS_ONLY))
def test_truncated_files_are_rejected_never_crash(name):
    data = LENGTH_STATED.get(name) or HEADERS_ONLY[name]
    end = _header_end(data)
    cuts = set(range(1, min(end, 300))) | {end // 2, end - 1}
    if name in LENGTH_STATED:
        cuts |= {len(data) // 2, len(data) - 1}
    for cut in sorted(cuts):
        with pytest.raises(MediaRejectedError) as raised:
            probe_bytes(data[:cut])
        assert raised.value.code in {"corrupt_file", "unsupported_type"}, cut
    assert probe_bytes(data).width == 40 or probe_bytes(data).width == 1280


def test_an_object_shorter_than_its_stated_size_is_corrupt():
    for data in (media_samples.movie(), media_samples.image("image/png")):
        reader = SparseFile.of(data)
        with pytest.raises(MediaRejectedError) as raised:
            probe(reader, len(data) + 1000)
        assert raised.value.code == "corrupt_file"
        assert len(reader.requests) <= 3  # an empty answer ends the asking


def test_endless_metadata_segments_stop_within_the_read_budget():
    period = b"\xff\xe1\xff\xff" + b"\0" * 65533  # an APP1 segment of the largest length, forever
    twice = period + period
    size = 1024**3
    requests = []

    def reader(start: int, length: int) -> bytes:
        requests.append(length)
        if start < 2:
            return (b"\xff\xd8" + twice)[start : start + length]
        at = (start - 2) % len(period)
        return twice[at : at + length]

    with pytest.raises(MediaRejectedError) as raised:
        probe(reader, size)
    assert raised.value.code == "corrupt_file"
    assert len(requests) <= MAX_READS and max(requests) <= READ_SIZE


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8" + b"\xff\xfe\x00\x02" * 5000 + media_samples.jpeg(8, 8)[2:],  # thousands of empty comments
        b"\xff\xd8" + b"\xff" * 100_000,  # fill bytes and nothing else
        b"\xff\xd8\xff\xfe\x00\x01" + b"\0" * 50,  # a length below its own size
        b"\xff\xd8\xff\xda\x00\x08" + b"\0" * 50,  # scan data before any frame
        media_samples.movie()[:24] + struct.pack(">I4s", 8, b"free") * 5000 + media_samples.movie()[24:],
        _patched(media_samples.movie(), 24, struct.pack(">I", 4)),  # a box smaller than its header
        _patched(media_samples.movie(), 24, struct.pack(">I", 0x7FFFFFFF)),  # a box larger than the file
        _patched(media_samples.movie(), 0, struct.pack(">I", 12)),  # an ftyp too short for its brand
        _patched(media_samples.image("image/png"), 12, b"IDAT"),  # IHDR is not first
        _patched(media_samples.image("image/png"), 20, b"\x77"),  # IHDR checksum mismatch
        _patched(media_samples.webp(), 12, b"ALPH"),  # first chunk is not an image
        _patched(media_samples.webp(), 23, b"\0"),  # VP8 start code broken
        _patched(media_samples.webp(), 20, bytes([media_samples.webp()[20] | 1])),  # VP8 not a key frame
        _patched(media_samples.webp(lossless=True), 20, b"\x2e"),  # VP8L signature broken
        _patched(media_samples.movie(tkhd_version=1), media_samples.movie().index(b"tkhd") + 4, b"\x02"),
    ],
    ids=[
        "jpeg_comments",
        "jpeg_fill",
        "jpeg_short_length",
        "jpeg_no_frame",
        "many_boxes",
        "tiny_box",
        "huge_box",
        "short_ftyp",
        "png_order",
        "png_crc",
        "webp_alph",
        "webp_vp8",
        "webp_interframe",
        "webp_vp8l",
        "tkhd_v2",
    ],
)
def test_malformed_structures_are_corrupt(data):
    assert rejection(data) == "corrupt_file"


def test_reader_failures_are_not_mistaken_for_bad_files():
    def broken(start: int, length: int) -> bytes:
        raise OSError("storage unavailable")

    with pytest.raises(OSError):
        probe(broken, 1000)
