"""Segments: an existing segment's articles copied into a writer's new segment (a merge).

Stage: indexing → the Whoosh segment files (called by indexing.merging). Whoosh's
`SegmentWriter.add_reader` copies a segment's postings one posting at a time: each term looked up
in the terms file's hash table again, a matcher made for it, each posting a tuple through three
generators into the pool. Merging then cost more per article than indexing it (README, "Cron").
Here the terms file is read in its order and each term's postings are decoded a block at a time,
straight from the postings file, and appended to the pool's lists for the term (writer.py) at once.
The documents' own files (stored fields, lengths, columns) are written as Whoosh's
`write_per_doc` writes them, with each length and column read once for the segment rather than
looked up (a file's existence asked of the disk) per document and field. The result is what `add_reader` gives: the same postings for
the same live documents (deleted ones dropped), in the same order (tested against it).
"""
from __future__ import annotations

from pickle import loads
from struct import Struct

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3TermInfo, W3TermsReader, _lenfield
from whoosh.columns import TranslatingColumnReader
from whoosh.system import _INT_SIZE, _LONG_SIZE, _SHORT_SIZE, unpack_int, unpack_long, unpack_ushort
from whoosh.util.numeric import byte_to_length

from .ranking import read_postings


def add_segment(writer, reader) -> None:
    """Append the live documents of `reader` (a SegmentReader) to `writer` (engine.writer.Writer),
    as `writer.add_reader(reader)` would, their postings a term at a time."""
    terms = getattr(reader, "_terms", None)
    pool = writer.pool
    if not isinstance(terms, W3TermsReader) or not hasattr(pool, "terms_of"):
        writer.add_reader(reader)  # another codec or pool: Whoosh's way
        return
    writer._check_state()
    schema = writer.schema
    basedoc = writer.docnum
    fieldnames = set(schema.names()) | {name for name in reader.indexed_field_names() if name in schema}
    docmap = write_documents(writer, reader, fieldnames)  # {old: new} for the live documents, or None
    postfile = terms._postfile
    current, pool_terms, fmt = None, None, None
    added = 0
    for fieldnum, tbytes, inlined, extent in term_records(terms):
        if fieldnum != current:
            current = fieldnum
            fieldname = terms._fieldunmap[fieldnum]
            pool_terms = pool.terms_of(fieldname) if fieldname in schema else None
            fmt = schema[fieldname].format if fieldname in schema else None
        if pool_terms is None:
            continue
        if inlined is not None:
            ids, weights, values = inlined
            count = len(ids)
            weights = list(weights) if weights else [1.0] * count  # (ListMatcher's defaults)
            values = list(values) if values else [""] * count
        else:
            ids, weights, values = read_postings(postfile.get(*extent), fmt)
        if docmap is None:
            ids = [basedoc + d for d in ids]
        else:
            kept = [i for i, d in enumerate(ids) if d in docmap]
            if len(kept) < len(ids):
                if not kept:
                    continue
                weights = [weights[i] for i in kept]
                values = [values[i] for i in kept]
            ids = [docmap[ids[i]] for i in kept]
        _append(pool_terms, tbytes, ids, list(weights), list(values))
        added += len(ids)
    pool.count += added
    writer._added = True


_RECORD = Struct("!ii")  # filetables.HashWriter's record header: key length, value length
_INFO_SIZE = W3TermInfo._struct.size


def term_records(terms: W3TermsReader):
    """(field number, term bytes, inlined postings or None, (offset, length) of the postings or
    None) for every term of a segment's terms file, in its order: its records read at once and
    cut here, where OrderedHashReader.items() seeks and reads twice per term and W3TermInfo
    decodes statistics a merge does not need (the writer computes them again)."""
    tindex = terms._tindex
    start, end = tindex.startofdata, tindex.endofdata
    data = tindex.dbfile.get(start, end - start)
    unpack_record = _RECORD.unpack_from
    pos, size = 0, len(data)
    while pos < size:
        keylen, datalen = unpack_record(data, pos)
        key = pos + 8
        value = key + keylen
        pos = value + datalen
        fieldnum = unpack_ushort(data[key:key + _SHORT_SIZE])[0]
        tbytes = data[key + _SHORT_SIZE:value]
        if data[value]:  # the flags byte: postings inlined in the record
            yield fieldnum, tbytes, loads(data[value + _INFO_SIZE:pos]), None
        else:
            at = value + _INFO_SIZE
            offset = unpack_long(data[at:at + _LONG_SIZE])[0]
            length = unpack_int(data[at + _LONG_SIZE:at + _LONG_SIZE + _INT_SIZE])[0]
            yield fieldnum, tbytes, None, (offset, length)


def write_documents(writer, reader, fieldnames: set[str]) -> dict[int, int] | None:
    """Whoosh's `writer.write_per_doc(fieldnames, reader)`: each live document's stored fields,
    field lengths and column values appended to the writer's per-document files; the map of old to
    new document numbers where the segment has deletions (else None). Lengths and columns are read
    once per field here."""
    schema = writer.schema
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None or any(schema[name].vector for name in fieldnames):
        return writer.write_per_doc(fieldnames, reader)  # (term vectors: Whoosh's way)
    docmap: dict[int, int] | None = {} if reader.has_deletions() else None
    pdw = writer.perdocwriter
    columns, lengths = {}, {}
    for name in fieldnames:
        coltype = schema[name].column_type
        if coltype and reader.has_column(name):
            creader = reader.column_reader(name, coltype)
            if isinstance(creader, TranslatingColumnReader):
                creader = creader.raw_column()
            columns[name] = (coltype, list(creader))
        lenfield = _lenfield(name)
        if perdoc.has_column(lenfield):
            lengths[name] = [byte_to_length(b) if b else 0
                             for b in perdoc.column_reader(lenfield, LENGTHS_COLUMN)]
    for docnum, stored in reader.iter_docs():
        if docmap is not None:
            docmap[docnum] = writer.docnum
        pdw.start_doc(writer.docnum)
        for name in set(stored) | lengths.keys() | columns.keys():
            if name not in schema:
                continue
            field = schema[name]
            length = lengths[name][docnum] if name in lengths else 0
            pdw.add_field(name, field, stored.get(name), length)
            if name in columns:
                coltype, values = columns[name]
                pdw.add_column_value(name, coltype, values[docnum])
        pdw.finish_doc()
        writer.docnum += 1
    return docmap


def _append(pool_terms: dict, tbytes: bytes, ids: list, weights: list, values: list) -> None:
    """Add a term's postings to the pool's entry for it (writer._TermPool's forms: a tuple for one
    posting, else [docnums, weights, values, whether the docnums only went up])."""
    postings = pool_terms.get(tbytes)
    if postings is None:
        if len(ids) == 1:
            pool_terms[tbytes] = (ids[0], weights[0], values[0])
            return
        pool_terms[tbytes] = [ids, weights, values, all(a < b for a, b in zip(ids, ids[1:]))]
        return
    if type(postings) is tuple:
        postings = pool_terms[tbytes] = [[postings[0]], [postings[1]], [postings[2]], True]
    in_order = postings[3] and ids[0] > postings[0][-1] and all(a < b for a, b in zip(ids, ids[1:]))
    postings[0].extend(ids)
    postings[1].extend(weights)
    postings[2].extend(values)
    postings[3] = in_order

