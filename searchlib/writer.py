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

import struct
import zlib
from datetime import datetime
from functools import partial
from itertools import chain
from operator import sub
from array import array
from hashlib import md5
from pickle import dumps

from whoosh.columns import NumericColumn
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3TermInfo, _lenfield
from whoosh.filedb.filetables import GrowableArray, md5_hash
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StripFilter
from whoosh.analysis.tokenizers import IDTokenizer
from whoosh.fields import DATETIME, ID, KEYWORD
from whoosh.formats import Existence, Frequency
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte, to_sortable
from whoosh.writing import SegmentWriter

from .analysis import SINGLE_POSITIONS, FastPositions


# A term with at most this many postings in a segment keeps them in its record in the terms file
# (Whoosh's "inlined" postings, which its readers read as they are, but which its own writer never
# writes: W3PostingsWriter calls a `set_inline` that W3TermInfo spells `set_inlined`). Most terms
# are in one or two articles: their postings file block, with its header, two pickles and a zlib
# stream, was most of what a commit wrote and most of its time.
INLINE_POSTINGS = 4
# A block whose pickled postings are shorter than this is stored uncompressed (its info says so,
# and every reader looks): zlib's set-up costs more than it saves on a few postings. Whoosh meant
# to do the same under 20 bytes, but overwrites the flag on the next line of _write_block.
COMPRESS_FROM = 256
# The pickle protocol of a block's postings and of inlined postings (Whoosh's readers unpickle
# any). Whoosh writes protocol 2, in which every bytes value (a posting's positions) is pickled as
# a call to codecs.encode on a latin-1 string: ~25 bytes more per posting, compressed at commit
# and decoded by a function call per posting at search time. Protocol 5 writes bytes as bytes.
PICKLE_PROTOCOL = 5

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
                    fused = field.format.fused(value, field.analyzer) if type(field.format) is FastPositions else None
                    if fused is not None:
                        # FastPositions' word_values and FieldType.index inlined, without their
                        # two generators: the same terms, weights and values, in the same order
                        boost = field.format.field_boost
                        single = boost * fieldboost
                        encode, shared = field.format.encode_cached, SINGLE_POSITIONS.get
                        for word, poslist in fused.items():
                            tbytes = word.encode("utf-8")
                            freq = len(poslist)
                            if freq == 1:
                                vbytes = shared(poslist[0]) or encode(poslist)
                                weight = single
                            else:
                                vbytes = encode(poslist)
                                weight = (freq * boost) * fieldboost
                            length += freq
                            postings = get(tbytes)
                            if postings is None:
                                terms[tbytes] = _postings(docnum, weight, vbytes)
                            else:
                                postings[0].append(docnum)
                                postings[1].append(weight)
                                postings[2].append(vbytes)
                        added = len(fused)
                        if not scorable:
                            length = 0
                    else:
                        direct = self._direct.get(fieldname, False)
                        if direct is False:
                            direct = self._direct[fieldname] = direct_terms(field)
                        items = direct(value) if direct is not None else None
                        for tbytes, freq, weight, vbytes in items if items is not None else field.index(value):
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
                _write_terms(self.fieldwriter, self.schema, lengths, self.pool.sorted_terms(),
                             inline=self.inline, compress_from=self.compress_from, protocol=self.protocol)
            else:
                self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if pdr:
                pdr.close()


_TERM_INFO = W3TermInfo._struct.pack
_KEY_VALUE = struct.Struct("!ii").pack  # filetables.HashWriter's record header
_NO_ID = 0xFFFFFFFF


