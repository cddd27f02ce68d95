from daytape.cli import main
from specs.lifecycle import SESSION_TRANSITIONS, SYMBOL_TRANSITIONS


def test_mermaid_draws_every_row_of_both_tables(capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.count("stateDiagram-v2") == 2
    for row in (*SYMBOL_TRANSITIONS, *SESSION_TRANSITIONS):
        for source in row.sources:
            assert f"{source} --> {row.dest}: {row.trigger}" in out


def test_dot_draws_every_row(capsys):
    assert main(["graph", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    for row in SYMBOL_TRANSITIONS:
        for source in row.sources:
            assert f'"{source}" -> "{row.dest}" [label="{row.trigger}"];' in out


def test_unknown_format_is_bad_input(capsys):
    assert main(["graph", "--format", "png"]) == 2
    assert "unknown format 'png'" in capsys.readouterr().err
