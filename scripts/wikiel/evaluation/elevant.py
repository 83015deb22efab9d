"""evaluate-benchmarks: score a linking pipeline on entity-linking benchmarks in the ELEVANT JSONL format.

A benchmark file holds one JSON document per line: `{"id", "title", "text", "labels": [{"span": [start, end],
"entity_id", "name", "type", ...}], "evaluation_span"?}`. Spans are character offsets into `text`. An `entity_id`
that is not a QID (`<NIL>`, `<NO_MAPPING>`, `QUANTITY`, `DATETIME`, or a malformed id such as `""`) marks a gold
mention with no Wikidata entity: its correct answer is NIL.

What the real files contain beyond the four documented keys, and how it is treated here:

- `parent` / `children`: nested labels (`Frank Blake` with the child `Blake`; a Wikipedia link whose span is also
  labelled with a more specific entity). Every label counts in the gold totals and the in-KB / out-of-KB / NIL split;
  a child is an alternative reading of its parent, so on gold spans overlapping spans are dropped (parents and
  earlier, longer spans kept) and end to end a prediction matching a child is neither a hit nor a false positive.
- `optional`: a mention a system need not find; end to end it is handled like a child.
- `coref` (pronouns, "the company"): an ordinary gold mention here; counted apart in the gold summary.
- `evaluation_span`: the annotated part of `text`; end-to-end predictions outside it are ignored (counted).
- spans with leading or trailing whitespace (Reuters-128): trimmed to their text, counted.

Measures, per benchmark and over all of them (micro):

- gold spans: the document is `nlp.make_doc(text)` with the gold spans as `doc.ents`, run through every pipe but the
  mention detector. Accuracy over in-KB gold (predicted QID == gold), and for out-of-KB and NIL gold the share
  predicted NIL. Candidate recall@1/5/10 and oracle (gold among any candidate) over in-KB gold, candidates ranked by
  prior, ties by id.
- end to end: the full pipeline on raw text; predictions are the entities linked to a QID. Strict micro
  precision/recall/F1 (same character span and QID) against the QID gold that is neither nested nor optional, and the
  recall restricted to that gold's in-KB part (what the KB could reach). Linked predictions overlapping NIL gold are
  false positives, also counted on their own.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, cast

import orjson
from spacy.language import Language
from spacy.pipeline import EntityLinker
from spacy.tokens import Doc, Span

from wikiel import defaults
from wikiel.evaluation.recall import ranked_ids
from wikiel.linker.link import load_linker
from wikiel.util import InputError, PathLike

QID_RE = re.compile(r"Q\d+")
NIL_KINDS = ("<NIL>", "<NO_MAPPING>", "QUANTITY", "DATETIME")
SUFFIX = ".benchmark.jsonl"
REQUIRED_KEYS = ("id", "text", "labels")
MENTION_DETECTOR = "mention_detector"
ENTITY_LINKER = "entity_linker"
GOLD_LABEL = "ENTITY"
RECALL_AT = (1, 5, 10)
OUT_OF_KB_NOTE = (
    "With the embedded synthetic world or the real excerpts as KB, nearly all benchmark entities are "
    "out of KB: the in-KB columns then cover a handful of mentions, and the benchmarks become "
    "informative only with a KB built from the full dumps."
)


def is_qid(entity_id: str) -> bool:
    return bool(QID_RE.fullmatch(entity_id))


def nil_kind(entity_id: str) -> str:
    return entity_id if entity_id in NIL_KINDS else "malformed"


@dataclass(frozen=True)
class GoldLabel:
    start: int
    end: int
    entity_id: str
    nested: bool = False  # has a parent label: an alternative reading inside (or on) a longer gold span
    optional: bool = False
    coref: bool = False

    @property
    def qid(self) -> bool:
        return is_qid(self.entity_id)


@dataclass
class BenchmarkDoc:
    id: Any
    text: str
    labels: List[GoldLabel]
    title: str = ""
    evaluation_span: Tuple[int, int] = (0, -1)
    line: int = 0
    trimmed: int = 0  # gold spans whose surrounding whitespace was trimmed

    def __post_init__(self) -> None:
        if self.evaluation_span == (0, -1):
            self.evaluation_span = (0, len(self.text))


# ---- reading ------------------------------------------------------------------------------------------------------
def benchmark_name(path: PathLike) -> str:
    name = Path(path).name
    for suffix in (SUFFIX, ".jsonl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def benchmark_files(paths: Sequence[PathLike]) -> List[Path]:
    """The benchmark files named by `paths`: files as given, directories expanded to their `*.benchmark.jsonl`."""
    files: List[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(path, "does not exist", hint="give benchmark files (*.benchmark.jsonl) or a directory")
        if path.is_dir():
            found = sorted(path.glob(f"*{SUFFIX}"))
            if not found:
                raise InputError(path, f"holds no *{SUFFIX} file")
            files.extend(found)
        else:
            files.append(path)
    unique: Dict[Path, Path] = {}
    names: Dict[str, Path] = {}
    for f in files:
        key = f.resolve()
        if key in unique:
            continue
        name = benchmark_name(f)
        if name in names:
            raise InputError(f, f"has the same benchmark name {name!r} as {names[name]}", hint="rename one of them")
        unique[key] = f
        names[name] = f
    return list(unique.values())


def _int_pair(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def _parse_label(path: Path, line: int, text: str, i: int, raw: Any) -> Tuple[GoldLabel, bool]:
    def bad(message: str) -> InputError:
        return InputError(path, f"label {i}: {message}", line=line)

    if not isinstance(raw, dict):
        raise bad("is not a JSON object")
    for key in ("span", "entity_id"):
        if key not in raw:
            raise bad(f"missing key {key!r}")
    span = raw["span"]
    if not _int_pair(span):
        raise bad(f"span {span!r} is not a pair of integers")
    start, end = span
    if not 0 <= start < end <= len(text):
        raise bad(f"span {span!r} out of range for a text of {len(text)} characters")
    entity_id = raw["entity_id"]
    if not isinstance(entity_id, str):
        raise bad(f"entity_id {entity_id!r} is not a string")
    surface = text[start:end]
    stripped = surface.strip()
    if not stripped:
        raise bad(f"span {span!r} covers only whitespace")
    trimmed = stripped != surface
    if trimmed:
        start += len(surface) - len(surface.lstrip())
        end = start + len(stripped)
    return GoldLabel(
        start,
        end,
        entity_id,
        nested=raw.get("parent") is not None,
        optional=bool(raw.get("optional")),
        coref=bool(raw.get("coref")),
    ), trimmed


def parse_doc(path: Path, line: int, raw_line: bytes) -> BenchmarkDoc:
    try:
        data = orjson.loads(raw_line)
    except orjson.JSONDecodeError as err:
        raise InputError(path, f"malformed JSON ({err})", line=line, hint="one JSON document per line") from None
    if not isinstance(data, dict):
        raise InputError(path, "is not a JSON object", line=line)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputError(
            path,
            f"missing key(s) {', '.join(map(repr, missing))}",
            line=line,
            hint='ELEVANT format: {"id", "title", "text", "labels"}',
        )
    text = data["text"]
    if not isinstance(text, str):
        raise InputError(path, "'text' is not a string", line=line)
    if not isinstance(data["labels"], list):
        raise InputError(path, "'labels' is not a list", line=line)
    labels, trimmed = [], 0
    for i, raw in enumerate(data["labels"]):
        label, was_trimmed = _parse_label(path, line, text, i, raw)
        labels.append(label)
        trimmed += was_trimmed
    evaluation_span = data.get("evaluation_span")
    if evaluation_span is None:
        evaluation_span = (0, len(text))
    elif not (_int_pair(evaluation_span) and 0 <= evaluation_span[0] <= evaluation_span[1] <= len(text)):
        raise InputError(path, f"evaluation_span {evaluation_span!r} is not a pair of offsets into the text", line=line)
    title = data.get("title")
    return BenchmarkDoc(
        id=data["id"],
        text=text,
        labels=labels,
        title=title if isinstance(title, str) else "",
        evaluation_span=tuple(evaluation_span),
        line=line,
        trimmed=trimmed,
    )


def read_benchmark(path: PathLike, limit: Optional[int] = None) -> List[BenchmarkDoc]:
    """The documents of one benchmark file (the first `limit`); InputError naming file and line on bad input."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a directory, expected a benchmark file")
    if not path.exists():
        raise InputError(path, "does not exist")
    docs: List[BenchmarkDoc] = []
    with open(path, "rb") as f:
        for line, raw_line in enumerate(f, 1):
            if limit is not None and len(docs) >= limit:
                break
            if not raw_line.strip():
                continue
            try:
                raw_line.decode("utf8")
            except UnicodeDecodeError as err:
                raise InputError(
                    path,
                    f"not UTF-8 ({err.reason} at byte {err.start} of the line)",
                    line=line,
                    hint="is this a benchmark JSONL file?",
                ) from None
            docs.append(parse_doc(path, line, raw_line))
    if not docs:
        raise InputError(path, "is empty: no benchmark document", hint="expected one JSON document per line")
    return docs


