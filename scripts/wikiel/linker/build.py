"""build-linker: the trained linker plus mention detection on raw text, with its thresholds tuned on dev articles.

1. Link probability of every KB alias, counted on train article text (the clean text with link spans that
   parse-wikipedia writes): `links / (occurrences + 1)`, where occurrences are all places the alias's token sequence
   appears and links those that are link anchors (the +1 is one unlinked pseudo-occurrence, so a string seen once
   and linked once gets 0.5, not 1.0).
2. The mention detector's threshold: the one with the best F1 of detected spans against the in-KB link spans of dev
   articles. Wikipedia links an entity once per article (later mentions are plain text), so precision is a lower
   bound.
3. The NIL threshold on the linker score: the one with the best end-to-end F1 (span and QID right) on the same dev
   paragraphs; mentions scoring below it are NIL.
The pipeline (tokenizer, sentencizer, mention_detector, entity_linker with scores and entity types, abbreviations:
later "SHORT" forms of "long form (SHORT)" definitions take the long form's entity) is written to
OUTPUT_DIR/model, ready for `spacy package`; tables go to OUTPUT_DIR/detection.md and the figures to stats.json.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union, cast

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from tqdm import tqdm

from wikiel import defaults
from wikiel.kb.tables import article_paragraphs, read_kb_entities, read_redirects, resolve, title_index
from wikiel.pipeline import candidates, components  # noqa: F401  (register the factories and candidate generators)
from wikiel.pipeline.abbreviations import find_abbreviations as abbr_pairs
from wikiel.pipeline.components import (
    MENTION_LABEL,
    NIL,
    MentionDetector,
    ScoredEntityLinker,
    alias_key,
    as_scored_linker,
)
from wikiel.util import InputError, OutputError, StepStats, atomic_open, atomic_path, require_inputs, writes_step

DETECTION_THRESHOLDS = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
NIL_THRESHOLDS = [None] + [round(-0.5 + 0.05 * i, 2) for i in range(30)]
DETECTORS = ("alias", "ner", "both", "auto")
# The abbreviation component's settings tried on dev (besides leaving it out): a definition's long form gets its
# entity from a linked ent on it, or also from a KB lookup of the long form (lookup); the parenthesised short form of
# the definition itself is linked too (definition). The first is the component's default.
DEFAULT_ABBREVIATIONS = "lookup+definition"
ABBREVIATION_OPTIONS: Dict[str, Dict[str, bool]] = {
    DEFAULT_ABBREVIATIONS: {"lookup_long_form": True, "link_definition": True},
    "lookup": {"lookup_long_form": True, "link_definition": False},
    "detected+definition": {"lookup_long_form": False, "link_definition": True},
    "detected": {"lookup_long_form": False, "link_definition": False},
}


def alias_keys(aliases: Sequence[str], nlp: Language) -> Dict[str, str]:
    """Lookup key (token texts joined by a space) -> alias, for aliases that tokenise to at most 8 tokens."""
    out: Dict[str, str] = {}
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    for alias, doc in zip(aliases, tokenizer.pipe(aliases, batch_size=5000)):
        if 0 < len(doc) <= 8:
            out.setdefault(alias_key([t.text for t in doc]), alias)
    return out


def alias_types(kb: Any, keys: Dict[str, str], entity_types: Dict[str, str]) -> Dict[str, str]:
    """Alias key -> the coarse type with the most prior mass among the alias's KB candidates (ties: the type name
    first in order); keys whose candidates have no type are left out. A type from the mention's string alone, never
    from the entity the linker then picks."""
    out = {}
    for key, alias in keys.items():
        mass: Counter = Counter()
        for candidate in kb.get_alias_candidates(alias):
            entity_type = entity_types.get(candidate.entity_)
            if entity_type:
                mass[entity_type] += candidate.prior_prob
        if mass:
            out[key] = min(mass, key=lambda t: (-mass[t], t))
    return out


def count_link_probabilities(
    articles_path: Path, keys: Set[str], nlp: Language, max_bytes: int
) -> Tuple[Dict[str, float], dict]:
    """Link probability per alias key over train article text (see the module docstring), and counts."""
    first = {k.split(" ", 1)[0] for k in keys}
    max_len = max((k.count(" ") + 1 for k in keys), default=0)
    seen: Counter = Counter()
    linked: Counter = Counter()
    n_words = n_links = 0
    texts = article_paragraphs(articles_path, "train", max_bytes=max_bytes)
    for para, links in tqdm(texts, desc="link probability", unit=" para", mininterval=2):
        doc = nlp.make_doc(para)
        words = [t.text for t in doc]
        n_words += len(words)
        for i, word in enumerate(words):
            if word in first:
                for length in range(1, min(max_len, len(words) - i) + 1):
                    key = alias_key(words[i : i + length])
                    if key in keys:
                        seen[key] += 1
        for start, end, _ in links:
            n_links += 1
            span = doc.char_span(start, end)
            if span is not None:
                key = alias_key([t.text for t in span])
                if key in keys:
                    linked[key] += 1
    probs = {key: linked[key] / (seen[key] + 1) for key in seen if linked[key]}
    counts = {"words": n_words, "links": n_links, "aliases_seen": len(seen), "aliases_linked": len(probs)}
    return probs, counts


def gold_paragraphs(
    articles_path: Path, kb_dir: Path, wikipedia_dir: Path, nlp: Language, max_articles: int
) -> List[Doc]:
    """Dev paragraphs as Docs whose ents are the link spans to KB entities (QID as kb_id, the entity's coarse type as
    label, MENTION_LABEL when it has none), with sentences."""
    entities = read_kb_entities(Path(kb_dir) / "entities.jsonl")
    titles = title_index(entities)
    redirects = read_redirects(Path(wikipedia_dir) / "redirects.tsv")
    sentencizer = nlp.get_pipe("sentencizer")
    docs = []
    for para, links in article_paragraphs(articles_path, "dev", max_articles=max_articles):
        doc = nlp.make_doc(para)
        spans = []
        for start, end, target in links:
            qid = titles.get(resolve(target, redirects))
            span = doc.char_span(start, end, label=entities[qid]["type"] or MENTION_LABEL, kb_id=qid) if qid else None
            if span is not None:
                spans.append(span)
        doc.ents = spacy.util.filter_spans(spans)
        docs.append(sentencizer(doc))
    return docs


def prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "predicted": n_pred,
        "gold": n_gold,
        "correct": tp,
    }


def detection_table(detector, gold_docs: List[Doc], thresholds: Sequence[float]) -> List[dict]:
    """Span precision/recall/F1 of the detector at each threshold against the gold ents."""
    gold = [{(e.start, e.end) for e in doc.ents} for doc in gold_docs]
    n_gold = sum(len(g) for g in gold)
    rows = []
    for t in thresholds:
        detector.threshold = t
        found = [set(detector.find(doc)) for doc in gold_docs]
        tp = sum(len(f & g) for f, g in zip(found, gold))
        rows.append({"threshold": t, **prf(tp, sum(len(f) for f in found), n_gold)})
    return rows


def span_prf(found: Sequence[Iterable[Tuple[int, int]]], gold_docs: List[Doc]) -> Dict[str, float]:
    """Precision/recall/F1 of detected (start, end) token spans against the gold ents, per doc."""
    found_sets = [set(f) for f in found]
    gold = [{(e.start, e.end) for e in doc.ents} for doc in gold_docs]
    tp = sum(len(f & g) for f, g in zip(found_sets, gold))
    return prf(tp, sum(len(f) for f in found_sets), sum(len(g) for g in gold))


def typed_scores(found: List[Dict[Tuple[int, int], str]], gold_docs: List[Doc]) -> Dict[str, Any]:
    """Typed detection against the gold ents: P/R/F1 of (start, end, label) (an untyped MENTION_LABEL span is never
    right), and the type accuracy of the spans detected right (start and end) whose gold entity has a type."""
    gold = [{(e.start, e.end): e.label_ for e in doc.ents} for doc in gold_docs]
    right_span = right_type = typed = 0
    for f, g in zip(found, gold):
        for span, label in f.items():
            if span in g and g[span] != MENTION_LABEL:
                right_span += 1
                typed += label != MENTION_LABEL
                right_type += label == g[span]  # a typed true positive: span and type right
    return {
        "typed": prf(right_type, sum(len(f) for f in found), sum(len(g) for g in gold)),
        "type_accuracy": round(right_type / right_span, 4) if right_span else 0.0,
        "typed_share": round(typed / right_span, 4) if right_span else 0.0,
    }


def alias_detections(alias: MentionDetector, gold_docs: List[Doc]) -> List[Dict[Tuple[int, int], str]]:
    """(start, end) -> label of the alias matches in each gold text at the detector's threshold."""
    return [{(s, e): alias.label_of(doc, s, e) for s, e in alias.find(doc)} for doc in gold_docs]


