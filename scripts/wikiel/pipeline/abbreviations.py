"""Abbreviation definitions ("long form (SHORT)") and a component that links every use of a defined short form.

- `find_abbreviations(doc)`: (long form, short form) span pairs, found with the algorithm of Schwartz & Hearst,
  "A simple algorithm for identifying abbreviation definitions in biomedical text" (PSB 2003):
  * a definition is `long form ( short form )` or, when that fails, `short form ( long form )`; nested
    parentheses are paired properly; the parenthesised text is cut at its first `;`, `,` or nested `(`
    ("(WHO; 1948)" -> "WHO"); the long form, and the short form, must be in the sentence of the `(` (when
    sentence boundaries are set; the closing `)` may be later, as a splitter may cut "(IL-6; ref. 12)");
  * a short form has 2-10 characters, at least one letter, an alphanumeric first character and at most 2 words;
  * the long-form candidate is at most min(|A| + 5, |A| * 2) words (|A| = characters of the short form) right
    before the parenthesis, not crossing the sentence start or another bracket;
  * the short form's characters are matched right to left in the long-form candidate (non-alphanumeric
    characters of the short form are skipped), the first one at a word start (after a space, hyphen, ...); the
    long form then starts at the whitespace-delimited word holding that first match. Matching is case-insensitive
    and Greek letters match their names ("TNF-α" <- "tumour necrosis factor alpha");
  * rejected: long forms not longer than the short form or containing it; short forms starting with a cue word
    ("e.g.", "see", "which", "Fig", ...), containing `=`, `<`, `>`, `%`, lower-case roman numerals, plain words
    (lower-case and longer than 3 letters, or capitalised and longer than 4: "(data)", "(Smith, 2010)").
    In the reverse pattern the short form must also contain an upper-case letter ("company (which ...)" is not).
- `wikiel_abbreviations` (`AbbreviationLinker`), placed after the entity linker: for each definition the entity of
  the long form is, in this order,
  1. the QID of a linked ent (kb_id not NIL) spanning exactly the long form;
  2. the QID of a linked ent ending where the long form ends and covering all of it ("the US Food and Drug
     Administration" for "Food and Drug Administration (FDA)");
  3. the QID of a linked ent ending where the long form ends and inside it, *only if* its own text still explains
     the short form by the same character matching. A shorter ent names a different, more generic thing: "Health
     Organization" inside "World Health Organization" is NOT used for WHO (it cannot explain the "W"), while
     "inflammatory drug" inside "anti-inflammatory drug" is used for "ID";
  4. with `lookup_long_form`, the candidate with the highest prior of `el.get_candidates(el.kb, long_form)` from
     the pipeline's `entity_linker` (ties broken by entity id).
  Every occurrence of the short form text in the doc (same characters on token boundaries, not followed or
  preceded by a letter or digit; the one of the definition too unless `link_definition` is false) then becomes
  an ent with that QID, the long form ent's label (for a KB lookup: the linker's entity type if it has
  `entity_types`, else the label of an unlinked ent on the long form, else "ENTITY") and `span._.kb_score` = the
  long form ent's score (if it has none, e.g. with spaCy's plain EntityLinker: the prior of that QID for the ent's
  text) or the looked-up candidate's prior. An occurrence uses the nearest definition of its short form before
  it (the first one when it comes before all). Ents linked to a QID are never changed: an occurrence
  overlapping one is skipped. Unlinked ents (NIL or no kb_id) overlapping a new ent are removed. Where
  occurrences of different short forms overlap ("TNF" and "TNF-α") the longer one wins.
  `doc._.abbreviations` lists all definitions found as (short_span, long_span), linked or not (stored as token
  offsets in `doc.user_data`, so docs stay serialisable).

This module imports only the standard library, numpy and spaCy: `spacy package --code` ships it with the pipeline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.pipeline import EntityLinker
from spacy.tokens import Doc, Span
from spacy.util import SimpleFrozenList

MENTION_LABEL = "ENTITY"
NIL = "NIL"
_USER_DATA_KEY = "wikiel_abbreviations"

OPEN, CLOSE = "(", ")"
BRACKETS = {"(", ")", "[", "]", "{", "}"}
CUTS = {";", ","}
GREEK = {
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
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
# first words of parenthesised text that is not a short form (lower-cased, trailing "." removed)
CUE_WORDS = frozenset(
    """
