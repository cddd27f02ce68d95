"""Where a bar store lives: a local folder, a `file://` URL, or an object store (`s3://bucket/prefix`).

An S3 store is reached through pyarrow's filesystem layer (`pyarrow.fs.S3FileSystem`), configured from the
environment only, so that every worker of a cluster reads the same bars with its own credentials:

    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)   the credentials; without them the
                                                   AWS SDK's default chain (profile, instance role) is used
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL         an S3-compatible server, e.g. http://127.0.0.1:9000
    AWS_REGION or AWS_DEFAULT_REGION                the region (us-east-1 when unset)

The credentials are handed to pyarrow and to nothing else: no message, repr or manifest names them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from marketdata.errors import MarketDataError

SCHEMES = ("s3", "file")
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class StoreLocationError(MarketDataError, ValueError):
    """A store location that cannot be used: a bad URL, a missing bucket, refused credentials, no server."""


@dataclass(frozen=True)
class Location:
    """A parsed store location: `filesystem` is None for a local folder (`base` is then its path), else the
    object store's filesystem and `base` its `bucket/prefix`; `url` is what messages and the log name."""

    url: str
    base: str
    filesystem: pafs.FileSystem | None = None

    @property
    def is_local(self) -> bool:
        return self.filesystem is None


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and "://" in location


def parse_location(location: str | Path) -> Location:
    """The `Location` of a folder path or a store URL; StoreLocationError naming what is wrong with a URL."""
    if not is_url(location):
        return Location(str(location), str(location))
    text = str(location)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StoreLocationError(
            f"{text}: unsupported store URL scheme {parts.scheme!r}; use s3://BUCKET/PREFIX, file:///PATH or a folder"
        )
    if parts.query or parts.fragment:
        raise StoreLocationError(
            f"{text}: a store URL takes no ?query or #fragment; the S3 settings come from the environment"
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StoreLocationError(
                f"{text}: a file:// URL names a local path (file:///PATH), not host {parts.netloc!r}"
            )
        if not parts.path.startswith("/"):
            raise StoreLocationError(f"{text}: a file:// URL needs an absolute path (file:///PATH)")
        return Location(parts.path, parts.path)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not bucket:
        raise StoreLocationError(f"{text}: no bucket; write s3://BUCKET/PREFIX")
    if not _BUCKET.match(bucket):
        raise StoreLocationError(
            f"{text}: {bucket!r} is not a valid bucket name (3-63 lower-case letters, digits, '.' or '-')"
        )
    base = f"{bucket}/{prefix}" if prefix else bucket
    return Location(f"s3://{base}", base, s3_filesystem())


def s3_endpoint() -> str | None:
    for name in ENDPOINT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def s3_filesystem() -> pafs.S3FileSystem:
    """An S3 filesystem configured from the environment (see the module docstring)."""
    options: dict[str, object] = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "connect_timeout": 10,
        "request_timeout": 60,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
    }
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key or secret:
        if not (key and secret):
            missing = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
            raise StoreLocationError(f"S3 credentials: {missing} is not set (set both or neither)")
        options.update(access_key=key, secret_key=secret, session_token=os.environ.get("AWS_SESSION_TOKEN"))
    endpoint = s3_endpoint()
    if endpoint is not None:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StoreLocationError(f"{ENDPOINT_VARIABLES[1]}={endpoint!r}: expected http(s)://HOST[:PORT]")
        options.update(endpoint_override=parts.netloc, scheme=parts.scheme)
    return pafs.S3FileSystem(**options)  # type: ignore[arg-type]


_AWS_ERROR = re.compile(r"AWS Error ([A-Z_]+)")
_REASONS = {
    "NO_SUCH_BUCKET": "the bucket {bucket} does not exist",
    "ACCESS_DENIED": "access denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    "INVALID_ACCESS_KEY_ID": "the access key is not known there (check AWS_ACCESS_KEY_ID)",
    "SIGNATURE_DOES_NOT_MATCH": "the secret key is refused (check AWS_SECRET_ACCESS_KEY)",
    "INVALID_SIGNATURE": "the secret key is refused (check AWS_SECRET_ACCESS_KEY)",
    "NETWORK_CONNECTION": "no S3 server answers at {endpoint}",
}


def explain(location: Location, exc: BaseException) -> str:
    """One line saying why `location` could not be used, from pyarrow's (multi-line) error."""
    text = str(exc)
    found = _AWS_ERROR.search(text)
    if found and found.group(1) in _REASONS:
        reason = _REASONS[found.group(1)].format(
            bucket=location.base.split("/", 1)[0], endpoint=s3_endpoint() or "the default AWS endpoint"
        )
    elif "Bucket" in text and "not found" in text:
        reason = f"the bucket {location.base.split('/', 1)[0]} does not exist"
    else:
        reason = text.splitlines()[0] if text else type(exc).__name__
        reason = re.sub(r"\s*\(Request ID: [^)]*\)", "", reason)
    return f"{location.url}: {reason}"
