"""What an uploaded file really is, told from its own bytes, read in small ranges.

A client uploads straight to the bucket and *claims* a content type and size. Before the file may
be attached to a post, the verifier asks ``probe`` what the object is, and compares. The format is
recognised by its magic bytes only (never by file name or claim), and the picture size is read from
the format's own header:

- JPEG: the marker segments are walked, jumping over each by its length, to the first frame header
  (SOFn). APP segments (EXIF, XMP, ICC profiles) can push it well past the first read, so the walk
  follows the lengths with further range reads.
- PNG: IHDR must be the first chunk and its checksum must match.
- GIF: the logical screen size (the canvas every frame is drawn on).
- WebP: the first chunk: VP8 (lossy key frame), VP8L (lossless) or VP8X (extended: the canvas).
- MP4 and QuickTime (ISO base media): the major brand of the leading ``ftyp`` box decides the type;
  top-level boxes are walked by their sizes to ``moov``, wherever it is (camera files put it at the
  start, many encoders at the end after the media data), and the first track whose header (``tkhd``)
  has a non-zero width and height gives the size. A movie without such a track is audio, not video,
  and is refused.

Sizes are the stored ones: EXIF orientation and a track's rotation matrix are not applied.

Which MP4 brands count: the common ones listed in ``MP4_BRANDS``. Any other major brand is refused,
3GPP (``3gp4``...) included: such files are their own type (video/3gpp), which we do not accept, and
the ones users still have come from old phones with codecs (H.263, AMR) that the platforms' MP4
pipelines refuse, so failing at upload beats failing at publish time.

Truncation: where a format states its own length, a file cut short is refused: a WebP whose RIFF
size runs past the end, a PNG that does not end with IEND, a movie whose last box runs past the end
or that has no media data at all.
JPEG and GIF state no length, and real JPEGs carry data after their end marker (phone "motion
photos" append a whole video), so for those only a cut inside the headers is caught.

Every walk is bounded, so a hostile file can neither loop nor make us read without end: bytes come
through a ``RangeReader`` (a ranged GET in production, a slice in tests) in windows of at most
``READ_SIZE`` bytes, at most ``MAX_READS`` times per file. Errors raised by the reader itself
(network, permissions) propagate unchanged: they say nothing about the file.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chalicelib.errors import MediaRejectedError

RangeReader = Callable[[int, int], bytes]  # reader(start, length) -> at most `length` bytes from `start`

READ_SIZE = 64 * 1024
HEAD_BYTES = READ_SIZE  # the first read: enough for every header unless APP segments or moov push it on
MAX_READS = 300  # so never more than ~19 MB read, whatever the file says
MAX_SIDE = 30_000
MAX_JPEG_SEGMENTS = 1_000
MAX_JPEG_SCAN = 16 * 1024 * 1024
MAX_BOXES = 1_000  # boxes walked in one container (the file, moov, one trak)
BOXES_CHECKED_AFTER_MOOV = 16  # fragmented movies have thousands; the length check stops early for them

UNSUPPORTED_TYPE = "unsupported_type"
CORRUPT_FILE = "corrupt_file"
EMPTY_FILE = "empty_file"
DIMENSIONS_INVALID = "dimensions_invalid"
NO_VIDEO_TRACK = "no_video_track"

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
GIF_MAGICS = (b"GIF87a", b"GIF89a")
QUICKTIME_BRAND = b"qt  "
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"MSNV"}
)

# Frame headers; C4 (Huffman tables), C8 (reserved) and CC (arithmetic coding) share the range but are not.
JPEG_FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers that stand alone, with no length after them: TEM and the restart markers.
JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
# SOI again, EOI and start-of-scan: the image data has begun (or ended) with no frame header before it.
JPEG_NO_FRAME_MARKERS = frozenset({0xD8, 0xD9, 0xDA})


@dataclass(frozen=True)
class Probe:
    content_type: str  # image/jpeg, image/png, image/gif, image/webp, video/mp4, video/quicktime
    kind: str  # "image" or "video"
    width: int | None
    height: int | None


def _corrupt(detail: str) -> MediaRejectedError:
    return MediaRejectedError(f"The file is damaged or incomplete: {detail}.", code=CORRUPT_FILE)


def probe(read: RangeReader, size: int) -> Probe:
    """What the ``size``-byte file behind ``read`` is; raises MediaRejectedError if it is unusable."""
    if size < 0:
        raise ValueError("size must not be negative")
    if size == 0:
        raise MediaRejectedError("The file is empty.", code=EMPTY_FILE)
    source = _Source(read, size)
    head = source.bytes(0, min(size, 12))
    if head.startswith(JPEG_MAGIC):
        return _measured("image/jpeg", "image", *_jpeg_size(source))
    if head.startswith(PNG_SIGNATURE):
        return _measured("image/png", "image", *_png_size(source))
    if head[:6] in GIF_MAGICS:
        return _measured("image/gif", "image", *_gif_size(source))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _measured("image/webp", "image", *_webp_size(source))
    if head[4:8] == b"ftyp":
        return _measured(_movie_type(source), "video", *_movie_size(source))
    raise MediaRejectedError("The file is not a JPEG, PNG, GIF, WebP, MP4 or MOV file.", code=UNSUPPORTED_TYPE)


def probe_bytes(data: bytes) -> Probe:
    """``probe`` over a file already in memory."""
    return probe(lambda start, length: data[start : start + length], len(data))


def _measured(content_type: str, kind: str, width: int, height: int) -> Probe:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise MediaRejectedError(
            f"The file is {width}x{height} pixels; each side must be between 1 and {MAX_SIDE} pixels.",
            code=DIMENSIONS_INVALID,
        )
    return Probe(content_type=content_type, kind=kind, width=width, height=height)


class _Source:
    """The file through the reader: exact slices from one cached window, within the read budget."""

    def __init__(self, read: RangeReader, size: int):
        self._read = read
        self.size = size
        self._start = 0
        self._window = b""
        self.reads = 0

    def bytes(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` (at most READ_SIZE) bytes at ``offset``."""
        if offset < 0 or offset + length > self.size:
            raise _corrupt("it ends in the middle of its headers")
        at = offset - self._start
        if at < 0 or at + length > len(self._window):
            self._fill(offset, length)
            at = 0
        return self._window[at : at + length]

    def byte(self, offset: int) -> int:
        return self.bytes(offset, 1)[0]

    def _fill(self, offset: int, length: int) -> None:
        want = min(READ_SIZE, self.size - offset)
        pieces, got = [], 0
        while got < want:  # a reader may hand back less than asked; ask again for the rest
            if self.reads >= MAX_READS:
                raise _corrupt("its headers are too long to inspect")
            self.reads += 1
            piece = self._read(offset + got, want - got)[: want - got]
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        window = b"".join(pieces)
        if len(window) < length:
            raise _corrupt("it is shorter than its stated size")
        self._start, self._window = offset, window


