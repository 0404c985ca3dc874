"""Columns (engine.columns): a value of a column of values of varying length read without
deriving every document's offset first, the same bytes as Whoosh's reader gives."""
from __future__ import annotations

import random

import pytest
from whoosh import columns as whoosh_columns
from whoosh.filedb.filestore import RamStorage

from searchlib.engine import columns


def _written(values: list[bytes], stored_offsets: bool):
    """A VarBytesColumn of `values` (one per document) written with Whoosh's writer, offsets
    stored or not (its cutoff), and a reader of it."""
    storage = RamStorage()
    with storage.create_file("col") as out:
        writer = whoosh_columns.VarBytesColumn(write_offsets_cutoff=0 if stored_offsets else 2**15).writer(out)
        for docnum, value in enumerate(values):
            if value:  # (a document with no value is left out, as Whoosh's per-document writer does)
                writer.add(docnum, value)
        writer.finish(len(values))
        length = out.tell()
    return whoosh_columns.VarBytesColumn().reader(storage.open_file("col"), 0, length, len(values))


@pytest.mark.parametrize("stored_offsets", [False, True])
def test_every_value_is_whooshs_whichever_way_its_offset_is_found(stored_offsets):
    rng = random.Random(7)
    values = [bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 3, 40, 300]))) for _ in range(200)]
    reader = _written(values, stored_offsets)
    assert reader.had_stored_offsets is stored_offsets
    order = list(range(len(values)))
    rng.shuffle(order)
    for asked, docnum in enumerate(order):
        assert reader[docnum] == values[docnum]
        if not stored_offsets and asked < columns.OFFSETS_AFTER - 1:
            assert reader._offsets is None  # (summed so far: no offset derived for each document)
    assert reader._offsets is not None  # (derived once, after OFFSETS_AFTER values)
    assert list(reader) == values
    assert [reader[d] for d in range(len(values))] == values
