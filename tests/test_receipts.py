"""Receipts: a search written down and checked again against the index as it is later."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchlib
from searchlib.alerts.receipts import make_receipt, read_receipt, verify_receipt, write_receipt
from searchlib.errors import ReceiptError

NOW = datetime(2022, 10, 1, 12, 0, tzinfo=timezone.utc)


def put(corpus: Path, name: str, title: str, body: str, date: str = "2022-09-20") -> None:
    (corpus / f"{name}.jsonl").write_text(json.dumps({"id": name, "title": title, "body": body,
                                                      "date": date}) + "\n", encoding="utf-8")


@pytest.fixture
def indexed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    put(corpus, "a", "River flood", "The river flood reached the town.")
    put(corpus, "b", "Flood defences", "Flood defences held.")
    put(corpus, "c", "Harvest", "The harvest was good.")
    put(corpus, "d", "Old flood", "A flood long ago.", date="2019-01-01")
    idx = searchlib.Index(tmp_path / "index")
    idx.update([corpus], jobs=1)
    return idx, corpus


def receipt_of(idx, path: Path, query="flood", **options) -> Path:
    results = idx.search(query, now=NOW, **options)
    return write_receipt(path, make_receipt(idx, results, now=NOW, **options))


def test_a_receipt_round_trip_is_the_same(indexed, tmp_path):
    idx, _ = indexed
    path = receipt_of(idx, tmp_path / "r.json", since="30d")  # relative: read against the receipt's now
    data = json.loads(path.read_text())
    assert data["asked"]["query"] == "flood" and data["asked"]["since"] == "30d"
    assert data["asked"]["now"] == NOW.isoformat() and data["asked"]["index"]["generation"] == idx.generation()
    assert [h["id"].rsplit("#")[-1] for h in data["results"]["hits"]] in (["a", "b"], ["b", "a"])
    canonical = json.dumps({"asked": data["asked"], "results": data["results"]}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    assert data["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    verdict = verify_receipt(path, idx)
    assert verdict.same and verdict.changes == [] and verdict.total_now == 2


def test_verify_names_what_came_went_and_changed(indexed, tmp_path):
    idx, corpus = indexed
    path = receipt_of(idx, tmp_path / "r.json")
    then = {h["id"]: h for h in json.loads(path.read_text())["results"]["hits"]}
    (corpus / "b.jsonl").unlink()
    put(corpus, "e", "Flood flood flood", "Flood after flood.")
    idx.update([corpus], jobs=1)
    verdict = verify_receipt(path, idx)
    assert not verdict.same
    kinds = {c.id.rsplit("#")[-1]: c.kind for c in verdict.changes}
    assert kinds["e"] == "came" and kinds["b"] == "went"
    assert kinds["a"] == "changed"  # its rank or its score moved (the collection's statistics did)
    changed = next(c for c in verdict.changes if c.kind == "changed")
    assert changed.score_then == then[changed.id]["score"] and changed.score_now != changed.score_then


def test_an_edited_receipt_is_refused(indexed, tmp_path):
    idx, _ = indexed
    path = receipt_of(idx, tmp_path / "r.json")
    original = path.read_text()
    data = json.loads(original)
    data["results"]["hits"][0]["score"] += 1.0  # the results edited, the digest left alone
    path.write_text(json.dumps(data))
    with pytest.raises(ReceiptError, match="sha256 does not match"):
        read_receipt(path)
    data = json.loads(original)
    data["sha256"] = "0" * 64  # the digest edited
    path.write_text(json.dumps(data))
    with pytest.raises(ReceiptError, match="sha256 does not match"):
        verify_receipt(path, idx)
    for text, problem in (("not json", "not JSON"), ("[]", "not a searchlib receipt"),
                          ('{"format": "searchlib-receipt", "version": 9}', "version 9")):
        path.write_text(text)
        with pytest.raises(ReceiptError, match=problem):
            read_receipt(path)
    with pytest.raises(ReceiptError, match="no such file"):
        read_receipt(tmp_path / "missing.json")


def test_the_command_line(run, indexed, tmp_path):
    idx, corpus = indexed
    where = ["--index", str(idx.path)]
    searched = run("flood", *where, "--receipt", "r.json", "--limit", "1", "--color", "never")
    assert searched.exit_code == 0 and "receipt written to r.json" in searched.stderr
    asked = json.loads((tmp_path / "r.json").read_text())["asked"]
    assert asked["limit"] == 1 and asked["offset"] == 0 and asked["sort"] == "relevance"
    same = run("verify", "r.json", *where)
    assert same.exit_code == 0 and same.stdout.startswith("same: 'flood'")
    put(corpus, "e", "Flood flood flood", "Flood after flood.")
    idx.update([corpus], jobs=1)
    different = run("verify", "r.json", *where, "--json")
    lines = [json.loads(line) for line in different.stdout.splitlines()]
    assert different.exit_code == 1
    assert lines[-1]["same"] is False and lines[-1]["total_then"] == 3 and lines[-1]["total_now"] == 4
    assert {line["change"] for line in lines[:-1]} == {"came", "went"}  # page of 1: e in, the old top out
    (tmp_path / "r.json").write_text((tmp_path / "r.json").read_text().replace('"limit": 1', '"limit": 2'))
    bad = run("verify", "r.json", *where)
    assert bad.exit_code == 2 and "bad receipt r.json: its sha256 does not match" in bad.stderr
    assert run("verify", "nothing.json", *where).exit_code == 2
