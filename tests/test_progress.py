"""Indexing progress is reported in bytes (a large file no longer stalls the estimate), rising to
the total of the files read, on the one-writer path and on a parallel rebuild alike."""
import pytest

import searchlib

from .conftest import write_file


@pytest.mark.parametrize("rebuild, jobs", [(False, 1), (True, 2)])
def test_progress_counts_bytes(tmp_path, rebuild, jobs):
    corpus = tmp_path / "corpus"
    sizes = 0
    for n in range(20):  # enough files for the parallel rebuild path (PARALLEL_FROM)
        body = f"Headline {n}\n\n" + "The ferry ran late again. " * (1 + 40 * n)
        sizes += write_file(corpus / f"{n:02}.txt", body).stat().st_size
    calls = []
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], progress=lambda done, total, path: calls.append((done, total)),
               rebuild=rebuild, jobs=jobs)
    assert calls[-1] == (sizes, sizes)
    assert {total for _, total in calls} == {sizes}
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and len(calls) >= 20
