"""How a payload is stored: its canonical text compressed with zstd against a fixed dictionary.

The canonical payload (`eventlog.hashing`) is what the hash chain covers; the log stores it compressed
and every reader gets the same bytes back before hashing or parsing, so nothing a reader proves
changes. Most of a payload is field names, kinds, times and the wording of reasons, which the shipped
dictionary (`data/payloads-1.zdict`, made by benchmarks/payload_dictionary.py) holds once for every
row: a 350-byte payload is stored in about 55.

A stored payload starts with one byte that names its codec: `RAW` (the canonical text as it is) or
`ZSTD_1` (zstd, magicless frames, against dictionary 1). A new dictionary would be a new codec beside
these, so every row ever written stays readable.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import zstandard

from eventlog.errors import PayloadError

RAW = 0
ZSTD_1 = 1
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
_ZSTD_1 = bytes([ZSTD_1])


def pack(canonical: bytes) -> bytes:
    """The stored form of a canonical payload."""
    return _ZSTD_1 + _compress(canonical)


def packer() -> tuple[bytes, Any]:
    """(prefix, compress): `prefix + compress(canonical)` is `pack(canonical)` without a call of its own
    (the append's hot path)."""
    return _ZSTD_1, _compress


def unpack_rows(rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """(seq, `unpack(stored)`) of each (seq, stored) row (one call for a stream: the replay's hot path)."""
    decompress = _decompress
    return [(seq, decompress(stored[1:]) if stored[0] == ZSTD_1 else unpack(stored)) for seq, stored in rows]


def pack_raw(canonical: bytes) -> bytes:
    """The canonical payload stored as it is (readable by a bare SQL client after the first byte)."""
    return bytes([RAW]) + canonical


def unpack(stored: bytes) -> bytes:
    """The canonical payload of a stored one; PayloadError if it cannot be read."""
    codec = stored[0] if stored else -1
    try:
        if codec == ZSTD_1:
            return _decompress(stored[1:])
        if codec == RAW:
            return bytes(stored[1:])
    except zstandard.ZstdError as exc:
        raise PayloadError(f"the stored payload does not decompress: {exc}") from None
    raise PayloadError(f"the stored payload names no known codec (first byte {codec})")