# ---- evaluation ---------------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Raw counts of one benchmark; every measure derives from them, and tallies of benchmarks add up."""

    n: Counter = field(default_factory=Counter)
    nil_kinds: Counter = field(default_factory=Counter)

    def __iadd__(self, other: Tally) -> Tally:
        self.n.update(other.n)
        self.nil_kinds.update(other.nil_kinds)
        return self

    def add(self, key: str, amount: float) -> None:
        """`n[key] += amount` for the sums of seconds and scores: a Counter adds floats too, its stubs say int."""
        sums = cast(Dict[str, float], self.n)
        sums[key] += amount


def _linker(nlp: Language) -> EntityLinker:
    return cast(EntityLinker, nlp.get_pipe(ENTITY_LINKER))


def _ratio(a: float, b: float) -> Optional[float]:
    return round(a / b, 4) if b else None


def _gold_kind(label: GoldLabel, kb) -> str:
    if not label.qid:
        return "nil"
    return "in_kb" if kb.contains_entity(label.entity_id) else "out_of_kb"


def gold_span_doc(nlp: Language, bdoc: BenchmarkDoc, tally: Tally) -> Tuple[Doc, Dict[Tuple[int, int], GoldLabel]]:
    """`nlp.make_doc(text)` with the gold spans as `doc.ents` (token-aligned by expansion); overlapping spans are
    dropped, keeping top-level labels first, then the earlier and the longer span, then the earlier label."""
    doc = nlp.make_doc(bdoc.text)
    aligned = []
    for index, label in enumerate(bdoc.labels):
        span = doc.char_span(label.start, label.end, label=GOLD_LABEL, alignment_mode="expand")
        if span is None:
            tally.n["gold_spans_unaligned"] += 1
            continue
        aligned.append(((label.nested, span.start, -len(span), index), span, label))
    taken = [False] * len(doc)
    kept: Dict[Tuple[int, int], GoldLabel] = {}
    for _, span, label in sorted(aligned, key=lambda item: item[0]):
        if any(taken[span.start : span.end]):
            tally.n["gold_spans_overlap_dropped"] += 1
            continue
        taken[span.start : span.end] = [True] * len(span)
        kept[(span.start, span.end)] = label
    doc.ents = [Span(doc, start, end, label=GOLD_LABEL) for start, end in sorted(kept)]
    return doc, kept


