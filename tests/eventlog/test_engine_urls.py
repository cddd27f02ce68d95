"""Log URLs that are not URLs, and SQLite URLs without a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlog.engine import normalize_url, sqlite_path
from eventlog.errors import UnsupportedLogURL


@pytest.mark.parametrize("text", ["not a url", "://nothing", ""])
def test_text_that_is_no_url_is_refused_with_the_forms_to_use(text):
    with pytest.raises(UnsupportedLogURL) as info:
        normalize_url(text)
    assert str(info.value) == (
        f"cannot read log URL {text!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )


@pytest.mark.parametrize(
    ("url", "path"), [("sqlite://", None), ("sqlite:///:memory:", None), ("sqlite:///a/b.db", Path("a/b.db"))]
)
def test_an_in_memory_sqlite_url_has_no_file(url, path):
    assert sqlite_path(normalize_url(url)) == path


def test_surrounding_spaces_are_ignored():
    assert normalize_url("  sqlite:///x.db \n").database == "x.db"
