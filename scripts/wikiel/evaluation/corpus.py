"""evaluate-corpus: a built linker scored on an annotated corpus the way biomedical entity-linking papers report.

The corpus is a list of `GoldDoc`s (id, text, mentions with character offsets, a mention class and the *acceptable*
gold ids of each mention); `gold_from_custom` makes them from the custom-KB documents (`wikiel.sources.custom`),
`gold_from_pubtator` from PubTator documents (NCBI-disease), resolving each annotated id through a vocabulary
(MEDIC: alternative ids -> primary id; unprefixed MeSH `D008661` -> `MESH:D008661`). A mention annotated with
several ids (NCBI-disease joins them with `|` or `+`: "breast and ovarian cancer", mostly CompositeMention) keeps
them all; an id the vocabulary does not know is kept as written (normalised), so it can never be matched.

Measures (every ratio is micro-averaged over the mentions or documents of the corpus):

- **Gold mentions given** (BioSyn's setting). Each gold span is a mention of the pipeline's own doc (tokens split at
  the gold offsets where a token crosses them; the pipes before the entity linker run, the mention detector does
  not). Its candidates come from the pipeline's candidate generator and are ranked by the linker's own score (the
  `ScoredEntityLinker`'s `p + s - p*s` of prior and context similarity; ties by entity id, so the first is what the
  linker predicts). **accuracy@k**: the share of *all* gold mentions with a gold id among the first k ranked ids.
  Rule for mentions with several ids, as BioSyn scores them (`+` read as `|`, correct if the predicted id is any of
  the gold ids): *any* of its ids counts. **strict accuracy@k**: *every* id of the mention among the first k (at
  k=1 a mention with two concepts can never be right: a linker gives one id per span). Mentions whose ids are all
  outside the KB count as wrong (`in_kb_accuracy@k` leaves them out). **candidate recall@k**: a gold id among the
  first k candidates ranked by prior (ties by id); **oracle**: a gold id among any candidate (the ceiling of
  accuracy@k). `accuracy@1_nil_threshold`: the top id right *and* its score at or above the linker's NIL threshold.
  `pipeline_accuracy`: the pipeline run on the gold spans, the id it leaves on the span right: `as_built` (NIL
  threshold, abbreviation component: an unlinked short form takes the entity of its long form) and
  `without_abbreviations` (equal to `accuracy@1_nil_threshold`: the same scores).
- **End to end**: the full pipeline on raw text. Predictions are the spans linked to an id (NIL and unlinked spans
  are not predictions; counted apart). *Mention level*, strict: a prediction is right when its character span
  equals a gold mention's and its id is one of that mention's ids (each gold mention matched at most once);
  precision = right / predictions, recall = right / gold mentions. *Document level* (concepts per document, as
  DNorm and TaggerOne report): per document the set of predicted ids against the set of gold ids (every id of every
  mention), true positives summed over documents. *Detection*: spans only (NIL spans included), no ids.
- **Per mention class** (SpecificDisease, DiseaseClass, Modifier, CompositeMention): gold-mention accuracy@k and
  end-to-end mention-level recall.
- **Abbreviations**: the end-to-end figures with the pipeline's `abbreviations` component disabled and enabled.

Published figures on NCBI-disease (`PUBLISHED_NCBI_DISEASE`) are data, not computed here; the report shows them
beside this linker's figure of the same setting, labelled as published.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Set, Tuple

from spacy.kb import Candidate
from spacy.language import Language
from spacy.tokens import Doc, Span

from wikiel import defaults
from wikiel.evaluation.recall import ranked_ids
from wikiel.linker.build import prf
from wikiel.pipeline.components import MENTION_LABEL, NIL, ScoredEntityLinker, as_scored_linker
from wikiel.sources.custom import MentionDoc, read_mentions
from wikiel.sources.ontology import Vocabulary, read_vocabulary
from wikiel.sources.pubtator import Tally, first_line, is_pubtator, read_pubtator
from wikiel.util import InputError, PathLike

MENTION_DETECTOR = "mention_detector"
ENTITY_LINKER = "entity_linker"
ABBREVIATIONS = "abbreviations"
ACCURACY_AT = (1, 5)
RECALL_AT = (1, 5, 10)
MENTION_CLASSES = ("SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention")  # NCBI-disease's, in order
NO_CLASS = "(none)"
ID_SEPARATORS = re.compile(r"[|+]")
MESH_RE = re.compile(r"[CD]\d+")
NCBI_DISEASE_RE = re.compile(r"ncbi.*(disease|corpus)", re.IGNORECASE)
AS_BUILT, WITHOUT = "as_built", "without_abbreviations"  # pipeline variants
CUSTOM_SUFFIXES = (".jsonl", ".spacy")
FORMATS = ("auto", "pubtator", "custom")


# ---- gold data ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldMention:
    """One annotated mention: character offsets into the document text, the acceptable gold ids (distinct, in
    annotation order; empty when the annotation gave none) and the mention class ("" when the corpus has none)."""

    start: int
    end: int
    ids: Tuple[str, ...]
    cls: str = ""

    @property
    def label(self) -> str:
        return self.cls or NO_CLASS


@dataclass
class GoldDoc:
    id: str
    text: str
    mentions: List[GoldMention]


class IdResolver(Protocol):
    """What the metric needs of a vocabulary: the primary id of an annotated id (None when unknown) and a status."""

    def resolve(self, raw_id: str) -> Tuple[Optional[str], str]: ...


class PubtatorMentionLike(Protocol):
    """What the adapter reads of a `wikiel.sources.pubtator.PubtatorMention`."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def cls(self) -> str: ...

    @property
    def ids(self) -> Tuple[str, ...]: ...


