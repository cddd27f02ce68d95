"""A run's seal: one digest over what the run is made of and everything it wrote.

The seal is sha256 of a canonical JSON document: the manifest (config hash, data digest, code
version, seed) and, in date order, each day's stream as [date, last seq, head hash]. A stream's head
hash covers every event before it, so the seal covers every event of the run. It is stored in
`runs.seal` when the run ends; a user who keeps it elsewhere (a CI artifact) can check the log
against it with `daytape audit RUN --seal HASH`, which finds even a rewrite that recomputed every
hash and the stored seal. Like the hashes, the seal does not depend on the run id: two runs that
wrote the same events from the same manifest have the same seal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from hashlib import sha256

#: Bumped if what the seal covers ever changes, so an old seal is never read as a new one.
SEAL_VERSION = 1

#: A day's stream as the seal covers it: (session date, last seq, hash of that event).
StreamHead = tuple[dt.date, int, str]


def seal_digest(
    *,
    config_hash: str,
    data_digest: str | None,
    code_version: str,
    seed: int | None,
    heads: Sequence[StreamHead],
) -> str:
    document = {
        "seal": SEAL_VERSION,
        "manifest": {
            "config_hash": config_hash,
            "data_digest": data_digest,
            "code_version": code_version,
            "seed": seed,
        },
        "days": [[day.isoformat(), last_seq, head] for day, last_seq, head in sorted(heads)],
    }
    return sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
