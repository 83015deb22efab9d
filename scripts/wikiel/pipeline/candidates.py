"""Functions registered in spaCy's registry: candidate generation for the EntityLinker and a KB loader.

Importing this module registers them; training and evaluation import it, and `--code scripts/wikiel_code.py`
does the same for plain `spacy` commands. It is shipped inside packaged pipelines (`spacy package --code`), so it
imports only the standard library, numpy and spaCy.

Candidate generators, each a chain whose first stage that finds anything wins (`GENERATORS` maps names to them):

- `exact`: the KB's own alias lookup of the mention text.
- `case` (`wikiel.CaseCandidates.v1`): exact, then first-letter upper-cased, then title-cased.
- `normalized` (`wikiel.NormalizedCandidates.v1`): case, then a lookup of the normalised key (`normalize_key`:
  NFKD with accents dropped, casefolded, `.` and apostrophes dropped, other punctuation/symbols as spaces,
  whitespace collapsed), so "machine-learning" ~ "Machine Learning", "Zurich" ~ "Zürich", "U.S." ~ "US". The
  aliases sharing the key are merged: one candidate per entity, the best prior kept.
- `fuzzy` (`wikiel.FuzzyCandidates.v1`): normalized, then, when nothing was found, the `max_aliases` alias keys
  most similar to the mention's key (Dice coefficient of their sets of padded character trigrams, at least
  `min_similarity`), one candidate per entity. Each prior is multiplied by the similarity of the key it came
  through: candidates of near-misses keep their relative order, a less similar spelling ranks lower, and priors
  stay in [0, 1], so spaCy's `p + s - p*s` combination still treats them as probabilities.

The functions of `GENERATORS` return candidates best first (prior descending, ties by entity id); the registered
`wikiel.CaseCandidates.v1` keeps the KB's order, as before. The indexes are
built lazily from `kb.get_alias_strings()` on first use and cached per KB object (a KB that does not list its
aliases gets the exact and case stages only).

Fuzzy index: an inverted index of padded character trigrams over the distinct normalised keys, all in numpy
(int32 postings sorted by key id, int64 offsets). A query probes only the rarest trigrams it must share with any
key similar enough (prefix filtering: a key with Dice >= s to a query of a trigrams shares at least
ceil(s*a/(2-s)) of them), counts overlaps by sorting the probed postings, drops keys whose length rules them out,
then checks the most common trigrams by binary search in their postings, so they are never scanned; results are
exact (equal to a brute-force Dice over all keys), not approximate.

Why our own index rather than a library: on 1.5M synthetic aliases (1-4 words drawn from the link texts of a real
Wikipedia excerpt, a third with a random syllable appended; mean 20 characters; 1.49M distinct keys) on 2 shared
cores, rapidfuzz 3.14.6 `process.extract(query, keys, scorer=fuzz.ratio, limit=5, score_cutoff=50)`, one thread,
takes 231 ms per query (misspelt aliases and random strings; 195 ms with score_cutoff=80): it compares the query
with every key. This index answers such queries in 3.3 ms on average (median 2.8 ms, p95 8.6 ms), about 70 times
faster, and needs no dependency inside the packaged pipeline. Exact and normalised lookups take about 7
microseconds. Costs at that size: the normalised index takes 4.5-7 s to build and 85 MB (about 210 MB more while
building, besides the alias list); the trigram index 8-12 s and 126 MB (30M postings; about 80 MB more while
building, one chunk of keys at a time).
"""

from __future__ import annotations

import math
import threading
import time
import unicodedata
from collections import OrderedDict
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from spacy.kb import Candidate, KnowledgeBase
from spacy.strings import get_string_id
from spacy.tokens import Span
from spacy.util import registry


def case_variants(text: str) -> Iterator[str]:
    """The mention as written, then with its first letter upper-cased, then title-cased: Wikipedia's own
    first-letter rule and the most common capitalisation differences of anchors."""
    seen = set()
    for variant in (text, text[:1].upper() + text[1:], text.title()):
        if variant and variant not in seen:
            seen.add(variant)
            yield variant


def exact_then_case_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
    """Candidates of the first variant of the mention text that the KB knows as an alias."""
    for variant in case_variants(span.text):
        candidates = kb.get_alias_candidates(variant)
        if candidates:
            return list(candidates)
    return []


@registry.misc("wikiel.CaseCandidates.v1")
def make_case_candidates() -> Callable[[KnowledgeBase, Span], Iterable[Candidate]]:
    """Exact alias lookup with a first-letter / title-case fallback."""
    return exact_then_case_candidates