e.g eg i.e ie cf see ref refs fig figs figure figures table tables tab suppl supplementary appendix ca approx vs
etc and or but nor which who whom whose that this these those the a an in on of for with without from to by as at
is was are were be been not also here there above below respectively including such when where if it its we they
he she his her our their all both each only mainly mostly about see also et al ibid
""".split()
)
ROMAN = frozenset("i ii iii iv v vi vii viii ix x xi xii".split())
BAD_SHORT_CHARS = set("=<>%±")
POSSESSIVE = {"'s", "’s", "'", "’"}

if not Span.has_extension("kb_score"):
    Span.set_extension("kb_score", default=None)


def _get_abbreviations(doc: Doc) -> List[Tuple[Span, Span]]:
    return [(doc[a:b], doc[c:d]) for a, b, c, d in doc.user_data.get(_USER_DATA_KEY, ())]


def _set_abbreviations(doc: Doc, pairs: Sequence[Tuple[Span, Span]]) -> None:
    doc.user_data[_USER_DATA_KEY] = [(s.start, s.end, lf.start, lf.end) for s, lf in pairs]


if not Doc.has_extension("abbreviations"):
    Doc.set_extension("abbreviations", getter=_get_abbreviations, setter=_set_abbreviations)


# ---- the Schwartz & Hearst matching --------------------------------------------------------------------------
def _normalise(text: str) -> Tuple[str, List[int]]:
    """Lower-cased text with Greek letters spelled out and all whitespace as " ", and per character the index of
    the character of `text` it comes from."""
    chars: List[str] = []
    origin: List[int] = []
    for i, ch in enumerate(text):
        low = ch.lower()
        rep = GREEK.get(low, " " if ch.isspace() else low)
        chars.extend(rep)
        origin.extend([i] * len(rep))
    return "".join(chars), origin


def long_form_start(short: str, text: str) -> Optional[int]:
    """Character offset in `text` where the long form of `short` starts (Schwartz & Hearst's right-to-left
    matching), or None when `text` does not explain `short`."""
    s, _ = _normalise(short)
    lf, origin = _normalise(text)
    si, li = len(s) - 1, len(lf) - 1
    while si >= 0:
        ch = s[si]
        if not ch.isalnum():
            si -= 1
            continue
        # the first character of the short form must be at a word start
        while li >= 0 and (lf[li] != ch or (si == 0 and li > 0 and lf[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return None
        li -= 1
        si -= 1
    start = lf.rfind(" ", 0, li + 1) + 1
    return origin[start] if start < len(origin) else None


def _span_text(doc: Doc, start: int, end: int) -> str:
    return doc[start:end].text


def _is_cue(text: str) -> bool:
    """Whether `text` starts with a cue word ("e.g.", "see", "which", "Fig", ...); all-capital words ("OR",
    "ALL", "AN") are not cues."""
    words = text.split()
    if not words:
        return False
    word = words[0]
    return word.lower().rstrip(".") in CUE_WORDS and not (len(word) > 1 and word.isupper())


def valid_short_form(text: str, reverse: bool = False) -> bool:
    """The Schwartz & Hearst conditions on a short form plus the rejections listed in the module docstring."""
    if not 2 <= len(text) <= 10 or len(text.split()) > 2:
        return False
    if not text[0].isalnum() or not any(c.isalpha() for c in text):
        return False
    if BAD_SHORT_CHARS & set(text):
        return False
    if _is_cue(text) or text in ROMAN:
        return False
    if text.isalpha() and text.islower() and len(text) > 3:
        return False
    if text.isalpha() and text[0].isupper() and text[1:].islower() and len(text) > 4:
        return False
    if reverse and not any(c.isupper() for c in text):
        return False
    return True


def _strip(doc: Doc, start: int, end: int) -> Tuple[int, int]:
    """Token range without leading/trailing punctuation (and a trailing possessive)."""
    while start < end and (doc[start].is_punct or doc[start].is_quote):
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].is_quote or doc[end - 1].lower_ in POSSESSIVE):
        end -= 1
    return start, end


def _last_words(doc: Doc, start: int, end: int, n_words: int) -> int:
    """The first token of the last `n_words` whitespace-delimited words of doc[start:end]."""
    words = 0
    i = end
    while i > start:
        i -= 1
        if i == start or doc[i - 1].whitespace_:
            words += 1
            if words == n_words:
                return i
    return start


def _match_long_form(doc: Doc, short: str, start: int, end: int) -> Optional[Tuple[int, int]]:
    """Token range of the long form of `short` within doc[start:end], or None."""
    start, end = _strip(doc, start, end)
    if start >= end:
        return None
    start = _last_words(doc, start, end, min(len(short) + 5, len(short) * 2))
    base = doc[start].idx
    offset = long_form_start(short, doc.text[base : doc[end - 1].idx + len(doc[end - 1])])
    if offset is None:
        return None
    char = base + offset
    first = next((t.i for t in doc[start:end] if t.idx <= char < t.idx + max(len(t), 1)), None)
    if first is None:
        return None
    first, end = _strip(doc, first, end)
    if first >= end:
        return None
    long_text = _span_text(doc, first, end)
    if len(long_text) <= len(short):
        return None
    if re.search(r"(?<!\w)" + re.escape(short) + r"(?!\w)", long_text):
        return None
    return first, end


def _paren_pairs(doc: Doc, start: int, end: int) -> List[Tuple[int, int]]:
    """(open, close) token indices of the matched round parentheses in doc[start:end], by open position."""
    stack: List[int] = []
    pairs: List[Tuple[int, int]] = []
    for tok in doc[start:end]:
        if tok.text == OPEN:
            stack.append(tok.i)
        elif tok.text == CLOSE and stack:
            pairs.append((stack.pop(), tok.i))
    return sorted(pairs)


def _sentences(doc: Doc) -> List[Tuple[int, int]]:
    if len(doc) and (doc.has_annotation("SENT_START") or doc.has_annotation("DEP")):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]


def find_abbreviations(doc: Doc) -> List[Tuple[Span, Span]]:
    """(long form, short form) span pairs of the abbreviation definitions in `doc` (see the module docstring)."""
    out: List[Tuple[Span, Span]] = []
    bounds: List[Tuple[int, int]] = [(0, 0)] * len(doc)
    for sent in _sentences(doc):
        for i in range(*sent):
            bounds[i] = sent
    # parentheses are paired over the doc: a sentence splitter may cut "(IL-6; ref. 12)" after "ref."; the
    # short form (or, reversed, the long form) must still be in the sentence of the "("
    for open_i, close_i in _paren_pairs(doc, 0, len(doc)):
        sent_start, sent_end = bounds[open_i]
        # the text in the parentheses, up to ";", "," or a nested "("
        inner_end = next((t.i for t in doc[open_i + 1 : close_i] if t.text in CUTS or t.text == OPEN), close_i)
        in_start, in_end = _strip(doc, open_i + 1, inner_end)
        if in_start >= in_end or in_end > sent_end:
            continue
        inner = _span_text(doc, in_start, in_end)
        if _is_cue(inner):
            continue
        # the text before the parenthesis, back to the sentence start or the previous bracket
        win_start = open_i
        while win_start > sent_start and doc[win_start - 1].text not in BRACKETS:
            win_start -= 1
        pair = None
        if valid_short_form(inner):
            found = _match_long_form(doc, inner, win_start, open_i)
            if found:
                pair = (doc[found[0] : found[1]], doc[in_start:in_end])
        if pair is None and win_start < open_i and close_i < sent_end:
            # reverse: SHORT (long form); the short form is the whitespace-delimited word before "("
            s_end = open_i
            s_start = s_end - 1
            while s_start > win_start and not doc[s_start - 1].whitespace_:
                s_start -= 1
            s_start, s_end = _strip(doc, s_start, s_end)
            short = _span_text(doc, s_start, s_end) if s_start < s_end else ""
            if short and valid_short_form(short, reverse=True):
                found = _match_long_form(doc, short, in_start, in_end)
                if found and found[1] == in_end:
                    pair = (doc[found[0] : found[1]], doc[s_start:s_end])
        if pair is not None:
            out.append(pair)
    return out


# ---- the component -------------------------------------------------------------------------------------------
def _is_linked(span: Span) -> bool:
    return bool(span.kb_id_) and span.kb_id_ != NIL


def _occurrences(doc: Doc, text: str) -> List[Tuple[int, int]]:
    """Token ranges where `text` occurs on token boundaries, not glued to a letter or digit."""
    out = []
    for m in re.finditer(r"(?<![^\W_])" + re.escape(text) + r"(?![^\W_])", doc.text):
        span = doc.char_span(m.start(), m.end(), alignment_mode="strict")
        if span is not None:
            out.append((span.start, span.end))
    return out


class AbbreviationLinker:
    """Links every occurrence of a defined short form to its long form's entity (see the module docstring)."""

    def __init__(
        self, nlp: Language, name: str = "abbreviations", lookup_long_form: bool = True, link_definition: bool = True
    ):
        self.nlp = nlp
        self.name = name
        self.cfg = {"lookup_long_form": bool(lookup_long_form), "link_definition": bool(link_definition)}

    @property
    def lookup_long_form(self) -> bool:
        return bool(self.cfg["lookup_long_form"])

    @property
    def link_definition(self) -> bool:
        return bool(self.cfg["link_definition"])

    def entity_linker(self) -> Optional[EntityLinker]:
        """The pipeline's component named "entity_linker", else its first EntityLinker, if it has a KB."""
        procs = dict(self.nlp.pipeline)
        el = procs.get("entity_linker")
        if not isinstance(el, EntityLinker):
            el = next((p for p in procs.values() if isinstance(p, EntityLinker)), None)
        return el if el is not None and getattr(el, "kb", None) is not None else None

    @staticmethod
    def _candidates(el: Optional[EntityLinker], span: Span) -> list:
        if el is None:
            return []
        return sorted(el.get_candidates(el.kb, span), key=lambda c: (-c.prior_prob, c.entity_))

    def resolve(
        self, doc: Doc, long_form: Span, short_form: Span, el: Optional[EntityLinker] = None
    ) -> Optional[Tuple[str, str, Optional[float]]]:
        """(QID, label, score) of the long form's entity, or None."""
        linked = [e for e in doc.ents if _is_linked(e) and e.end == long_form.end]
        exact = [e for e in linked if e.start == long_form.start]
        covering = sorted((e for e in linked if e.start < long_form.start), key=lambda e: e.start)
        inside = sorted(
            (e for e in linked if e.start > long_form.start and long_form_start(short_form.text, e.text) is not None),
            key=lambda e: e.start,
        )
        for ent in exact + covering + inside:
            score = ent._.kb_score
            if score is None:
                score = next((float(c.prior_prob) for c in self._candidates(el, ent) if c.entity_ == ent.kb_id_), None)
            return ent.kb_id_, ent.label_ or MENTION_LABEL, score
        if self.lookup_long_form and el is not None:
            candidates = self._candidates(el, long_form)
            if candidates:
                best = candidates[0]
                label = getattr(el, "entity_types", {}).get(best.entity_)
                if not label:
                    label = next(
                        (
                            e.label_
                            for e in doc.ents
                            if e.start == long_form.start and e.end == long_form.end and e.label_
                        ),
                        MENTION_LABEL,
                    )
                return best.entity_, label, float(best.prior_prob)
        return None

    def __call__(self, doc: Doc) -> Doc:
        pairs = find_abbreviations(doc)
        doc._.abbreviations = [(short, long_form) for long_form, short in pairs]
        if not pairs:
            return doc
        el = self.entity_linker()
        # short form text -> [(position of the definition, span of its short form, (QID, label, score))]
        definitions: Dict[str, List[Tuple[int, Tuple[int, int], Tuple[str, str, Optional[float]]]]] = {}
        for long_form, short in pairs:
            resolved = self.resolve(doc, long_form, short, el)
            if resolved is not None:
                definitions.setdefault(short.text, []).append(
                    (min(short.start, long_form.start), (short.start, short.end), resolved)
                )
        if not definitions:
            return doc
        proposals = []  # (start, end, QID, label, score)
        for text, defs in definitions.items():
            defs.sort(key=lambda d: d[0])
            def_spans = {d[1] for d in defs}
            for start, end in _occurrences(doc, text):
                if not self.link_definition and (start, end) in def_spans:
                    continue
                before = [d for d in defs if d[0] <= start]
                qid, label, score = (before[-1] if before else defs[0])[2]
                proposals.append((start, end, qid, label, score))
        ents = list(doc.ents)
        taken = {i for e in ents if _is_linked(e) for i in range(e.start, e.end)}
        new_ents = []
        for start, end, qid, label, score in sorted(proposals, key=lambda p: (p[0] - p[1], p[0])):
            if any(i in taken for i in range(start, end)):
                continue
            taken.update(range(start, end))
            new_ents.append((Span(doc, start, end, label=label, kb_id=qid), score))
        if not new_ents:
            return doc
        new_tokens = {i for span, _ in new_ents for i in range(span.start, span.end)}
        kept = [e for e in ents if _is_linked(e) or not any(i in new_tokens for i in range(e.start, e.end))]
        doc.ents = sorted(kept + [span for span, _ in new_ents], key=lambda s: s.start)
        for span, score in new_ents:
            span._.kb_score = score
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    # ---- serialisation: only the settings ----
    def to_bytes(self, *, exclude=SimpleFrozenList()) -> bytes:
        return json.dumps(self.cfg, sort_keys=True).encode("utf8")

    def from_bytes(self, data: bytes, *, exclude=SimpleFrozenList()) -> AbbreviationLinker:
        self.cfg.update(json.loads(data.decode("utf8")))
        return self

    def to_disk(self, path, *, exclude=SimpleFrozenList()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "cfg.json").write_text(json.dumps(self.cfg, indent=2, sort_keys=True), encoding="utf8")

    def from_disk(self, path, *, exclude=SimpleFrozenList()) -> AbbreviationLinker:
        cfg_path = Path(path) / "cfg.json"
        if cfg_path.exists():
            self.cfg.update(json.loads(cfg_path.read_text(encoding="utf8")))
        return self


@Language.factory(
    "wikiel_abbreviations",
    requires=["doc.ents"],
    assigns=["doc.ents", "token.ent_kb_id", "span._.kb_score", "doc._.abbreviations"],
    default_config={"lookup_long_form": True, "link_definition": True},
)
def make_abbreviation_linker(
    nlp: Language, name: str, lookup_long_form: bool, link_definition: bool
) -> AbbreviationLinker:
    return AbbreviationLinker(nlp, name, lookup_long_form=lookup_long_form, link_definition=link_definition)
