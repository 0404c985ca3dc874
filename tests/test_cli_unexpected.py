"""An unexpected exception (a bug, a file damaged by hand) is one line and exit 2 from the CLI,
never a traceback; SEARCHLIB_DEBUG=1 lets it through for whoever debugs it."""
import pytest

import searchlib
from searchlib import cli


def boom(self, *args, **kwargs):
    raise RuntimeError("broken\nsecond line")


def test_an_unexpected_error_is_one_line_and_exit_2(run, monkeypatch, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("River floods\n\nThe river flooded.\n")
    assert run("index", "c").exit_code == 0
    monkeypatch.setattr(searchlib.Index, "search", boom)
    result = run("river")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "unexpected RuntimeError: broken\\x0asecond line" in result.output  # (escaped: one line)
    assert "search index --rebuild" in result.output and "SEARCHLIB_DEBUG=1" in result.output
    monkeypatch.setenv("SEARCHLIB_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run("river")
    assert cli.settings.DEBUG_ENV == "SEARCHLIB_DEBUG"
