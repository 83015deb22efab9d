"""train-detector: a spaCy `ner` mention detector trained on the annotated spans of the train documents.

Every link span of a train paragraph (parse-wikipedia's articles.jsonl, or a custom knowledge graph's annotated
documents) becomes an entity with one label, whether or not its entity made it into the KB: the detector learns
what a mention looks like, the linker decides what it refers to. Dev paragraphs choose `model-best`. On a corpus
annotated completely (e.g. NCBI-disease) this finds mentions that no alias string matches; on Wikipedia, where an
entity is linked once per article, the unlinked mentions teach it to miss some (build-linker measures both
detectors on dev and `--detector` chooses).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import spacy
from spacy.tokens import DocBin, Span
from spacy.util import filter_spans
from tqdm import tqdm

from wikiel import defaults
from wikiel.kb.tables import article_paragraphs
from wikiel.pipeline.components import MENTION_LABEL
from wikiel.training.train import eval_frequency_for, run_spacy_train
from wikiel.util import OutputError, StepStats, require_inputs


def write_span_docs(articles: Path, split: str, path: Path, lang: str, max_bytes: int) -> Dict[str, int]:
    """The paragraphs of one split as a DocBin whose ents are all their link spans (label MENTION_LABEL)."""
    nlp = spacy.blank(lang)
    docbin = DocBin(store_user_data=False)
    counts = {"paragraphs": 0, "spans": 0, "misaligned": 0}
    paragraphs = article_paragraphs(articles, split, max_bytes=max_bytes)
    for text, links in tqdm(paragraphs, desc=f"{split} paragraphs", unit=" para", mininterval=2, leave=False):
        doc = nlp.make_doc(text)
        spans = []
        for start, end, _ in links:
            span = doc.char_span(start, end, label=MENTION_LABEL, alignment_mode="strict")
            if span is None:
                counts["misaligned"] += 1
            else:
                spans.append(span)
        kept = filter_spans(spans)
        doc.ents = [Span(doc, s.start, s.end, label=MENTION_LABEL) for s in kept]
        docbin.add(doc)
        counts["paragraphs"] += 1
        counts["spans"] += len(kept)
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
    quiet: bool = False,
) -> dict:
    """Train into `output_dir` (model-best/, model-last/, stats.json); the directory appears only when done."""
    articles = Path(wikipedia_dir) / "articles.jsonl"
    require_inputs({"parse-wikipedia:articles": articles, "build-kb:kb": Path(kb_dir) / "kb"})
    stats = StepStats("train-detector")
    with tempfile.TemporaryDirectory(prefix="wikiel-detector-") as scratch:
        corpus = Path(scratch)
        for split in ("train", "dev"):
            counts = write_span_docs(articles, split, corpus / f"{split}.spacy", lang, max_text_mb << 20)
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
