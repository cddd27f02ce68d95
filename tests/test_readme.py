"""The README's promises that code can check."""

import re

from statemachine.diagrams import render
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_readme_opens_with_exactly_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None and README.index("```sh") < README.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).strip().splitlines()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]


def test_the_ci_script_runs_the_test_command():
    assert "python3 dev.py test" in (REPO_ROOT / ".ci" / "run").read_text()


def test_the_lifecycle_diagram_is_generated_from_the_tables():
    block = README.split("<!-- graph:start -->\n", 1)[1].split("<!-- graph:end -->", 1)[0]
    assert block == render("mermaid")
