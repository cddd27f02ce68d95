"""Fuzzing the inputs a user hands daytape: session files and bar CSVs (issue 16).

Hypothesis builds session files (valid ones, and mutations of them: wrong types, missing fields, bad
dates, unknown keys, odd unicode, broken YAML text, bytes that are not UTF-8) and CSV files (bad rows,
NaN, inf, unsorted, duplicated, broken headers), and runs `config check`, `run` and `data import-csv`
on them. Whatever the input: never a traceback; exit 0, or 2 with a message on stderr; and nothing
partial left behind: a refused run makes no log, a refused import no store, an accepted import stores
exactly the CSV's rows (checked against a plain csv-module parse), an accepted run audits clean.

The CLI runs in-process (`daytape.cli.main` with stdout and stderr captured) for speed; a few cases run
the real command in a subprocess and must give the same exit code and stderr as in-process.

One outcome besides 0 and 2 is legitimate: a valid file whose run fails because every config symbol
fails validation on a day (history before the store's first day, say) is the contract's "a run failed",
exit 1. The test accepts it only with that failed run in the log, whole and audited clean.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from daytape.cli import main
from marketdata.store import BarStore
from tests.e2e.conftest import daytape
from tests.samples import SAMPLE_FIRST, SAMPLE_LAST, SAMPLE_SYMBOLS, sample_session, write_sample

#: The fuzz tests' own bounds, whatever the loaded profile asks (more under the `deep` profile);
#: no deadline: a valid session file means a real run of a day.
FUZZ = settings(
    settings(),
    max_examples=150 if settings().max_examples >= 500 else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NY = ZoneInfo("America/New_York")
BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
HEADER = ",".join(BAR_COLUMNS)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def in_process(*args: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_no_traceback(result: Outcome, allowed: tuple[int, ...] = (0, 2)) -> None:
    assert result.code in allowed, result
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    if result.code == 2:
        assert result.err.strip(), "exit 2 without a message"


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("fuzz-store"))


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per hypothesis example (pytest's tmp_path is one per test)."""
    with tempfile.TemporaryDirectory(prefix="daytape-fuzz-") as folder:
        yield Path(folder)


# -- session files --------------------------------------------------------------------------------------------

ODD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(ODD_TEXT, st.integers(-5, 5), max_size=2),
)
BAD_DATES = st.one_of(
    st.sampled_from(
        ["2013-02-31", "2023-13-01", "2023-11-21T25:00", "20231121", "11/21/2023", "", "0000-01-01", "9999-12-31"]
    ),
    st.dates().map(dt.date.isoformat),
    ODD_TEXT,
)
#: Class paths that cannot import anything with side effects (a random module name could).
BAD_CLASSES = st.sampled_from(
    ["daytape.examples:NoSuchClass", "daytape_no_such_module:X", "not a path", "daytape.examples", ":X", "a:b:c"]
)
INDICATORS = [
    {"type": "sma", "period": 5, "interval": "5m"},
    {"type": "ema", "period": 10, "interval": "1m"},
    {"type": "rsi", "period": 14, "interval": "1m"},
    {"type": "vwap", "interval": "1m"},
    {"type": "bollinger", "period": 20, "interval": "5m"},
]


@st.composite
def valid_sessions(draw: st.DrawFn, store: Path) -> dict[str, Any]:
    session = sample_session(
        store,
        "sqlite:///unused.db",
        symbols=draw(st.lists(st.sampled_from(SAMPLE_SYMBOLS), min_size=1, unique=True)),
        derived=draw(st.lists(st.sampled_from(["5m", "15m", "30m"]), unique=True)),
        indicators=draw(st.lists(st.sampled_from(INDICATORS), unique_by=lambda i: i["type"], max_size=2)),
        historical={"enabled": draw(st.booleans()), "trailing_days": draw(st.integers(0, 1))},
    )
    if draw(st.booleans()):
        session["scanner"] = {
            "class": "daytape.examples:ListScanner",
            "params": {"symbols": ["AAPL", "NOSUCH"], "at": "10:00", "indicator": INDICATORS[0]},
        }
    return session


