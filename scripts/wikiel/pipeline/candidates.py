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
- `tfidf` (`wikiel.TfidfCandidates.v1`), for terminologies whose names vary by word order, inflection, spelling
  and synonyms (biomedical vocabularies above all; the word rules are English): normalized, then a lookup of the
  token key (`token_key`: the normalised key with Greek letters spelt out, letters and digits split apart, stop
  words dropped, plurals and British spellings stemmed, words sorted: "Cancers of the Breast" ~ "breast cancer",
  "TNF-α" ~ "TNF alpha", "tumours" ~ "Tumor"), then, when nothing was found, the `max_aliases` token keys most
  similar to the mention's by the cosine of TF-IDF vectors of their words' character trigrams (scispaCy's
  candidate generator, but exact and in numpy), with the mention's token key with one word replaced by a partner
  learned from the KB's own synonyms (`WordSubstitutions`: "carcinoma" ~ "cancer", "renal" ~ "kidney"); priors
  scaled by the similarity as in fuzzy. With `min_candidates` (`tfidf-fill`: 10, and `max_aliases` 20), the
  neighbours also complete the candidates of mentions that the earlier stages matched with fewer entities, ranked
  after them.

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

TF-IDF index (`NgramIndex` with `words` and `weighted`): the same postings over the token keys, with the trigrams
of each word padded on its own (so the set does not depend on word order and no trigram spans two words), each
trigram weighted by its inverse document frequency. A query probes the rarest (heaviest) trigrams until the rest
cannot reach the threshold on their own (Cauchy-Schwarz: a key sharing only trigrams R has a cosine of at most
|R| / |query|), sums the probed weights per key by sorting, and checks the rest by binary search, as above:
exact again. Costs on the same kind of synthetic list (1.52M aliases in a spaCy KB, 1.51M distinct token keys),
2 shared cores: token keys 8.5-9.5 s and 92 MB; TF-IDF index 12 s and 147 MB (32M postings); word substitutions
9 s (KB lookups of every alias of 2+ words); all built only on the first mention that needs them. A TF-IDF lookup
(`min_similarity` 0.4, 10 keys) takes 7.7 ms on average for misspelt aliases (median 7.0, p95 15; the Dice search
4.9 ms), 0.13 ms for random strings; a mention found by its token key about 80 microseconds. On the 79K aliases
of the NCBI-disease KB (MEDIC) the `tfidf` chain takes about 0.2-0.3 ms per mention and `tfidf-fill` about 1 ms,
as it searches for most mentions: filling suits terminology-sized KBs rather than 1M-entity ones.

