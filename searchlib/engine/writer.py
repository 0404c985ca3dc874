"""Writer: Whoosh's segment writer, with its per-posting Python work done per term or per block.

Stage: indexing → the Whoosh segment files. Whoosh's writer puts every posting into a pool as a
tuple (computing its size, checking its types), sorts the whole pool at commit, and then hands
the codec one posting at a time, looking up each document's field length in the column it has
just written; that was most of a build's writing time. This writer:

- makes a document's terms without Whoosh's chains of generators (`direct_terms`): text and name
  fields with their analyzer's fused pass (analysis.FastPositions), ID, date and keyword-list
  fields directly (the same terms, tested against each field's `index`);
- keeps the postings grouped by term as they come (`_TermPool`: document numbers arrive in order),
  document numbers and weights in arrays (4 and 8 bytes a posting rather than ~30 as objects),
  and a term's first posting as one tuple, made into arrays only when a second comes: one
  document of a million distinct words (a word list, a dump) makes a million terms of one
  posting each, which three arrays and a list apiece would make several times larger;
- at commit, reads each field's lengths once and writes the terms in order, each at once
  (postings.py).

The per-document files are Whoosh's, byte for byte (tested against Whoosh's own writer); the
terms and postings files are what postings.py says. The pool does not spill to disk as Whoosh's
does; callers bound it by committing in batches.
"""
from __future__ import annotations

from array import array
from datetime import datetime

from whoosh.analysis import LowercaseFilter, RegexTokenizer, StripFilter
from whoosh.analysis.tokenizers import IDTokenizer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3FieldWriter, _lenfield
from whoosh.columns import NumericColumn
from whoosh.fields import DATETIME, ID, KEYWORD
from whoosh.formats import Existence, Frequency
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, to_sortable
from whoosh.writing import SegmentWriter

from .analysis import SINGLE_POSITIONS, FastPositions
from .postings import COMPRESS_FROM, INLINE_POSTINGS, PICKLE_PROTOCOL, write_terms

_LENGTH_OF_BYTE = [0] + [byte_to_length(b) for b in range(1, 256)]  # (0: no length)


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
        if isinstance(column, NumericColumn.Reader) and column._typecode == "B" and column._default == 0:
            # one byte per document up to the last one with a length, read at once
            raw = column._dbfile.get(column._basepos, column._count)
            return list(map(_LENGTH_OF_BYTE.__getitem__, raw)) + [0] * (column._doccount - len(raw))
        return [_LENGTH_OF_BYTE[value] for value in column]


def _postings(first: tuple, docnum: int, weight: float, vbytes) -> list:
    """A term's postings once it has two, `first` (a term's only posting, held as the tuple
    (docnum, weight, vbytes)) and this one: [docnums, weights, values, whether the docnums only
    went up]."""
    return [array("I", (first[0], docnum)), array("d", (first[1], weight)), [first[2], vbytes], True]


class _TermPool:
    """Postings by field and term, in the order they were added: what Whoosh's PostingPool holds
    as one tuple per posting, sorted at the end."""

    def __init__(self):
        # field → term → its only posting (docnum, weight, vbytes), or _postings() once it has two
        self.fields: dict[str, dict[bytes, tuple | list]] = {}
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
        if postings is None:
            terms[tbytes] = (docnum, weight, vbytes)
            return
        if type(postings) is tuple:  # (lists: weights keep their type, e.g. spelling words' int 1)
            terms[tbytes] = [[postings[0], docnum], [postings[1], weight], [postings[2], vbytes],
                             docnum > postings[0]]
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
                postings = terms[tbytes]
                if type(postings) is tuple:
                    yield fieldname, tbytes, [postings[0]], [postings[1]], [postings[2]]
                    continue
                docnums, weights, values, in_order = postings
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

    def __init__(self, ix, *, inline: int = INLINE_POSTINGS, compress_from: int = COMPRESS_FROM,
                 protocol: int = PICKLE_PROTOCOL, **options):
        super().__init__(ix, **options)
        self.inline, self.compress_from, self.protocol = inline, compress_from, protocol
        self._direct: dict = {}  # field name → direct_terms(field)
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
        lang = fields.get("lang")  # the language whose chain analyses the text fields
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
                    direct = self._direct.get(fieldname, False)
                    if direct is False:
                        direct = self._direct[fieldname] = direct_terms(field)
                    items = direct(value, lang) if direct is not None else None
                    for tbytes, freq, weight, vbytes in items if items is not None else field.index(value):
                        weight *= fieldboost
                        added += 1
                        if scorable:
                            length += freq
                        postings = get(tbytes)
                        if postings is None:
                            terms[tbytes] = (docnum, weight, vbytes)
                        elif type(postings) is tuple:
                            terms[tbytes] = _postings(postings, docnum, weight, vbytes)
                        else:
                            postings[0].append(docnum)
                            postings[1].append(weight)
                            postings[2].append(vbytes)
                    self.pool.count += added
                if field.separate_spelling():
                    spellfield = field.spelling_fieldname(fieldname)
                    spell = getattr(field.analyzer, "spell_words", None)
                    words = spell(value) if spell and isinstance(value, str) else field.spellable_words(value)
                    for word in words:
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
                write_terms(self.fieldwriter, self.schema, lengths, self.pool.sorted_terms(),
                            inline=self.inline, compress_from=self.compress_from, protocol=self.protocol)
            else:
                self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if pdr:
                pdr.close()