class PubtatorDocLike(Protocol):
    """What the adapter reads of a `wikiel.sources.pubtator.PubtatorDoc`."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def mentions(self) -> Sequence[PubtatorMentionLike]: ...


def normalize_id(raw_id: str) -> str:
    """An annotated id as the KB writes it: surrounding spaces dropped, unprefixed MeSH ids (`D008661`,
    `C535468`) prefixed `MESH:`."""
    raw_id = raw_id.strip()
    return f"MESH:{raw_id}" if MESH_RE.fullmatch(raw_id) else raw_id


def split_ids(raw: str) -> List[str]:
    """The ids of an annotation joined by `|` or `+`, blanks dropped."""
    return [part.strip() for part in ID_SEPARATORS.split(raw) if part.strip()]


def _trimmed(text: str, start: int, end: int) -> Tuple[int, int]:
    """Offsets without the surrounding whitespace of the span (unchanged for a blank span)."""
    surface = text[start:end]
    stripped = surface.strip()
    if not stripped:
        return start, end
    start += len(surface) - len(surface.lstrip())
    return start, start + len(stripped)


def _resolve(
    raw_ids: Iterable[str], vocabulary: Optional[IdResolver], counts: Counter, normalize: bool
) -> Tuple[str, ...]:
    """The distinct ids a mention's annotated ids stand for: each one's primary id in `vocabulary`, else the id as
    written (normalised by `normalize_id` when `normalize`)."""
    ids: List[str] = []
    for raw in raw_ids:
        counts["ids"] += 1
        primary: Optional[str] = None
        if vocabulary is not None:
            primary, status = vocabulary.resolve(raw)
            counts[f"status:{status}"] += 1
            counts["unresolved"] += primary is None
        resolved = primary or (normalize_id(raw) if normalize else raw)
        if resolved not in ids:
            ids.append(resolved)
    counts["mentions"] += 1
    counts["multi_id_mentions"] += len(ids) > 1
    counts["mentions_without_id"] += not ids
    return tuple(ids)


def gold_from_custom(
    docs: Iterable[MentionDoc], vocabulary: Optional[IdResolver] = None
) -> Tuple[List[GoldDoc], Dict[str, int]]:
    """Custom-KB documents (`wikiel.sources.custom.read_mentions`: one id per span, plus the other ids of a
    composite span, no mention class) as gold, and counts of their ids; with a vocabulary each id is resolved to its
    primary id, else kept as written."""
    counts: Counter = Counter()
    out = []
    for doc in docs:
        mentions = []
        for start, end, span_id in doc.spans:
            raw = [span_id, *doc.composite.get((start, end), ())]
            mentions.append(GoldMention(*_trimmed(doc.text, start, end), _resolve(raw, vocabulary, counts, False)))
        out.append(GoldDoc(str(doc.id), doc.text, mentions))
    return out, dict(sorted(counts.items()))


def gold_from_pubtator(
    docs: Iterable[PubtatorDocLike], vocabulary: Optional[IdResolver] = None
) -> Tuple[List[GoldDoc], Dict[str, int]]:
    """PubTator documents (`wikiel.sources.pubtator.read_pubtator`) as gold, and counts of how their ids resolved.
    Each annotated id goes through `vocabulary.resolve` (its primary id, or, when it is unknown, the id as written,
    normalised by `normalize_id`); without a vocabulary ids are only normalised. Ids still joined by `|` or `+`
    are split."""
    out: List[GoldDoc] = []
    counts: Counter = Counter()
    for doc in docs:
        mentions = [
            GoldMention(
                *_trimmed(doc.text, m.start, m.end),
                _resolve((part for joined in m.ids for part in split_ids(joined)), vocabulary, counts, True),
                m.cls,
            )
            for m in doc.mentions
        ]
        out.append(GoldDoc(str(doc.id), doc.text, mentions))
    return out, dict(sorted(counts.items()))


def corpus_format(path: PathLike) -> str:
    """ "custom" (a .jsonl or .spacy file, or a directory of them) or "pubtator" (a first line `PMID|t|title`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", hint="give a PubTator file or custom documents (.jsonl, .spacy)")
    if path.is_dir() or path.suffix in CUSTOM_SUFFIXES:
        return "custom"
    if is_pubtator(path):
        return "pubtator"
    if not first_line(path):
        raise InputError(path, "is empty: no document")
    raise InputError(
        path,
        "is neither a PubTator file nor custom documents",
        line=1,
        hint="PubTator starts with PMID|t|title; custom documents are .jsonl or .spacy (see wikiel/sources/custom.py)",
    )


def corpus_name(path: PathLike) -> str:
    """A corpus file's name without its suffixes (`NCBItestset_corpus.txt` -> `NCBItestset_corpus`)."""
    name = Path(path).name
    for suffix in (".gz", ".txt", ".pubtator", ".jsonl", ".spacy"):
        name = name.removesuffix(suffix)
    return name


def vocabulary_kind(path: PathLike) -> str:
    """ "obo" for an `.obo` file (also gzipped), else "ctd" (CTD's TSV vocabularies such as MEDIC)."""
    name = Path(path).name.lower()
    return "obo" if name.removesuffix(".gz").endswith(".obo") else "ctd"


def load_vocabulary(path: PathLike, kind: str = "auto") -> Vocabulary:
    """A vocabulary (`wikiel.sources.ontology`) to resolve gold ids with; `kind` auto: by the file name."""
    return read_vocabulary(path, vocabulary_kind(path) if kind == "auto" else kind)


def read_corpus(
    path: PathLike, fmt: str = "auto", vocabulary: Optional[IdResolver] = None, limit: Optional[int] = None
) -> Tuple[List[GoldDoc], Dict[str, int]]:
    """The gold documents of a corpus file (the first `limit`) and counts of how their ids resolved; InputError
    naming the file and line on bad input."""
    if fmt == "auto":
        fmt = corpus_format(path)
    if fmt == "custom":
        docs, counts = gold_from_custom(read_mentions(path, limit=limit or 0), vocabulary)
    elif fmt == "pubtator":
        tally = Tally()
        docs, counts = gold_from_pubtator(itertools.islice(read_pubtator(path, tally), limit), vocabulary)
        counts.update({f"reader:{key}": value for key, value in sorted(tally.counts.items())})
    else:
        raise ValueError(f"unknown corpus format {fmt!r} (auto, custom or pubtator)")
    if not docs:
        raise InputError(path, "holds no document")
    return docs, counts


def class_order(labels: Iterable[str]) -> List[str]:
    """NCBI-disease's classes first (those present), then the others by name."""
    present = set(labels)
    return [c for c in MENTION_CLASSES if c in present] + sorted(present - set(MENTION_CLASSES))


# ---- metrics on plain data ------------------------------------------------------------------------------------------
def is_link(kb_id: str) -> bool:
    return bool(kb_id) and kb_id != NIL


def correct_at(ranked: Sequence[str], gold: Sequence[str], k: int, strict: bool = False) -> bool:
    """Whether the first k ranked ids hold a gold id (`strict`: every gold id)."""
    top = set(ranked[:k])
    if strict:
        return bool(gold) and all(g in top for g in gold)
    return any(g in top for g in gold)


@dataclass
class RankedMention:
    """A gold mention with the linker's ranking of its candidates (`ranked`, by the linker's score), the candidates
    by prior (`by_prior`), the best score, whether any gold id is in the KB, and per pipeline variant the id the
    pipeline left on the span ("" for none, NIL)."""

    mention: GoldMention
    ranked: List[str]
    by_prior: List[str] = field(default_factory=list)
    top_score: Optional[float] = None
    in_kb: bool = True
    pipeline: Dict[str, str] = field(default_factory=dict)


def _share(count: float, n: float) -> Optional[float]:
    return round(count / n, 4) if n else None


def _accuracies(rows: Sequence[RankedMention], ks: Sequence[int], strict: bool = False) -> Dict[str, Optional[float]]:
    prefix = "strict_accuracy" if strict else "accuracy"
    return {
        f"{prefix}@{k}": _share(sum(correct_at(r.ranked, r.mention.ids, k, strict) for r in rows), len(rows))
        for k in ks
    }


def summarize_gold_mentions(
    rows: Sequence[RankedMention],
    nil_threshold: Optional[float] = None,
    ks: Sequence[int] = ACCURACY_AT,
    recall_ks: Sequence[int] = RECALL_AT,
) -> dict:
    """Accuracy@k (any gold id; strict: every gold id), candidate recall@k, per class (see the module docstring)."""
    n = len(rows)
    in_kb = [r for r in rows if r.in_kb]
    multi = [r for r in rows if len(r.mention.ids) > 1]
    nil_ok = sum(
        correct_at(r.ranked, r.mention.ids, 1)
        and (nil_threshold is None or (r.top_score is not None and r.top_score >= nil_threshold))
        for r in rows
    )
    candidates: Dict[str, Optional[float]] = {
        f"recall@{k}": _share(sum(correct_at(r.by_prior, r.mention.ids, k) for r in rows), n) for k in recall_ks
    }
    candidates["oracle"] = _share(sum(correct_at(r.by_prior, r.mention.ids, len(r.by_prior)) for r in rows), n)
    candidates["mean_candidates"] = round(sum(len(r.by_prior) for r in rows) / n, 2) if n else None
    candidates["no_candidates"] = _share(sum(not r.by_prior for r in rows), n)
    variants = [v for v in (AS_BUILT, WITHOUT) if any(v in r.pipeline for r in rows)]
    by_class = {}
    for cls in class_order(r.mention.label for r in rows):
        members = [r for r in rows if r.mention.label == cls]
        by_class[cls] = {"mentions": len(members), **_accuracies(members, ks), **_accuracies(members, ks, True)}
    return {
        "mentions": n,
        "in_kb": len(in_kb),
        "not_in_kb": n - len(in_kb),
        "multi_id": len(multi),
        "without_id": sum(not r.mention.ids for r in rows),
        **_accuracies(rows, ks),
        **_accuracies(rows, ks, strict=True),
        **{f"in_kb_{key}": value for key, value in _accuracies(in_kb, ks).items()},
        "accuracy@1_nil_threshold": _share(nil_ok, n),
        "nil_threshold": nil_threshold,
        "pipeline_accuracy": {
            v: _share(sum(r.pipeline.get(v, "") in r.mention.ids for r in rows), n) for v in variants
        },
        "candidates": candidates,
        "multi_id_mentions": {"mentions": len(multi), **_accuracies(multi, ks), **_accuracies(multi, ks, True)},
        "by_class": by_class,
    }


Prediction = Tuple[int, int, str]  # character start, end, id (NIL or "" when the span was left unlinked)


def score_end_to_end(
    docs: Sequence[GoldDoc],
    predictions: Sequence[Sequence[Prediction]],
    in_kb: Optional[Callable[[str], bool]] = None,
) -> dict:
    """Strict mention-level and document-level P/R/F1, span detection, NIL spans and per-class recall of the
    predictions of each document (see the module docstring). `in_kb` (id -> bool) adds the recall over gold
    mentions with an id in the KB."""
    if len(docs) != len(predictions):
        raise ValueError(f"{len(predictions)} prediction lists for {len(docs)} documents")
    n: Counter = Counter()
    gold_by_class: Counter = Counter()
    right_by_class: Counter = Counter()
    for doc, preds in zip(docs, predictions):
        by_span: Dict[Tuple[int, int], List[int]] = {}
        for i, m in enumerate(doc.mentions):
            by_span.setdefault((m.start, m.end), []).append(i)
            gold_by_class[m.label] += 1
        matched = [False] * len(doc.mentions)
        linked: Set[str] = set()
        spans: Set[Tuple[int, int]] = set()
        for start, end, kb_id in preds:
            spans.add((start, end))
            if not is_link(kb_id):
                n["nil"] += 1
                continue
            n["predicted"] += 1
            linked.add(kb_id)
            for i in by_span.get((start, end), ()):
                if not matched[i] and kb_id in doc.mentions[i].ids:
                    matched[i] = True
                    break
        gold_in_kb = [in_kb is not None and any(in_kb(g) for g in m.ids) for m in doc.mentions]
        n["gold"] += len(doc.mentions)
        n["right"] += sum(matched)
        n["gold_in_kb"] += sum(gold_in_kb)
        n["right_in_kb"] += sum(a and b for a, b in zip(matched, gold_in_kb))
        for m, ok in zip(doc.mentions, matched):
            right_by_class[m.label] += ok
        gold_spans = set(by_span)
        n["spans"] += len(spans)
        n["gold_spans"] += len(gold_spans)
        n["spans_right"] += len(spans & gold_spans)
        gold_ids = {g for m in doc.mentions for g in m.ids}
        n["doc_predicted"] += len(linked)
        n["doc_gold"] += len(gold_ids)
        n["doc_right"] += len(linked & gold_ids)
    mention: Dict[str, Any] = dict(prf(n["right"], n["predicted"], n["gold"]))
    if in_kb is not None:
        mention.update(
            {
                "gold_in_kb": n["gold_in_kb"],
                "correct_in_kb": n["right_in_kb"],
                "in_kb_recall": _share(n["right_in_kb"], n["gold_in_kb"]),
            }
        )
    return {
        "mention": mention,
        "document": prf(n["doc_right"], n["doc_predicted"], n["doc_gold"]),
        "detection": prf(n["spans_right"], n["spans"], n["gold_spans"]),
        "nil_spans": n["nil"],
        "by_class": {
            cls: {
                "gold": gold_by_class[cls],
                "correct": right_by_class[cls],
                "recall": _share(right_by_class[cls], gold_by_class[cls]),
            }
            for cls in class_order(gold_by_class)
        },
    }


# ---- running the pipeline -------------------------------------------------------------------------------------------
def aligned_doc(nlp: Language, text: str, offsets: Iterable[int]) -> Tuple[Doc, int]:
    """`nlp.make_doc(text)` with tokens split wherever one of `offsets` falls inside a token, and how many tokens
    were split (so every gold span is a token span)."""
    doc = nlp.make_doc(text)
    cuts = sorted(set(offsets))
    words: List[str] = []
    spaces: List[bool] = []
    split = 0
    for tok in doc:
        lo = bisect.bisect_right(cuts, tok.idx)
        hi = bisect.bisect_left(cuts, tok.idx + len(tok))
        inner = [c - tok.idx for c in cuts[lo:hi]]
        if not inner:
            words.append(tok.text)
            spaces.append(bool(tok.whitespace_))
            continue
        split += 1
        bounds = [0, *inner, len(tok)]
        pieces = [tok.text[a:b] for a, b in zip(bounds, bounds[1:])]
        words.extend(pieces)
        spaces.extend([False] * (len(pieces) - 1) + [bool(tok.whitespace_)])
    if not split:
        return doc, 0
    return Doc(nlp.vocab, words=words, spaces=spaces), split


def _layers(spans: Sequence[Tuple[int, int]]) -> List[List[int]]:
    """Indices of `spans` (token ranges) in groups of non-overlapping spans: overlapping gold mentions are linked
    in separate copies of the doc (each copy's ents must not overlap)."""
    layers: List[List[int]] = []
    for i in sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][0] - spans[i][1])):
        start, end = spans[i]
        for layer in layers:
            if all(end <= spans[j][0] or spans[j][1] <= start for j in layer):
                layer.append(i)
                break
        else:
            layers.append([i])
    return layers