Measured on gold mentions (`evaluation/recall.py`), recall@1/5/10: NCBI-disease dev with MEDIC, 0.845/0.902/
0.902 for fuzzy, 0.891/0.943/0.944 for tfidf, 0.891/0.968/0.973 (oracle 0.977) for tfidf with `max_aliases` 20
and `min_candidates` 10 (`configs/nel-biomedical.cfg`); the default world's dev, 0.779/0.909/0.941 for fuzzy,
0.780/0.911/0.943 for tfidf (the same within noise).
"""

from __future__ import annotations

import math
import re
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


# Token keys: the normalised key made free of word order, inflection and spelling variants, for names that vary
# that way (biomedical terms above all: "Cancer of the Breast" ~ "breast cancers", "tumours" ~ "Tumor",
# "TNF-α" ~ "TNF alpha", "CHDs" ~ "CHD", "type1" ~ "type 1").

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
# Function words that only link the words of a name ("a" stays: "hepatitis A", "type A").
STOP_WORDS = frozenset(["an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"])


class _TokenChars(_KeyChars):
    """`_KeyChars` with Greek letters spelt out as words (after casefolding)."""

    def __missing__(self, cp: int) -> Optional[str]:
        name = _GREEK.get(chr(cp))
        if name is None:
            return super().__missing__(cp)
        self[cp] = out = f" {name} "
        return out


_TOKEN_CHARS = _TokenChars()
# A letter next to a digit starts a new word: "type1" ~ "type 1", "BRCA1" ~ "BRCA 1", "1A" ~ "1 A".
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def stem_word(word: str) -> str:
    """Plural and spelling variants of a casefolded word of 4+ characters, removed the same way in aliases and
    mentions: the S-stemmer (Harman 1991: "-ies" -> "-y", "-es" -> "-e", "-s" -> "", except after "a", "e" or "o"
    and in "-us", "-ss", "-is") with Porter's "-sses" -> "-ss" and "-ches", "-shes", "-xes" -> "-ch", "-sh", "-x";
    Greek and Latin plurals ("-itides" -> "-itis", "-ae" -> "-a") and "-sis" made "-se", as "-ses" becomes
    ("stenoses" ~ "stenosis"); then, in words of 5+ characters, British spellings ("-our" -> "-or", "ae" and "oe"
    -> "e": "tumours" ~ "tumor", "haemophilia" ~ "hemophilia", "oedema" ~ "edema")."""
    if len(word) < 4:
        return word
    last = word[-1]
    if last == "s":
        if word.endswith("ies"):
            if not word.endswith(("aies", "eies")):
                word = word[:-3] + "y"
        elif word.endswith("es"):
            if word.endswith("itides"):
                word = word[:-3] + "s"
            elif word.endswith(("sses", "ches", "shes", "xes")):
                word = word[:-2]
            elif not word.endswith(("aes", "ees", "oes")):
                word = word[:-1]
        elif word.endswith("sis"):
            word = word[:-2] + "e"
        elif not word.endswith(("us", "ss", "is")):
            word = word[:-1]
    elif last == "e" and word[-2] == "a":
        word = word[:-1]
    if len(word) >= 5 and ("ae" in word or "oe" in word or word.endswith("our")):
        if word.endswith("our"):
            word = word[:-3] + "or"
        word = word.replace("ae", "e").replace("oe", "e")
    return word


def token_key(text: str) -> str:
    """The word-order-free key of an alias or mention: `normalize_key` with Greek letters spelt out ("α" ->
    "alpha") and letters and digits split apart ("type1" -> "type 1"), then stop words dropped (`STOP_WORDS`),
    each word stemmed (`stem_word`) and the words sorted: "Cancer of the Breast" and "breast cancers" both give
    "breast cancer"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    words = []
    for word in text.casefold().translate(_TOKEN_CHARS).split():
        if word.isalpha():
            if word not in STOP_WORDS:
                words.append(stem_word(word))
        else:
            words.extend(stem_word(w) for w in _LETTER_DIGIT.sub(" ", word).split() if w not in STOP_WORDS)
    words.sort()
    return " ".join(words)


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
    """Distinct normalised keys of a list of aliases, and which aliases share each key, in numpy arrays. The key of
    an alias is `key_function(alias)` (`normalize_key`, or `token_key` for the token keys); `alias_hashes`, the
    aliases' spaCy string hashes, can be shared with another index of the same list.

    Keys are found by their 64-bit string hash (spaCy's: the same in every process, so ties break alike) in the
    sorted `key_hashes`, and checked against the key text. The aliases of key i are
    `alias_hashes[key_aliases[key_offsets[i]:key_offsets[i + 1]]]` (spaCy string hashes). The keys themselves are
    kept as UTF-8, each followed by a NUL byte, for the n-gram index: key i is
    `keys[key_starts[i]:key_starts[i + 1] - 1]`.
    """

    def __init__(
        self,
        aliases: Sequence[str],
        key_function: Callable[[str], str] = normalize_key,
        alias_hashes: Optional[np.ndarray] = None,
    ):
        start = time.perf_counter()
        n = len(aliases)
        keys = [key_function(alias) for alias in aliases]
        if alias_hashes is None:
            alias_hashes = np.fromiter((get_string_id(a) for a in aliases), dtype=np.uint64, count=n)
        self.alias_hashes = alias_hashes
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


