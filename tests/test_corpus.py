"""Which files a set of paths stands for: hidden files, symbolic links, loops."""
import os
from pathlib import Path

from searchlib.ingest.corpus import find_files


def make(path: Path, text: str = "T\n\nB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(files, base):
    return [str(f.relative_to(base)) for f in files]


def test_links_out_of_the_corpus_are_not_followed_by_default(tmp_path):
    corpus = tmp_path / "corpus"
    make(corpus / "a.txt")
    secret = make(tmp_path / "outside" / "secret.txt")
    os.symlink(secret, corpus / "link.txt")
    os.symlink(tmp_path / "outside", corpus / "linkdir")
    files, skipped = find_files([corpus])
    assert names(files, tmp_path) == ["corpus/a.txt"]
    assert sorted((s.path.name, s.reason.split(" (")[0]) for s in skipped) == [
        ("link.txt", f"symbolic link to {secret} outside the indexed folders"),
        ("linkdir", f"symbolic link to {tmp_path / 'outside'} outside the indexed folders"),
    ]
    followed, skipped = find_files([corpus], follow_links=True)
    assert names(followed, tmp_path) == ["corpus/a.txt", "corpus/link.txt", "corpus/linkdir/secret.txt"]
    assert skipped == []


def test_links_inside_the_corpus_are_followed_and_loops_end(tmp_path):
    corpus = tmp_path / "corpus"
    make(corpus / "sub" / "b.txt")
    os.symlink(corpus / "sub" / "b.txt", corpus / "alias.txt")
    os.symlink(corpus, corpus / "sub" / "loop")          # a loop back to the top
    os.symlink(corpus / "missing.txt", corpus / "dangling.txt")
    files, skipped = find_files([corpus])
    assert names(files, tmp_path) == ["corpus/alias.txt", "corpus/sub/b.txt"]
    assert [(s.path.name, s.reason) for s in skipped] == [("dangling.txt", "broken symbolic link")]


def test_hidden_files_and_folders_are_ignored(tmp_path):
    make(tmp_path / ".git" / "x.txt")
    make(tmp_path / ".hidden.txt")
    make(tmp_path / "shown.txt")
    files, skipped = find_files([tmp_path])
    assert names(files, tmp_path) == ["shown.txt"] and skipped == []