def ner_detections(nlp: Language, gold_docs: List[Doc]) -> List[Dict[Tuple[int, int], str]]:
    """(start, end) -> label of the spans the pipeline's `ner` finds in each gold text (same tokenisation as the gold
    docs)."""
    ner = nlp.get_pipe("ner")
    docs = ner.pipe((nlp.make_doc(doc.text) for doc in gold_docs), batch_size=64)  # type: ignore[attr-defined]
    return [{(e.start, e.end): e.label_ for e in doc.ents} for doc in docs]


def union_detections(
    alias: MentionDetector, ner_spans: List[Dict[Tuple[int, int], str]], gold_docs: List[Doc]
) -> List[Dict[Tuple[int, int], str]]:
    """`ner` spans followed by alias matches that overlap none of them (longest span wins, as the mention detector
    does with overwrite off; an alias match that is also a `ner` span keeps the type the `ner` gave it)."""
    found = []
    for doc, ner_found in zip(gold_docs, ner_spans):
        spans = [Span(doc, s, e, label=label) for (s, e), label in sorted(ner_found.items())]
        spans += [Span(doc, s, e, label=alias.label_of(doc, s, e)) for s, e in alias.find(doc)]
        found.append({(span.start, span.end): span.label_ for span in filter_spans(spans)})
    return found