def _trigram_codes(text: str, words: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Codes (three 21-bit code points in an int64) of the padded trigrams of "\\x00"-separated keys in `text`
    (which starts and ends with "\\x00"), and the index of the key each belongs to (from 0). With `words`, the
    trigrams of each word padded on its own (" " as the pad; no trigram spans two words), so that the set does not
    depend on the order of the words."""
    if words:
        text = text.replace(" ", "\x01\x01").replace("\x00", "\x01\x00\x01")[1:-1]
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    separators = cps == 0
    middle = ~separators[1:-1]  # a trigram belongs to the key of its middle character
    if words:
        middle &= cps[1:-1] != 1
        cps[cps == 1] = 32
    codes = ((cps[:-2] << 42) | (cps[1:-1] << 21) | cps[2:])[middle]
    key_ids = (np.cumsum(separators)[1:-1][middle] - 1).astype(np.int64)
    return codes, key_ids


class NgramIndex:
    """Inverted index of padded character trigrams ("\\x00" pads each end) over the keys of a NormalizedIndex.

    `vocab`: sorted trigram codes; postings of trigram g: `postings[offsets[g]:offsets[g + 1]]` (int32 key ids,
    ascending, each once); `key_grams`: number of distinct trigrams of each key. Built in chunks of keys and three
    passes (trigram vocabulary, postings lengths, postings), so that beyond the index itself only one chunk's
    arrays are in memory.

    With `words`, the trigrams are those of each word padded on its own (see `_trigram_codes`). With `weighted`,
    it also holds each trigram's inverse document frequency (`idf`, smoothed as scikit-learn's TfidfVectorizer:
    ln((1 + keys) / (1 + keys with the trigram)) + 1) and the norm of each key's vector of them (`key_norms`), for
    `search_cosine`.
    """

    def __init__(
        self, normalized: NormalizedIndex, chunk_keys: int = 50_000, words: bool = False, weighted: bool = False
    ):
        start = time.perf_counter()
        self.words = words
        n_keys = normalized.n_keys
        chunks = [(k0, min(k0 + chunk_keys, n_keys)) for k0 in range(0, n_keys, chunk_keys)]

        def chunk_codes(k0: int, k1: int) -> Tuple[np.ndarray, np.ndarray]:
            text = normalized.keys[normalized.key_starts[k0] : normalized.key_starts[k1]].decode("utf8")
            codes, key_ids = _trigram_codes("\x00" + text, words)
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
        self.weighted = weighted
        self.unknown_idf = math.log(1.0 + n_keys) + 1.0  # the weight of a trigram no key has
        self.idf = np.log((1.0 + n_keys) / (1.0 + lengths)) + 1.0 if weighted else np.zeros(0)
        del lengths
        self.key_norms = np.zeros(n_keys if weighted else 0)
        idf_squared = self.idf**2
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
            if weighted:
                self.key_norms[k0:k1] = np.bincount(key_ids - k0, weights=idf_squared[gram_ids], minlength=k1 - k0)
        np.sqrt(self.key_norms, out=self.key_norms)
        self.build_seconds = time.perf_counter() - start

    @property
    def nbytes(self) -> int:
        arrays = (self.vocab, self.offsets, self.postings, self.key_grams, self.idf, self.key_norms)
        return sum(a.nbytes for a in arrays)

    def _query_grams(self, key: str) -> Tuple[np.ndarray, int]:
        """Ids of the distinct trigrams of `key` that some key has, and how many it has that none has."""
        codes = _distinct(_trigram_codes("\x00" + key + "\x00", self.words)[0])[0]
        gram_ids = np.searchsorted(self.vocab, codes)
        known = gram_ids < len(self.vocab)
        known[known] = self.vocab[gram_ids[known]] == codes[known]
        return gram_ids[known], len(codes) - int(known.sum())

    def search_cosine(self, key: str, min_similarity: float = 0.4, limit: int = 10) -> List[Tuple[int, float]]:
        """The `limit` keys most similar to `key` by the cosine of their trigram TF-IDF vectors (binary term
        frequency, `idf` weights; >= min_similarity) as (key id, cosine), most similar first, ties by key id.
        Exact, as `search`: a key none of whose trigrams is among the probed (rarest, heaviest) ones shares only
        the rest R, so its cosine is at most |R| / |query| (Cauchy-Schwarz); the probes stop once that bound is
        below min_similarity, and the rest are checked by binary search for the keys found."""
        if not self.weighted:
            raise ValueError("search_cosine needs an index built with weighted=True")
        if not key or not len(self.vocab) or limit < 1:
            return []
        t = float(min_similarity)
        gram_ids, n_unknown = self._query_grams(key)
        if not len(gram_ids):
            return []
        lengths = self.offsets[gram_ids + 1] - self.offsets[gram_ids]
        order = np.argsort(lengths, kind="stable")  # rarest (heaviest) first
        gram_ids, lengths = gram_ids[order], lengths[order]
        starts = self.offsets[gram_ids]
        weights = self.idf[gram_ids] ** 2  # query weight x key weight of a shared trigram
        query_norm = math.sqrt(float(weights.sum()) + n_unknown * self.unknown_idf**2)
        rest = np.append(np.cumsum(weights[::-1])[::-1], 0.0)  # rest[i]: squared norm of the trigrams from i on
        need = (t * query_norm) ** 2 - 1e-9
        n_probe = int(np.argmax(rest < need))
        if n_probe == 0:
            return []
        # The probed postings, each key id tagged with its trigram's rank and sorted: one run per key.
        tagged = np.concatenate(
            [(self.postings[starts[g] : starts[g] + lengths[g]].astype(np.int64) << 32) | g for g in range(n_probe)]
        )
        tagged.sort()
        keys = (tagged >> 32).astype(np.int32)
        first = np.empty(len(keys), dtype=bool)
        first[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        runs = np.flatnonzero(first)
        keys, dots = keys[runs], np.add.reduceat(weights[tagged & 0xFFFFFFFF], runs)
        del tagged
        norms = self.key_norms[keys]
        remaining = float(rest[n_probe])
        fits = (norms >= t * query_norm - 1e-9) & (norms * t <= query_norm + 1e-9)  # cosine <= min/max of norms
        fits &= dots + remaining >= t * query_norm * norms - 1e-9
        keys, dots, norms = keys[fits], dots[fits], norms[fits]
        for g in range(n_probe, len(gram_ids)):  # frequent trigrams: binary search in their postings
            if not len(keys):
                return []
            posting = self.postings[starts[g] : starts[g] + lengths[g]]
            pos = np.minimum(np.searchsorted(posting, keys), len(posting) - 1)
            dots = dots + (posting[pos] == keys) * weights[g]
            remaining -= float(weights[g])
            reachable = dots + remaining >= t * query_norm * norms - 1e-9
            if not reachable.all():
                keys, dots, norms = keys[reachable], dots[reachable], norms[reachable]
        cosine = dots / (query_norm * norms)
        hit = np.flatnonzero(cosine >= t - 1e-9)
        if not len(hit):
            return []
        top = hit[np.lexsort((keys[hit], -cosine[hit]))[:limit]]
        return [(int(keys[i]), float(cosine[i])) for i in top]

    def search(self, key: str, min_similarity: float = 0.5, limit: int = 5) -> List[Tuple[int, float]]:
        """The `limit` keys most similar to `key` (Dice of trigram sets >= min_similarity) as (key id, Dice),
        most similar first, ties by key id."""
        if not key or not len(self.vocab) or limit < 1:
            return []
        s = float(min_similarity)
        gram_ids, n_unknown = self._query_grams(key)
        n_a = len(gram_ids) + n_unknown
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


_ROMAN = re.compile(r"[ivxlc]+")


def _substitutable(word: str) -> bool:
    """Words that may take part in a learned substitution: not numbers, Roman numerals or words under 3 letters,
    whose variants ("type 1" / "type 2", "IIa" / "IIb") name different things."""
    return len(word) >= 3 and word.isalpha() and not _ROMAN.fullmatch(word)


class WordSubstitutions:
    """Word substitutions learned from the KB's own synonyms: two token keys of one entity that differ in exactly
    one word (same number of words, 2 or more) make that pair of words interchangeable ("breast cancer" /
    "breast neoplasm" of one entity, "kidney disease" / "renal disease" of another). A pair found in at least
    `min_entities` entities is kept, unless a word is a number, a Roman numeral or shorter than 3 letters; each
    word keeps its `max_substitutes` most frequent partners (ties by word). The keys of an entity with the same
    number of words are compared pairwise, at most the first `max_keys` of them (by key id). Building takes one KB
    lookup per alias of 2+ words (about 9 s for 1.5M aliases).

    Mentions then also look up their token key with one word replaced by a partner ("prostate carcinoma" ->
    "prostate cancer"), for names the KB spells with another word of the same meaning. Pairs need not be
    synonyms in general: a KB that lumps "benign X" and "malignant X" into one entity teaches that pair too, and
    the substitution is then right for that KB."""

    def __init__(
        self,
        kb: KnowledgeBase,
        tokens: NormalizedIndex,
        min_entities: int = 3,
        max_substitutes: int = 5,
        max_keys: int = 50,
    ):
        start = time.perf_counter()
        # The entities of the aliases whose token key has 2+ words (aliases listed as in tokens.alias_hashes).
        key_of_alias = np.full(len(tokens.alias_hashes), -1, dtype=np.int64)  # -1: an empty key
        key_of_alias[tokens.key_aliases] = np.repeat(np.arange(tokens.n_keys), np.diff(tokens.key_offsets))
        spaces = (np.frombuffer(tokens.keys, dtype=np.uint8) == 32).astype(np.int32)
        n_words = np.add.reduceat(spaces, tokens.key_starts[:-1]) + 1 if tokens.n_keys else np.zeros(0, np.int32)
        n_words = np.append(n_words, 0)  # (index -1: an empty key)
        strings = kb.vocab.strings
        key_ids: List[int] = []
        entities: List[int] = []
        for alias in np.flatnonzero(n_words[key_of_alias] > 1):
            key_id = int(key_of_alias[alias])
            for c in kb.get_alias_candidates(strings[int(tokens.alias_hashes[alias])]):
                key_ids.append(key_id)
                entities.append(c.entity)
        entity_ids = np.array(entities, dtype=np.uint64)
        keys = np.array(key_ids, dtype=np.int64)
        del key_ids, entities, key_of_alias, spaces
        # Groups of the distinct keys of one entity with the same number of words: only they can pair up.
        lengths = n_words[keys]
        order = np.lexsort((keys, lengths, entity_ids))
        entity_ids, lengths, keys = entity_ids[order], lengths[order], keys[order]
        new_group = np.append(True, (entity_ids[1:] != entity_ids[:-1]) | (lengths[1:] != lengths[:-1]))
        distinct = new_group | np.append(True, keys[1:] != keys[:-1])
        entity_ids, keys, new_group = entity_ids[distinct], keys[distinct], new_group[distinct]
        firsts = np.flatnonzero(new_group)
        ends = np.append(firsts[1:], len(keys))
        pairs_of: Dict[int, set] = {}  # entity -> its word pairs
        for first, end in zip(firsts[ends - firsts > 1], ends[ends - firsts > 1]):
            words = [tokens.key(int(k)).split() for k in keys[first : min(end, first + max_keys)]]
            found = pairs_of.setdefault(int(entity_ids[first]), set())
            for i, one in enumerate(words):
                for other in words[i + 1 :]:
                    pair = _one_word_apart(one, other)
                    if pair is not None:
                        found.add(pair)
        counts: Dict[Tuple[str, str], int] = {}
        for found in pairs_of.values():
            for pair in found:
                counts[pair] = counts.get(pair, 0) + 1
        kept = sorted((pair, n) for pair, n in counts.items() if n >= min_entities and all(map(_substitutable, pair)))
        partners: Dict[str, List[Tuple[int, str]]] = {}
        for (a, b), n in kept:
            partners.setdefault(a, []).append((-n, b))
            partners.setdefault(b, []).append((-n, a))
        self.substitutes: Dict[str, Tuple[str, ...]] = {
            word: tuple(b for _, b in sorted(found)[:max_substitutes]) for word, found in partners.items()
        }
        self.n_pairs = len(kept)
        self.build_seconds = time.perf_counter() - start

    def variants(self, key: str) -> Iterator[str]:
        """Token keys of `key` with one word replaced by a learned partner, in word order, then partner order."""
        words = key.split()
        for i, word in enumerate(words):
            for other in self.substitutes.get(word, ()):
                yield " ".join(sorted(words[:i] + [other] + words[i + 1 :]))


def _one_word_apart(a: List[str], b: List[str]) -> Optional[Tuple[str, str]]:
    """The (sorted) pair of words that tells two sorted word lists of the same length apart, if exactly one does."""
    i = j = 0
    only_a: List[str] = []
    only_b: List[str] = []
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
        elif a[i] < b[j]:
            only_a.append(a[i])
            i += 1
        else:
            only_b.append(b[j])
            j += 1
        if len(only_a) > 1 or len(only_b) > 1:
            return None
    only_a.extend(a[i:])
    only_b.extend(b[j:])
    if len(only_a) != 1 or len(only_b) != 1:
        return None
    x, y = only_a[0], only_b[0]
    return (x, y) if x < y else (y, x)


class KBIndex:
    """The indexes of one KB's aliases: the normalised keys (built at once), and, each built on first use, the
    trigram index of the normalised keys (`ngrams`), the token keys (`tokens`), the TF-IDF index of the words'
    trigrams of the token keys (`token_ngrams`) and the word substitutions learned from the KB (`synonyms`).
    `get_aliases` gives the alias list again for the token keys (by default the list given, which is then kept)."""

    def __init__(self, aliases: Sequence[str], get_aliases: Optional[Callable[[], Sequence[str]]] = None):
        self.normalized = NormalizedIndex(aliases)
        self._get_aliases = get_aliases if get_aliases is not None else (lambda: aliases)
        self._ngrams: Optional[NgramIndex] = None
        self._tokens: Optional[NormalizedIndex] = None
        self._token_ngrams: Optional[NgramIndex] = None
        self._synonyms: Optional[WordSubstitutions] = None
        self._lock = threading.Lock()

    @property
    def ngrams(self) -> NgramIndex:
        if self._ngrams is None:
            with self._lock:
                if self._ngrams is None:
                    self._ngrams = NgramIndex(self.normalized)
        return self._ngrams

    @property
    def tokens(self) -> NormalizedIndex:
        if self._tokens is None:
            with self._lock:
                if self._tokens is None:
                    aliases = self._get_aliases()
                    same = len(aliases) == len(self.normalized.alias_hashes)  # (the KB did not change meanwhile)
                    hashes = self.normalized.alias_hashes if same else None
                    self._tokens = NormalizedIndex(aliases, token_key, hashes)
        return self._tokens

    @property
    def token_ngrams(self) -> NgramIndex:
        if self._token_ngrams is None:
            tokens = self.tokens
            with self._lock:
                if self._token_ngrams is None:
                    self._token_ngrams = NgramIndex(tokens, words=True, weighted=True)
        return self._token_ngrams

    def synonyms(self, kb: KnowledgeBase) -> WordSubstitutions:
        """The word substitutions learned from `kb` (this index's KB), built on first use."""
        if self._synonyms is None:
            tokens = self.tokens
            with self._lock:
                if self._synonyms is None:
                    self._synonyms = WordSubstitutions(kb, tokens)
        return self._synonyms

    @property
    def nbytes(self) -> int:
        built = (self.normalized, self._ngrams, self._tokens, self._token_ngrams)
        shared = self._tokens is not None and self._tokens.alias_hashes is self.normalized.alias_hashes
        return sum(index.nbytes for index in built if index is not None) - (
            self.normalized.alias_hashes.nbytes if shared else 0
        )


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
        index = KBIndex(kb.get_alias_strings(), kb.get_alias_strings)
        _INDEXES[id(kb)] = (kb, size, index)
        while len(_INDEXES) > _MAX_CACHED_KBS:
            _INDEXES.popitem(last=False)
        return index


# ---------------------------------------------------------------------------------------------------------------
# Generators


def _best_first(candidates: Iterable[Candidate]) -> List[Candidate]:
    return sorted(candidates, key=lambda c: (-c.prior_prob, c.entity_))


def _key_candidates(kb: KnowledgeBase, keys: NormalizedIndex, hits: Iterable[Tuple[int, float]]) -> List[Candidate]:
    """Candidates of all aliases of the given (key id, similarity) hits of `keys`, one per entity with the best
    prior (prior x similarity), best first."""
    best: Dict[int, Candidate] = {}
    for key_id, similarity in hits:
        for alias_hash in keys.aliases_of(key_id):
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
    return _key_candidates(kb, index.normalized, [(key_id, 1.0)]) if key_id >= 0 else []


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
    return _key_candidates(kb, index.normalized, hits)


def _scaled(candidate: Candidate, factor: float) -> Candidate:
    return Candidate(
        kb=candidate.kb,
        entity_hash=candidate.entity,
        entity_freq=candidate.entity_freq,
        entity_vector=candidate.entity_vector,
        alias_hash=candidate.alias,
        prior_prob=candidate.prior_prob * factor,
    )


# Neighbours added to what the earlier stages found rank below the lowest of those: even a token key with the same
# trigrams (cosine 1.0) and prior 1.0 as the exact alias.
_BELOW = 0.99
# The similarity given to a token key reached by a learned word substitution.
SYNONYM_SIMILARITY = 0.9


def tfidf_candidates(
    kb: KnowledgeBase,
    span: Span,
    min_similarity: float = 0.4,
    max_aliases: int = 10,
    min_candidates: int = 0,
    synonyms: bool = True,
) -> List[Candidate]:
    """The normalised chain, then all aliases sharing the mention's token key (`token_key`: word order,
    inflection, stop words, Greek letters), then, when nothing was found, the `max_aliases` token keys most
    similar to the mention's (cosine of TF-IDF vectors of the words' character trigrams >= min_similarity) and,
    with `synonyms`, the token keys of the mention with one word replaced by a partner learned from the KB
    (`WordSubstitutions`; similarity 0.9); priors scaled by the similarity, one candidate per entity.

    With `min_candidates`, the similar keys are also looked up when the earlier stages found fewer entities than
    that, and their entities are added (up to `min_candidates` in all) after those found: their priors are
    scaled by the similarity and by 0.99 times the lowest prior found, so they rank below them."""
    candidates = normalized_candidates(kb, span)
    if candidates and len(candidates) >= min_candidates:
        return candidates
    index = kb_index(kb)
    if index is None:
        return candidates
    key = token_key(span.text)
    if not candidates:
        key_id = index.tokens.find(key)
        if key_id >= 0:
            candidates = _key_candidates(kb, index.tokens, [(key_id, 1.0)])
            if len(candidates) >= min_candidates:
                return candidates
    hits = dict(index.token_ngrams.search_cosine(key, min_similarity, max_aliases))
    if synonyms:
        for variant in index.synonyms(kb).variants(key):
            key_id = index.tokens.find(variant)
            if key_id >= 0 and hits.get(key_id, 0.0) < SYNONYM_SIMILARITY:
                hits[key_id] = SYNONYM_SIMILARITY
    similar = _key_candidates(kb, index.tokens, sorted(hits.items()))
    if not candidates:
        return similar
    floor = min(c.prior_prob for c in candidates) * _BELOW
    known = {c.entity for c in candidates}
    added = [_scaled(c, floor) for c in similar if c.entity not in known][: min_candidates - len(candidates)]
    return candidates + _best_first(added)


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


def _check_tfidf_settings(min_similarity: float, max_aliases: int, min_candidates: int) -> None:
    _check_fuzzy_settings(min_similarity, max_aliases)
    if min_candidates < 0:
        raise ValueError(f"min_candidates must be at least 0, got {min_candidates}")


@registry.misc("wikiel.TfidfCandidates.v1")
def make_tfidf_candidates(
    min_similarity: float = 0.4, max_aliases: int = 10, min_candidates: int = 0, synonyms: bool = True
) -> Callable[[KnowledgeBase, Span], Iterable[Candidate]]:
    """The normalised chain, then the token key (word order, inflection, stop words, Greek letters), then TF-IDF
    cosine of character trigrams and word substitutions learned from the KB when nothing is found (or fewer than
    `min_candidates` entities: those found first, the similar ones after them)."""
    _check_tfidf_settings(min_similarity, max_aliases, min_candidates)

    def get_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
        return tfidf_candidates(kb, span, min_similarity, max_aliases, min_candidates, synonyms)

    return get_candidates


@registry.misc("wikiel.TfidfCandidatesBatch.v1")
def make_tfidf_candidates_batch(
    min_similarity: float = 0.4, max_aliases: int = 10, min_candidates: int = 0, synonyms: bool = True
) -> Callable[[KnowledgeBase, Iterable[Span]], Iterable[Iterable[Candidate]]]:
    return _batch(make_tfidf_candidates(min_similarity, max_aliases, min_candidates, synonyms))


GENERATORS: Dict[str, Callable[[KnowledgeBase, Span], List[Candidate]]] = {
    "exact": exact_candidates,
    "case": case_candidates,
    "normalized": normalized_candidates,
    "fuzzy": make_fuzzy_candidates(),
    "tfidf": make_tfidf_candidates(),
    "tfidf-fill": make_tfidf_candidates(max_aliases=20, min_candidates=10),  # as configs/nel-biomedical.cfg
}
