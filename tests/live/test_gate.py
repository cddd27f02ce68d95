"""The minute gate (daytape.live.gate) against an independent model of its rules, and on real LEAN days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daytape.live.gate import GateError, LateInput, MinuteGate, Step
from marketdata.calendar import get_calendar
from marketdata.live.frames import LiveFrame
from tests.live.lean_frames import arriving, lean_minutes

OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Frame:
    kind: str
    symbol: str
    ts: datetime
    received_at: datetime
    n: int  # its place in the input, so each step's bars can be named


def run_gate(gate: MinuteGate, frames: list, until: datetime) -> tuple[list[Step], list[LateInput]]:
    steps, late = [], []
    for frame in frames:
        for out in gate.offer(frame):
            (steps if isinstance(out, Step) else late).append(out)
    steps.extend(gate.advance(max([until, *(f.received_at for f in frames)])))
    return steps, late


def reference(symbols: list[str], minutes: int, grace: timedelta, frames: list[Frame]):
    """The rules restated minute by minute over the whole input (not frame by frame as the gate works):
    a minute steps at the latest first arrival of its symbols' bars if all arrive before its deadline, else
    at its deadline, and never before its end or the step before it."""
    steps, used, gaps_of = [], set(), {}
    previous = OPEN
    for i in range(minutes):
        minute = OPEN + i * MINUTE
        end, deadline = minute + MINUTE, minute + MINUTE + grace
        first: dict[str, Frame] = {}
        for f in frames:
            if f.ts == minute and f.received_at < deadline and f.symbol not in first:
                first[f.symbol] = f
        if set(first) >= set(symbols):
            at = max([previous, end, *(f.received_at for f in first.values())])
            by_deadline = False
        else:
            at, by_deadline = max(previous, deadline), True
        gaps = tuple(sorted(set(symbols) - set(first)))
        gaps_of[minute] = set(gaps)
        steps.append((minute, at, {s: f.n for s, f in first.items()}, gaps, by_deadline))
        used |= {f.n for f in first.values()}
        previous = at
    late = []
    for f in frames:
        if f.n not in used and f.symbol in gaps_of[f.ts]:
            gaps_of[f.ts].discard(f.symbol)
            late.append(f.n)
    return steps, late, len(frames) - len(used) - len(late)


@st.composite
def days(draw):
    symbols = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, max_size=4, unique=True))
    minutes = draw(st.integers(1, 6))
    grace = draw(st.integers(1, 8_000)) * timedelta(milliseconds=1)
    frames = []
    for i in range(minutes):
        for symbol in symbols:
            for _ in range(draw(st.integers(0, 3))):  # 0: the symbol did not trade; 2, 3: duplicates
                delay = draw(st.integers(0, 12_000)) * timedelta(milliseconds=1)
                frames.append((symbol, OPEN + i * MINUTE, OPEN + (i + 1) * MINUTE + delay))
    frames.sort(key=lambda f: f[2])
    return symbols, minutes, grace, [Frame("bar", s, ts, at, n) for n, (s, ts, at) in enumerate(frames)]


@settings(max_examples=300, deadline=None)
@given(days())
def test_the_gate_steps_as_the_reference_model_says(day):
    symbols, minutes, grace, frames = day
    close = OPEN + minutes * MINUTE
    gate: MinuteGate[Frame] = MinuteGate(symbols, OPEN, close, grace)
    until = max([close + grace, *(f.received_at for f in frames)])
    steps, late = run_gate(gate, frames, until)
    expected_steps, expected_late, duplicates = reference(symbols, minutes, grace, frames)
    got = [(s.minute, s.at, {k: f.n for k, f in s.bars.items()}, s.gaps, s.by_deadline) for s in steps]
    assert got == expected_steps
    assert [item.frame.n for item in late] == expected_late and {item.kind for item in late} <= {"late"}
    assert gate.counts.duplicates == duplicates and gate.counts.late == len(expected_late)
    assert gate.done and gate.next_release() is None
    assert [s.at for s in steps] == sorted(s.at for s in steps)


def _release(frames, minute, grace, previous, expected, added, at):
    """When a minute expecting `expected` steps, with which first bars, and whether by its deadline."""
    end, deadline = minute + MINUTE, minute + MINUTE + grace
    firsts: dict[str, Frame] = {}
    for f in frames:
        before_the_add = f.symbol == added and f.received_at < at
        fits = f.ts == minute and f.received_at < deadline and f.symbol in expected and not before_the_add
        if fits and f.symbol not in firsts:
            firsts[f.symbol] = f
    if set(firsts) >= set(expected):
        return max([previous, end, *(f.received_at for f in firsts.values())]), firsts, False
    return max(previous, deadline), firsts, True


def reference_with_an_add(symbols, minutes, grace, frames, added: str, at: datetime):
    """As `reference`, with `added` subscribed at `at` (never on a frame's arrival time): the minutes due by
    `at` step without it; from the first minute not due by then (and not ended before `at`) it is expected,
    and only its frames arriving after `at` count."""
    steps = []
    previous, first = OPEN, None
    for i in range(minutes):
        minute = OPEN + i * MINUTE
        expected = list(symbols)
        if first is None:
            when, _, _ = _release(frames, minute, grace, previous, expected, added, at)
            if when > at:  # not due by the time of the add: from here on the symbol is subscribed
                first = max(minute, at.replace(second=0, microsecond=0))
        if first is not None and minute >= first:
            expected.append(added)
        when, firsts, by_deadline = _release(frames, minute, grace, previous, expected, added, at)
        gaps = tuple(sorted(set(expected) - set(firsts)))
        steps.append((minute, when, {s: f.n for s, f in firsts.items()}, gaps, by_deadline))
        previous = when
    return steps, first


@settings(max_examples=200, deadline=None)
@given(days(), st.integers(0, 7 * 60_000))
def test_a_symbol_added_mid_session_steps_as_the_reference_model_says(day, add_ms):
    symbols, minutes, grace, frames = day
    added = symbols[-1]
    symbols = symbols[:-1]
    at = OPEN + timedelta(milliseconds=add_ms, microseconds=500)  # never equal to an arrival (whole ms)
    close = OPEN + minutes * MINUTE
    gate: MinuteGate[Frame] = MinuteGate(symbols, OPEN, close, grace)
    steps: list[Step] = []
    before = [f for f in frames if f.received_at < at]
    for f in before:
        steps.extend(o for o in gate.offer(f) if isinstance(o, Step))
    steps.extend(gate.add(added, at))
    for f in frames[len(before) :]:
        steps.extend(o for o in gate.offer(f) if isinstance(o, Step))
    steps.extend(gate.advance(max([close + grace, at, *(f.received_at for f in frames)])))
    expected, _ = reference_with_an_add(symbols, minutes, grace, frames, added, at)
    got = [(s.minute, s.at, {k: f.n for k, f in s.bars.items()}, s.gaps, s.by_deadline) for s in steps]
    assert got == expected


def bar(symbol: str, minute: int, after: float, kind: str = "bar", n: int = 0) -> Frame:
    ts = OPEN + minute * MINUTE
    return Frame(kind, symbol, ts, ts + MINUTE + after * SECOND, n)


def test_a_complete_minute_steps_on_its_last_bar_and_a_missing_one_at_the_deadline():
    gate: MinuteGate[Frame] = MinuteGate(["A", "B"], OPEN, OPEN + 3 * MINUTE, 3 * SECOND)
    assert gate.offer(bar("A", 0, 0.2)) == []
    [step] = gate.offer(bar("B", 0, 0.9))
    assert (step.at, step.gaps, step.by_deadline) == (OPEN + MINUTE + 0.9 * SECOND, (), False)
    gate.offer(bar("A", 1, 0.1))
    assert gate.next_release() == OPEN + 2 * MINUTE + 3 * SECOND
    assert gate.advance(OPEN + 2 * MINUTE + 2.999 * SECOND) == []
    [step] = gate.advance(OPEN + 2 * MINUTE + 3 * SECOND)
    assert (step.minute, step.gaps, step.by_deadline, sorted(step.bars)) == (OPEN + MINUTE, ("B",), True, ["A"])
    assert gate.counts.gaps == 1


def test_a_bar_arriving_at_the_deadline_is_late_and_never_resteps():
    gate: MinuteGate[Frame] = MinuteGate(["A", "B"], OPEN, OPEN + 2 * MINUTE, 3 * SECOND)
    gate.offer(bar("A", 0, 0.5))
    out = gate.offer(bar("B", 0, 3.0, n=7))
    assert [type(o).__name__ for o in out] == ["Step", "LateInput"]
    assert out[0].gaps == ("B",) and out[1].kind == "late" and out[1].frame.n == 7
    assert gate.offer(bar("B", 0, 4.0)) == [] and gate.counts.duplicates == 1  # a second copy of a late bar
    assert gate.offer(bar("A", 0, 5.0)) == [] and gate.counts.duplicates == 2  # A had its bar in the step
    assert gate.counts.steps == 1


def test_an_updated_bar_replaces_a_waiting_bar_and_corrects_a_stepped_one():
    gate: MinuteGate[Frame] = MinuteGate(["A", "B"], OPEN, OPEN + 2 * MINUTE, 3 * SECOND)
    gate.offer(bar("A", 0, 0.1, n=1))
    gate.offer(bar("A", 0, 0.2, kind="updated_bar", n=2))
    [step] = gate.offer(bar("B", 0, 0.3, n=3))
    assert {k: f.n for k, f in step.bars.items()} == {"A": 2, "B": 3}
    [correction] = gate.offer(bar("A", 0, 30.0, kind="updated_bar", n=4))
    assert correction.kind == "correction" and correction.frame.n == 4 and gate.counts.corrections == 1


def test_symbols_added_and_removed_mid_session():
    gate: MinuteGate[Frame] = MinuteGate(["A"], OPEN, OPEN + 5 * MINUTE, 3 * SECOND)
    [s0] = gate.offer(bar("A", 0, 0.1))
    assert gate.add("N", OPEN + MINUTE + 20 * SECOND) == []  # a scanner's add in minute 1: expected from it
    assert gate.offer(bar("N", 0, 30)) == [] and gate.counts.unsubscribed == 1  # before it was subscribed
    gate.offer(bar("A", 1, 0.4))
    [s1] = gate.offer(bar("N", 1, 0.5))
    assert s0.gaps == () and sorted(s1.bars) == ["A", "N"] and not s1.by_deadline
    gate.offer(bar("N", 2, 0.1))
    assert gate.remove("N", OPEN + 3 * MINUTE + 0.2 * SECOND) == []  # teardown: its waiting bar goes
    [s2] = gate.offer(bar("A", 2, 0.3))
    assert sorted(s2.bars) == ["A"] and s2.gaps == () and gate.counts.unsubscribed == 2


def test_frames_outside_the_session_and_time_going_back():
    gate: MinuteGate[Frame] = MinuteGate(["A"], OPEN, OPEN + MINUTE, 3 * SECOND, start=OPEN - 5 * MINUTE)
    pre = Frame("bar", "A", OPEN - 2 * MINUTE, OPEN - MINUTE, 0)
    assert gate.offer(pre) == [] and gate.counts.outside_session == 1
    gate.offer(bar("A", 0, 1))
    with pytest.raises(GateError, match="time went back"):
        gate.advance(OPEN)
    with pytest.raises(GateError, match="a status frame does not pass the minute gate"):
        gate.offer(Frame("status", "A", OPEN, OPEN + 2 * MINUTE, 0))
    after = Frame("bar", "A", OPEN + MINUTE, OPEN + 2 * MINUTE + SECOND, 0)
    assert gate.offer(after) == [] and gate.counts.outside_session == 2


def test_no_symbols_steps_each_minute_at_its_end():
    gate: MinuteGate[Frame] = MinuteGate([], OPEN, OPEN + 3 * MINUTE, 3 * SECOND)
    steps = gate.advance(OPEN + 10 * MINUTE)
    assert [s.at for s in steps] == [OPEN + MINUTE, OPEN + 2 * MINUTE, OPEN + 3 * MINUTE]


# --- real days ------------------------------------------------------------------------------------------


def session(day: date) -> tuple[datetime, datetime]:
    calendar = get_calendar("XNYS")
    return calendar.open(day), calendar.close(day)


def real_day(lean_root, symbols: list[str], day: date, seed: int, duplicates: float = 0.0, jitter_s: float = 2.5):
    bars = {s: lean_minutes(lean_root, s, day) for s in symbols}
    return bars, arriving(bars, seed, jitter_s=jitter_s, duplicates=duplicates)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_lean_day_with_jitter_duplicates_and_a_symbol_that_never_trades(lean_root, seed):
    day = date(2013, 10, 9)
    open_, close = session(day)
    bars, frames = real_day(lean_root, ["SPY", "AIG", "BAC", "IBM"], day, seed, duplicates=0.05)
    gate: MinuteGate[LiveFrame] = MinuteGate(["SPY", "AIG", "BAC", "IBM", "NEVER"], open_, close, 3 * SECOND)
    steps, late = run_gate(gate, frames, close + MINUTE)
    minutes = [open_ + i * MINUTE for i in range(390)]
    assert [s.minute for s in steps] == minutes and late == []
    for step in steps:
        held = {s for s, by_minute in bars.items() if step.minute in by_minute}
        assert set(step.bars) == held and set(step.gaps) == {"NEVER"} | (set(bars) - held)
        for symbol, frame in step.bars.items():
            assert (frame.open, frame.high, frame.low, frame.close, frame.volume) == bars[symbol][step.minute]
        assert step.by_deadline and step.at == step.minute + MINUTE + 3 * SECOND
    outside = sum(1 for by_minute in bars.values() for ts in by_minute if not open_ <= ts < close)
    sent_twice = len(frames) - sum(len(b) for b in bars.values())
    assert gate.counts.outside_session >= outside and gate.counts.duplicates + gate.counts.outside_session == (
        outside + sent_twice
    )


def test_a_thin_day_steps_its_full_minutes_on_the_last_bar_and_the_rest_at_the_deadline(lean_root):
    day = date(2008, 3, 7)
    open_, close = session(day)
    bars, frames = real_day(lean_root, ["SHY"], day, seed=3, jitter_s=1.5)
    gate: MinuteGate[LiveFrame] = MinuteGate(["SHY"], open_, close, 2 * SECOND)
    steps, late = run_gate(gate, frames, close + MINUTE)
    assert late == []
    traded = bars["SHY"]
    assert len(steps) == 390 and 0 < sum(1 for s in steps if s.gaps) < 390
    for step in steps:
        if step.minute in traded:
            assert not step.by_deadline and step.at == step.bars["SHY"].received_at
        else:
            assert step.gaps == ("SHY",) and step.at == step.minute + MINUTE + 2 * SECOND


def test_an_early_close_ends_the_steps_at_the_calendars_close(lean_root):
    day = date(2015, 12, 24)
    open_, close = session(day)
    assert close - open_ == timedelta(hours=3, minutes=30)
    bars, frames = real_day(lean_root, ["GOOG", "FOXA"], day, seed=4)
    gate: MinuteGate[LiveFrame] = MinuteGate(["GOOG", "FOXA"], open_, close, 3 * SECOND)
    steps, _ = run_gate(gate, frames, close + 30 * MINUTE)
    assert len(steps) == 210 and steps[-1].minute == close - MINUTE and gate.done
    after_close = sum(1 for by_minute in bars.values() for ts in by_minute if ts >= close)
    assert after_close > 0 and gate.counts.outside_session >= after_close