def union_table(
    alias: MentionDetector,
    ner_spans: List[Dict[Tuple[int, int], str]],
    gold_docs: List[Doc],
    thresholds: Sequence[float],
) -> List[dict]:
    """Detection P/R/F1 of `ner` followed by alias matches (see union_detections) at each link probability
    threshold."""
    rows = []
    for t in thresholds:
        alias.threshold = t
        rows.append({"threshold": t, **span_prf(union_detections(alias, ner_spans, gold_docs), gold_docs)})
    return rows


def linked_predictions(nlp: Language, gold_docs: List[Doc]) -> Tuple[List[Tuple[bool, Optional[float]]], int]:
    """Run detector + linker (no NIL threshold) on the gold texts: (span and QID right, score) per detected mention
    that got a QID, and the number of gold mentions."""
    el = cast(ScoredEntityLinker, nlp.get_pipe("entity_linker"))
    saved, el.nil_threshold = el.nil_threshold, None
    out = []
    try:
        texts = [doc.text for doc in gold_docs]
        for doc, ref in zip(nlp.pipe(texts, batch_size=64), gold_docs):
            gold = {(e.start, e.end, e.kb_id_) for e in ref.ents}
            for ent in doc.ents:
                if ent.kb_id_ and ent.kb_id_ != NIL:
                    out.append(((ent.start, ent.end, ent.kb_id_) in gold, ent._.kb_score))
    finally:
        el.nil_threshold = saved
    return out, sum(len(doc.ents) for doc in gold_docs)


def end_to_end(nlp: Language, gold_docs: List[Doc]) -> Dict[str, float]:
    """Strict end-to-end precision/recall/F1 (same span, same QID) of the pipeline as it is, on the gold texts."""
    tp = n_pred = 0
    for doc, ref in zip(nlp.pipe([d.text for d in gold_docs], batch_size=64), gold_docs):
        gold = {(e.start, e.end, e.kb_id_) for e in ref.ents}
        pred = {(e.start, e.end, e.kb_id_) for e in doc.ents if e.kb_id_ and e.kb_id_ != NIL}
        tp += len(pred & gold)
        n_pred += len(pred)
    return prf(tp, n_pred, sum(len(d.ents) for d in gold_docs))