def _jpeg_size(source: _Source) -> tuple[int, int]:
    offset = 2  # after SOI
    for _ in range(MAX_JPEG_SEGMENTS):
        if offset > MAX_JPEG_SCAN:
            break
        if source.byte(offset) != 0xFF:
            raise _corrupt("a JPEG marker is missing")
        marker = source.byte(offset + 1)
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
        elif marker in JPEG_FRAME_MARKERS:
            length, _precision, height, width = struct.unpack(">HBHH", source.bytes(offset + 2, 7))
            if length < 8:
                raise _corrupt("its JPEG frame header is too short")
            return width, height
        elif marker in JPEG_STANDALONE_MARKERS:
            offset += 2
        elif marker in JPEG_NO_FRAME_MARKERS or marker == 0x00:
            raise _corrupt("its JPEG image data starts before a frame header")
        else:
            (length,) = struct.unpack(">H", source.bytes(offset + 2, 2))
            if length < 2:
                raise _corrupt("a JPEG segment has an impossible length")
            offset += 2 + length
    raise _corrupt("no JPEG frame header was found within the file's first segments")


def _png_size(source: _Source) -> tuple[int, int]:
    length, kind = struct.unpack(">I4s", source.bytes(8, 8))
    if kind != b"IHDR" or length != 13:
        raise _corrupt("its PNG header chunk (IHDR) is missing")
    body = source.bytes(16, 13)
    (checksum,) = struct.unpack(">I", source.bytes(29, 4))
    if zlib.crc32(b"IHDR" + body) != checksum:
        raise _corrupt("its PNG header fails its checksum")
    if source.size < 33 + len(PNG_END) or source.bytes(source.size - len(PNG_END), len(PNG_END)) != PNG_END:
        raise _corrupt("the PNG does not end with its end chunk (IEND)")
    width, height = struct.unpack(">II", body[:8])
    return width, height


def _gif_size(source: _Source) -> tuple[int, int]:
    width, height = struct.unpack("<HH", source.bytes(6, 4))
    return width, height


