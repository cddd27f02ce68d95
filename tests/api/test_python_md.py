"""docs/python.md runs as a doctest on the demo's data, so every example there is checked."""

from __future__ import annotations

import doctest
import os

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import daytape


def test_every_example_of_docs_python_md(tmp_path, monkeypatch):
    made = daytape("demo", "--dir", str(tmp_path / "daytape-demo"), "--days", "3", "--quiet", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAYTAPE_LOG_URL", raising=False)
    result = doctest.testfile(
        str(REPO_ROOT / "docs" / "python.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
        report=True,
    )
    assert result.attempted > 20
    assert result.failed == 0, "docs/python.md: see the doctest output above"


@pytest.mark.skipif(os.name == "nt", reason="import timing of a subprocess, POSIX only")
def test_import_daytape_does_not_load_the_api(tmp_path):
    import subprocess
    import sys

    code = "import sys, daytape; print(sorted(m for m in ('pandas', 'sqlalchemy', 'daytape.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys, daytape; daytape.open_log; print('daytape.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert out.stdout.strip() == "True"
