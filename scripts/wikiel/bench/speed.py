"""Inference speed of the linker on CPU: the full pipeline on raw text, the linking step alone, and spaCy's own
EntityLinker prediction on the same mentions for comparison (it runs its model once per mention)."""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path
from typing import Dict, Iterable, List, cast

from spacy.language import Language
from spacy.pipeline import EntityLinker
from spacy.tokens import Span

from wikiel.kb.tables import article_paragraphs, split_articles
from wikiel.pipeline.components import MENTION_LABEL


def dev_texts(articles_path: Path, max_docs: int, whole_articles: bool = False) -> List[str]:
    """The first `max_docs` dev paragraphs (one doc each), or with `whole_articles` the first `max_docs` dev articles
    (one doc each: the many mentions per doc of real documents)."""
    if whole_articles:
        texts: Iterable[str] = (a["text"] for a in split_articles(articles_path, "dev") if a["text"])
    else:
        texts = (text for text, _ in article_paragraphs(articles_path, "dev"))
    return list(islice(texts, max_docs))


def _rate(n_docs: int, n_mentions: int, n_chars: int, seconds: float) -> Dict[str, float]:
    return {
        "docs": n_docs,
        "mentions": n_mentions,
        "seconds": round(seconds, 3),
        "docs_per_s": round(n_docs / seconds, 1),
        "mentions_per_s": round(n_mentions / seconds, 1),
        "kchars_per_s": round(n_chars / seconds / 1e3, 1),
    }


def measure_inference(nlp: Language, texts: List[str], batch_size: int = 64, spacy_predict: bool = True) -> dict:
    """docs/s and mentions/s of `nlp.pipe` on raw text, of the linker alone on the detected mentions, and (when
    `spacy_predict`) of spaCy's EntityLinker.predict on the same mentions."""
    chars = sum(map(len, texts))
    list(nlp.pipe(texts[:10]))  # warm up: candidate indexes and vectors load lazily
    started = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    full = _rate(len(docs), sum(len(d.ents) for d in docs), chars, time.perf_counter() - started)
    el = cast(EntityLinker, nlp.get_pipe("entity_linker"))
    before = [name for name in nlp.pipe_names if name != "entity_linker"]
    with nlp.select_pipes(enable=before):
        prepared = list(nlp.pipe(texts, batch_size=batch_size))
    for doc in prepared:  # the detector's output as the linker sees it
        doc.ents = [Span(doc, e.start, e.end, label=MENTION_LABEL) for e in doc.ents]
    started = time.perf_counter()
    linked = list(el.pipe(prepared, batch_size=batch_size))
    n_linked = sum(len(d.ents) for d in linked)
    alone = _rate(len(linked), n_linked, chars, time.perf_counter() - started)
    out = {"full_pipeline": full, "linking_only": alone}
    if spacy_predict:
        started = time.perf_counter()
        for doc in prepared:
            EntityLinker.predict(el, [doc])
        out["spacy_entity_linker_predict"] = _rate(len(prepared), n_linked, chars, time.perf_counter() - started)
    return out


def inference_rows(result: dict) -> List[List[str]]:
    names = {
        "full_pipeline": "full pipeline (tokenizer, sentencizer, mention detection, linking)",
        "linking_only": "linking step alone (wikiel_entity_linker)",
        "spacy_entity_linker_predict": "spaCy's EntityLinker.predict on the same mentions",
    }
    return [
        [
            names[k],
            f"{r['docs']:,}",
            f"{r['mentions']:,}",
            f"{r['docs_per_s']:,.1f}",
            f"{r['mentions_per_s']:,.1f}",
            f"{r['kchars_per_s']:,.1f}",
        ]
        for k, r in result.items()
    ]