def _kb_score(ent: Span) -> Optional[float]:
    if not Span.has_extension("kb_score"):
        return None
    score = ent._.kb_score
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def score_gold_spans(nlp: Language, bdoc: BenchmarkDoc, tally: Tally) -> None:
    el = _linker(nlp)
    doc, kept = gold_span_doc(nlp, bdoc, tally)
    start = time.perf_counter()
    for name, proc in nlp.pipeline:
        if name != MENTION_DETECTOR:
            doc = proc(doc)
    tally.add("gold_seconds", time.perf_counter() - start)
    tally.n["gold_docs"] += 1
    tally.n["gold_mentions"] += len(kept)
    predicted = {(ent.start, ent.end): ent for ent in doc.ents}
    for key, label in kept.items():
        kind = _gold_kind(label, el.kb)
        ent = predicted.get(key)
        pred = ent.kb_id_ if ent is not None else ""
        tally.n[f"{kind}_evaluated"] += 1
        if kind != "in_kb":
            tally.n[f"{kind}_predicted_nil"] += not is_qid(pred)
            continue
        correct = pred == label.entity_id
        tally.n["in_kb_correct"] += correct
        score = _kb_score(ent) if ent is not None else None
        if score is not None:
            tally.n["kb_score_n_" + ("correct" if correct else "wrong")] += 1
            tally.add("kb_score_sum_" + ("correct" if correct else "wrong"), score)
        ids = ranked_ids(
            el.get_candidates(el.kb, ent if ent is not None else Span(doc, key[0], key[1], label=GOLD_LABEL))
        )
        tally.n["candidates"] += len(ids)
        rank = ids.index(label.entity_id) if label.entity_id in ids else None
        tally.n["oracle_hits"] += rank is not None
        for k in RECALL_AT:
            tally.n[f"recall@{k}_hits"] += rank is not None and rank < k