def _candidates(el: ScoredEntityLinker, ents: Sequence[Span]) -> List[List[Candidate]]:
    """The candidates of each span as the linker's `predict` gets them."""
    if el.candidates_batch_size > 1:
        return [list(c) for c in el.get_candidates_batch(el.kb, list(ents))]
    return [list(el.get_candidates(el.kb, ent)) for ent in ents]


class CorpusRunner:
    """Runs a built pipeline on gold documents: the gold-mention rankings and the end-to-end predictions."""

    def __init__(self, nlp: Language):
        if ENTITY_LINKER not in nlp.pipe_names:
            raise ValueError(f"the pipeline has no {ENTITY_LINKER!r} component (it has {nlp.pipe_names})")
        self.nlp = nlp
        self.el = as_scored_linker(nlp)
        names = nlp.pipe_names
        at = names.index(ENTITY_LINKER)
        self.before = [(n, p) for n, p in nlp.pipeline[:at] if n != MENTION_DETECTOR]
        self.after = [(n, p) for n, p in nlp.pipeline[at:] if n != MENTION_DETECTOR]
        self.has_abbreviations = ABBREVIATIONS in names
        self.end_to_end = MENTION_DETECTOR in names
        self.counts: Counter = Counter()

    def in_kb(self, kb_id: str) -> bool:
        return bool(self.el.kb.contains_entity(kb_id))

    def variants(self) -> List[str]:
        return [AS_BUILT, WITHOUT] if self.has_abbreviations else [AS_BUILT]

    def rank_doc(self, gold: GoldDoc) -> List[RankedMention]:
        """The linker's ranking of every gold mention's candidates, and what each pipeline variant predicts there."""
        if not gold.mentions:
            return []
        doc, split = aligned_doc(self.nlp, gold.text, (b for m in gold.mentions for b in (m.start, m.end)))
        self.counts["tokens_split"] += split
        for _, proc in self.before:
            doc = proc(doc)
        token_spans: List[Tuple[int, int]] = []
        for m in gold.mentions:
            span = doc.char_span(m.start, m.end) or doc.char_span(m.start, m.end, alignment_mode="expand")
            if span is None or (span.start_char, span.end_char) != (m.start, m.end):
                self.counts["gold_spans_unaligned"] += 1
            token_spans.append((span.start, span.end) if span is not None else (0, 0))
        rows: List[Optional[RankedMention]] = [None] * len(gold.mentions)
        for layer in _layers(token_spans):
            layer = [i for i in layer if token_spans[i][1] > token_spans[i][0]]
            if not layer:
                continue
            layer_doc = doc.copy()
            layer_doc.ents = [Span(layer_doc, *token_spans[i], label=MENTION_LABEL) for i in layer]
            order = sorted(layer, key=lambda i: token_spans[i])  # doc.ents order
            encodings = self.el.context_encodings([layer_doc])[0]
            found = _candidates(self.el, list(layer_doc.ents))
            for i, ent_candidates, encoding in zip(order, found, encodings):
                rows[i] = self._rank(gold.mentions[i], ent_candidates, encoding)
            for variant in self.variants():
                out = layer_doc.copy()
                for name, proc in self.after:
                    if not (variant == WITHOUT and name == ABBREVIATIONS):
                        out = proc(out)
                predicted = {(e.start, e.end): e.kb_id_ for e in out.ents}
                for i in order:
                    row = rows[i]
                    assert row is not None
                    row.pipeline[variant] = predicted.get(token_spans[i], "")
        return [
            row if row is not None else RankedMention(m, [], in_kb=any(self.in_kb(g) for g in m.ids))
            for row, m in zip(rows, gold.mentions)
        ]

    def _rank(self, mention: GoldMention, candidates: List[Candidate], encoding) -> RankedMention:
        candidates = sorted(candidates, key=lambda c: c.entity_)  # as ScoredEntityLinker.predict
        ranked: List[str] = []
        top: Optional[float] = None
        if candidates:
            scores = self.el.score_candidates(candidates, encoding)
            order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), candidates[i].entity_))
            top = float(scores[order[0]])
            for i in order:
                if candidates[i].entity_ not in ranked:
                    ranked.append(candidates[i].entity_)
        return RankedMention(
            mention,
            ranked,
            by_prior=list(dict.fromkeys(ranked_ids(candidates))),
            top_score=top,
            in_kb=any(self.in_kb(g) for g in mention.ids),
        )

    def predict(
        self,
        docs: Sequence[GoldDoc],
        abbreviations: bool = True,
        batch_size: int = defaults.LINK_BATCH_SIZE,
        progress: Optional[Callable[[int], Any]] = None,
    ) -> List[List[Prediction]]:
        """The full pipeline on each document's raw text (`abbreviations=False`: without that component)."""
        disable = [ABBREVIATIONS] if not abbreviations and self.has_abbreviations else []
        out: List[List[Prediction]] = []
        with self.nlp.select_pipes(disable=disable):
            for doc in self.nlp.pipe((d.text for d in docs), batch_size=batch_size):
                out.append([(e.start_char, e.end_char, e.kb_id_) for e in doc.ents])
                if abbreviations and self.has_abbreviations:
                    self.counts["abbreviation_definitions"] += len(doc._.abbreviations)
                if progress is not None:
                    progress(1)
        return out


