"""learning-curve trains its points in worker processes (vars.curve_processes, 2 by default): each point's result is
the same whichever process trains it and in whichever order, so the curve is identical to training the points one
after the other in one process. The curve's cheaper evaluation (no spaCy prediction per mention, contexts encoded in
batches) gives the same picks as the evaluate step's full one."""

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import Span

from wikiel.corpus.docs import read_docs, write_docs
from wikiel.evaluation import curve
from wikiel.evaluation.curve import learning_curve
from wikiel.evaluation.evaluate import score_mentions

ROOT = Path(__file__).resolve().parents[1]
TOPICS = {
    "sport": "team coach season goal match league stadium cup",
    "music": "album song band guitar tour record singer chart",
    "science": "theory physics paper lab experiment atom research data",
}
ALIASES = ["Jordan", "Victoria", "Lincoln", "Austin"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A KB of 12 entities (4 aliases shared by 3 entities of different topics) and train/dev mentions whose
    sentences carry their entity's topic words; every alias's prior favours the same topic."""
    root = tmp_path_factory.mktemp("tiny-curve")
    nlp = spacy.blank("en")
    rng = random.Random(7)
    vectors = np.random.default_rng(7).normal(size=(len(ALIASES) * len(TOPICS), 64)).astype("float32")
    kb = InMemoryLookupKB(nlp.vocab, entity_vector_length=64)
    qids = {
        (alias, topic): f"Q{i * len(TOPICS) + j + 1}"
        for i, alias in enumerate(ALIASES)
        for j, topic in enumerate(TOPICS)
    }
    kb.set_entities(list(qids.values()), [10] * len(qids), list(vectors))
    for alias in ALIASES:
        kb.add_alias(alias, [qids[alias, t] for t in TOPICS], [0.5, 0.3, 0.2])
    (root / "kb").mkdir()
    kb.to_disk(root / "kb" / "kb")
    with open(root / "kb" / "entities.jsonl", "w", encoding="utf8") as f:  # build-kb's entity table (types)
        for (alias, topic), qid in sorted(qids.items(), key=lambda item: int(item[1][1:])):
            f.write(json.dumps({"qid": qid, "type": "MISC", "title": f"{alias} ({topic})"}) + "\n")

    def docs(n):
        out = []
        for _ in range(n):
            words, spans = [], []
            for _ in range(3):
                alias, topic = rng.choice(ALIASES), rng.choice(list(TOPICS))
                context = rng.sample(TOPICS[topic].split(), 4)
                spans.append((len(words) + 2, qids[alias, topic]))
                words += [*context[:2], alias, *context[2:], "."]
            doc = spacy.tokens.Doc(nlp.vocab, words=words)
            doc.ents = [Span(doc, start, start + 1, label="MISC", kb_id=qid) for start, qid in spans]
            out.append(doc)
        return out

    write_docs(docs(40), root / "train.spacy")
    write_docs(docs(10), root / "dev.spacy")
    return root


def run_curve(tiny, out, n_process):
    return learning_curve(
        ROOT / "configs" / "nel.cfg",
        tiny / "train.spacy",
        tiny / "dev.spacy",
        tiny / "kb",
        None,
        out,
        sizes=[15, 60, 200],
        epochs=1,
        n_process=n_process,
    )


def without_seconds(result):
    """The curve without what depends on the machine's load (seconds) and on how it was run (processes)."""
    timing = ("train_seconds", "train_cpu_seconds")
    points = [{k: v for k, v in p.items() if k not in timing} for p in result["points"]]
    return {**{k: v for k, v in result.items() if k != "processes"}, "points": points}


def test_points_in_parallel_equal_one_after_the_other(tiny, tmp_path, monkeypatch):
    sequential = run_curve(tiny, tmp_path / "one", 1)
    pids = tmp_path / "pids"
    train_pipeline = curve.train_pipeline

    def noting_the_process(*args, **kwargs):
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        return train_pipeline(*args, **kwargs)

    monkeypatch.setattr(curve, "train_pipeline", noting_the_process)
    parallel = run_curve(tiny, tmp_path / "two", 2)
    trained_in = set(pids.read_text().split())
    assert len(trained_in) == 2 and str(os.getpid()) not in trained_in, "two worker processes trained the points"
    assert [p["mentions"] for p in sequential["points"]] == [15, 60, 120]  # 120 = every train mention
    assert sequential["processes"] == 1 and parallel["processes"] == 2
    assert without_seconds(parallel) == without_seconds(sequential)
    assert json.loads((tmp_path / "two" / "curve.json").read_text()) == parallel
    stats = json.loads((tmp_path / "two" / "stats.json").read_text())["counts"]
    assert stats["processes"] == 2 and stats["point_peak_memory_mb"] > 0
    assert sorted(p.name for p in (tmp_path / "two" / "logs").iterdir()) == [f"train-{n}.log" for n in (120, 15, 60)]


def test_curve_evaluation_picks_equal_the_full_evaluation(tiny):
    """The curve leaves out spaCy's per-mention prediction and encodes contexts in batches: same picks otherwise."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    el = nlp.add_pipe("wikiel_entity_linker", name="entity_linker", config={"entity_vector_length": 64})
    kb = InMemoryLookupKB(nlp.vocab, entity_vector_length=64)
    kb.from_disk(tiny / "kb" / "kb")
    el.set_kb(lambda vocab: kb)
    dev = read_docs(tiny / "dev.spacy", nlp)
    nlp.initialize(get_examples=lambda: [spacy.training.Example(nlp.make_doc(d.text), d) for d in dev])
    full = score_mentions(nlp, dev, batch_size=1)
    cheap = score_mentions(nlp, dev, pipeline=False, batch_size=4)
    assert len(full) == len(cheap) == 30
    for f, c in zip(full, cheap):
        assert "pipeline" not in c.picks
        assert c.picks == {m: p for m, p in f.picks.items() if m != "pipeline"}