def nil_table(predictions: List[Tuple[bool, Optional[float]]], n_gold: int, thresholds: Sequence) -> List[dict]:
    rows = []
    for t in thresholds:
        kept = [ok for ok, score in predictions if t is None or (score is not None and score >= t)]
        rows.append({"threshold": t, **prf(sum(kept), len(kept), n_gold)})
    return rows


def best_row(rows: List[dict]) -> dict:
    """Highest F1; ties go to the lowest threshold (None counts as lowest)."""
    return max(rows, key=lambda r: (r["f1"], -(r["threshold"] if r["threshold"] is not None else -1e9)))


@writes_step("build-linker")
def build_linker(
    model_dir: Path,
    kb_dir: Path,
    wikipedia_dir: Path,
    output_dir: Path,
    max_text_mb: int = defaults.DETECTOR_TEXT_MB,
    max_dev_articles: int = defaults.TUNE_DEV_ARTICLES,
    detector: str = defaults.DETECTOR,
    detector_model: Optional[Path] = None,
    typed_aliases: bool = defaults.TYPED_ALIASES,
) -> dict:
    """Write OUTPUT_DIR/model (the full pipeline), detection.md and stats.json. `detector`: alias (KB aliases by
    link probability), ner (the `ner` of `detector_model`, from train-detector), both (ner, then alias matches
    where ner found nothing), or auto (the one of the three with the best detection F1 on dev). `typed_aliases`:
    alias matches (that the ner did not also find) are labelled with their alias's KB type (see alias_types)
    instead of MENTION_LABEL; both are measured on dev."""
    model_dir, kb_dir, wikipedia_dir, output_dir = map(Path, (model_dir, kb_dir, wikipedia_dir, output_dir))
    articles = wikipedia_dir / "articles.jsonl"
    require_inputs(
        {
            "train:model": model_dir / "meta.json",
            "build-kb:entities": kb_dir / "entities.jsonl",
            "parse-wikipedia:articles": articles,
            "parse-wikipedia:redirects": wikipedia_dir / "redirects.tsv",
        }
    )
    if detector not in DETECTORS:
        raise InputError(detector, f"unknown detector: use one of {', '.join(DETECTORS)} (--detector / vars.detector)")
    if detector != "alias":
        if detector_model is None:
            raise InputError(detector, "needs the model of train-detector (--detector-model)")
        require_inputs({"train-detector:model": Path(detector_model) / "meta.json"})
    stats = StepStats("build-linker")
    nlp = spacy.load(model_dir)
    el = as_scored_linker(nlp)
    el.entity_types = {qid: r["type"] for qid, r in read_kb_entities(kb_dir / "entities.jsonl").items()}
    keys = alias_keys(sorted(el.kb.get_alias_strings()), nlp)
    started = time.perf_counter()
    probs, counts = count_link_probabilities(articles, set(keys), nlp, max_text_mb << 20)
    stats["link_probability"] = {**counts, "kb_aliases": len(keys), "seconds": round(time.perf_counter() - started, 1)}
    if not probs:
        raise OutputError(f"no KB alias occurs as a link in the train articles of {articles}")
    gold_docs = gold_paragraphs(articles, kb_dir, wikipedia_dir, nlp, max_dev_articles)
    if not any(doc.ents for doc in gold_docs):
        raise OutputError(f"no dev paragraph with an in-KB link in {articles}: raise vars.dev_percent")
    alias = MentionDetector(nlp)
    alias.set_probabilities(probs)
    kb_types = alias_types(el.kb, {key: keys[key] for key in probs}, el.entity_types)
    tables = {"alias": detection_table(alias, gold_docs, DETECTION_THRESHOLDS)}
    if detector != "alias":
        assert detector_model is not None
        nlp.add_pipe("ner", source=spacy.load(detector_model), before="entity_linker")
        ner_spans = ner_detections(nlp, gold_docs)
        tables["ner"] = [{"threshold": None, **span_prf(ner_spans, gold_docs)}]
        tables["both"] = union_table(alias, ner_spans, gold_docs, DETECTION_THRESHOLDS)
    best = {name: best_row(rows) for name, rows in tables.items()}
    # typed detection and type accuracy of each detector at its best threshold, with alias matches untyped and
    # typed by their alias's KB type (the same spans)

    def detections(types: Dict[str, str]) -> Dict[str, List[Dict[Tuple[int, int], str]]]:
        alias.set_types(types)
        alias.threshold = best["alias"]["threshold"]
        found = {"alias": alias_detections(alias, gold_docs)}
        if detector != "alias":
            alias.threshold = best["both"]["threshold"]
            found["both"] = union_detections(alias, ner_spans, gold_docs)
        return found

    untyped_aliases = detections({})
    if detector != "alias":
        untyped_aliases["ner"] = ner_spans
    for name, spans in untyped_aliases.items():
        best[name] = {**best[name], **typed_scores(spans, gold_docs)}
    for name, spans in detections(kb_types).items():
        best[name]["kb_types"] = typed_scores(spans, gold_docs)
    chosen = max(best, key=lambda name: best[name]["f1"]) if detector == "auto" else detector
    stats["detectors"] = best
    stats["typed_aliases"] = typed_aliases
    stats["detector"] = chosen
    detection = tables[chosen]
    if chosen == "alias" and "ner" in nlp.pipe_names:
        nlp.remove_pipe("ner")
    if chosen in ("alias", "both"):
        detector_pipe = cast(
            MentionDetector,
            nlp.add_pipe(
                "wikiel_mention_detector",
                name="mention_detector",
                before="entity_linker",
                config={"overwrite": chosen == "alias"},
            ),
        )
        detector_pipe.set_probabilities(probs)
        if typed_aliases:
            detector_pipe.set_types(kb_types)
        detector_pipe.threshold = best[chosen]["threshold"]
    started = time.perf_counter()
    predictions, n_gold = linked_predictions(nlp, gold_docs)
    seconds = time.perf_counter() - started
    nil = nil_table(predictions, n_gold, NIL_THRESHOLDS)
    el.nil_threshold = best_row(nil)["threshold"]
    stats["dev"] = {
        "articles": max_dev_articles,
        "paragraphs": len(gold_docs),
        "gold_mentions": n_gold,
        "words": sum(len(d) for d in gold_docs),
        "pipeline_seconds": round(seconds, 2),
    }
    stats["detection_threshold"] = best[chosen]["threshold"]
    stats["detection"] = best[chosen]
    stats["nil_threshold"] = el.nil_threshold
    stats["end_to_end"] = best_row(nil)
    stats["end_to_end_without_nil"] = nil[0]
    options = {"off": stats["end_to_end"]}
    for name, config in ABBREVIATION_OPTIONS.items():
        nlp.add_pipe("wikiel_abbreviations", name="abbreviations", after="entity_linker", config=config)
        options[name] = end_to_end(nlp, gold_docs)
        nlp.remove_pipe("abbreviations")
    # The best end-to-end F1 on dev; ties go to the first option (the component with its defaults), then to "off".
    chosen_abbr = max(ABBREVIATION_OPTIONS, key=lambda name: options[name]["f1"])
    if options["off"]["f1"] > options[chosen_abbr]["f1"]:
        chosen_abbr = "off"
    else:
        nlp.add_pipe(
            "wikiel_abbreviations",
            name="abbreviations",
            after="entity_linker",
            config=ABBREVIATION_OPTIONS[chosen_abbr],
        )
    stats["abbreviation_options"] = options
    stats["abbreviations"] = chosen_abbr
    stats["end_to_end_with_abbreviations"] = options[chosen_abbr if chosen_abbr != "off" else DEFAULT_ABBREVIATIONS]
    stats["abbreviation_definitions"] = sum(len(abbr_pairs(doc)) for doc in gold_docs)
    with atomic_path(output_dir / "model") as tmp:
        nlp.meta["name"] = "wikiel_linker"
        nlp.meta["description"] = "Entity linker to Wikidata QIDs: alias mention detection + EntityLinker (wikiel)"
        nlp.to_disk(tmp)
    with atomic_open(output_dir / "detection.md", "w") as f:
        f.write(detection_markdown(detection, nil, stats))
    return stats.write(output_dir / "stats.json")