def direct_terms(field):
    """For a text or name field indexed with a fused pass (analysis.FastPositions), an ID, DATETIME
    or comma-separated KEYWORD field, a function from a value to the list of (term bytes,
    frequency, weight, value bytes) that `field.index(value)` gives (the same, in the same order;
    None for a value of another type; a text field analysed in the document's language), made without Whoosh's chain of generators, and for a date
    each conversion done once rather than once per term; else None."""
    fmt = field.format
    if type(fmt) is FastPositions and hasattr(field.analyzer, "term_positions"):
        analyzer, encode, shared = field.analyzer, fmt.encode_cached, SINGLE_POSITIONS.get
        boost = fmt.field_boost
        for_language = getattr(analyzer, "for_language", lambda lang: analyzer)

        def text_terms(value, lang=None):  # FastPositions.word_values, as FieldType.index gives it
            if not isinstance(value, str):
                return None
            term_positions = for_language(lang).term_positions
            return [(word.encode("utf-8"), 1, boost, shared(poslist[0]) or encode(poslist))
                    if len(poslist) == 1 else
                    (word.encode("utf-8"), len(poslist), len(poslist) * boost, encode(poslist))
                    for word, poslist in term_positions(value).items()]
        return text_terms
    if type(field) is ID and type(field.analyzer) is IDTokenizer and type(fmt) is Existence:
        boost = fmt.field_boost  # (Existence.word_values: the one token, the whole value)
        return lambda value, lang=None: [(value.encode("utf-8"), 1, boost, b"")] if type(value) is str else None
    if type(field) is DATETIME and field.shift_step and type(fmt) is Existence:
        shifts = range(0, field.bits, field.shift_step)

        def date_terms(value, lang=None):  # NUMERIC.index, DATETIME.to_bytes per shift
            if not isinstance(value, datetime):
                return None
            number = to_sortable(field.numtype, field.bits, field.signed,
                                 field.prepare_number(field.prepare_datetime(value)))
            return [(field.sortable_to_bytes(number, shift), 1, 1.0, b"") for shift in shifts]
        return date_terms
    items = getattr(field.analyzer, "items", ())
    if (type(field) is KEYWORD and type(fmt) is Frequency and len(items) == 3
            and type(items[0]) is RegexTokenizer and not items[0].gaps
            and [type(i) for i in items[1:]] == [StripFilter, LowercaseFilter]):
        pattern, boost = items[0].expression, fmt.field_boost

        def keyword_terms(value, lang=None):  # Frequency.word_values over tokenize | strip | lower-case
            if type(value) is not str:
                return None
            counts: dict[str, int] = {}
            for token in pattern.findall(value):
                word = token.strip().lower()
                counts[word] = counts.get(word, 0) + 1
            return [(word.encode("utf-8"), n, float(n) * boost, pack_uint(n)) for word, n in counts.items()]
        return keyword_terms
    return None


def open_writer(ix, **options) -> Writer:
    """A writer on `ix` (a Whoosh FileIndex), taking the index's write lock like `ix.writer()`."""
    return Writer(ix, **options)
