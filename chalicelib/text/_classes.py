"""Per-character classes of a text, one byte a character, computed at C speed.

Counting rules ask of each character which class it is in (a grapheme break class, a combining
class). A regex visiting each character that matters costs some 150 ns a match, which a text with
a mark on every letter pays tens of thousands of times. Here the text is encoded in UTF-32 and
each block of 256 code points present in it is looked up in one ``bytes.translate`` of the low
bytes, so a text costs a few bulk operations per block it uses (most texts use a few); a text of
many blocks is read through a table of every code point instead (see ``MAX_BLOCKS``).

A class table is a function of a block number (code point >> 8) giving 256 class bytes, one for
each code point of the block; it is called once per block and should be cached.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

# Each block a text uses costs a pass over the whole text. Past this many, the text is read
# through a table of every code point instead, one lookup a character by ``str.translate``
# (some 30 ns a character whatever its blocks): of the Basic Multilingual Plane when the text
# lies in it (65,536 classes, built once for a table in 6-27 ms), else of all of Unicode
# (1,114,112 classes, 1 MB, built once in some 100-125 ms). Chinese or Korean text uses 40-80
# blocks, and a hostile text of letters from every block hundreds: read in halves, as they were,
# they cost 25-90 times a plain post.
MAX_BLOCKS = 24
# A text spread over many blocks shows it in its first few thousand characters: telling it
# from those costs a few passes over them rather than one a block over the text.
_PROBE = 4096

# How much of a text's start is read to tell how the text is made (``often``).
START = 1024

# For each byte value, a translation to 0xFF where a byte is that value, else 0: a mask by ``translate``.
EQUAL = [bytes(0xFF if byte == value else 0 for byte in range(256)) for value in range(256)]


# --- for the modules that build class tables and read them ---------------------------------------
def block_characters(block: int) -> str:
    """The 256 code points of a block, in order: what a class table describes."""
    return "".join(chr(block * 256 + low) for low in range(256))


def having(prop: str, characters: str) -> set[int]:
    """The positions in ``characters`` of those with the Unicode property ``prop`` (as the
    ``regex`` package's ``\\p{...}`` reads it)."""
    import regex

    return {match.start() for match in regex.finditer(rf"\p{{{prop}}}", characters)}


def outside_bmp(text: str) -> int:
    """How many characters of ``text`` lie outside the Basic Multilingual Plane (each is two
    UTF-16 code units), counted at C speed."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)


def recoded(encoded: bytes, mask: int, lows: bytes, middle: int, plane: int) -> str:
    """The UTF-32 (little-endian) text ``encoded`` with its characters where ``mask`` (one byte a
    character, as an integer) is 0xFF replaced by ``lows[i] + 256 * middle + 65536 * plane``, in
    bulk: some 15 passes over a byte a character."""
    size = len(encoded) // 4
    ones = mask // 0xFF  # 1 where mask is 0xFF
    recoded = bytearray(encoded)
    old = int.from_bytes(encoded[0::4], "little")
    recoded[0::4] = (old ^ ((old ^ int.from_bytes(lows, "little")) & mask)).to_bytes(size, "little")
    for offset, new in ((1, middle), (2, plane)):
        old = int.from_bytes(encoded[offset::4], "little")
        recoded[offset::4] = ((old & ~mask) | ones * new).to_bytes(size, "little")
    return recoded.decode("utf-32-le", "surrogatepass")


def often(pattern, text: str, characters_per_match: int) -> bool:
    """Whether the start of ``text`` holds matches of ``pattern`` (compiled by ``re`` or ``regex``)
    closer than ``characters_per_match`` apart: which way of reading the whole text costs less,
    told from its first ``START`` characters at the cost of one search over them."""
    probe = min(len(text), START)
    return len(pattern.findall(text, 0, probe)) * characters_per_match > probe


def any_of(values: Iterable[int]) -> bytes:
    """A bytes regex class matching one class byte of ``values``."""
    return b"[" + b"".join(re.escape(bytes((value,))) for value in values) + b"]"


def distinct(data: bytes, limit: int = MAX_BLOCKS) -> list[int] | None:
    """The distinct values of ``data`` in order of first appearance, or None past ``limit`` of them.
    Each pass deletes one value, at memory speed: for data of few distinct values."""
    found = []
    while data:
        if len(found) == limit:
            return None
        value = data[0]
        found.append(value)
        data = data.translate(None, bytes((value,)))
    return found


def classes(text: str, table: Callable[[int], bytes]) -> bytes:
    """One byte per character of ``text``: ``table(code >> 8)[code & 0xFF]``."""
    if text.isascii():
        return text.encode("ascii").translate(table(0))
    encoded = text.encode("utf-32-le", "surrogatepass")
    found = _in_few_blocks(text, table, encoded)
    if found is not None:
        return found
    # Each class, below 256, becomes one Latin-1 character.
    in_the_plane = distinct(encoded[2::4]) == [0]
    return text.translate(_plane_table(table) if in_the_plane else _unicode_table(table)).encode("latin-1")


@functools.cache
def _plane_table(table: Callable[[int], bytes]) -> bytes:
    """``table``'s class of every code point of the Basic Multilingual Plane, by code point."""
    return b"".join(table(block) for block in range(0x100))


@functools.cache
def _unicode_table(table: Callable[[int], bytes]) -> bytes:
    """``table``'s class of every code point, by code point."""
    return b"".join(table(block) for block in range(0x1100))


def _in_few_blocks(text: str, table: Callable[[int], bytes], encoded: bytes) -> bytes | None:
    lows, middles, planes = encoded[0::4], encoded[1::4], encoded[2::4]
    found_planes = distinct(planes)
    spread = len(middles) > _PROBE and distinct(middles[:_PROBE]) is None
    found_middles = None if spread else distinct(middles)
    if found_planes is None or found_middles is None:
        return None
    if len(found_planes) == 1 and len(found_middles) == 1:
        return lows.translate(table(found_planes[0] << 8 | found_middles[0]))
    # Characters of a block whose classes are all 0 keep the 0 they start with: only the other
    # blocks are read (most blocks of most tables are all 0).
    blocks = [
        (plane, middle)
        for plane in found_planes
        for middle in found_middles
        if table(plane << 8 | middle).count(0) != 256
    ]
    size = len(text)
    if len(found_planes) > 1 and blocks:
        # Not every plane and middle byte found go together: a block is read only if used.
        pairs = bytearray(2 * size)
        pairs[0::2] = middles
        pairs[1::2] = planes
        keys = pairs.decode("utf-16-le", "surrogatepass")
        blocks = [(plane, middle) for plane, middle in blocks if chr(plane << 8 | middle) in keys]
    if len(blocks) > MAX_BLOCKS:
        return None
    result = 0
    plane_masks: dict[int, int] = {}
    for plane, middle in blocks:
        mask = int.from_bytes(middles.translate(EQUAL[middle]), "little")
        if len(found_planes) > 1:
            if plane not in plane_masks:
                plane_masks[plane] = int.from_bytes(planes.translate(EQUAL[plane]), "little")
            mask &= plane_masks[plane]
        result |= int.from_bytes(lows.translate(table(plane << 8 | middle)), "little") & mask
    return result.to_bytes(size, "little")
