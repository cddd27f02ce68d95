"""Old payload versions are upcast on read by small named functions, chained version by version.

A stored payload is never rewritten (its hash covers the text as written); reading a version-1
payload of a kind now at version 3 runs `upcast_<Kind>_v1_v2` and then `upcast_<Kind>_v2_v3` on the
parsed dict and validates the result as the current model. Payloads at the current version skip
all of this and go straight to pydantic's JSON parser (the replay's hot path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eventlog.errors import PayloadError
from specs.events import CURRENT_SCHEMA_VERSION, EVENT_ADAPTER, EventBase

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def upcast_RequestReceived_v1_v2(payload: Payload) -> Payload:
    """Version 2 names the plugin class that asked; version-1 requests did not record it."""
    return {**payload, "plugin": None, "schema_version": 2}


def upcast_RequestReceived_v2_v3(payload: Payload) -> Payload:
    """Version 3 records a bar request's scope; every earlier bar request loaded history and session bars."""
    scope = "both" if payload.get("operation") == "bar" else None
    return {**payload, "scope": scope, "schema_version": 3}


def upcast_HistoricalLoaded_v1_v2(payload: Payload) -> Payload:
    """Version 2 records the joined history of a load that joins held sessions; version-1 loads never joined."""
    return {**payload, "joined": None, "schema_version": 2}


def upcast_SymbolStreamed_v1_v2(payload: Payload) -> Payload:
    """Version 2 records the day's digests, flagged rows and quality at the close; version 1 did not."""
    return {**payload, "digests": {}, "flagged": {}, "quality": None, "schema_version": 2}


def upcast_SymbolStreamed_v2_v3(payload: Payload) -> Payload:
    """Version 3 records the derived intervals' quality of the whole day; version 2 did not."""
    return {**payload, "intervals": {}, "schema_version": 3}


def upcast_QualityCalculated_v1_v2(payload: Payload) -> Payload:
    """Version 2 records the history's base bars due and present, its gap count and the derived intervals'
    quality; version 1 recorded only the history's quality, so those stay unknown."""
    return {
        **payload,
        "historical_expected": None,
        "historical_present": None,
        "historical_gaps": None,
        "intervals": {},
        "schema_version": 2,
    }


#: (kind, from_version) -> the function that lifts a payload to from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("RequestReceived", 1): upcast_RequestReceived_v1_v2,
    ("RequestReceived", 2): upcast_RequestReceived_v2_v3,
    ("HistoricalLoaded", 1): upcast_HistoricalLoaded_v1_v2,
    ("SymbolStreamed", 1): upcast_SymbolStreamed_v1_v2,
    ("SymbolStreamed", 2): upcast_SymbolStreamed_v2_v3,
    ("QualityCalculated", 1): upcast_QualityCalculated_v1_v2,
}


def upcast(payload: Payload) -> Payload:
    """Lift a parsed payload to its kind's current version, one named step at a time."""
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in CURRENT_SCHEMA_VERSION:
        raise PayloadError(f"unknown event kind {kind!r}")
    current = CURRENT_SCHEMA_VERSION[kind]
    version = payload.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise PayloadError(f"{kind}: bad schema_version {version!r}")
    if version > current:
        raise PayloadError(f"{kind} version {version} was written by a newer daytape (this one reads up to {current})")
    while version < current:
        step = UPCASTERS.get((kind, version))
        if step is None:
            raise PayloadError(f"{kind}: no upcaster from version {version} to {version + 1}")
        payload = step(payload)
        version = payload["schema_version"]
    return payload


def parse_payload(kind: str, schema_version: int, payload_json: str | bytes) -> EventBase:
    """The event of a stored row: parsed directly when current, upcast first when older."""
    try:
        if CURRENT_SCHEMA_VERSION.get(kind) == schema_version:
            return EVENT_ADAPTER.validate_json(payload_json)
        data = json.loads(payload_json)
        if not isinstance(data, dict):
            raise PayloadError(f"payload is a JSON {type(data).__name__}, not an object")
        return EVENT_ADAPTER.validate_python(upcast(data))
    except PayloadError:
        raise
    except ValueError as exc:  # pydantic's ValidationError and json's JSONDecodeError are ValueErrors
        first = str(exc).strip().splitlines()
        raise PayloadError(f"not a valid {kind} payload: {' '.join(first[:3])}") from None
