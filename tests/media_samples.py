"""Real media files for tests: images written by Pillow, and MP4/MOV files built box by box.

Every test that needs a file takes it from here, so "a JPEG" means the same bytes everywhere.
"""

from __future__ import annotations

import io
import struct

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def image(
    content_type: str = "image/png", width: int = 64, height: int = 48, *, pad_to: int | None = None, seed: int = 1
) -> bytes:
    """A valid image of the given type and size. ``pad_to`` makes it about that many bytes (noise
    that does not compress), for size limits."""
    from PIL import Image

    if pad_to:
        import random

        rng = random.Random(seed)
        # Noise compresses badly, so bytes grow with pixels; pick a square that lands near pad_to.
        side = max(8, int((pad_to / 3) ** 0.5))
        picture = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        width, height = side, side
    else:
        picture = Image.new("RGB", (width, height), ((seed * 40) % 256, 120, 200))
    buffer = io.BytesIO()
    options = {"quality": 95} if content_type == "image/jpeg" else {}
    picture.save(buffer, IMAGE_FORMATS[content_type], **options)
    data = buffer.getvalue()
    if pad_to and len(data) < pad_to and content_type == "image/png":
        data = _png_with_padding(data, pad_to - len(data))
    return data


def _png_with_padding(png: bytes, extra: int) -> bytes:
    """Insert an ancillary chunk (ignored by decoders) so the file reaches a given size."""
    import zlib

    body = b"\0" * max(0, extra - 12)
    chunk = struct.pack(">I", len(body)) + b"paDd" + body
    chunk += struct.pack(">I", zlib.crc32(b"paDd" + body) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]  # after the signature (8) and IHDR (25)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def video(content_type: str = "video/mp4", width: int = 1280, height: int = 720, *, size: int = 4096) -> bytes:
    """An MP4 (brand isom) or QuickTime (brand qt) file: ftyp, a moov with one video track header
    carrying the dimensions, and an mdat of filler up to ``size`` bytes."""
    brand = b"qt  " if content_type == "video/quicktime" else b"isom"
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    # tkhd version 0: flags(4) created(4) modified(4) track id(4) reserved(4) duration(4) reserved(8)
    # layer(2) group(2) volume(2) reserved(2) matrix(36) width(4, 16.16) height(4, 16.16)
    tkhd = _box(
        b"tkhd",
        b"\x00\x00\x00\x03"
        + b"\0" * 20
        + b"\0" * 8
        + b"\0" * 8
        + b"\0" * 36
        + struct.pack(">II", width << 16, height << 16),
    )
    mvhd = _box(b"mvhd", b"\0" * 4 + struct.pack(">IIII", 0, 0, 1000, 5000) + b"\0" * 80)
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    head = ftyp + moov
    filler = max(0, size - len(head) - 8)
    return head + struct.pack(">I", 8 + filler) + b"mdat" + b"\0" * filler


def lying_image() -> bytes:
    """Bytes that claim nothing but are not an image: what a renamed file looks like."""
    return b"MZ\x90\x00" + b"this is not a picture" * 50


# --- More shapes of the same formats, for the media probe ---------------------------------------


def jpeg(width: int = 64, height: int = 48, *, progressive: bool = False, padding_segments: int = 0) -> bytes:
    """A JPEG written by Pillow. ``progressive`` gives a SOF2 frame header; ``padding_segments``
    puts that many full-size (65,535-byte) XMP segments before it, as a large metadata block would."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 30)).save(buffer, "JPEG", quality=90, progressive=progressive)
    data = buffer.getvalue()
    prefix = b"http://ns.adobe.com/xap/1.0/\0"
    segment = b"\xff\xe1" + struct.pack(">H", 65535) + prefix + b" " * (65533 - len(prefix))
    return data[:2] + segment * padding_segments + data[2:]


def animated_gif(width: int = 64, height: int = 48, frames: int = 3) -> bytes:
    """A looping GIF of ``frames`` frames of different colours."""
    from PIL import Image

    pictures = [Image.new("RGB", (width, height), (60 * i % 256, 100, 200)) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return buffer.getvalue()


def webp(width: int = 64, height: int = 48, *, lossless: bool = False, alpha: bool = False) -> bytes:
    """A WebP: lossy (a VP8 chunk), ``lossless`` (VP8L), or lossy with ``alpha`` (VP8X + ALPH + VP8)."""
    from PIL import Image

    mode, colour = ("RGBA", (10, 150, 90, 128)) if alpha else ("RGB", (10, 150, 90))
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, "WEBP", lossless=lossless)
    return buffer.getvalue()


def _track_header(width: int, height: int, version: int) -> bytes:
    # version 1 widens created, modified and duration to 64 bits.
    times = b"\0" * 8 + b"\0" * 8 + struct.pack(">II", 1, 0) + b"\0" * 8 if version == 1 else b"\0" * 20
    return _box(
        b"tkhd",
        bytes([version])
        + b"\x00\x00\x03"
        + times
        + b"\0" * 8
        + b"\0" * 8
        + b"\0" * 36
        + struct.pack(">II", width << 16, height << 16),
    )


def movie_parts(
    content_type: str = "video/mp4",
    width: int = 1280,
    height: int = 720,
    *,
    mdat_size: int = 4096,
    moov_last: bool = False,
    wide_mdat: bool = False,
    tkhd_version: int = 0,
    tracks: list | None = None,
    with_moov: bool = True,
    brand: bytes | None = None,
) -> tuple:
    """A movie as (before, gap, after): the file is ``before + b"\\0" * gap + after``, so a test can
    serve a large one without building it. ``mdat_size`` is the media data payload (zeros);
    ``moov_last`` puts the movie header after it, as many encoders do; ``wide_mdat`` writes the mdat
    size in 64 bits; ``tracks`` lists (width, height) per track, (0, 0) being a sound track."""
    brand = brand or (b"qt  " if content_type == "video/quicktime" else b"isom")
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    mvhd = _box(b"mvhd", b"\0" * 4 + struct.pack(">IIII", 0, 0, 1000, 5000) + b"\0" * 80)
    traks = b"".join(
        _box(b"trak", _track_header(w, h, tkhd_version) + _box(b"mdia", b"\0" * 32))
        for w, h in (tracks if tracks is not None else [(width, height)])
    )
    moov = _box(b"moov", mvhd + traks) if with_moov else _box(b"free", b"\0" * 64)
    if wide_mdat:
        mdat_header = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + mdat_size)
    else:
        mdat_header = struct.pack(">I", 8 + mdat_size) + b"mdat"
    if moov_last:
        return ftyp + mdat_header, mdat_size, moov
    return ftyp + moov + mdat_header, mdat_size, b""


def movie(content_type: str = "video/mp4", width: int = 1280, height: int = 720, **options) -> bytes:
    """``movie_parts`` joined into one file."""
    before, gap, after = movie_parts(content_type, width, height, **options)
    return before + b"\0" * gap + after
