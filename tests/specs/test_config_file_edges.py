"""Session files that cannot be read as a config, the manifest's config digest and the specs package's names."""

from __future__ import annotations

import hashlib

import pytest

import specs
from daytape.configfile import load_session_file, parse_session_yaml
from daytape.errors import UserError
from eventlog.manifest import RunManifest, config_digest


def test_a_value_yaml_cannot_build_is_a_broken_yaml_line(tmp_path):
    with pytest.raises(UserError) as info:
        parse_session_yaml("name: t\nstart: !!timestamp 2013-02-31\n", "s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: (file): broken YAML: ValueError: ")
    assert "\n" not in message


def test_a_file_that_is_not_utf8_names_the_byte_and_its_offset(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(UserError, match=r"s\.yaml: \(file\): not UTF-8 text \(byte 0xe9 at offset 9\)"):
        load_session_file(path)


def test_a_folder_is_not_a_session_file(tmp_path):
    with pytest.raises(UserError, match=r": \(file\): cannot read: Is a directory"):
        load_session_file(tmp_path)


def test_the_config_digest_ignores_key_order_and_hashes_other_text_as_it_is():
    assert config_digest('{"b": 1, "a": [1, 2]}') == config_digest('{"a":[1,2],"b":1}')
    assert config_digest("not json") == hashlib.sha256(b"not json").hexdigest()
    assert RunManifest(name="r", config_json='{"a": 1}').config_hash == config_digest('{"a":1}')


def test_the_specs_package_names_its_models_lazily_and_refuses_unknown_names():
    from specs.config import SessionConfig

    assert specs.SessionConfig is SessionConfig
    with pytest.raises(AttributeError, match="module 'specs' has no attribute 'Nothing'"):
        specs.Nothing  # noqa: B018
