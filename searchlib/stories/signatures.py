"""Signatures: an article's text as word shingles, their MinHash signature and its LSH band keys.

Stage: stories (indexing side). Two copies of a wire story share most of their runs of
SHINGLE_WORDS words even when one has another headline, a credit line, a typo or its last
paragraphs cut. A MinHash signature of PERMUTATIONS values estimates the Jaccard similarity of
two shingle sets; split into BANDS bands of ROWS values, two articles whose sets are similar
share a band (a *band key*) with high probability, dissimilar ones rarely. The keys are kept in
the index's band table (bands.py), so a copy finds its candidates by a look-up, however much
later it is indexed. The MinHash is datasketch's "legacy" scheme ((a·h + b) mod 2^61−1 per
permutation over 32-bit shingle hashes; tests check the values equal datasketch's for the same
hashes), written with numpy so that indexing does not import datasketch's SciPy.
"""
from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

SHINGLE_WORDS = 5      # words per shingle (scripts/eval_stories.py measured 3 to 7)
BANDS, ROWS = 12, 2    # LSH: 12 band keys per article, 2 MinHash values each (README: the sweep)
PERMUTATIONS = BANDS * ROWS
MIN_SHINGLES = 20      # shorter texts (fewer than 24 words) get no band keys: too little to tell
MOST_WORDS = 2_000     # only a text's first 2,000 words are shingled (bounded time and memory)
_CHUNK = 1_024         # shingles permuted at a time (a chunk × PERMUTATIONS matrix of uint64)
SEED = 1

_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)
_MAX = np.uint64((1 << 32) - 1)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # (an odd 64-bit constant: the golden ratio's bits)


def _permutations(count: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's legacy permutation parameters (a, b) for `count` permutations."""
    gen = np.random.RandomState(seed)
    pairs = np.array([(gen.randint(1, _PRIME, dtype=np.uint64), gen.randint(0, _PRIME, dtype=np.uint64))
                      for _ in range(count)], dtype=np.uint64).T
    return pairs[0], pairs[1]


_A, _B = _permutations(PERMUTATIONS)


def words(text: str) -> list[str]:
    """The text's words, lower-cased (numbers kept: they tell one day's report from the next)."""
    return _WORD.findall(text.lower())


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The distinct 32-bit hashes of the text's runs of `size` words (in its first MOST_WORDS
    words), sorted (an array of uint64): each word hashed once (CRC-32), a shingle's hash a
    fixed polynomial of its words' hashes, so hashing costs one C call per word, not per shingle."""
    tokens = words(text[:MOST_WORDS * 30])[:MOST_WORDS]
    if len(tokens) < size:
        return np.zeros(0, dtype=np.uint64)
    crc = zlib.crc32
    per_word = np.fromiter((crc(w.encode("utf-8", "surrogatepass")) for w in tokens),
                           dtype=np.uint64, count=len(tokens))
    count = len(tokens) - size + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(size):  # (a wrapping 64-bit polynomial, then mixed down to 32 bits)
            combined = combined * _MIX + per_word[k:k + count]
        combined ^= combined >> np.uint64(29)
        combined *= _MIX
        combined ^= combined >> np.uint64(32)
    return np.unique(np.bitwise_and(combined, _MAX))


def signature(hashes: np.ndarray, permutations: int = PERMUTATIONS) -> np.ndarray:
    """The MinHash signature of a set of shingle hashes (`permutations` values)."""
    a, b = (_A, _B) if permutations == PERMUTATIONS else _permutations(permutations)
    values = np.ones(permutations, dtype=np.uint64) * _MAX
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start:start + _CHUNK].reshape(-1, 1)
        with np.errstate(over="ignore"):
            permuted = np.bitwise_and((chunk * a + b) % _PRIME, _MAX)
        values = np.minimum(values, permuted.min(axis=0))
    return values


def band_keys(hashes: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[int]:
    """The LSH band keys of a set of shingle hashes: one signed 64-bit number per band (its
    values and its number, mixed), none when the set is smaller than MIN_SHINGLES."""
    values = _bands(hashes, bands, rows)
    if values is None:
        return []
    if rows <= 2:
        joined = values[:, 0] if rows == 1 else (values[:, 0] << np.uint64(32)) | values[:, 1]
    else:
        joined = np.frombuffer(b"".join(hashlib.blake2b(values[band].tobytes(), digest_size=8).digest()
                                        for band in range(bands)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = joined ^ ((np.arange(bands, dtype=np.uint64) + np.uint64(1)) * _MIX)
    return mixed.view(np.int64).tolist()


def band_terms(hashes: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[str]:
    """The band keys as the words indexes written before the band table held them as terms of
    a `bands` field (the band's number and its values, or a hash of them when more than two)."""
    values = _bands(hashes, bands, rows)
    if values is None:
        return []
    if rows <= 2:
        joined = values[:, 0] if rows == 1 else (values[:, 0] << np.uint64(32)) | values[:, 1]
        return [f"{band:02d}{int(key):x}" for band, key in enumerate(joined)]
    return [f"{band:02d}{hashlib.blake2b(values[band].tobytes(), digest_size=8).hexdigest()}"
            for band in range(bands)]


def _bands(hashes: np.ndarray, bands: int, rows: int) -> np.ndarray | None:
    if len(hashes) < MIN_SHINGLES:
        return None
    return signature(hashes, bands * rows).reshape(bands, rows)


def similarity(one: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(Jaccard similarity, containment of the smaller set in the larger) of two sorted arrays
    of distinct shingle hashes, computed exactly."""
    if not len(one) or not len(other):
        return 0.0, 0.0
    shared = len(np.intersect1d(one, other, assume_unique=True))
    return shared / (len(one) + len(other) - shared), shared / min(len(one), len(other))