def score_end_to_end(nlp: Language, bdoc: BenchmarkDoc, tally: Tally) -> None:
    kb = _linker(nlp).kb
    required = {(g.start, g.end, g.entity_id) for g in bdoc.labels if g.qid and not g.nested and not g.optional}
    allowed = {(g.start, g.end, g.entity_id) for g in bdoc.labels if g.qid}
    nil_spans = [(g.start, g.end) for g in bdoc.labels if not g.qid]
    start = time.perf_counter()
    doc = nlp(bdoc.text)
    tally.add("e2e_seconds", time.perf_counter() - start)
    tally.n["e2e_docs"] += 1
    tally.n["e2e_mentions"] += len(doc.ents)
    tally.n["e2e_gold"] += len(required)
    tally.n["e2e_gold_in_kb"] += sum(kb.contains_entity(qid) for _, _, qid in required)
    lo, hi = bdoc.evaluation_span
    for ent in doc.ents:
        if not is_qid(ent.kb_id_):
            continue
        if ent.start_char < lo or ent.end_char > hi:
            tally.n["e2e_outside_evaluation_span"] += 1
            continue
        tally.n["e2e_predictions"] += 1
        key = (ent.start_char, ent.end_char, ent.kb_id_)
        if key in required:
            tally.n["e2e_tp"] += 1
            tally.n["e2e_tp_in_kb"] += kb.contains_entity(ent.kb_id_)
        elif key in allowed:
            tally.n["e2e_matched_nested_or_optional"] += 1
        else:
            tally.n["e2e_fp"] += 1
            tally.n["e2e_fp_on_nil_gold"] += any(s < ent.end_char and ent.start_char < e for s, e in nil_spans)


def count_gold(nlp: Language, bdoc: BenchmarkDoc, tally: Tally) -> None:
    kb = _linker(nlp).kb
    tally.n["docs"] += 1
    tally.n["gold_spans_trimmed"] += bdoc.trimmed
    for label in bdoc.labels:
        kind = _gold_kind(label, kb)
        tally.n["labels"] += 1
        tally.n[kind] += 1
        tally.n["nested"] += label.nested
        tally.n["optional"] += label.optional
        tally.n["coref"] += label.coref
        if kind == "nil":
            tally.nil_kinds[nil_kind(label.entity_id)] += 1


def has_mention_detector(nlp: Language) -> bool:
    return MENTION_DETECTOR in nlp.pipe_names