@registry.misc("wikiel.CaseCandidatesBatch.v1")
def make_case_candidates_batch() -> Callable[[KnowledgeBase, Iterable[Span]], Iterable[Iterable[Candidate]]]:
    def get_batch(kb: KnowledgeBase, spans: Iterable[Span]) -> List[List[Candidate]]:
        return [exact_then_case_candidates(kb, span) for span in spans]

    return get_batch


# ---------------------------------------------------------------------------------------------------------------
# Normalised keys

# Dropped without a trace, so that "U.S." ~ "US" and "O'Brien" ~ "OBrien".
_JOINERS = set(".'`\u00b4\u2018\u2019\u02bc\u00b7")
# Letters NFKD does not decompose (after casefolding).
_LETTERS = {
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
    "ħ": "h",
    "ŧ": "t",
    "ŋ": "n",
}


class _KeyChars(dict):
    """A `str.translate` table filled on demand: code point -> replacement (None drops it)."""

    def __missing__(self, cp: int) -> Optional[str]:
        ch = chr(cp)
        category = unicodedata.category(ch)
        if ch in _JOINERS or category[0] == "M" or category == "Cf":  # marks (accents), soft hyphens, ZWJ
            out: Optional[str] = None
        elif ch in _LETTERS:
            out = _LETTERS[ch]
        elif category[0] in "PSZC":  # other punctuation, symbols, separators, controls
            out = " "
        else:
            out = ch
        self[cp] = out
        return out


_KEY_CHARS = _KeyChars()


