"""Postings: a segment's terms and postings files, written a term at a time.

Stage: indexing → the Whoosh segment files (called by writer.py at commit). Whoosh's
W3FieldWriter and W3PostingsWriter take one posting per call and ask the file for its position
at every term; here each term's blocks and record are made and written at once, positions
counted as they are written. What is written is what Whoosh's codec writes, in the format its
readers read, with three differences that its readers handle and that make a commit faster and
the index smaller (each can be turned off; off, the files are Whoosh's, byte for byte: tested):
rare terms keep their postings in their record, small blocks are not compressed, and postings
are pickled with a newer protocol.

Also read here: a term's record in a segment's terms file (`term_info`, `doc_frequency`), looked
up once per segment for each word of each query. Whoosh's lookup (W3TermsReader.term_info, through
HashReader's generators, a hexdigest and a key check per call) cost more than the rest of a term's
work on a segment where it is rare, so an index of many segments paid it many times; here the
same hash table is read directly.
"""
from __future__ import annotations

import struct
import zlib
from array import array
from functools import partial
from hashlib import md5
from itertools import chain
from operator import sub
from pickle import dumps

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3TermInfo, W3TermsReader
from whoosh.filedb.filetables import GrowableArray, md5_hash
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

# A term with at most this many postings in a segment keeps them in its record in the terms file
# (Whoosh's "inlined" postings, which its readers read as they are, but which its own writer never
# writes: W3PostingsWriter calls a `set_inline` that W3TermInfo spells `set_inlined`). Most terms
# are in one or two articles of a segment: a block each, with its header, two pickles and a zlib
# stream, was much of what a commit wrote and of its time.
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

_TERM_INFO = W3TermInfo._struct.pack
_KEY_VALUE = struct.Struct("!ii").pack  # filetables.HashWriter's record header
_SLOT = struct.Struct("!Iq")            # filetables.HashWriter's hash slot: (hash, record position)
_LENGTHS = struct.Struct("!ii")         # ... and its record header: (key length, value length)
PROBE_SLOTS = 4  # hash slots read at once when looking a term up
_RECORD_GUESS = 8 + 96  # bytes read with a record's key: its header and most records' values
_DOC_FREQUENCY = struct.Struct("!BfI")  # the start of W3TermInfo's record: the third is doc frequency