def evaluate_benchmark(
    nlp: Language,
    docs: Iterable[BenchmarkDoc],
    progress: Optional[Callable[[int], Any]] = None,
    seed: int = defaults.SEED,
) -> Tally:
    """The raw counts of one benchmark: gold split, gold-span linking, candidates, end to end, time."""
    if ENTITY_LINKER not in nlp.pipe_names:
        raise ValueError(f"the pipeline has no {ENTITY_LINKER!r} component (it has {nlp.pipe_names})")
    random.seed(seed)  # spaCy's EntityLinker shuffles tied candidates
    tally = Tally()
    end_to_end = has_mention_detector(nlp)
    for bdoc in docs:
        count_gold(nlp, bdoc, tally)
        score_gold_spans(nlp, bdoc, tally)
        if end_to_end:
            score_end_to_end(nlp, bdoc, tally)
        if progress is not None:
            progress(1)
    return tally


def summarize(tally: Tally, end_to_end: bool = True) -> dict:
    """Counts and measures of a tally (one benchmark or the micro total of several)."""
    n = tally.n
    in_kb_eval = n["in_kb_evaluated"]
    kb_score = None
    if n["kb_score_n_correct"] or n["kb_score_n_wrong"]:
        kb_score = {
            "mean_correct": _ratio(n["kb_score_sum_correct"], n["kb_score_n_correct"]),
            "mean_wrong": _ratio(n["kb_score_sum_wrong"], n["kb_score_n_wrong"]),
            "n": n["kb_score_n_correct"] + n["kb_score_n_wrong"],
        }
    summary = {
        "docs": n["docs"],
        "gold": {
            "labels": n["labels"],
            "in_kb": n["in_kb"],
            "out_of_kb": n["out_of_kb"],
            "nil": n["nil"],
            "nil_kinds": dict(sorted(tally.nil_kinds.items())),
            "nested": n["nested"],
            "top_level": n["labels"] - n["nested"],
            "optional": n["optional"],
            "coref": n["coref"],
            "spans_trimmed": n["gold_spans_trimmed"],
        },
        "gold_spans": {
            "unaligned": n["gold_spans_unaligned"],
            "overlap_dropped": n["gold_spans_overlap_dropped"],
            "in_kb": {
                "n": in_kb_eval,
                "correct": n["in_kb_correct"],
                "accuracy": _ratio(n["in_kb_correct"], in_kb_eval),
            },
            "out_of_kb": {
                "n": n["out_of_kb_evaluated"],
                "predicted_nil": n["out_of_kb_predicted_nil"],
                "nil_rate": _ratio(n["out_of_kb_predicted_nil"], n["out_of_kb_evaluated"]),
            },
            "nil": {
                "n": n["nil_evaluated"],
                "predicted_nil": n["nil_predicted_nil"],
                "nil_rate": _ratio(n["nil_predicted_nil"], n["nil_evaluated"]),
            },
            "candidates": {
                **{f"recall@{k}": _ratio(n[f"recall@{k}_hits"], in_kb_eval) for k in RECALL_AT},
                "oracle": _ratio(n["oracle_hits"], in_kb_eval),
                "mean_candidates": _ratio(n["candidates"], in_kb_eval),
            },
            "kb_score": kb_score,
        },
        "end_to_end": None,
        "speed": {
            "gold_spans": _speed(n["gold_seconds"], n["gold_docs"], n["gold_mentions"]),
            "end_to_end": _speed(n["e2e_seconds"], n["e2e_docs"], n["e2e_mentions"]) if end_to_end else None,
        },
    }
    if end_to_end:
        tp, fp, gold = n["e2e_tp"], n["e2e_fp"], n["e2e_gold"]
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, gold)
        f1 = _ratio(2 * tp, 2 * tp + fp + (gold - tp)) if precision is not None and recall is not None else None
        summary["end_to_end"] = {
            "gold": gold,
            "gold_in_kb": n["e2e_gold_in_kb"],
            "predictions": n["e2e_predictions"],
            "tp": tp,
            "fp": fp,
            "fp_on_nil_gold": n["e2e_fp_on_nil_gold"],
            "matched_nested_or_optional": n["e2e_matched_nested_or_optional"],
            "outside_evaluation_span": n["e2e_outside_evaluation_span"],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "in_kb_recall": _ratio(n["e2e_tp_in_kb"], n["e2e_gold_in_kb"]),
        }
    return summary