def normalize_key(text: str) -> str:
    """The lookup key of an alias or mention: NFKD with accents dropped, casefolded, `.` and apostrophes dropped,
    other punctuation and symbols turned into spaces, whitespace collapsed. Never contains control characters."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    return " ".join(text.casefold().translate(_KEY_CHARS).split())


# ---------------------------------------------------------------------------------------------------------------
# Indexes


def _distinct(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and how often each occurs. (np.unique of numpy 2.3+ takes a hash-based path that is
    ~50x slower than sorting on millions of int64.)"""
    values = np.sort(values)
    first = np.empty(len(values), dtype=bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return values[starts], np.diff(np.append(starts, len(values)))


def _cumulative(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


class NormalizedIndex:
    """Distinct normalised keys of a list of aliases, and which aliases share each key, in numpy arrays.

    Keys are found by their 64-bit string hash (spaCy's: the same in every process, so ties break alike) in the
    sorted `key_hashes`, and checked against the key text. The aliases of key i are
    `alias_hashes[key_aliases[key_offsets[i]:key_offsets[i + 1]]]` (spaCy string hashes). The keys themselves are
    kept as UTF-8, each followed by a NUL byte, for the n-gram index: key i is
    `keys[key_starts[i]:key_starts[i + 1] - 1]`.
    """

    def __init__(self, aliases: Sequence[str]):
        start = time.perf_counter()
        n = len(aliases)
        keys = [normalize_key(alias) for alias in aliases]
        self.alias_hashes = np.fromiter((get_string_id(a) for a in aliases), dtype=np.uint64, count=n)
        valid = np.flatnonzero(np.fromiter(map(bool, keys), dtype=bool, count=n)).astype(np.int32)
        hashes = np.fromiter((get_string_id(keys[i]) for i in valid), dtype=np.uint64, count=len(valid))
        order = np.argsort(hashes, kind="stable")  # aliases grouped by key, in KB order within a key
        self.key_hashes, counts = _distinct(hashes)
        del hashes
        self.key_aliases = valid[order]
        self.key_offsets = _cumulative(counts)
        joined = "\x00".join([keys[i] for i in self.key_aliases[self.key_offsets[:-1]]])
        del keys
        self.keys = (joined + "\x00").encode("utf8") if len(self.key_hashes) else b""
        del joined
        ends = np.flatnonzero(np.frombuffer(self.keys, dtype=np.uint8) == 0)
        self.key_starts = np.concatenate([[0], ends + 1]).astype(np.int64)
        self.build_seconds = time.perf_counter() - start

    @property
    def n_keys(self) -> int:
        return len(self.key_hashes)

    def key(self, key_id: int) -> str:
        return self.keys[self.key_starts[key_id] : self.key_starts[key_id + 1] - 1].decode("utf8")

    def find(self, key: str) -> int:
        """The id of a normalised key, or -1. (Two distinct keys with the same 64-bit hash, about a 1e-7 chance
        at 1.5M keys, would make the second unfindable, never return wrong aliases.)"""
        if not key or not self.n_keys:
            return -1
        h = np.uint64(get_string_id(key))
        i = int(np.searchsorted(self.key_hashes, h))
        if i < self.n_keys and self.key_hashes[i] == h and self.key(i) == key:
            return i
        return -1

    def aliases_of(self, key_id: int) -> np.ndarray:
        """spaCy string hashes of the aliases whose key is `key_id`, in KB order."""
        return self.alias_hashes[self.key_aliases[self.key_offsets[key_id] : self.key_offsets[key_id + 1]]]

    @property
    def nbytes(self) -> int:
        arrays = (self.alias_hashes, self.key_hashes, self.key_aliases, self.key_offsets, self.key_starts)
        return sum(a.nbytes for a in arrays) + len(self.keys)


def _trigram_codes(text: str) -> Tuple[np.ndarray, np.ndarray]:
    """Codes (three 21-bit code points in an int64) of the padded trigrams of "\\x00"-separated keys in `text`
    (which starts and ends with "\\x00"), and the index of the key each belongs to (from 0)."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    separators = cps == 0
    middle = ~separators[1:-1]  # a trigram belongs to the key of its middle character
    codes = ((cps[:-2] << 42) | (cps[1:-1] << 21) | cps[2:])[middle]
    key_ids = (np.cumsum(separators)[1:-1][middle] - 1).astype(np.int64)
    return codes, key_ids


class NgramIndex:
    """Inverted index of padded character trigrams ("\\x00" pads each end) over the keys of a NormalizedIndex.

    `vocab`: sorted trigram codes; postings of trigram g: `postings[offsets[g]:offsets[g + 1]]` (int32 key ids,
    ascending, each once); `key_grams`: number of distinct trigrams of each key. Built in chunks of keys and three
    passes (trigram vocabulary, postings lengths, postings), so that beyond the index itself only one chunk's
    arrays are in memory.
    """

    def __init__(self, normalized: NormalizedIndex, chunk_keys: int = 50_000):
        start = time.perf_counter()
        n_keys = normalized.n_keys
        chunks = [(k0, min(k0 + chunk_keys, n_keys)) for k0 in range(0, n_keys, chunk_keys)]

        def chunk_codes(k0: int, k1: int) -> Tuple[np.ndarray, np.ndarray]:
            text = normalized.keys[normalized.key_starts[k0] : normalized.key_starts[k1]].decode("utf8")
            codes, key_ids = _trigram_codes("\x00" + text)
            return codes, key_ids + k0

        def chunk_pairs(k0: int, k1: int) -> Tuple[np.ndarray, np.ndarray]:
            """Distinct (trigram id, key id) pairs of a chunk, sorted by trigram, then key."""
            codes, key_ids = chunk_codes(k0, k1)
            pairs = _distinct((np.searchsorted(self.vocab, codes).astype(np.int64) << 32) | key_ids)[0]
            return pairs >> 32, (pairs & 0xFFFFFFFF).astype(np.int32)

        parts = [_distinct(chunk_codes(k0, k1)[0])[0] for k0, k1 in chunks]
        self.vocab = _distinct(np.concatenate(parts))[0] if parts else np.zeros(0, dtype=np.int64)
        del parts
        n_grams = len(self.vocab)
        lengths = np.zeros(n_grams, dtype=np.int64)
        for k0, k1 in chunks:
            lengths += np.bincount(chunk_pairs(k0, k1)[0], minlength=n_grams)
        self.offsets = _cumulative(lengths)
        self.postings = np.empty(int(self.offsets[-1]), dtype=np.int32)
        self.key_grams = np.zeros(n_keys, dtype=np.int32)
        filled = self.offsets[:-1].copy()
        for k0, k1 in chunks:  # chunks in key order: each posting list comes out sorted by key
            gram_ids, key_ids = chunk_pairs(k0, k1)
            grams, counts = _distinct(gram_ids)
            rank = np.arange(len(gram_ids)) - np.repeat(_cumulative(counts)[:-1], counts)
            self.postings[filled[gram_ids] + rank] = key_ids
            filled[grams] += counts
            self.key_grams[k0:k1] = np.bincount(key_ids - k0, minlength=k1 - k0)
        self.build_seconds = time.perf_counter() - start

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.vocab, self.offsets, self.postings, self.key_grams))

    def search(self, key: str, min_similarity: float = 0.5, limit: int = 5) -> List[Tuple[int, float]]:
        """The `limit` keys most similar to `key` (Dice of trigram sets >= min_similarity) as (key id, Dice),
        most similar first, ties by key id."""
        if not key or not len(self.vocab) or limit < 1:
            return []
        s = float(min_similarity)
        codes = _distinct(_trigram_codes("\x00" + key + "\x00")[0])[0]
        n_a = len(codes)
        gram_ids = np.searchsorted(self.vocab, codes)
        known = gram_ids < len(self.vocab)
        known[known] = self.vocab[gram_ids[known]] == codes[known]
        gram_ids = gram_ids[known]
        # Every key with Dice >= s shares at least c_min trigrams with the query, hence at least one among any
        # n_a - c_min + 1 of them: probe the rarest (trigrams no key has count as probed, for free).
        c_min = max(1, math.ceil(s * n_a / (2 - s) - 1e-9))
        n_probe = n_a - c_min + 1 - (n_a - len(gram_ids))
        if n_probe <= 0:
            return []
        starts = self.offsets[gram_ids]
        lengths = self.offsets[gram_ids + 1] - starts
        order = np.argsort(lengths, kind="stable")
        probed = [self.postings[starts[g] : starts[g] + lengths[g]] for g in order[:n_probe]]
        keys, counts = _distinct(np.concatenate(probed))
        n_b = self.key_grams[keys]
        fits = (n_b * (2 - s) >= s * n_a - 1e-9) & (n_b * s <= (2 - s) * n_a + 1e-9)  # Dice's length bound
        keys, counts, n_b = keys[fits], counts[fits], n_b[fits]
        rest = order[n_probe:]
        for done, g in enumerate(rest):  # frequent trigrams: binary search in their postings
            reachable = (counts + (len(rest) - done)) * 2 >= s * (n_a + n_b) - 1e-9
            if not reachable.all():
                keys, counts, n_b = keys[reachable], counts[reachable], n_b[reachable]
            if not len(keys):
                return []
            posting = self.postings[starts[g] : starts[g] + lengths[g]]
            pos = np.minimum(np.searchsorted(posting, keys), len(posting) - 1)
            counts = counts + (posting[pos] == keys)
        dice = 2.0 * counts / (n_a + n_b)
        hit = np.flatnonzero(dice >= s - 1e-9)
        if not len(hit):
            return []
        top = hit[np.lexsort((keys[hit], -dice[hit]))[:limit]]
        return [(int(keys[i]), float(dice[i])) for i in top]


class KBIndex:
    """The normalised-key index of one KB's aliases (built at once) and its trigram index (built on first use)."""

    def __init__(self, aliases: Sequence[str]):
        self.normalized = NormalizedIndex(aliases)
        self._ngrams: Optional[NgramIndex] = None
        self._lock = threading.Lock()

    @property
    def ngrams(self) -> NgramIndex:
        if self._ngrams is None:
            with self._lock:
                if self._ngrams is None:
                    self._ngrams = NgramIndex(self.normalized)
        return self._ngrams

    @property
    def nbytes(self) -> int:
        return self.normalized.nbytes + (self._ngrams.nbytes if self._ngrams is not None else 0)


# KBs are Cython objects without weak references: the cache is keyed by id() and holds the KB itself (so the id
# cannot be reused while cached), for the last few KBs used. An index is rebuilt when the KB's alias count changes.
_INDEXES: OrderedDict[int, Tuple[KnowledgeBase, int, KBIndex]] = OrderedDict()
_MAX_CACHED_KBS = 4
_INDEX_LOCK = threading.Lock()


def kb_index(kb: KnowledgeBase) -> Optional[KBIndex]:
    """The cached index of `kb`'s aliases, built on first use; None for a KB that cannot list its aliases."""
    if not hasattr(kb, "get_alias_strings"):
        return None
    size = kb.get_size_aliases()
    with _INDEX_LOCK:
        entry = _INDEXES.get(id(kb))
        if entry is not None and entry[0] is kb and entry[1] == size:
            _INDEXES.move_to_end(id(kb))
            return entry[2]
        index = KBIndex(kb.get_alias_strings())
        _INDEXES[id(kb)] = (kb, size, index)
        while len(_INDEXES) > _MAX_CACHED_KBS:
            _INDEXES.popitem(last=False)
        return index


# ---------------------------------------------------------------------------------------------------------------
# Generators


def _best_first(candidates: Iterable[Candidate]) -> List[Candidate]:
    return sorted(candidates, key=lambda c: (-c.prior_prob, c.entity_))


def _key_candidates(kb: KnowledgeBase, index: KBIndex, hits: Iterable[Tuple[int, float]]) -> List[Candidate]:
    """Candidates of all aliases of the given (key id, similarity) hits, one per entity with the best prior
    (prior x similarity), best first."""
    best: Dict[int, Candidate] = {}
    for key_id, similarity in hits:
        for alias_hash in index.normalized.aliases_of(key_id):
            for c in kb.get_alias_candidates(kb.vocab.strings[int(alias_hash)]):
                if similarity < 1.0:
                    c = Candidate(
                        kb=kb,
                        entity_hash=c.entity,
                        entity_freq=c.entity_freq,
                        entity_vector=c.entity_vector,
                        alias_hash=c.alias,
                        prior_prob=c.prior_prob * similarity,
                    )
                old = best.get(c.entity)
                if old is None or c.prior_prob > old.prior_prob:
                    best[c.entity] = c
    return _best_first(best.values())


def exact_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
    """The KB's own lookup of the mention text, best first."""
    return _best_first(kb.get_alias_candidates(span.text))


def case_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
    """`wikiel.CaseCandidates.v1`, best first."""
    return _best_first(exact_then_case_candidates(kb, span))


def normalized_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
    """Exact, then case variants, then all aliases sharing the mention's normalised key (one per entity)."""
    candidates = exact_then_case_candidates(kb, span)
    if candidates:
        return _best_first(candidates)
    index = kb_index(kb)
    if index is None:
        return []
    key_id = index.normalized.find(normalize_key(span.text))
    return _key_candidates(kb, index, [(key_id, 1.0)]) if key_id >= 0 else []


def fuzzy_candidates(
    kb: KnowledgeBase, span: Span, min_similarity: float = 0.5, max_aliases: int = 5
) -> List[Candidate]:
    """The normalised chain, then the `max_aliases` most similar alias keys (trigram Dice >= min_similarity),
    priors scaled by the similarity, one candidate per entity."""
    candidates = normalized_candidates(kb, span)
    if candidates:
        return candidates
    index = kb_index(kb)
    if index is None:
        return []
    hits = index.ngrams.search(normalize_key(span.text), min_similarity, max_aliases)
    return _key_candidates(kb, index, hits)


def _batch(get_candidates: Callable[[KnowledgeBase, Span], List[Candidate]]):
    def get_batch(kb: KnowledgeBase, spans: Iterable[Span]) -> List[List[Candidate]]:
        return [get_candidates(kb, span) for span in spans]

    return get_batch


@registry.misc("wikiel.NormalizedCandidates.v1")
def make_normalized_candidates() -> Callable[[KnowledgeBase, Span], Iterable[Candidate]]:
    """Exact, case variants, then the normalised key (accents, case, punctuation, whitespace)."""
    return normalized_candidates


@registry.misc("wikiel.NormalizedCandidatesBatch.v1")
def make_normalized_candidates_batch() -> Callable[[KnowledgeBase, Iterable[Span]], Iterable[Iterable[Candidate]]]:
    return _batch(normalized_candidates)


def _check_fuzzy_settings(min_similarity: float, max_aliases: int) -> None:
    if not 0.0 < min_similarity <= 1.0:
        raise ValueError(f"min_similarity must be in (0, 1], got {min_similarity}")
    if max_aliases < 1:
        raise ValueError(f"max_aliases must be at least 1, got {max_aliases}")


@registry.misc("wikiel.FuzzyCandidates.v1")
def make_fuzzy_candidates(
    min_similarity: float = 0.5, max_aliases: int = 5
) -> Callable[[KnowledgeBase, Span], Iterable[Candidate]]:
    """The normalised chain, then trigram similarity to the alias keys when it finds nothing."""
    _check_fuzzy_settings(min_similarity, max_aliases)

    def get_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
        return fuzzy_candidates(kb, span, min_similarity, max_aliases)

    return get_candidates


@registry.misc("wikiel.FuzzyCandidatesBatch.v1")
def make_fuzzy_candidates_batch(
    min_similarity: float = 0.5, max_aliases: int = 5
) -> Callable[[KnowledgeBase, Iterable[Span]], Iterable[Iterable[Candidate]]]:
    return _batch(make_fuzzy_candidates(min_similarity, max_aliases))


GENERATORS: Dict[str, Callable[[KnowledgeBase, Span], List[Candidate]]] = {
    "exact": exact_candidates,
    "case": case_candidates,
    "normalized": normalized_candidates,
    "fuzzy": make_fuzzy_candidates(),
}