@st.composite
def mutated(draw: st.DrawFn, session: dict[str, Any]) -> dict[str, Any]:
    """`session` with 0-3 mutations: a field dropped, a field or nested field given a wrong value,
    an unknown key added, a bad symbol, a broken indicator, a plugin that does not import."""
    document = json.loads(json.dumps(session))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["drop", "junk", "date", "unknown", "symbol", "indicator", "plugin", "nested"]))
        if kind == "drop" and document:
            document.pop(draw(st.sampled_from(sorted(document))))
        elif kind == "junk" and document:
            document[draw(st.sampled_from(sorted(document)))] = draw(JUNK)
        elif kind == "date":
            document[draw(st.sampled_from(["start", "end"]))] = draw(BAD_DATES)
        elif kind == "unknown":
            document[draw(ODD_TEXT)] = draw(JUNK)
        elif kind == "symbol":
            symbols = document.get("symbols")
            document["symbols"] = [*(symbols if isinstance(symbols, list) else []), draw(ODD_TEXT | JUNK)]
        elif kind == "indicator":
            spec = dict(draw(st.sampled_from(INDICATORS)))
            spec[draw(st.sampled_from(["type", "period", "interval", draw(ODD_TEXT)]))] = draw(JUNK)
            indicators = document.get("indicators")
            document["indicators"] = [*(indicators if isinstance(indicators, list) else []), spec]
        elif kind == "plugin":
            document[draw(st.sampled_from(["scanner", "strategy"]))] = {"class": draw(BAD_CLASSES), "params": {}}
        elif kind == "nested":
            document["historical"] = {draw(st.sampled_from(["enabled", "trailing_days", "x"])): draw(JUNK)}
    return document


@st.composite
def session_bytes(draw: st.DrawFn, store: Path) -> bytes:
    """A session file as bytes: YAML of a (mutated) session, sometimes with its text or bytes damaged."""
    document = draw(mutated(draw(valid_sessions(store))))
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([":", "- ", "\t", "{", "'", "\n  ", "!!str ", "&a *a"])) + text[at:]
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf"])) + data[at:]
    return data


def check_session(store: Path, data: bytes) -> tuple[Outcome, Outcome]:
    """`config check` and `run` on the file; what each leaves behind is checked here."""
    with scratch() as folder:
        session = folder / "session.yaml"
        session.write_bytes(data)
        log = folder / "log.db"
        checked = in_process("config", "check", str(session))
        assert_no_traceback(checked)
        ran = in_process("run", str(session), "--log", f"sqlite:///{log}", "--quiet", "--json")
        assert_no_traceback(ran, allowed=(0, 1, 2))
        if checked.code == 2:
            assert ran.code == 2, "config check refused the file but run took it"
        if ran.code == 2:
            assert not log.exists(), "a refused run left a log behind"
            assert ran.out == ""
            return checked, ran
        document = json.loads(ran.out)
        assert document["status"] == ("completed" if ran.code == 0 else "failed")
        runs = json.loads(in_process("runs", "--log", f"sqlite:///{log}", "--json").out)
        assert [(r["run_id"], r["status"]) for r in runs] == [(document["run_id"], document["status"])]
        audited = in_process("audit", document["run_id"], "--log", f"sqlite:///{log}")
        assert audited.code == 0, audited.err
        return checked, ran


@FUZZ
@given(data=st.data())
def test_fuzzed_session_files_are_run_or_refused_cleanly(store_root: Path, data: st.DataObject) -> None:
    checked, ran = check_session(store_root, data.draw(session_bytes(store_root)))
    event(f"config check exit {checked.code}, run exit {ran.code}")


