"""Attacks on receipts: a sha256 proves a receipt unchanged, not well made, so a receipt whose
digest was recomputed over bad fields, one nested too deep or a FIFO must each be a one-line
`bad receipt` error (exit 2), never a traceback or a hang."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.conftest import index_of


@pytest.fixture(scope="module")
def receipt(tmp_path_factory):
    """(index folder, the receipt of a search for 'flood' as written)."""
    folder = tmp_path_factory.mktemp("receipts")
    with index_of(folder):
        pass
    from click.testing import CliRunner

    from searchlib.cli import cli
    path = folder / "r.receipt"
    done = CliRunner().invoke(cli, ["flood", "--index", str(folder / "index"), "--receipt", str(path)],
                              catch_exceptions=False)
    assert done.exit_code == 0
    return folder / "index", json.loads(path.read_text(encoding="utf-8"))


def forged(data: dict) -> str:
    """`data` with its sha256 computed again, as anyone can: the digest is no signature."""
    canonical = json.dumps({"asked": data["asked"], "results": data["results"]}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return json.dumps({**data, "sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest()})


def verify(run, index, text_or_path, tmp_path):
    path = text_or_path
    if isinstance(text_or_path, str):
        path = tmp_path / "forged.receipt"
        path.write_text(text_or_path, encoding="utf-8")
    return run("verify", str(path), "--index", str(index))


def test_the_untouched_receipt_verifies(run, receipt, tmp_path):
    index, data = receipt
    done = verify(run, index, forged(data), tmp_path)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("same: 'flood'")


@pytest.mark.parametrize("where, key, value", [
    ("asked", "sort", None),            # a key taken out
    ("asked", "limit", None),
    ("asked", "since", None),
    ("asked", "query", None),
    ("results", "total", "5"),          # a count as text
    ("results", "total", True),
    ("results", "hits", {"a": 1}),
    ("asked", "limit", 1.5),
    ("asked", "now", 5),
])
def test_a_forged_field_is_a_bad_receipt(run, receipt, tmp_path, where, key, value):
    index, data = receipt
    data = json.loads(json.dumps(data))
    if value is None:
        del data[where][key]
    else:
        data[where][key] = value
    done = verify(run, index, forged(data), tmp_path)
    assert done.exit_code == 2, done.output
    assert done.output.startswith("search: error: bad receipt ")
    assert "it is malformed" in done.output and len(done.output.splitlines()) == 1


@pytest.mark.parametrize("score", ["10" + "0" * 400, "true", "\"1.0\""])
def test_a_score_that_is_no_float_is_a_bad_receipt(run, receipt, tmp_path, score):
    index, data = receipt
    text = forged(data)
    first = data["results"]["hits"][0]["score"]
    data = json.loads(text)
    # The digest is computed over the number as Python reads it back, so forge it that way.
    data["results"]["hits"][0]["score"] = json.loads(score)
    done = verify(run, index, forged(data), tmp_path)
    assert first != data["results"]["hits"][0]["score"]
    assert done.exit_code == 2, done.output
    assert done.output.startswith("search: error: bad receipt ") and "malformed" in done.output


def test_json_nested_too_deep_is_a_bad_receipt(run, receipt, tmp_path):
    index, _ = receipt
    done = verify(run, index, "[" * 100_000 + "]" * 100_000, tmp_path)
    assert done.exit_code == 2, done.output
    assert done.output.startswith("search: error: bad receipt ") and "not JSON" in done.output


def test_a_fifo_is_refused_without_waiting_for_a_writer(run, receipt, tmp_path):
    index, _ = receipt
    fifo = tmp_path / "pipe.receipt"
    os.mkfifo(fifo)
    done = verify(run, index, fifo, tmp_path)   # (would block forever if opened)
    assert done.exit_code == 2, done.output
    assert done.output == f"search: error: bad receipt {fifo}: not a regular file\n"