def _webp_size(source: _Source) -> tuple[int, int]:
    (riff_size,) = struct.unpack("<I", source.bytes(4, 4))
    riff_end = 8 + riff_size
    if riff_end > source.size:
        raise _corrupt("it is shorter than its WebP header says")
    fourcc, chunk_size = struct.unpack("<4sI", source.bytes(12, 8))
    if 20 + chunk_size > riff_end:
        raise _corrupt("its first WebP chunk runs past the end of the file")

    def chunk(length: int) -> bytes:
        if chunk_size < length:
            raise _corrupt("its first WebP chunk is too short")
        return source.bytes(20, length)

    if fourcc == b"VP8 ":
        data = chunk(10)
        if data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":  # a key frame, with its start code
            raise _corrupt("its WebP (lossy) frame header is invalid")
        width, height = struct.unpack("<HH", data[6:10])
        return width & 0x3FFF, height & 0x3FFF  # the top two bits are a scaling hint
    if fourcc == b"VP8L":
        data = chunk(5)
        (bits,) = struct.unpack("<I", data[1:5])
        if data[0] != 0x2F or bits >> 29:  # signature byte; version must be 0
            raise _corrupt("its WebP (lossless) header is invalid")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if fourcc == b"VP8X":
        data = chunk(10)
        return (int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1)
    raise _corrupt("its first WebP chunk is not an image")


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int
    body: int  # where the payload starts (after an 8- or 16-byte header)
    end: int


def _boxes(source: _Source, start: int, end: int) -> Iterator[_Box]:
    """The boxes laid end to end in [start, end), each read from its header and jumped over."""
    offset = start
    for _ in range(MAX_BOXES):
        if offset == end:
            return
        size, kind = struct.unpack(">I4s", source.bytes(offset, 8))
        body = offset + 8
        if size == 1:  # the real size follows, as 64 bits
            (size,) = struct.unpack(">Q", source.bytes(offset + 8, 8))
            body += 8
        elif size == 0:  # runs to the end of its container
            size = end - offset
        if size < body - offset:
            raise _corrupt("a movie box has an impossible size")
        if offset + size > end:
            raise _corrupt("a movie box runs past the end of the file")
        yield _Box(kind=kind, start=offset, body=body, end=offset + size)
        offset += size
    raise _corrupt("the movie has too many boxes")


def _movie_type(source: _Source) -> str:
    size, _kind, brand = struct.unpack(">I4s4s", source.bytes(0, 12))
    if 1 < size < 16:  # too small to hold its brands (1 means a 64-bit size follows)
        raise _corrupt("its file type box (ftyp) is too short")
    if brand == QUICKTIME_BRAND:
        return "video/quicktime"
    if brand in MP4_BRANDS:
        return "video/mp4"
    raise MediaRejectedError("The file is not a JPEG, PNG, GIF, WebP, MP4 or MOV file.", code=UNSUPPORTED_TYPE)


def _movie_size(source: _Source) -> tuple[int, int]:
    moov: _Box | None = None
    has_media_data = walked_to_end = False
    boxes_after = 0
    for box in _boxes(source, 0, source.size):
        has_media_data = has_media_data or box.kind == b"mdat"
        if moov is not None:
            # Walking on only checks that the file is not cut short after its header.
            boxes_after += 1
            if boxes_after >= BOXES_CHECKED_AFTER_MOOV:
                break
        elif box.kind == b"moov":
            moov = box
    else:
        walked_to_end = True
    if moov is None:
        raise _corrupt("the movie has no header (moov box)")
    if walked_to_end and not has_media_data:  # e.g. cut exactly where the media data began
        raise _corrupt("the movie has no media data (mdat box)")
    for trak in _boxes(source, moov.body, moov.end):
        if trak.kind != b"trak":
            continue
        for tkhd in _boxes(source, trak.body, trak.end):
            if tkhd.kind == b"tkhd":
                width, height = _track_size(source, tkhd)
                if width and height:
                    return width, height
                break
    raise MediaRejectedError("The file has no video track (is it audio only?).", code=NO_VIDEO_TRACK)


def _track_size(source: _Source, tkhd: _Box) -> tuple[int, int]:
    version = source.byte(tkhd.body)
    # version, flags, then times/ids/duration (32-bit in version 0, some 64-bit in version 1),
    # reserved, layer, group, volume, reserved, matrix; then width and height in 16.16 fixed point.
    if version == 0:
        at = tkhd.body + 76
    elif version == 1:
        at = tkhd.body + 88
    else:
        raise _corrupt("a track header has an unknown version")
    if at + 8 > tkhd.end:
        raise _corrupt("a track header is too short")
    width, height = struct.unpack(">II", source.bytes(at, 8))
    return width >> 16, height >> 16
