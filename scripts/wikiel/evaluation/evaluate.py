"""evaluate: accuracy of the trained linker and of baselines on the dev mentions, overall and per type.

Every in-KB dev mention counts (also those whose gold entity is not among the candidates). Methods:
random (a seeded uniform pick among candidates), prior (highest P(entity | alias)), oracle (gold among candidates),
context (highest cosine between the sentence encoding and the entity vector), context+prior (spaCy's combination
`p + s - p*s`) and pipeline (what the spaCy EntityLinker itself predicts; equal to context+prior up to ties).
With the seed's architecture (configs/nel-seed.cfg) pipeline is what its learned scorer predicts, and the context
methods (a cosine of context encoding and entity vector, which that model does not compute) are left out.
The gold spans are given untyped (label ENTITY): the gold span's label is its gold entity's type, which a linker
that reads mention types must not see (`mention_types="gold"` gives it, as an upper bound of typed detection).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, cast

import numpy as np
from spacy.language import Language
from spacy.pipeline import EntityLinker
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from wikiel import defaults, util
from wikiel.evaluation.recall import candidate_recall
from wikiel.pipeline import candidates as linking  # noqa: F401  (registers the generators the pipeline's config names)
from wikiel.pipeline.components import MENTION_LABEL, SeedEntityLinker, as_scored_linker

METHODS = ["random", "prior", "context", "context+prior", "pipeline", "oracle"]
CONTEXT_METHODS = ("context", "context+prior")


@dataclass
class MentionResult:
    gold: str
    type: str
    n_candidates: int
    picks: Dict[str, Optional[str]]


def _predicted_doc(nlp: Language, ref: Doc, mention_types: str = "none") -> Doc:
    """The reference text re-tokenised, with the gold spans but no kb ids, and sentence boundaries set; the spans
    are untyped (MENTION_LABEL), or keep the gold type with `mention_types="gold"`."""
    doc = nlp.make_doc(ref.text)
    doc.ents = [
        Span(doc, e.start, e.end, label=e.label_ if mention_types == "gold" else MENTION_LABEL) for e in ref.ents
    ]
    return nlp.get_pipe("sentencizer")(doc)


def score_mentions(
    nlp: Language,
    docs: Iterable[Doc],
    seed: int = defaults.SEED,
    pipeline: bool = True,
    batch_size: int = defaults.EVAL_BATCH_SIZE,
    mention_types: str = "none",
) -> List[MentionResult]:
    """Candidates and each method's pick for every gold mention of `docs` (`mention_types`: see the module).

    The context of `batch_size` docs is encoded in one model call (the same encodings as one doc at a time).
    `pipeline` False leaves out spaCy's own prediction (one model call per mention, about half of the cost), for
    callers that only need the other methods (the learning curve); their picks are the same either way. A linker
    without the cosine methods (the seed's) always gives its own prediction as `pipeline`."""
    el = as_scored_linker(nlp)
    cosine = not isinstance(el, SeedEntityLinker)
    rng = random.Random(seed)
    random.seed(seed)  # the EntityLinker shuffles candidates before its argmax
    # the methods scored: spaCy's own prediction only when asked (a seed linker's own one always), the cosine
    # methods only for a linker that has them
    methods = [
        m for m in METHODS if (m != "pipeline" or pipeline or not cosine) and (cosine or m not in CONTEXT_METHODS)
    ]
    results: List[MentionResult] = []
    for refs in minibatch(docs, batch_size):
        predicted = [_predicted_doc(nlp, ref, mention_types) for ref in refs]
        for ref, doc, encodings in zip(refs, predicted, el.context_encodings(predicted)):
            if not cosine:
                pipeline_ids: Sequence[Optional[str]] = [kb_id for kb_id, _ in el.predict([doc])]
            elif pipeline:  # spaCy's own prediction, one doc at a time as before (its shuffles draw from `random`)
                pipeline_ids = EntityLinker.predict(el, [doc])
            else:
                pipeline_ids = [None] * len(doc.ents)
            for ent, ref_ent, enc, pipeline_id in zip(doc.ents, ref.ents, encodings, pipeline_ids):
                candidates = sorted(el.get_candidates(el.kb, ent), key=lambda c: c.entity_)
                picks: Dict[str, Optional[str]] = {m: None for m in methods}
                if "pipeline" in picks:
                    picks["pipeline"] = pipeline_id if pipeline_id != el.NIL else None
                if candidates:
                    assert enc is not None  # the linker encodes the context of every mention (incl_context)
                    ids = [c.entity_ for c in candidates]
                    priors = np.asarray([c.prior_prob for c in candidates])
                    picks["random"] = ids[rng.randrange(len(ids))]
                    picks["prior"] = ids[int(np.argmax(priors))]
                    if cosine:
                        vectors = np.asarray([c.entity_vector for c in candidates])
                        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(enc)
                        sims = vectors @ enc / np.where(norms == 0, 1, norms)
                        picks["context"] = ids[int(np.argmax(sims))]
                        picks["context+prior"] = ids[int(np.argmax(priors + sims - priors * sims))]
                    picks["oracle"] = ref_ent.kb_id_ if ref_ent.kb_id_ in ids else ids[0]
                results.append(MentionResult(ref_ent.kb_id_, ref_ent.label_, len(candidates), picks))
    return results


def summarize(results: List[MentionResult]) -> dict:
    """Accuracy per method, overall and per coarse type, with counts."""
    n = len(results)
    methods_scored = [m for m in METHODS if m in results[0].picks] if results else METHODS
    by_type: Dict[str, List[MentionResult]] = defaultdict(list)
    for r in results:
        by_type[r.type].append(r)
    methods = {}
    for m in methods_scored:
        correct = sum(r.picks[m] == r.gold for r in results)
        methods[m] = {
            "accuracy": round(correct / n, 4) if n else 0.0,
            "correct": correct,
            "by_type": {
                t: round(sum(r.picks[m] == r.gold for r in rs) / len(rs), 4) for t, rs in sorted(by_type.items())
            },
        }
    return {
        "mentions": n,
        "mentions_by_type": {t: len(rs) for t, rs in sorted(by_type.items(), key=lambda kv: -len(kv[1]))},
        "with_candidates": sum(r.n_candidates > 0 for r in results),
        "mean_candidates": round(float(np.mean([r.n_candidates for r in results])), 2) if n else 0.0,
        "methods": methods,
    }


def markdown_table(summary: dict, max_types: int = 8) -> str:
    """Methods as rows; overall accuracy and the most frequent types as columns."""
    types = list(summary["mentions_by_type"])[:max_types]
    head = ["method", f"all (n={summary['mentions']})"] + [f"{t} ({summary['mentions_by_type'][t]})" for t in types]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in (m for m in METHODS if m in summary["methods"]):
        row = summary["methods"][m]
        cells = [m, f"{row['accuracy']:.3f}"] + [f"{row['by_type'].get(t, 0):.3f}" for t in types]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def evaluate_pipeline(nlp: Language, dev_docs: List[Doc], seed: int = defaults.SEED, pipeline: bool = True) -> dict:
    """summarize(score_mentions(...)): without the `pipeline` method when `pipeline` is False."""
    return summarize(score_mentions(nlp, dev_docs, seed=seed, pipeline=pipeline))


def evaluate_candidates(nlp: Language, dev_docs: List[Doc]) -> dict:
    """Recall@k of each candidate generator (`linking.GENERATORS`) on the dev mentions, with the KB of the
    pipeline's entity_linker (see `recall.candidate_recall`)."""
    return candidate_recall(cast(EntityLinker, nlp.get_pipe("entity_linker")).kb, dev_docs)


def load_pipeline(path: Path) -> Language:
    return util.load_pipeline(path, "run the train step, or pass a trained pipeline directory")
