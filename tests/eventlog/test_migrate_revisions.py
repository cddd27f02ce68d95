"""Opening a log reads its revision and the scripts' revisions without Alembic (start-up); Alembic's own
reading is the oracle."""

from __future__ import annotations

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from eventlog import migrate
from eventlog.engine import make_engine


def test_the_head_and_the_known_revisions_are_alembics():
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {script.revision for script in scripts.walk_revisions()}


@pytest.mark.parametrize("revision", [None, "0001", "0002", "head"])
def test_the_current_revision_is_what_alembic_reads(log_url, revision):
    engine = make_engine(log_url)
    try:
        if revision is not None:
            migrate.upgrade_engine(engine, revision)
        with engine.connect() as connection:
            expected = MigrationContext.configure(connection).get_current_revision()
        assert (expected is None) == (revision is None)
        assert migrate.current_revision(log_url) == expected
    finally:
        engine.dispose()
