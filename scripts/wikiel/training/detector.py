"""train-detector: a spaCy `ner` mention detector trained on the annotated spans of the train documents.

Every link span of a train paragraph (parse-wikipedia's articles.jsonl, or a custom knowledge graph's annotated
documents) becomes an entity labelled with the coarse type of its target (`--labels typed`, the default: the KB's
types, e.g. PERSON, CITY, FILM on Wikidata, or a custom KB's own types such as DISEASE), or with one label for all
(`--labels single`, MENTION_LABEL). A span whose target has no type (a link to an entity outside the KB) is, by
`--untyped`: `generic` (labelled MENTION_LABEL: still a mention to find, of no known type), `missing` (its tokens left
unannotated: neither a mention nor not one) or `omit` (not a mention: its tokens are outside any entity). The detector
learns what a mention looks like and which type it is; the linker decides what it refers to. Dev paragraphs choose
`model-best`. On a corpus annotated completely (e.g. NCBI-disease) this finds mentions that no alias string matches;
on Wikipedia, where an entity is linked once per article, the unlinked mentions teach it to miss some (build-linker
measures the detectors on dev and `--detector` chooses).

Link spans that overlap (nested or crossing mentions: a `ner` takes one per token, `spancat` would take both) are
counted as `overlapping` in the stats; the longest of them is kept.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Optional, Union

import spacy
from spacy.tokens import DocBin, Span
from spacy.util import filter_spans
from tqdm import tqdm

from wikiel import defaults
from wikiel.kb.tables import article_paragraphs, read_kb_entities, read_redirects, resolve, title_index
from wikiel.pipeline.components import MENTION_LABEL
from wikiel.training.train import eval_frequency_for, run_spacy_train
from wikiel.util import InputError, OutputError, StepStats, require_inputs

LABELS = ("typed", "single")
UNTYPED = ("generic", "missing", "omit")


def link_types(kb_dir: Path) -> Dict[str, str]:
    """Link target (title, or a custom KB's id, redirects followed by the caller) -> coarse type of its KB entity."""
    entities = read_kb_entities(Path(kb_dir) / "entities.jsonl")
    return {target: entities[qid]["type"] for target, qid in title_index(entities).items() if entities[qid]["type"]}


def write_span_docs(
    articles: Path,
    split: str,
    path: Path,
    lang: str,
    max_bytes: int,
    types: Optional[Dict[str, str]] = None,
    redirects: Optional[Dict[str, str]] = None,
    untyped: str = defaults.DETECTOR_UNTYPED,
) -> Dict[str, Any]:
    """The paragraphs of one split as a DocBin whose ents are their link spans: labelled with their target's type
    from `types` (None: every span MENTION_LABEL), spans of no known type handled as `untyped` says."""
    nlp = spacy.blank(lang)
    docbin = DocBin(store_user_data=False)
    counts: Dict[str, Any] = {"paragraphs": 0, "spans": 0, "misaligned": 0, "overlapping": 0, "untyped": 0}
    labels: Counter = Counter()
    paragraphs = article_paragraphs(articles, split, max_bytes=max_bytes)
    for text, links in tqdm(paragraphs, desc=f"{split} paragraphs", unit=" para", mininterval=2, leave=False):
        doc = nlp.make_doc(text)
        spans = []
        for start, end, target in links:
            label = MENTION_LABEL if types is None else types.get(resolve(target, redirects or {}), "")
            span = doc.char_span(start, end, label=label or MENTION_LABEL, alignment_mode="strict")
            if span is None:
                counts["misaligned"] += 1
            else:
                spans.append((span, bool(label)))
        kept = filter_spans([span for span, _ in spans])
        counts["overlapping"] += len(spans) - len(kept)
        typed = {(s.start, s.end) for s, has_type in spans if has_type}
        ents, missing = [], []
        for s in kept:
            if (s.start, s.end) not in typed:
                counts["untyped"] += 1
                if untyped == "missing":
                    missing.append(Span(doc, s.start, s.end))
                    continue
                if untyped == "omit":
                    continue
            ents.append(Span(doc, s.start, s.end, label=s.label_))
        doc.set_ents(ents, missing=missing)
        labels.update(s.label_ for s in ents)
        docbin.add(doc)
        counts["paragraphs"] += 1
        counts["spans"] += len(ents)
    counts["labels"] = dict(sorted(labels.items()))
    docbin.to_disk(path)
    return counts


def train_detector(
    config: Path,
    wikipedia_dir: Path,
    kb_dir: Path,
    output_dir: Path,
    vectors: Optional[str],
    lang: str = defaults.LANG,
    max_epochs: int = defaults.DETECTOR_EPOCHS,
    max_text_mb: int = defaults.DETECTOR_TRAIN_TEXT_MB,
    seed: int = defaults.SEED,
    labels: str = defaults.DETECTOR_LABELS,
    untyped: str = defaults.DETECTOR_UNTYPED,
    quiet: bool = False,
) -> dict:
    """Train into `output_dir` (model-best/, model-last/, stats.json); the directory appears only when done.
    `labels`: typed (each span labelled with its target's KB type) or single (MENTION_LABEL for all); `untyped`:
    what becomes of a span whose target has no type (see the module docstring)."""
    if labels not in LABELS:
        raise InputError(labels, f"unknown detector labels: use one of {', '.join(LABELS)} (--labels)")
    if untyped not in UNTYPED:
        raise InputError(untyped, f"unknown handling of untyped spans: use one of {', '.join(UNTYPED)} (--untyped)")
    articles = Path(wikipedia_dir) / "articles.jsonl"
    entities = Path(kb_dir) / "entities.jsonl"
    redirects_path = Path(wikipedia_dir) / "redirects.tsv"
    inputs: Dict[str, Union[str, Path]] = {"parse-wikipedia:articles": articles, "build-kb:kb": Path(kb_dir) / "kb"}
    if labels == "typed":
        inputs.update({"build-kb:entities": entities, "parse-wikipedia:redirects": redirects_path})
    require_inputs(inputs)
    stats = StepStats("train-detector")
    types = link_types(kb_dir) if labels == "typed" else None
    redirects = read_redirects(redirects_path) if labels == "typed" else None
    stats["labels"] = labels
    stats["untyped"] = untyped
    with tempfile.TemporaryDirectory(prefix="wikiel-detector-") as scratch:
        corpus = Path(scratch)
        for split in ("train", "dev"):
            counts = write_span_docs(
                articles, split, corpus / f"{split}.spacy", lang, max_text_mb << 20, types, redirects, untyped
            )
            if not counts["spans"]:
                raise OutputError(
                    f"no annotated {split} spans in {articles} to train the mention detector on: raise "
                    f"vars.dev_percent / vars.max_{split}_articles, or use vars.detector alias"
                )
            stats[split] = counts
        settings: Dict[str, Any] = {
            "paths.train": str(corpus / "train.spacy"),
            "paths.dev": str(corpus / "dev.spacy"),
            "paths.vectors": vectors,
            "nlp.lang": lang,
            "components.ner.model.tok2vec.embed.include_static_vectors": vectors is not None,
            "training.eval_frequency": eval_frequency_for(corpus / "train.spacy"),
            "training.max_epochs": max_epochs,
            "system.seed": seed,
        }
        return run_spacy_train(config, Path(output_dir), settings, stats, quiet)
