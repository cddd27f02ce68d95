"""Store locations: a folder, a file:// URL naming the same folder, and the URLs refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from marketdata.objectstore import StoreLocationError, parse_location
from marketdata.store import BarStore


def _bars() -> pa.Table:
    ts = [datetime(2024, 1, 2, 14, 30 + i, tzinfo=UTC) for i in range(3)]
    return pa.table(
        {
            "ts": ts,
            "open": [1.0, 2, 3],
            "high": [1.0, 2, 3],
            "low": [1.0, 2, 3],
            "close": [1.0, 2, 3],
            "volume": [5.0, 5, 5],
        }
    )


def test_a_file_url_reads_and_digests_the_folder_it_names(tmp_path):
    folder = BarStore(tmp_path)
    folder.write("SPY", "1m", _bars())
    url = BarStore(f"file://{tmp_path}")
    assert url.is_local and url.location == str(tmp_path)
    assert url.symbols() == ["SPY"]
    assert url.read_days("SPY", "1m", [datetime(2024, 1, 2).date()]).table.equals(
        folder.read_days("SPY", "1m", [datetime(2024, 1, 2).date()]).table
    )
    assert url.digest() == folder.digest()


def test_the_digest_changes_with_a_files_bytes_and_its_name(tmp_path):
    store = BarStore(tmp_path)
    store.write("SPY", "1m", _bars())
    before = store.digest()
    store.write("SPY", "1m", _bars().set_column(4, "close", pa.array([1.0, 2, 4])))
    changed = store.digest()
    assert changed != before
    (tmp_path / "1m" / "symbol=SPY").rename(tmp_path / "1m" / "symbol=QQQ")
    assert store.digest() != changed


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("gs://bucket/bars", "unsupported store URL scheme 'gs'"),
        ("file://host/bars", "not host 'host'"),
        ("s3://bucket/bars?endpoint_override=x", "takes no ?query"),
        ("s3://a/bars", "'a' is not a valid bucket name"),
    ],
)
def test_a_bad_url_is_refused_naming_what_is_wrong(url, reason):
    with pytest.raises(StoreLocationError, match=None) as caught:
        parse_location(url)
    assert str(caught.value).startswith(url) and reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_one_credential_without_the_other_is_named(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(StoreLocationError, match="AWS_SECRET_ACCESS_KEY is not set"):
        parse_location("s3://bucket/bars")


def test_file_digests_are_each_files_sha256_and_none_for_a_missing_one(tmp_path):
    import hashlib

    from marketdata.store import ABSENT_FILE, files_digest

    store = BarStore(tmp_path)
    store.write("SPY", "1m", _bars())
    (tmp_path / "notes.txt").write_bytes(b"not bars")
    present, missing = "1m/symbol=SPY/2024-01-02.parquet", "1m/symbol=SPY/2024-01-03.parquet"
    expected = hashlib.sha256((tmp_path / present).read_bytes()).digest()
    assert store.file_digests([present, missing, "notes.txt"]) == [expected, None, hashlib.sha256(b"not bars").digest()]
    assert store.relative(store.day_file("SPY", "1m", datetime(2024, 1, 2).date())) == present

    oracle = hashlib.sha256()
    for relative, content in [(present, expected), (missing, ABSENT_FILE)]:
        oracle.update(relative.encode() + b"\0" + content)
    assert files_digest([(present, expected), (missing, None)]) == oracle.hexdigest()
    whole = hashlib.sha256()
    for relative in ("1m/symbol=SPY/2024-01-02.parquet", "notes.txt"):
        whole.update(relative.encode() + b"\0" + hashlib.sha256((tmp_path / relative).read_bytes()).digest())
    assert store.digest() == whole.hexdigest()  # the whole store's digest, as older runs recorded it
