"""The canonical payload of an event and the hash chain over a stream.

The canonical payload is the event as compact JSON with sorted keys, every field written out
(defaults included). It is what `payload_json` stores, so the audit rehashes the stored text and
never re-serializes. `hash = sha256(prev_hash + payload)` in hex; a stream's first `prev_hash` is
the genesis `sha256(session date)`, which does not depend on the run id, so two runs that wrote the
same events have the same hashes and `diff` can compare them hash by hash.

orjson writes the payload when it is installed (about five times faster than the standard
library); the fallback writes the same text for every value events hold except rare float
spellings (`1e+16` vs `1e16`), which is harmless because no reader re-serializes: the audit hashes
the stored text and `diff` compares parsed values.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from specs.events import EventBase
from specs.intervals import Interval

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by test_hashing with the fallback forced
    orjson = None  # type: ignore[assignment]

_sha256 = hashlib.sha256


#: Model classes `_default` has met: a set lookup is cheaper than pydantic's ABC isinstance check.
_MODEL_CLASSES: set[type] = set()


def _default(value: Any) -> Any:
    """Values the JSON encoders do not know: nested models as their fields, intervals as text.

    orjson calls it about once an event (mostly for an Interval), so the common classes come first.
    """
    cls = value.__class__
    if cls is Interval:
        return str(value)
    if cls in _MODEL_CLASSES:
        return value.__dict__
    if isinstance(value, BaseModel):
        _MODEL_CLASSES.add(cls)
        return value.__dict__
    return _default_other(value)


def _default_other(value: Any) -> Any:
    """The rarer values `_default` meets."""
    if isinstance(value, Interval):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} into an event payload: {value!r}")


_std_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False, default=_default
)


def _std_payload(event: EventBase) -> bytes:
    try:
        return _std_encoder.encode(event.__dict__).encode()
    except ValueError:  # NaN or infinity: written as null, as pydantic and orjson write them
        return _std_encoder.encode(json.loads(event.model_dump_json())).encode()


if orjson is not None:
    _dumps = orjson.dumps
    _OPTIONS = orjson.OPT_SORT_KEYS

    def payload_bytes(event: EventBase) -> bytes:
        """The canonical payload as UTF-8 bytes."""
        return _dumps(event.__dict__, default=_default, option=_OPTIONS)

else:  # pragma: no cover
    payload_bytes = _std_payload


def canonical_json(event: EventBase) -> str:
    """The canonical payload: the event's JSON with sorted keys and compact separators."""
    return payload_bytes(event).decode()


def genesis_hash(session_date: dt.date) -> str:
    """The `prev_hash` of a stream's first event: sha256 of the session date (never of the run id)."""
    return _sha256(session_date.isoformat().encode()).hexdigest()


def event_hash(prev_hash: str, payload: str | bytes) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return _sha256(prev_hash.encode() + data).hexdigest()


def chain(prev_hash: str, payloads: Iterable[bytes]) -> list[tuple[str, str]]:
    """(prev_hash, hash) for each payload in order, starting after `prev_hash`."""
    out: list[tuple[str, str]] = []
    for payload in payloads:
        digest = _sha256(prev_hash.encode() + payload).hexdigest()
        out.append((prev_hash, digest))
        prev_hash = digest
    return out