def _speed(seconds: float, docs: int, mentions: int) -> dict:
    return {
        "seconds": round(seconds, 3),
        "docs_per_s": _ratio(docs, seconds) if seconds else None,
        "mentions_per_s": _ratio(mentions, seconds) if seconds else None,
    }


def evaluate_benchmarks(
    nlp: Language, benchmarks: Dict[str, List[BenchmarkDoc]], progress: Optional[Callable[[int], Any]] = None
) -> dict:
    """Every benchmark of `benchmarks` (name -> documents) and their micro total, as one JSON-ready dict."""
    end_to_end = has_mention_detector(nlp)
    total = Tally()
    results = {}
    for name, docs in benchmarks.items():
        tally = evaluate_benchmark(nlp, docs, progress=progress)
        results[name] = summarize(tally, end_to_end)
        total += tally
    notes = []
    if not end_to_end:
        notes.append(f"the pipeline has no {MENTION_DETECTOR!r} component: end-to-end evaluation skipped")
    kb = _linker(nlp).kb
    return {
        "pipeline_components": list(nlp.pipe_names),
        "kb_entities": int(kb.get_size_entities()),
        "benchmarks": results,
        "total": summarize(total, end_to_end),
        "notes": notes,
    }


# ---- report -------------------------------------------------------------------------------------------------------
def _cell(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_report(result: dict) -> str:
    head = [
        "benchmark",
        "docs",
        "gold",
        "in-KB",
        "out-of-KB",
        "NIL",
        "acc. in-KB (gold spans)",
        "R@1",
        "R@10",
        "e2e P",
        "e2e R",
        "e2e F1",
        "e2e in-KB R",
        "docs/s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = list(result["benchmarks"].items()) + [("all", result["total"])]
    for name, s in rows:
        g, gs, e2e = s["gold"], s["gold_spans"], s["end_to_end"] or {}
        speed = s["speed"]["end_to_end"] or s["speed"]["gold_spans"]
        cells = [
            f"**{name}**" if name == "all" else name,
            str(s["docs"]),
            str(g["labels"]),
            str(g["in_kb"]),
            str(g["out_of_kb"]),
            str(g["nil"]),
            _cell(gs["in_kb"]["accuracy"]),
            _cell(gs["candidates"]["recall@1"]),
            _cell(gs["candidates"]["recall@10"]),
            _cell(e2e.get("precision")),
            _cell(e2e.get("recall")),
            _cell(e2e.get("f1")),
            _cell(e2e.get("in_kb_recall")),
            "–" if speed["docs_per_s"] is None else f"{speed['docs_per_s']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    total = result["total"]["gold"]
    qids = total["in_kb"] + total["out_of_kb"]
    share = f"{100 * total['in_kb'] / qids:.1f}%" if qids else "none"
    text = [
        f"KB of {result['kb_entities']:,} entities: {share} of the {qids:,} gold labels with a QID are in the KB. "
        + OUT_OF_KB_NOTE,
        "",
        *lines,
        "",
        "Gold = every label (nested ones included); accuracy and candidate recall are over the in-KB gold spans "
        "(overlapping spans dropped); end to end is strict (same span and QID) against the top-level, non-optional "
        "QID gold; docs/s is end to end where it ran.",
    ]
    text += [f"Note: {note}." for note in result.get("notes", [])]
    return "\n".join(text) + "\n"


def load_pipeline(path: PathLike) -> Language:
    """The linker (directory or installed package), which must have an entity_linker."""
    nlp = load_linker(path)
    if ENTITY_LINKER not in nlp.pipe_names:
        raise InputError(path, f"the pipeline has no {ENTITY_LINKER!r} component (it has {nlp.pipe_names})")
    return nlp
