"""The README's library example runs as written (on a copy of the bundled corpus)."""
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "9 []"
    assert out[1] == "2"  # the seed, and the fisheries sample that mentions artillery drills
    assert out[2].startswith("1 US intelligence reveals Russian planning to buy weapons from North Korea "
                             "2022-09-06T11:50:00+00:00 corpus/000_0d288e05aca5b171.txt")
