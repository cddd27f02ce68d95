import subprocess
import sys

from tests.specs.test_session_config import CONTRACT_EXAMPLE


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "daytape.cli", *args], capture_output=True, text=True, cwd=cwd)


def runnable_contract_example(tmp_path):
    """The contract's example with its store folder made and its placeholder plugins replaced by the example
    ones: `config check` checks what `run` needs, and `package.module:ClassName` does not import."""
    (tmp_path / "data").mkdir(exist_ok=True)
    text = CONTRACT_EXAMPLE.replace(
        'scanner:  {class: "package.module:ClassName", params: {}}',
        'scanner: {class: "daytape.examples:ListScanner", params: {symbols: [TSLA], at: "10:00", '
        "indicator: {type: sma, period: 5, interval: 5m}}}",
    ).replace(
        'strategy: {class: "package.module:ClassName", params: {}}',
        'strategy: {class: "daytape.examples:UpgradeStrategy", params: {symbols: [TSLA], at: "11:00"}}',
    )
    assert "package.module" not in text
    path = tmp_path / "session.yaml"
    path.write_text(text)
    return path


def test_config_check_accepts_the_contract_example(tmp_path):
    path = runnable_contract_example(tmp_path)
    result = run_cli("config", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: ok (4 symbols, 3 sessions 2013-10-09 .. 2013-10-11)\n" and result.stderr == ""


def test_config_check_json_prints_one_document(tmp_path):
    import json

    path = runnable_contract_example(tmp_path)
    result = run_cli("config", "check", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["symbols"] == ["SPY", "AIG", "BAC", "IBM"]


def test_config_check_bad_file_exits_2_with_field_path_and_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nstart: 2013-10-09\nend: 2013-10-11\nsymbols: [SPY, 'B AD']\n")
    result = run_cli("config", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{path}: symbols: invalid symbol 'B AD': letters, digits, '.', '_' or '-', no spaces, at most 16 characters"
    )
    assert "Traceback" not in result.stderr


def test_config_check_missing_file(tmp_path):
    result = run_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: (file): no such file"


def test_unknown_flag_is_bad_input():
    result = run_cli("config", "check", "--bogus")
    assert result.returncode == 2
    assert "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help():
    from daytape import __version__

    assert run_cli("--version").stdout.strip() == f"daytape {__version__}"
    assert run_cli("--help").returncode == 0
