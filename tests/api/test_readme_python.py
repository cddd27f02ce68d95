"""The README's "Use it from Python" example runs as written, on the real LEAN data."""

from __future__ import annotations

import re
import shutil

import pandas as pd

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def readme_python() -> str:
    block = README.split("<!-- python:start -->\n", 1)[1].split("<!-- python:end -->", 1)[0]
    found = re.search(r"```python\n(.*?)```", block, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, lean_store_root):
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    (tmp_path / "lean-store").symlink_to(lean_store_root)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DAYTAPE_LOG_URL", raising=False)
    lines = readme_python().strip().splitlines()
    namespace: dict = {}
    results = []
    for line in lines:
        code = line.split("  #")[0].strip()
        if not code:
            continue
        if code.startswith(("import ", "run =", "day =")):
            exec(code, namespace)
        else:
            results.append(eval(code, namespace))
    requests, symbols, frame, explained, checks = results
    assert {"IBM", "SPY"} <= set(requests.symbol)
    assert symbols.loc["SPY", "state"] == "full"
    assert isinstance(frame.index, pd.DatetimeIndex) and {"close", "sma_20_5m"} <= set(frame.columns)
    assert explained[-1] == ("strategy", "daytape.examples:UpgradeStrategy", "completed")
    assert checks == (True, True)
    assert (tmp_path / "lean-oct-2013.db").is_file()
