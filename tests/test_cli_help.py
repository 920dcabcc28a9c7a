"""Every command's --help prints its options (a help text argparse cannot format crashes it)."""

from __future__ import annotations

import pytest

from api.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_every_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: vaxlink {command}")
    assert "--help" in out