# ---- the evaluation -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedFigure:
    system: str
    setting: str
    value: float
    compare: Tuple[str, ...]  # paths into this evaluation's result of the figures of the same setting
    source: str


# As listed in ../shared/data/biomedical/README.md ("what systems reach"), all on the NCBI-disease *test* set.
CORPUS_README = "as listed in shared/data/biomedical/README.md"
PUBLISHED_NCBI_DISEASE = (
    PublishedFigure(
        "TaggerOne (Leaman & Lu 2016)",
        "end to end (find the mention and its id), F1",
        0.837,
        ("end_to_end.mention.f1", "end_to_end.document.f1"),
        "PubTator Central paper, Table 1",
    ),
    PublishedFigure(
        "DNorm (Leaman et al. 2013)",
        "end to end, concepts per abstract, F1",
        0.782,
        ("end_to_end.document.f1",),
        "Leaman et al. 2013, Bioinformatics 29(22)",
    ),
    PublishedFigure(
        "BioSyn, BioBERT (Sung et al. 2020)",
        "gold mentions given, accuracy@1",
        0.911,
        ("gold_mentions.accuracy@1",),
        "Sung et al. 2020, ACL",
    ),
    PublishedFigure(
        "BioSyn, BioBERT (Sung et al. 2020)",
        "gold mentions given, accuracy@5",
        0.939,
        ("gold_mentions.accuracy@5",),
        "Sung et al. 2020, ACL",
    ),
    PublishedFigure(
        "BioSyn with SapBERT", "gold mentions given, accuracy@1", 0.924, ("gold_mentions.accuracy@1",), CORPUS_README
    ),
    PublishedFigure(
        "BioSyn with SapBERT", "gold mentions given, accuracy@5", 0.958, ("gold_mentions.accuracy@5",), CORPUS_README
    ),
)
PUBLISHED_NOTE = (
    "Published figures, not computed here, all on the NCBI-disease test set; BioSyn and SapBERT use pretrained "
    "biomedical language models. The evaluations differ in details: BioSyn lower-cases queries, strips punctuation, "
    "splits composite mentions and resolves abbreviations (Ab3P) before ranking; DNorm scores the set of concepts "
    "per abstract. Compare a row with this linker's figure of the same setting."
)
COMPARE_LABELS = {
    "end_to_end.mention.f1": "mention-level F1",
    "end_to_end.document.f1": "document-level F1",
    "gold_mentions.accuracy@1": "accuracy@1",
    "gold_mentions.accuracy@5": "accuracy@5",
}