def write_terms(fieldwriter: W3FieldWriter, schema, lengths, terms, *,
                inline: int = INLINE_POSTINGS, compress_from: int = COMPRESS_FROM,
                protocol: int = PICKLE_PROTOCOL) -> None:
    """Write the (field, term, docnums, weights, values) of `terms`, in order, with
    `fieldwriter` (a W3FieldWriter whose files are open; `lengths`: writer._Lengths or None).
    Each term's postings and record are what Whoosh's W3FieldWriter and W3PostingsWriter
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
        if count <= inline:
            floats, maxweight, minlength, maxlength = _block_stats(docnums, weights, field_lengths)
            total += sum(floats)
            # the values as a block's reader gives them (W3LeafMatcher._read_values)
            kept = list(filter(None, values))
            if fixedsize is None or fixedsize < 0:
                inlined = tuple(kept)
            elif fixedsize == 0:
                inlined = (None,) * count
            else:
                joined = b"".join(kept)
                inlined = tuple(joined[i:i + fixedsize] for i in range(0, len(joined), fixedsize))
            where = dumps((tuple(docnums), tuple(floats), inlined), protocol)
        else:
            minlength, maxlength, maxweight = None, 0, 0
            start = post_pos
            post_write(WHOOSH3_HEADER_MAGIC)
            post_pos += 4
            for first in range(0, count, blocklimit):
                ids = docnums[first:first + blocklimit]
                floats, block_maxweight, block_min, block_max = _block_stats(
                    ids, weights[first:first + blocklimit], field_lengths)
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
            where = pack_long(start) + pack_int(post_pos - start)
        # W3TermInfo.to_bytes (length_to_byte(None) is 0)
        record = _TERM_INFO(count <= inline, total, count, length_to_byte(minlength), length_to_byte(maxlength),
                            maxweight, docnums[0], docnums[-1]) + where
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


def _block_stats(ids, weights, field_lengths) -> tuple[array, float, int | None, int]:
    """What W3PostingsWriter.add_posting gathers for a block: its weights as stored (float32),
    the heaviest weight (0 if none is above 0), and the shortest and longest field length of
    its documents that have one (None and 0 if none has)."""
    heaviest = max(weights)
    known = list(filter(None, map(field_lengths.__getitem__, ids))) if field_lengths else ()
    return (array("f", weights), heaviest if heaviest > 0 else 0,
            min(known) if known else None, max(known) if known else 0)


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


def term_record(terms, fieldname: str, tbytes: bytes) -> bytes | None:
    """The record of the term `tbytes` of `fieldname` in a segment's terms file (`terms`: its
    W3TermsReader), as W3TermsReader.term_info reads it before decoding, or None when the
    segment does not have it: the same hash table (filetables.HashReader), read without its
    generators, with the hash taken as md5_hash takes it. The reader keeps the last
    RECORDS_KEPT records it was asked for: a search asks for each of its words twice in every
    segment (for the word's weight, summed over the segments, then for its postings there)."""
    kept = terms.__dict__.get("_searchlib_records")
    if kept is None:
        kept = terms.__dict__.setdefault("_searchlib_records", {})
    key = (fieldname, tbytes)
    try:
        return kept[key]
    except KeyError:
        pass
    record = _look_up(terms, fieldname, tbytes)
    if len(kept) >= RECORDS_KEPT:
        kept.clear()
    kept[key] = record
    return record


RECORDS_KEPT = 1024  # (some hundreds of kilobytes at most per segment, while its reader is open)


def _look_up(terms, fieldname: str, tbytes: bytes) -> bytes | None:
    fnum = terms._fieldmap.get(fieldname)
    if fnum is None:
        return None
    key = pack_ushort(fnum) + tbytes
    table = terms._tindex
    if table.hashfn is not md5_hash:
        try:
            return table[key]
        except KeyError:
            return None
    keyhash = int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big")
    start, slots = table.tables[keyhash & 255]
    if not slots:
        return None
    get, size = table.dbfile.get, _SLOT.size
    end = start + slots * size
    position = start + ((keyhash >> 8) % slots) * size
    probed = 0
    while probed < slots:  # (PROBE_SLOTS slots read at once: most keys are in the first two)
        count = min(PROBE_SLOTS, (end - position) // size, slots - probed)
        chunk = get(position, count * size)
        for at in range(0, count * size, size):
            slothash, item = _SLOT.unpack_from(chunk, at)
            if not item:
                return None
            if slothash == keyhash:  # (the record's header, key and most values in one read)
                record = get(item, _RECORD_GUESS + len(key))
                keylen, datalen = _LENGTHS.unpack_from(record)
                if keylen == len(key) and record[8:8 + keylen] == key:
                    begin = 8 + keylen
                    if begin + datalen <= len(record):
                        return record[begin:begin + datalen]
                    return get(item + begin, datalen)
        probed += count
        position += count * size
        if position == end:
            position = start
    return None


def term_info(terms, fieldname: str, tbytes: bytes) -> W3TermInfo | None:
    """The term's W3TermInfo in a segment (`terms`: its W3TermsReader), or None when it is not there."""
    record = term_record(terms, fieldname, tbytes)
    return None if record is None else W3TermInfo.from_bytes(record)


def doc_frequency(reader, fieldname: str, text: str | bytes, enough: int | None = None) -> int:
    """How many articles of `reader` (a segment's, or the whole index's) have the term, deleted
    ones included, as Whoosh's reader.doc_frequency counts: summed over the segments' records.
    With `enough`, the count may stop once it reaches that many (the rest of the segments unread)."""
    total = 0
    tbytes = None
    for leaf, _ in reader.leaf_readers():
        if enough is not None and total >= enough:
            break
        terms = getattr(leaf, "_terms", None)
        if not isinstance(terms, W3TermsReader) or fieldname not in leaf.schema:
            total += leaf.doc_frequency(fieldname, text)
            continue
        if tbytes is None:
            tbytes = text if isinstance(text, bytes) else leaf.schema[fieldname].to_bytes(text)
        record = term_record(terms, fieldname, tbytes)
        if record is not None:
            total += _DOC_FREQUENCY.unpack_from(record)[2]
    return total


def has_term(reader, fieldname: str, text: str | bytes) -> bool:
    """Whether some segment of `reader` has the term (as `(fieldname, text) in reader`), asked
    segment by segment until one has it."""
    tbytes = None
    for leaf, _ in reader.leaf_readers():
        terms = getattr(leaf, "_terms", None)
        if not isinstance(terms, W3TermsReader) or fieldname not in leaf.schema:
            if (fieldname, text) in leaf:
                return True
            continue
        if tbytes is None:
            try:
                tbytes = text if isinstance(text, bytes) else leaf.schema[fieldname].to_bytes(text)
            except ValueError:
                return False
        if term_record(terms, fieldname, tbytes) is not None:
            return True
    return False
