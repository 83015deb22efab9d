"""extract-mentions: gold mention examples from article link spans, as spaCy DocBin files.

A link becomes a mention when its (redirect-resolved) target is a KB entity. Train mentions must also have the gold
entity among the candidates of their text (nothing can be learnt otherwise); dev keeps every in-KB mention, so the
evaluation's oracle shows what candidate generation misses. Each article paragraph is one Doc; each mention span is
labelled with the entity's coarse type and carries its QID as `kb_id`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict

import orjson
import spacy
from spacy.tokens import DocBin
from tqdm import tqdm

from wikiel import defaults
from wikiel.kb.tables import load_kb, paragraphs, read_kb_entities, read_redirects, resolve, title_index
from wikiel.pipeline.candidates import exact_then_case_candidates
from wikiel.util import OutputError, StepStats, atomic_path, require_inputs, writes_step


@writes_step("extract-mentions")
def extract_mentions(
    articles_path: Path,
    kb_dir: Path,
    wikipedia_dir: Path,
    output_dir: Path,
    lang: str = defaults.LANG,
    max_train: int = defaults.MAX_TRAIN_MENTIONS,
    max_dev: int = defaults.MAX_DEV_MENTIONS,
) -> dict:
    """Write `train.spacy` and `dev.spacy` (and `stats.json`) into `output_dir`."""
    output_dir = Path(output_dir)
    require_inputs(
        {
            "build-kb:kb": Path(kb_dir) / "kb",
            "build-kb:entities": Path(kb_dir) / "entities.jsonl",
            "parse-wikipedia:articles": articles_path,
            "parse-wikipedia:redirects": Path(wikipedia_dir) / "redirects.tsv",
        }
    )
    stats = StepStats("extract-mentions")
    nlp = spacy.blank(lang)
    kb = load_kb(Path(kb_dir) / "kb", nlp)
    entities = read_kb_entities(Path(kb_dir) / "entities.jsonl")
    titles = title_index(entities)
    redirects = read_redirects(Path(wikipedia_dir) / "redirects.tsv")
    limits = {"train": max_train, "dev": max_dev}
    bins = {"train": DocBin(store_user_data=False), "dev": DocBin(store_user_data=False)}
    counts: Dict[str, Counter] = {"train": Counter(), "dev": Counter()}
    with open(articles_path, "rb") as f:
        for line in tqdm(f, desc="articles", unit=" art", mininterval=2):
            article = orjson.loads(line)
            split = article["split"]
            if counts[split]["mentions"] >= limits[split]:
                if all(counts[s]["mentions"] >= limits[s] for s in limits):
                    break
                continue
            c = counts[split]
            for para, links in paragraphs(article["text"], article["links"]):
                doc = nlp.make_doc(para)
                spans = []
                for s, e, target in links:
                    c["links"] += 1
                    qid = titles.get(resolve(target, redirects))
                    if qid is None:
                        c["not_in_kb"] += 1
                        continue
                    span = doc.char_span(s, e, label=entities[qid]["type"], kb_id=qid)
                    if span is None:
                        c["misaligned"] += 1
                        continue
                    if qid not in {cand.entity_ for cand in exact_then_case_candidates(kb, span)}:
                        c["gold_not_candidate"] += 1
                        if split == "train":
                            continue
                    spans.append(span)
                spans = _non_overlapping(spans, c)
                room = limits[split] - c["mentions"]
                spans = spans[: max(room, 0)]
                if spans:
                    doc.ents = spans
                    bins[split].add(doc)
                    c["mentions"] += len(spans)
                    c["docs"] += 1
                    c.update(f"type:{span.label_}" for span in spans)
    for split in ("train", "dev"):
        if counts[split]["mentions"] == 0:
            raise OutputError(
                f"no {split} mentions from {articles_path} (links: {counts[split]['links']}, not in KB: "
                f"{counts[split]['not_in_kb']}): {_no_mentions_hint(split, counts[split])}"
            )
    for split, docbin in bins.items():
        with atomic_path(output_dir / f"{split}.spacy") as tmp:
            docbin.to_disk(tmp)
        stats[split] = dict(sorted(counts[split].items()))
    return stats.write(output_dir / "stats.json")


def _no_mentions_hint(split: str, c: Counter) -> str:
    """What to change when a split has no mention: its articles (none, or no links), the KB (every link's target
    pruned), or, when some links are in the KB, the pruning and the article limits together."""
    limit = "vars.max_train_articles" if split == "train" else "vars.max_dev_articles"
    if c["links"] == 0:
        share = "raise vars.dev_percent above 0" if split == "dev" else "lower vars.dev_percent"
        return f"its articles have no links: {share} so that {split} articles exist, or raise {limit}"
    if c["not_in_kb"] == c["links"]:
        return "none of their targets is in the KB: lower vars.min_freq / vars.min_pair (build-kb's pruning)"
    return f"lower vars.min_freq / vars.min_pair or raise {limit}"


def _non_overlapping(spans: list, c: Counter) -> list:
    spans = sorted(spans, key=lambda s: (s.start, -len(s)))
    out = []
    last_end = -1
    for span in spans:
        if span.start < last_end:
            c["overlapping"] += 1
            continue
        out.append(span)
        last_end = span.end
    return out