def is_ncbi_disease(name: str) -> bool:
    """Whether a corpus file name looks like NCBI-disease's (`NCBItestset_corpus.txt`, ...)."""
    return bool(NCBI_DISEASE_RE.search(name))


def _lookup(result: dict, path: str) -> Optional[float]:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, (int, float)) else None


def published_rows(result: dict) -> List[dict]:
    """The published figures beside this evaluation's figures of the same setting."""
    return [
        {
            "system": f.system,
            "setting": f.setting,
            "published": f.value,
            "source": f.source,
            "this_linker": [{"measure": path, "value": _lookup(result, path)} for path in f.compare],
        }
        for f in PUBLISHED_NCBI_DISEASE
    ]


def passes(nlp: Language) -> int:
    """Passes over the documents `evaluate_corpus` makes (gold mentions; end to end with and without abbreviations)."""
    if MENTION_DETECTOR not in nlp.pipe_names:
        return 1
    return 3 if ABBREVIATIONS in nlp.pipe_names else 2


def evaluate_corpus(
    nlp: Language,
    docs: Sequence[GoldDoc],
    name: str = "corpus",
    published: Optional[bool] = None,
    batch_size: int = defaults.LINK_BATCH_SIZE,
    progress: Optional[Callable[[int], Any]] = None,
) -> dict:
    """Every measure of the module docstring, as one JSON-ready dict. `published`: show the published NCBI-disease
    figures (None: when `name` looks like NCBI-disease). `progress(n)` is called once per document per pass
    (gold mentions, end to end, end to end without abbreviations)."""
    runner = CorpusRunner(nlp)
    started = time.perf_counter()
    rows: List[RankedMention] = []
    for doc in docs:
        rows.extend(runner.rank_doc(doc))
        if progress is not None:
            progress(1)
    gold_seconds = time.perf_counter() - started
    result: dict = {
        "corpus": name,
        "docs": len(docs),
        "pipeline_components": list(nlp.pipe_names),
        "kb_entities": int(runner.el.kb.get_size_entities()),
        "gold_mentions": summarize_gold_mentions(rows, runner.el.nil_threshold),
        "end_to_end": None,
        "end_to_end_without_abbreviations": None,
        "notes": [],
    }
    speed = {"gold_mentions_per_s": _share(len(rows), gold_seconds) if gold_seconds else None}
    if runner.end_to_end:
        started = time.perf_counter()
        predictions = runner.predict(docs, abbreviations=True, batch_size=batch_size, progress=progress)
        speed["end_to_end_docs_per_s"] = _share(len(docs), time.perf_counter() - started)
        result["end_to_end"] = score_end_to_end(docs, predictions, runner.in_kb)
        if runner.has_abbreviations:
            plain = runner.predict(docs, abbreviations=False, batch_size=batch_size, progress=progress)
            result["end_to_end_without_abbreviations"] = score_end_to_end(docs, plain, runner.in_kb)
        else:
            result["notes"].append(f"the pipeline has no {ABBREVIATIONS!r} component: one end-to-end run")
    else:
        result["notes"].append(f"the pipeline has no {MENTION_DETECTOR!r} component: end-to-end evaluation skipped")
    result["counts"] = {
        "gold_spans_unaligned": runner.counts["gold_spans_unaligned"],
        "tokens_split_at_gold_offsets": runner.counts["tokens_split"],
        "abbreviation_definitions": runner.counts["abbreviation_definitions"],
    }
    result["speed"] = speed
    show = is_ncbi_disease(name) if published is None else published
    result["published"] = published_rows(result) if show else None
    return result


