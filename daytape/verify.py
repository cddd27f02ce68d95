"""`verify`: re-run a logged run's recorded config on its data (a live run: on its tape) and compare the event
streams."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from daytape.datascope import check_data
from daytape.liveverify import check_tape, rerun_live
from daytape.output import plural
from daytape.provenance import code_changes
from daytape.resume import recorded_config
from daytape.runner import RunOptions, run_session, run_status, start_run
from eventlog.diff import DiffReport, diff_runs
from eventlog.manifest import config_digest
from eventlog.reading import get_run, resolve_run_id
from eventlog.store import EventStore, open_store


@dataclass(frozen=True)
class Verification:
    run_id: str
    report: DiffReport
    data_changed: bool
    #: The recorded config no longer hashes to the run's config hash: it was edited after the run,
    #: so re-running it would not re-run what ran (and nothing was re-run).
    config_altered: bool = False
    #: How the data differs from the run's (daytape.datascope.data_change), when it does.
    data_note: str | None = None
    #: A live run, re-run from its recorded tape (daytape.liveverify) rather than from the store's bars.
    from_tape: bool = False

    @property
    def deterministic(self) -> bool:
        return not self.config_altered and self.report.same

    @property
    def code_changes(self) -> list[str]:
        """How the code that re-ran differs from the code that ran (empty when it is the same)."""
        recorded, current = self.report.manifest.get("code_version", ("", ""))
        return code_changes(recorded, current)

    @property
    def _source(self) -> str:
        return " from its tape" if self.from_tape else ""

    def message(self) -> str:
        if self.config_altered:
            return (
                f"cannot verify run {self.run_id}: its recorded config was altered after the run "
                "(config_json no longer hashes to its config_hash), so it would not re-run what ran; "
                f"daytape audit {self.run_id} checks the rest of the log"
            )
        code = f"; the code differs: {', '.join(self.code_changes)}" if self.code_changes else ""
        if self.deterministic:
            return (
                f"deterministic: run {self.run_id} re-ran{self._source} to the same {self.report.events} events "
                f"in {plural(self.report.streams, 'session')}{code}"
            )
        note = self.data_note or "its data digest differs"
        data = f"; the bar store changed since the run: {note}" if self.data_changed else ""
        return f"not deterministic: run {self.run_id}: first divergence at {self.report.first}{data}{code}"


def verify_run(log: EventStore, run_text: str, options: RunOptions | None = None) -> Verification:
    """Re-run into a scratch SQLite log beside nothing else, then diff the two runs stream by stream. A live run
    (`mode: live`) re-runs from its tape, checked first (daytape.liveverify)."""
    run_id = resolve_run_id(log, run_text)
    info = get_run(log, run_id)
    if config_digest(info.config_json) != info.config_hash:
        return Verification(run_id, DiffReport(run_a=run_id, run_b=""), data_changed=False, config_altered=True)
    config = recorded_config(log, run_id)
    live = config.mode == "live"
    if live:
        check_tape(log, run_id)
    data = check_data(config, info.data_digest, info.data_scope)
    with tempfile.TemporaryDirectory(prefix="daytape-verify-") as folder:
        scratch = open_store(f"sqlite:///{Path(folder) / 'verify.db'}")
        try:
            if live:
                rerun_id = start_run(scratch, config, scope=data.scope)
                scratch.finish_run(rerun_id, run_status(rerun_live(log, run_id, config, scratch, rerun_id)))
            else:
                rerun_id = run_session(scratch, config, options or RunOptions(), scope=data.scope).run_id
            report = diff_runs(log, run_id, rerun_id, store_b=scratch)
        finally:
            scratch.close()
    return Verification(run_id, report, data_changed=data.change is not None, data_note=data.change, from_tape=live)
