"""Writer: Whoosh's segment writer, with its per-posting Python work done per term or per block.

Stage: indexing → the Whoosh segment files. Whoosh's writer puts every posting into a pool as a
tuple (computing its size, checking its types), sorts the whole pool at commit, and then hands
the codec one posting at a time, looking up each document's field length in the column it has
just written; that was most of a build's writing time. This writer:

- keeps the postings grouped by term as they come (`_TermPool`: document numbers arrive in order),
  document numbers and weights in arrays (4 and 8 bytes a posting rather than ~30 as objects);
- at commit, reads each field's lengths once, walks the terms in order, and fills the codec's
  block buffer 128 postings at a time, so the codec pickles and compresses each block as before.

The segment written is the same, byte for byte (tested against Whoosh's own writer). The pool
does not spill to disk as Whoosh's does; callers bound it by committing in batches.
"""
from __future__ import annotations

from array import array

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3FieldWriter, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter


class _Lengths:
    """A per-document reader's `doc_field_length`, from lists read once per field."""

    def __init__(self, reader):
        self._reader = reader
        self._fields: dict[str, list[int] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self.field(fieldname)
        if lengths is None:
            return default
        return lengths[docnum] or default

    def field(self, fieldname: str) -> list[int] | None:
        """Each document's length in the field (0: none), or None if the field has no lengths."""
        lengths = self._fields.get(fieldname, False)
        if lengths is False:
            lengths = self._fields[fieldname] = self._load(fieldname)
        return lengths

    def _load(self, fieldname: str) -> list[int] | None:
        lenfield = _lenfield(fieldname)
        if not self._reader.has_column(lenfield):
            return None
        column = self._reader.column_reader(lenfield, LENGTHS_COLUMN)
        return [byte_to_length(value) if value else 0 for value in column]


def _postings(docnum: int, weight: float, vbytes) -> list:
    """A term's postings so far: [docnums, weights, values, whether the docnums only went up]."""
    return [array("I", (docnum,)), array("d", (weight,)), [vbytes], True]


class _TermPool:
    """Postings by field and term, in the order they were added: what Whoosh's PostingPool holds
    as one tuple per posting, sorted at the end."""

    def __init__(self):
        # field → term → _postings()
        self.fields: dict[str, dict[bytes, list]] = {}
        self.count = 0  # postings held

    @property
    def fieldnames(self) -> set[str]:
        return set(self.fields)

    def terms_of(self, fieldname: str) -> dict[bytes, list]:
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        return terms

    def add(self, item) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        terms = self.terms_of(fieldname)
        postings = terms.get(tbytes)
        self.count += 1
        if postings is None:  # (lists: weights keep their type, e.g. spelling words' int 1)
            terms[tbytes] = [[docnum], [weight], [vbytes], True]
            return
        if docnum <= postings[0][-1]:
            postings[3] = False  # e.g. spelling words, all added as document 0
        postings[0].append(docnum)
        postings[1].append(weight)
        postings[2].append(vbytes)

    def sorted_terms(self):
        """(field, term, docnums, weights, values) in the order Whoosh's sorted pool gives."""
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for tbytes in sorted(terms):
                docnums, weights, values, in_order = terms[tbytes]
                if not in_order:  # sorted as the pool's tuples would be
                    docnums, weights, values = map(list, zip(*sorted(zip(docnums, weights, values))))
                yield fieldname, tbytes, docnums, weights, values

    def iter_postings(self):
        for fieldname, tbytes, docnums, weights, values in self.sorted_terms():
            for docnum, weight, vbytes in zip(docnums, weights, values):
                yield fieldname, tbytes, docnum, weight, vbytes

    def cleanup(self) -> None:
        self.fields = {}
        self.count = 0


class Writer(SegmentWriter):
    """`SegmentWriter` with a pool grouped by term and a commit that writes whole blocks."""

    def __init__(self, ix, **options):
        super().__init__(ix, **options)
        self.pool.cleanup()
        self.pool = _TermPool()

    def add_document(self, **fields):
        """Whoosh's SegmentWriter.add_document, adding each posting to its term's lists (document
        numbers only go up here) rather than as a tuple to the pool."""
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        vbytes = None
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    scorable = field.scorable
                    terms = self.pool.terms_of(fieldname)
                    get = terms.get
                    added = 0
                    for tbytes, freq, weight, vbytes in field.index(value):
                        weight *= fieldboost
                        added += 1
                        if scorable:
                            length += freq
                        postings = get(tbytes)
                        if postings is None:
                            terms[tbytes] = _postings(docnum, weight, vbytes)
                        else:
                            postings[0].append(docnum)
                            postings[1].append(weight)
                            postings[2].append(vbytes)
                    self.pool.count += added
                if field.separate_spelling():
                    spellfield = field.spelling_fieldname(fieldname)
                    for word in field.spellable_words(value):
                        # Whoosh adds the last posting's value with each spelling word
                        self.pool.add((spellfield, word.encode("utf-8"), 0, 1, vbytes))
                if field.vector:
                    vitems = field.vector.word_values(value, field.analyzer, mode="index")
                    vitems = sorted((text, weight, vb) for text, _, weight, vb in vitems)
                    perdocwriter.add_vector_items(fieldname, field, vitems)
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            lengths = _Lengths(pdr) if pdr else None
            if isinstance(self.fieldwriter, W3FieldWriter):
                _write_terms(self.fieldwriter, self.schema, lengths, self.pool.sorted_terms())
            else:
                self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if pdr:
                pdr.close()


def _write_terms(fieldwriter: W3FieldWriter, schema, lengths: _Lengths | None, terms) -> None:
    """What `add_postings` does posting by posting, done term by term: each block's postings and
    statistics are put into the codec's block buffer at once, and the codec writes the block."""
    current = None
    field_lengths = None
    for fieldname, tbytes, docnums, weights, values in terms:
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            current = fieldname
            field_lengths = lengths.field(fieldname) if lengths else None
        fieldwriter.start_term(tbytes)
        block = fieldwriter._postwriter
        size = block._blocklimit
        for start in range(0, len(docnums), size):
            if start:
                block._write_block()  # the full one before (add_posting writes it at the next add)
            ids = docnums[start:start + size]
            block._ids = array("I", ids)
            chunk = weights[start:start + size]
            block._weights = array("f", chunk)
            block._values = [v for v in values[start:start + size] if v]
            heaviest = max(chunk)
            block._maxweight = heaviest if heaviest > 0 else 0
            known = [field_lengths[d] for d in ids if field_lengths[d]] if field_lengths else ()
            block._minlength = min(known) if known else None
            block._maxlength = max(known) if known else 0
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()


def open_writer(ix, **options) -> Writer:
    """A writer on `ix` (a Whoosh FileIndex), taking the index's write lock like `ix.writer()`."""
    return Writer(ix, **options)
