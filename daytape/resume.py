"""Resuming a run: keep the days whose streams are complete, redo the unfinished one from its start, run
the rest with the same code on the same data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection

from daytape.datascope import LOAD_KINDS, check_added_loads, check_data
from daytape.day import DayResult
from daytape.errors import UserError
from daytape.provenance import code_changes, code_version
from daytape.runner import (
    RunOptions,
    RunResult,
    check_run,
    execute_run,
    mark_stopped,
    run_status,
)
from eventlog.errors import TamperedStream
from eventlog.reading import get_run, read_events, streams, verified_stream
from eventlog.replay import replay_rows
from eventlog.store import EventStore
from specs.config import SessionConfig
from specs.events import EventBase
from specs.lifecycle import SessionPhase
from specs.status import DayStatus, RunStatus
from statemachine.export import failed_requests


def recorded_config(log: EventStore, run_id: str) -> SessionConfig:
    info = get_run(log, run_id)
    try:
        return SessionConfig.model_validate(json.loads(info.config_json))
    except ValueError as exc:
        raise UserError(f"run {run_id}: its recorded config no longer validates: {exc}") from None


def finished_days(log: EventStore, run_id: str, only: set[dt.date] | None = None) -> dict[dt.date, DayResult]:
    """Days (of `only`, when given) whose stream is complete: ended and torn down, or failed, or aborted.
    Each stream is verified first: a resume never builds on (and seals) a stream that fails verification."""
    done: dict[dt.date, DayResult] = {}
    for info in streams(log, run_id):
        if only is not None and info.session_date not in only:
            continue
        try:
            rows = verified_stream(log, run_id, info.session_date)
        except TamperedStream as exc:
            raise UserError(f"cannot resume run {run_id}: {exc}; daytape audit {run_id} checks the whole run") from None
        state = replay_rows(info.session_date, [(row[0], row[2]) for row in rows])
        ended_and_torn_down = (
            info.status == DayStatus.ENDED and state.phase == SessionPhase.TEARING_DOWN and not state.symbols
        )
        if ended_and_torn_down or state.phase in (SessionPhase.FAILED, SessionPhase.ABORTED):
            status = DayStatus.ENDED if ended_and_torn_down else DayStatus(state.phase)
            done[info.session_date] = DayResult(
                date=info.session_date,
                status=status,
                symbols=[],
                rejected=dict(sorted(state.rejected.items())),
                failed=failed_requests(state),
                events=info.events,
                error=state.failure,
            )
    return done


def check_resumable(log: EventStore, run_id: str, config: SessionConfig, done: Collection[dt.date] = ()) -> None:
    """Refuse to finish a run with other code or other data than it started with: its manifest names one
    code version and one data digest, so a run whose days came from two of either would misstate what it is.
    The bars plugins loaded on the `done` days, outside the digest's scope, are checked against the log."""
    info = get_run(log, run_id)
    problems = []
    changes = code_changes(info.code_version, code_version())
    if changes:
        problems.append(f"the code changed since it started ({', '.join(changes)})")
    data = check_data(config, info.data_digest, info.data_scope).change
    if data is None and done:
        loads: dict[dt.date, list[EventBase]] = {}
        for row in read_events(log, run_id, kinds=LOAD_KINDS):
            if row.session_date in done:
                loads.setdefault(row.session_date, []).append(row.event())
        data = check_added_loads(config, loads)
    if data is not None:
        problems.append(f"the bar store {config.store} changed since it started ({data})")
    if problems:
        raise UserError(
            f"cannot resume run {run_id}: {'; and '.join(problems)}; "
            "a resumed run must be the same code on the same data, so start a new run instead"
        )


def config_differences(recorded: SessionConfig, given: SessionConfig) -> list[str]:
    """The top-level settings in which `given` differs from `recorded`, in the file's order."""
    before, after = recorded.to_yaml_dict(), given.to_yaml_dict()
    return [key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]


def resume_run(log: EventStore, run_id: str, options: RunOptions) -> RunResult:
    """Finish a killed run: keep finished days, redo the unfinished one from its start, run the rest.

    A run whose sessions have all finished and whose status says so is left as it is (not even its
    finish time changes): the result says `nothing_to_resume`."""
    config = recorded_config(log, run_id)
    days = check_run(config, options)
    done = finished_days(log, run_id)
    if all(d in done for d in days):
        finished = [done[d] for d in days]
        recorded = get_run(log, run_id)
        if recorded.status == run_status(finished):
            return RunResult(run_id, run_status(finished), finished, nothing_to_resume=True, seal=recorded.seal)
    check_resumable(log, run_id, config, done)
    for info in streams(log, run_id):
        if info.session_date not in done:
            log.delete_stream(run_id, info.session_date)
    todo = [d for d in days if d not in done]
    log.finish_run(run_id, RunStatus.RUNNING)
    try:
        results = {r.date: r for r in execute_run(log, run_id, config, todo, options)}
    except BaseException as exc:
        mark_stopped(log, run_id, exc)
        raise
    ordered = [done.get(d) or results[d] for d in days]
    status = run_status(ordered)
    seal = log.finish_run(run_id, status)
    return RunResult(run_id, status, ordered, seal=seal)