# ---- report ---------------------------------------------------------------------------------------------------------
def _cell(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def _threshold(value: Optional[float]) -> str:
    return "none" if value is None else f"{value:g}"


def _table(head: List[str], rows: List[List[str]]) -> List[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]


def markdown_report(result: dict) -> str:
    g = result["gold_mentions"]
    lines = [
        f"# Corpus evaluation: {result['corpus']}",
        "",
        f"{result['docs']:,} documents, {g['mentions']:,} gold mentions ({g['in_kb']:,} with a gold id in the KB of "
        f"{result['kb_entities']:,} entities, {g['multi_id']:,} with several ids, {g['without_id']:,} without an id); "
        f"pipeline: {', '.join(result['pipeline_components'])}.",
        "",
        "## Gold mentions given",
        "",
        "Candidates of each gold span from the pipeline's generator, ranked by the linker's score (context + prior). "
        "accuracy@k: a gold id among the first k (a mention with several ids: *any* of them, as BioSyn scores "
        "composite mentions; strict: *all* of them); every gold mention counts, also those whose ids are not in the "
        "KB. Candidate recall@k ranks by prior; oracle = a gold id among any candidate.",
        "",
    ]
    cand = g["candidates"]
    head = ["measure", "value"]
    rows = [
        ["accuracy@1", _cell(g["accuracy@1"])],
        ["accuracy@5", _cell(g["accuracy@5"])],
        ["strict accuracy@1 / @5", f"{_cell(g['strict_accuracy@1'])} / {_cell(g['strict_accuracy@5'])}"],
        [
            f"accuracy@1 / @5 of the {g['in_kb']:,} in-KB mentions",
            f"{_cell(g['in_kb_accuracy@1'])} / {_cell(g['in_kb_accuracy@5'])}",
        ],
        [
            f"accuracy@1 with the NIL threshold ({_threshold(g['nil_threshold'])})",
            _cell(g["accuracy@1_nil_threshold"]),
        ],
    ]
    for variant, value in g["pipeline_accuracy"].items():
        rows.append([f"pipeline on the gold spans, {variant.replace('_', ' ')}", _cell(value)])
    rows.append(
        [
            "candidate recall@1 / @5 / @10, oracle",
            " / ".join(_cell(cand[k]) for k in ("recall@1", "recall@5", "recall@10", "oracle")),
        ]
    )
    multi = g["multi_id_mentions"]
    if multi["mentions"]:
        rows.append(
            [
                f"mentions with several ids ({multi['mentions']:,}): accuracy@1, strict accuracy@1",
                f"{_cell(multi['accuracy@1'])}, {_cell(multi['strict_accuracy@1'])}",
            ]
        )
    lines += _table(head, rows)
    e2e, plain = result["end_to_end"], result["end_to_end_without_abbreviations"]
    if e2e is not None:
        lines += [
            "",
            "## End to end",
            "",
            "The pipeline on raw text; NIL spans are not predictions. Mention level is strict (same character span, "
            "id among the mention's ids); document level compares the set of predicted ids of each document with "
            "its set of gold ids; detection counts spans only.",
            "",
        ]
        head = ["pipeline", "mention P", "mention R", "mention F1", "document P", "document R", "document F1"]
        head += ["detection F1", "in-KB R", "NIL spans"]
        runs = [("as built (with abbreviations)" if plain is not None else "as built", e2e)]
        if plain is not None:
            runs.append(("without abbreviations", plain))
        rows = []
        for label, run in runs:
            m, d = run["mention"], run["document"]
            rows.append(
                [
                    label,
                    *(_cell(m[k]) for k in ("precision", "recall", "f1")),
                    *(_cell(d[k]) for k in ("precision", "recall", "f1")),
                    _cell(run["detection"]["f1"]),
                    _cell(m.get("in_kb_recall")),
                    str(run["nil_spans"]),
                ]
            )
        lines += _table(head, rows)
        if plain is not None:
            lines += [
                "",
                f'{result["counts"]["abbreviation_definitions"]:,} "long form (SHORT)" definitions found; the '
                "abbreviation component changes mention-level F1 by "
                f"{e2e['mention']['f1'] - plain['mention']['f1']:+.3f} and document-level F1 by "
                f"{e2e['document']['f1'] - plain['document']['f1']:+.3f}.",
            ]
    classes = class_order(g["by_class"])
    if classes and classes != [NO_CLASS]:
        lines += ["", "## Per mention class", ""]
        head = ["class", "gold mentions", "accuracy@1", "accuracy@5", "strict accuracy@1"]
        if e2e is not None:
            head.append("e2e recall")
            if plain is not None:
                head.append("e2e recall without abbreviations")
        rows = []
        for cls in classes:
            c = g["by_class"][cls]
            row = [cls, f"{c['mentions']:,}", _cell(c["accuracy@1"]), _cell(c["accuracy@5"])]
            row.append(_cell(c["strict_accuracy@1"]))
            if e2e is not None:
                row.append(_cell(e2e["by_class"].get(cls, {}).get("recall")))
                if plain is not None:
                    row.append(_cell(plain["by_class"].get(cls, {}).get("recall")))
            rows.append(row)
        lines += _table(head, rows)
    if result.get("published"):
        lines += ["", "## Published figures on NCBI-disease (not computed here)", "", PUBLISHED_NOTE, ""]
        rows = []
        for p in result["published"]:
            ours = "; ".join(f"{COMPARE_LABELS[m['measure']]} {_cell(m['value'])}" for m in p["this_linker"])
            rows.append([p["system"], p["setting"], f"{p['published']:.3f}", p["source"], ours])
        lines += _table(["system", "setting", "published", "source", f"this linker on {result['corpus']}"], rows)
    counts = result["counts"]
    if counts["gold_spans_unaligned"] or counts["tokens_split_at_gold_offsets"]:
        lines += [
            "",
            f"Gold offsets inside a token: {counts['tokens_split_at_gold_offsets']:,} tokens split for the "
            f"gold-mention setting ({counts['gold_spans_unaligned']:,} spans could not be aligned); end to end such "
            "mentions can only be found if the tokenizer splits there.",
        ]
    lines += [f"Note: {note}." for note in result.get("notes", [])]
    return "\n".join(lines) + "\n"
