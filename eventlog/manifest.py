"""What a run records about itself, so `verify` can re-run it and `diff` can tell why runs differ."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def config_digest(config_json: str) -> str:
    """sha256 of the config with its keys sorted, so key order in the file does not matter."""
    try:
        canonical = json.dumps(json.loads(config_json), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = config_json
    return hashlib.sha256(canonical.encode()).hexdigest()


class RunManifest(BaseModel):
    """A run's identity: its name, config (JSON) and the config's hash, the data digest and what it covers, code
    version and seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    config_json: str = "{}"
    config_hash: str = ""
    data_digest: str | None = None
    #: What the data digest covers, as JSON (daytape.datascope); None for a digest over the whole store.
    data_scope: str | None = None
    code_version: str = "unknown"
    seed: int | None = None

    @model_validator(mode="after")
    def _hash_config(self) -> RunManifest:
        if not self.config_hash:
            object.__setattr__(self, "config_hash", config_digest(self.config_json))
        return self

    @classmethod
    def for_config(cls, name: str, config: dict[str, Any], **kwargs: Any) -> RunManifest:
        return cls(name=name, config_json=json.dumps(config, sort_keys=True, default=str), **kwargs)
