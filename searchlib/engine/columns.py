"""Columns: a document's value in a column of values of varying length (a segment's stored
fields, a sortable text field's values) read without first deriving every document's offset.

Stage: the storage engine, under searching. Whoosh's VarBytesColumn reader derives the offset of
every document of a segment from their lengths, with a Python loop, when the column is opened
(unless the writer stored them, which it does for segments of more than 32,768 documents). A
first search opens the stored fields of each segment holding one of its hits, in an archive of
many segments nearly as many as it has hits, for a value or two each (README, "Scale": the
cold start). Here the first OFFSETS_AFTER values asked of a column are found by summing the
lengths before them (a C loop over the array); the offsets are derived once, as Whoosh does,
for the values asked after those. The same bytes are read either way.
"""
from __future__ import annotations

import struct
from array import array
from itertools import accumulate

from whoosh import columns

OFFSETS_AFTER = 16  # values of a column found by summing lengths before all offsets are derived


def _read_offsets_and_lengths(self) -> None:
    """Whoosh's VarBytesColumn.Reader._read_offsets_and_lengths (the lengths' type code in the
    column's last byte; "X" there: the offsets stored before it), without deriving offsets
    the writer did not store: `_offsets` is None until they are needed."""
    dbfile, doccount = self._dbfile, self._doccount
    lastbyte = self._basepos + self._length - 1
    lens_code = chr(dbfile.get_byte(lastbyte))
    offsets = None
    if lens_code == "X":
        self.had_stored_offsets = True
        lens_code = chr(dbfile.get_byte(lastbyte - 2))
        offsets_code = chr(dbfile.get_byte(lastbyte - 1))
        offsetstart = (lastbyte - 2) - doccount * struct.calcsize(offsets_code)
        offsets = dbfile.get_array(offsetstart, offsets_code, doccount)
        lastbyte = offsetstart
    lenstart = lastbyte - struct.calcsize(lens_code) * doccount
    self._lengths = dbfile.get_array(lenstart, lens_code, doccount)
    self._offsets = offsets
    self._summed = 0


def _getitem(self, docnum: int) -> bytes:
    """A document's value (Whoosh's __getitem__), its offset summed, or looked up."""
    length = self._lengths[docnum]
    if not length:
        return b""
    offsets = self._offsets
    if offsets is None:
        if self._summed < OFFSETS_AFTER:
            self._summed += 1
            return self._dbfile.get(self._basepos + sum(self._lengths[:docnum]), length)
        offsets = self._offsets = array("L", accumulate(self._lengths, initial=0))
    return self._dbfile.get(self._basepos + offsets[docnum], length)


columns.VarBytesColumn.Reader._read_offsets_and_lengths = _read_offsets_and_lengths
columns.VarBytesColumn.Reader.__getitem__ = _getitem