def _table(rows: List[dict], chosen) -> str:
    lines = ["| threshold | precision | recall | F1 | predicted | gold |", "|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **(chosen)**" if r["threshold"] == chosen else ""
        t = "none" if r["threshold"] is None else f"{r['threshold']:g}"
        lines.append(
            f"| {t}{mark} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['predicted']} | {r['gold']} |"
        )
    return "\n".join(lines) + "\n"


def _abbreviation_table(stats: Union[StepStats, Dict[str, Any]]) -> str:
    lines = ["| setting | precision | recall | F1 |", "|---|---|---|---|"]
    for name, r in stats["abbreviation_options"].items():
        mark = " **(chosen)**" if name == stats["abbreviations"] else ""
        lines.append(f"| {name}{mark} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |")
    return "\n".join(lines) + "\n"


def _detectors(stats: Union[StepStats, Dict[str, Any]]) -> str:
    """The detectors measured on dev, each at its best threshold, untyped and typed."""
    best = stats["detectors"]
    lines = ["## Detectors on dev (each at its best link probability threshold)", ""]
    lines += [
        "Typed: span and coarse type right (an untyped span never is); type accuracy: of the spans detected right "
        "whose entity has a type, the share given that type; typed: the share given a type at all. With alias "
        "types: the alias matches the ner did not find take their alias's KB type (most prior mass among its "
        f"candidates; {'on' if stats['typed_aliases'] else 'off'} in the pipeline built).",
        "",
        "| detector | threshold | precision | recall | F1 | typed P | typed R | typed F1 | type accuracy | typed "
        "| with alias types: typed F1 | type accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in best.items():
        t = "-" if r["threshold"] is None else f"{r['threshold']:g}"
        mark = " **(chosen)**" if name == stats["detector"] else ""
        typed = r.get("typed", {"precision": 0.0, "recall": 0.0, "f1": 0.0})
        lines.append(
            f"| {name}{mark} | {t} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
            f"{typed['precision']:.3f} | {typed['recall']:.3f} | {typed['f1']:.3f} | "
            f"{r.get('type_accuracy', 0.0):.3f} | {r.get('typed_share', 0.0):.3f} | "
            + (
                f"{r['kb_types']['typed']['f1']:.3f} | {r['kb_types']['type_accuracy']:.3f} |"
                if "kb_types" in r
                else "- | - |"
            )
        )
    return "\n".join(lines) + "\n\n"


def detection_markdown(detection: List[dict], nil: List[dict], stats: Union[StepStats, Dict[str, Any]]) -> str:
    dev = stats["dev"]
    return (
        f"# Mention detection and NIL threshold\n\n"
        f"Dev: {dev['paragraphs']} paragraphs of the first {dev['articles']} dev articles, {dev['gold_mentions']} "
        f"gold mentions (link spans to KB entities). Wikipedia links an entity once per article, so precision is a "
        f"lower bound.\n\n{_detectors(stats)}## Mention detection: {stats['detector']}\n\n"
        f"{_table(detection, stats['detection_threshold'])}"
        f"\n## End to end: span and QID right (linker score threshold; below it, NIL)\n\n"
        f"{_table(nil, stats['nil_threshold'])}"
        f"\n## The abbreviation component\n\n"
        f'Later short forms of "long form (SHORT)" definitions take the long form\'s entity '
        f"({stats['abbreviation_definitions']} definitions found in these paragraphs). End to end at the chosen "
        f"thresholds with each setting (lookup: a long form no linked ent covers is looked up in the KB; "
        f"definition: the parenthesised short form of the definition is linked too):\n\n"
        f"{_abbreviation_table(stats)}"
    )
