"""How `eventlog/data/payloads-1.zdict` was made (run once; a shipped dictionary never changes).

The log compresses each canonical payload with zstd against a fixed dictionary (`eventlog.codec`):
most of a payload is field names, kinds, intervals, times and the wording of reasons, which the
dictionary holds once for every row. It was trained on the payloads of a small run of the end-to-end
workload (8 symbols x 5 sessions, `bench_e2e`'s generated store) and of the test streams (tests/eventlog/
streams.py: a realistic day of 20 symbols, with rejections, an upgrade, a failure and a live tape, over 5
sessions). A new dictionary would be a new codec id beside this one, never a replacement: every row
written with it must stay readable.

`python -m benchmarks.payload_dictionary LOG.db OUT` (LOG.db: the small run's SQLite log, as it was before
payloads were compressed).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys

import zstandard

from eventlog.hashing import payload_bytes
from tests.eventlog.streams import DayPlan, big_plan, flatten, run_batches, sessions

DICTIONARY_BYTES = 16_384


def corpus(log_path: str) -> list[bytes]:
    with sqlite3.connect(log_path) as db:
        run = [row[0].encode() for row in db.execute("SELECT payload_json FROM events ORDER BY id")]
    days = sessions(dt.date(2012, 3, 5), 5)
    plans = [big_plan(20), DayPlan(live=True)]
    streams = [
        payload_bytes(e) for plan in plans for batches in run_batches(days, plan).values() for e in flatten(batches)
    ]
    return run + streams


def main(argv: list[str]) -> int:
    samples = corpus(argv[0])
    trained = zstandard.train_dictionary(DICTIONARY_BYTES, samples, level=3, threads=1, steps=8, k=256, d=8)
    with open(argv[1], "wb") as out:
        out.write(trained.as_bytes())
    print(f"{len(samples)} payloads, dictionary of {len(trained.as_bytes())} bytes written to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