# -- CSV files ------------------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.floats(0.01, 1000.0),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -1.0, 0.0, 1e300]),
)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """A bar CSV: rows within the sample sessions, sometimes unsorted, duplicated, with NaN or inf prices,
    with a bad row, a damaged header, offsets or not, a BOM or CRLF line ends."""
    day = draw(st.sampled_from([SAMPLE_FIRST, SAMPLE_LAST]))
    open_local = dt.datetime.combine(day, dt.time(9, 30), NY)
    aware = draw(st.booleans())
    separator = draw(st.sampled_from([" ", "T"]))
    rows: list[list[str]] = []
    for minute in draw(st.lists(st.integers(0, 389), max_size=25)):
        local = open_local + dt.timedelta(minutes=minute)
        ts = local.isoformat(sep=separator) if aware else local.replace(tzinfo=None).isoformat(sep=separator)
        rows.append([ts, *(repr(draw(NUMBERS)) for _ in range(5))])
    if rows and draw(st.booleans()):
        rows = draw(st.permutations(rows))
    if rows and draw(st.booleans()):
        rows += draw(st.lists(st.sampled_from(rows), max_size=5))
    header = list(BAR_COLUMNS)
    damage = draw(st.sampled_from(["none", "none", "row", "field", "ts", "header", "reorder", "extra"]))
    if damage == "row" and rows:
        rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(ODD_TEXT, max_size=8)))
    elif damage == "field" and rows:
        row = draw(st.sampled_from(rows))
        row[draw(st.integers(1, 5))] = draw(ODD_TEXT)
    elif damage == "ts" and rows:
        draw(st.sampled_from(rows))[0] = draw(BAD_DATES)
    elif damage == "header":
        header[draw(st.integers(0, 5))] = draw(ODD_TEXT)
    elif damage == "reorder":
        order = draw(st.permutations(range(6)))
        header = [header[i] for i in order]
        rows = [[row[i] for i in order] if len(row) == 6 else row for row in rows]
    elif damage == "extra":
        header.append("note")
        rows = [[*row, draw(ODD_TEXT)] for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    prefix = "\ufeff" if draw(st.integers(0, 5)) == 0 else ""
    return (prefix + buffer.getvalue()).encode("utf-8")


def expected_rows(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The CSV's bars by a plain parse: ts as UTC ns (naive = New York time) and the five values,
    sorted by ts, keeping the file's order among equal ts."""
    reader = csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff")))
    header = [name.strip() for name in next(reader)]
    where = {name: header.index(name) for name in BAR_COLUMNS}
    stamps, values = [], []
    for row in reader:
        if not row:
            continue
        ts = dt.datetime.fromisoformat(row[where["ts"]].strip())
        ts = ts if ts.tzinfo is not None else ts.replace(tzinfo=NY)
        stamps.append(round(ts.timestamp() * 1e9))
        values.append([float(row[where[name]]) for name in BAR_COLUMNS[1:]])
    order = np.argsort(np.array(stamps, dtype=np.int64), kind="stable")
    return np.array(stamps, dtype=np.int64)[order], np.array(values, dtype=np.float64).reshape(-1, 5)[order]


def check_csv(data: bytes) -> Outcome:
    with scratch() as folder:
        source = folder / "bars.csv"
        source.write_bytes(data)
        store = folder / "store"
        result = in_process(
            "data", "import-csv", str(source), "--symbol", "FUZZ", "--interval", "1m",
            "--tz", "America/New_York", "--store", str(store), "--json",
        )  # fmt: skip
        assert_no_traceback(result)
        if result.code == 2:
            assert not store.exists(), "a refused import left a store behind"
            return result
        stamps, values = expected_rows(data)
        assert json.loads(result.out)["rows"] == len(stamps)
        bars = BarStore(store)
        days = bars.days("FUZZ", "1m") if len(stamps) else []
        table = bars.read_days("FUZZ", "1m", days).table if days else None
        stored_ts = np.array([], dtype=np.int64) if table is None else table.column("ts").cast("int64").to_numpy()
        assert np.array_equal(stored_ts, stamps)
        if table is not None:
            stored = np.column_stack([table.column(name).to_numpy() for name in BAR_COLUMNS[1:]])
            assert np.array_equal(stored, values, equal_nan=True)
            checked = in_process("data", "check", "--store", str(store), "--json")
            assert_no_traceback(checked, allowed=(0, 1))
        return result


@FUZZ
@given(data=csv_bytes())
@example(data=f"{HEADER}\n2023-11-20 09:30:00,,1.0,1.0,1.0,1.0\n".encode())  # an empty price was stored as null
@example(data=f"{HEADER},note\n2023-11-20 09:30:00,1,1,1,1,1,\r0\n".encode())  # a bare CR: the csv module raised
@example(data=f"{HEADER}\n2038-04-01,1,1,1,1,1\n".encode())  # stored an hour off (pyarrow's rules past 2037)
@example(data=f"{HEADER}\n2036-01-01,1,1,1,1,1\n".encode())  # stored, then `data check` could not read it
def test_fuzzed_csv_files_are_imported_whole_or_refused(data: bytes) -> None:
    event(f"import-csv exit {check_csv(data).code}")


# -- the same cases through the real command --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        ("session", b"name: caf\xe9\nstart: 2023-11-21\nend: 2023-11-21\n", 2),
        ("session", "name: s\nstart: 2013-02-31\nend: 2013-03-01\n\u202e\U0001f4a5: 1\n".encode(), 2),
        ("session", b"name: [unclosed\nstart: 2023-11-21\n", 2),
        ("csv", f"{HEADER}\n2023-11-21 09:31:00,1,2,0.5,inf,10\n2023-11-21 09:31:00,1,2,0.5,nan,10\n".encode(), 0),
        ("csv", f"{HEADER}\n2023-11-21 09:31:00,1,2,0.5,1.5,10\n2023-11-21 09:32:00,1,x,0.5,1.5,10\n".encode(), 2),
        ("csv", f"{HEADER}\n2023-11-21 09:31:00,1,2,0.5\n".encode(), 2),
    ],
)
def test_the_real_command_agrees_with_the_in_process_one(tmp_path: Path, kind: str, content: bytes, expected: int):
    path = tmp_path / ("input.yaml" if kind == "session" else "input.csv")
    path.write_bytes(content)
    if kind == "session":
        args: tuple[str, ...] = ("run", str(path), "--log", f"sqlite:///{tmp_path / 'log.db'}", "--quiet")
    else:
        args = ("data", "import-csv", str(path), "--symbol", "X", "--interval", "1m", "--tz", "UTC")
        args += ("--store", str(tmp_path / "store"))
    real = daytape(*args)
    assert real.returncode == expected and "Traceback" not in real.stderr, real.stderr
    assert not (tmp_path / "log.db").exists()
    assert (tmp_path / "store").exists() == (expected == 0)
    shutil.rmtree(tmp_path / "store", ignore_errors=True)
    inside = in_process(*args)
    assert (inside.code, inside.err) == (real.returncode, real.stderr)
