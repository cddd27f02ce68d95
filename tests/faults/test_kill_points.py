"""SIGKILL of a real `daytape run` at points across a five-day run; every resume ends as a clean run.

The process kills itself through the DAYTAPE_FAULT_KILL hook (eventlog/faults.py) at its Nth append,
either with the batch written but not committed (`before`: inside a request, a phase change, the end
of a day or its teardown) or right after the commit (`after`: between append and apply). Hypothesis
chooses the points; the first append, the last day's end and teardown, and the very last append are
always tried. All runs share one SQLite log with one clean reference run.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.faults.conftest import (
    appends_of,
    assert_equal_to_clean_and_audited,
    cli,
    five_day_session,
    run_daytape,
    run_ids,
    sqlite_rows,
    subprocess_env,
    write_session,
)


class Reference:
    def __init__(self, folder: Path, store: Path) -> None:
        self.db = folder / "log.db"
        self.log_url = f"sqlite:///{self.db}"
        self.session = write_session(folder / "five.yaml", five_day_session(store, self.log_url))
        clean = cli("run", str(self.session), "--json", "--quiet")
        assert clean.code == 0, clean.stderr
        self.clean_id: str = clean.json()["run_id"]  # type: ignore[index]
        self.rows = sqlite_rows(self.db, self.clean_id)
        self.appends = appends_of(self.rows)
        self.day_events = {day: sum(1 for row in self.rows if row[1] == day) for day in {row[1] for row in self.rows}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, lean_store_root: Path) -> Reference:
    return Reference(tmp_path_factory.mktemp("kill-points"), lean_store_root)


def kill_and_resume(reference: Reference, phase: str, number: int) -> None:
    before = set(run_ids(reference.log_url))
    killed = run_daytape(
        "run", str(reference.session), "--quiet", env=subprocess_env(DAYTAPE_FAULT_KILL=f"{phase}:{number}")
    )
    assert killed.returncode == -signal.SIGKILL, f"{phase}:{number} did not kill the run: {killed.stderr}"
    (run_id,) = set(run_ids(reference.log_url)) - before

    rows = sqlite_rows(reference.db, run_id)
    assert appends_of(rows) == (number if phase == "after" else number - 1), "the killed append was not dropped whole"
    assert [row[3:] for row in rows] == [
        row[3:] for row in reference.rows if (row[1], row[2]) in {(r[1], r[2]) for r in rows}
    ], "what the killed run committed is not what a clean run writes"
    finished = {
        day for day in {row[1] for row in rows} if sum(1 for row in rows if row[1] == day) == reference.day_events[day]
    }

    resumed = cli("run", str(reference.session), "--resume", run_id, "--json", "--quiet")
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["status"] == "completed"  # type: ignore[index]
    assert_equal_to_clean_and_audited(reference.log_url, run_id, reference.clean_id)
    after = sqlite_rows(reference.db, run_id)
    assert [row for row in after if row[1] in finished] == [row for row in rows if row[1] in finished], (
        "the resume rewrote days that had finished"
    )


@settings(max_examples=25, deadline=None)
@given(phase=st.sampled_from(["before", "after"]), share=st.integers(min_value=1, max_value=1000))
def test_a_run_killed_at_any_append_resumes_to_the_clean_run(reference: Reference, phase: str, share: int) -> None:
    kill_and_resume(reference, phase, max(1, -(-share * reference.appends // 1000)))


@pytest.mark.parametrize(
    ("phase", "from_end"),
    [
        ("before", None),  # the very first append: the run row exists, no event yet
        ("before", 1),  # the last day's SessionEnded batch, not yet committed
        ("after", 1),  # the last day ended, its teardown not yet written
        ("before", 0),  # the last day's teardown, not yet committed
        ("after", 0),  # every event written, the run not yet marked completed
    ],
)
def test_a_run_killed_at_its_first_append_and_during_its_last_days_end_resumes(
    reference: Reference, phase: str, from_end: int | None
) -> None:
    kill_and_resume(reference, phase, 1 if from_end is None else reference.appends - from_end)