def _write_terms(fieldwriter: W3FieldWriter, schema, lengths: _Lengths | None, terms, *,
                 inline: int = INLINE_POSTINGS, compress_from: int = COMPRESS_FROM,
                 protocol: int = PICKLE_PROTOCOL) -> None:
    """Write each term's postings and its record, as Whoosh's W3FieldWriter and W3PostingsWriter
    do posting by posting (the same blocks of 128, statistics and term records; with `inline=0,
    compress_from=0, protocol=2`, the same bytes), here term by term, with the files' positions
    counted rather than asked for. Terms with at most `inline` postings keep them in their record;
    blocks under `compress_from` pickled bytes are not compressed; postings are pickled with
    `protocol`."""
    postfile, tindex = fieldwriter._postfile, fieldwriter._tindex
    post_write = postfile.file.write
    post_pos = postfile.tell()
    term_write = tindex.dbfile.file.write
    term_pos = tindex.dbfile.tell()
    buckets, hashfn = tindex.buckets, tindex.hashfn
    fast_md5 = hashfn is md5_hash
    positions = list(tindex.index)
    lastkey = tindex.lastkey
    blocklimit = fieldwriter._codec._blocklimit
    compression = fieldwriter._codec._compression
    current = None
    field_lengths = prefix = fixedsize = None
    for fieldname, tbytes, docnums, weights, values in terms:
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            fieldobj = schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)  # (the field's number in the terms file)
            current = fieldname
            field_lengths = lengths.field(fieldname) if lengths else None
            prefix = pack_ushort(fieldwriter._fieldid)
            fixedsize = fieldobj.format.fixed_value_size()
        count = len(docnums)
        total = 0.0
        minlength, maxlength, maxweight = None, 0, 0
        if count <= inline:
            ids = array("I", docnums)
            floats = array("f", weights)
            total += sum(floats)
            heaviest = max(weights)
            maxweight = heaviest if heaviest > 0 else 0
            if field_lengths:
                known = list(filter(None, map(field_lengths.__getitem__, ids)))
                if known:
                    minlength, maxlength = min(known), max(known)
            # the values as a block's reader gives them (W3LeafMatcher._read_values)
            kept = list(filter(None, values))
            if fixedsize is None or fixedsize < 0:
                inlined = tuple(kept)
            elif fixedsize == 0:
                inlined = (None,) * count
            else:
                joined = b"".join(kept)
                inlined = tuple(joined[i:i + fixedsize] for i in range(0, len(joined), fixedsize))
            record = _TERM_INFO(True, total, count, length_to_byte(minlength) if minlength is not None else 0,
                                length_to_byte(maxlength), maxweight, ids[0], ids[-1]) + \
                dumps((tuple(ids), tuple(floats), inlined), protocol)
        else:
            start = post_pos
            post_write(WHOOSH3_HEADER_MAGIC)
            post_pos += 4
            for first in range(0, count, blocklimit):
                ids = docnums[first:first + blocklimit]
                chunk = weights[first:first + blocklimit]
                floats = array("f", chunk)
                heaviest = max(chunk)
                block_maxweight = heaviest if heaviest > 0 else 0
                block_min, block_max = None, 0
                if field_lengths:
                    known = list(filter(None, map(field_lengths.__getitem__, ids)))
                    if known:
                        block_min, block_max = min(known), max(known)
                # W3PostingsWriter._mini_ids, _mini_weights, _mini_values
                mini_ids = tuple(map(sub, ids, chain((0,), ids)))  # numlists.delta_encode
                first_weight = floats[0]
                if first_weight == 1.0 and floats.count(1.0) == len(floats):
                    mini_weights = None
                elif floats.count(first_weight) == len(floats):
                    mini_weights = first_weight
                else:
                    mini_weights = tuple(floats)
                block_values = list(filter(None, values[first:first + blocklimit]))
                if fixedsize is None or fixedsize < 0:
                    mini_values = tuple(block_values)
                elif fixedsize == 0:
                    mini_values = None
                else:
                    mini_values = b"".join(block_values)
                data = dumps((mini_ids, mini_weights, mini_values), protocol)
                comp = compression if len(data) >= compress_from else 0
                if comp:
                    data = zlib.compress(data, comp)
                info = dumps((len(ids), ids[-1], block_maxweight, comp, length_to_byte(block_min),
                              length_to_byte(block_max)), 2)
                size = len(info) + len(data)
                post_write(pack_int(-size if first + blocklimit >= count else size) + info + data)
                post_pos += 4 + size
                # W3TermInfo.add_block
                total += sum(floats)
                minlength = block_min if minlength is None else min(minlength, block_min)
                maxlength = max(maxlength, block_max)
                maxweight = max(maxweight, block_maxweight)
            record = _TERM_INFO(False, total, count, length_to_byte(minlength) if minlength is not None else 0,
                                length_to_byte(maxlength), maxweight, docnums[0], docnums[-1]) + \
                pack_long(start) + pack_int(post_pos - start)
        # OrderedHashWriter.add
        key = prefix + tbytes
        if key <= lastkey:
            raise ValueError("Keys must increase: %r..%r" % (lastkey, key))
        lastkey = key
        positions.append(term_pos)
        term_write(_KEY_VALUE(len(key), len(record)) + key + record)
        h = int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big") if fast_md5 else hashfn(key)
        buckets[h & 255].append((h, term_pos))
        term_pos += 8 + len(key) + len(record)
    if current is not None:
        fieldwriter.finish_field()
    tindex.lastkey = lastkey
    tindex.index = _growable(positions)
    tindex._write_hashes = partial(_write_hashes, tindex)


def _write_hashes(hashwriter) -> None:
    """filetables.HashWriter._write_hashes (256 open-addressing tables of (hash, position)
    slots, written at close), each table written at once rather than slot by slot."""
    dbfile = hashwriter.dbfile
    empty = (0, 0)
    for entries in hashwriter.buckets:
        numslots = 2 * len(entries)
        hashwriter.directory.append((dbfile.tell(), numslots))
        table = [empty] * numslots
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while table[slot] != empty:
                slot = (slot + 1) % numslots
            table[slot] = (hashval, position)
        if table:
            dbfile.write(struct.pack("!" + "Iq" * numslots, *[n for pair in table for n in pair]))


def _growable(values: list[int]) -> GrowableArray:
    """A GrowableArray("H") holding `values` (increasing), with the type its appends would give."""
    grown = GrowableArray("H")
    if values and values[-1] >= 2**16:
        grown._retype(values[-1])
    grown.array.extend(values)
    return grown


def direct_terms(field):
    """For an ID, DATETIME or comma-separated KEYWORD field, a function from a value to the list
    of (term bytes, frequency, weight, value bytes) that `field.index(value)` gives (the same, in
    the same order; None for a value of another type), made without Whoosh's chain of
    generators, and for a date each conversion done once rather than once per term; else None."""
    fmt = field.format
    if type(field) is ID and type(field.analyzer) is IDTokenizer and type(fmt) is Existence:
        boost = fmt.field_boost  # (Existence.word_values: the one token, the whole value)
        return lambda value: [(value.encode("utf-8"), 1, boost, b"")] if type(value) is str else None
    if type(field) is DATETIME and field.shift_step and type(fmt) is Existence:
        shifts = range(0, field.bits, field.shift_step)

        def date_terms(value):  # NUMERIC.index, DATETIME.to_bytes per shift
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

        def keyword_terms(value):  # Frequency.word_values over tokenize | strip | lower-case
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
