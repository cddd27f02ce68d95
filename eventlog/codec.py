"""How a payload is stored: its canonical text compressed with zstd against a fixed dictionary.

The canonical payload (`eventlog.hashing`) is what the hash chain covers; the log stores it compressed
and every reader gets the same bytes back before hashing or parsing, so nothing a reader proves
changes. Most of a payload is field names, kinds, times and the wording of reasons, which the shipped
dictionary (`data/payloads-1.zdict`, made by benchmarks/payload_dictionary.py) holds once for every
row: a 350-byte payload is stored in about 55.

A stored payload is one of:
- the canonical text itself, which starts with `{` (a payload is a JSON object);
- a zstd frame without its magic number, compressed against dictionary 1. Its first byte is the frame
  header's descriptor, whose reserved bit is 0 where `{` (0x7B) has it set, so the two never meet.
A later dictionary would write frames that name it (zstd's dictionary id), beside these, so every row
ever written stays readable.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import zstandard

from eventlog.errors import PayloadError

#: The first byte of a payload stored as its text.
TEXT = ord("{")
#: zstd's level: 3 compresses a payload in about 1 µs; higher levels gain a few per cent for several times that.
LEVEL = 3

_DICTIONARY = zstandard.ZstdCompressionDict(files("eventlog").joinpath("data/payloads-1.zdict").read_bytes())
_FORMAT = zstandard.FORMAT_ZSTD1_MAGICLESS
_compress = zstandard.ZstdCompressor(
    compression_params=zstandard.ZstdCompressionParameters.from_level(
        LEVEL, format=_FORMAT, write_checksum=0, write_dict_id=0, write_content_size=1
    ),
    dict_data=_DICTIONARY,
).compress
_decompress = zstandard.ZstdDecompressor(dict_data=_DICTIONARY, format=_FORMAT).decompress


def compressor() -> Any:
    """The function that packs a canonical payload (`pack` without a call of its own: the append's hot path)."""
    return _compress


def pack(canonical: bytes) -> bytes:
    """The stored form of a canonical payload."""
    return _compress(canonical)


def unpack(stored: bytes) -> bytes:
    """The canonical payload of a stored one; PayloadError if it cannot be read."""
    stored = bytes(stored)
    if stored[:1] == b"{":
        return stored
    try:
        return _decompress(stored)
    except zstandard.ZstdError as exc:
        raise PayloadError(f"the stored payload is neither JSON nor a readable zstd frame: {exc}") from None


def unpack_rows(rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """(seq, `unpack(stored)`) of each (seq, stored) row (one call for a stream: the replay's hot path)."""
    decompress, text = _decompress, TEXT
    try:
        return [(seq, stored if stored[0] == text else decompress(stored)) for seq, stored in rows]
    except (zstandard.ZstdError, IndexError, TypeError):
        return [(seq, unpack(stored)) for seq, stored in rows]
