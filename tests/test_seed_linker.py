"""The seed's linker architecture (`wikiel.SeedLinker.v1`, component `wikiel_seed_linker`, configs/nel-seed.cfg):
a learned scorer over context, mention type, entity vector and prior, trained with a softmax over the candidates."""

import json
import subprocess
import sys

import numpy as np
import pytest
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import DocBin, Span
from spacy.training import Example
from thinc.api import Config
from typer.testing import CliRunner

from conftest import ROOT
from wikiel.cli import app
from wikiel.evaluation import curve, evaluate
from wikiel.pipeline.components import (
    MENTION_LABEL,
    NIL,
    UNK_TYPE,
    SeedEntityLinker,
    as_scored_linker,
    nil_softmax,
    seed_head,
)

TYPES = {"Q1": "CITY", "Q2": "PERSON", "Q3": "CITY", "Q4": "PERSON"}


def make_kb(vocab, dim=8, vectors=None):
    """The 4-entity KB (random vectors, seeded; `vectors`: qid -> vector to use instead)."""
    kb = InMemoryLookupKB(vocab, entity_vector_length=dim)
    rng = np.random.default_rng(0)
    for qid, freq in [("Q1", 50), ("Q2", 20), ("Q3", 30), ("Q4", 10)]:
        vector = rng.normal(size=dim).astype("float32")
        kb.add_entity(qid, freq, (vectors or {}).get(qid, vector))
    kb.add_alias("Paris", ["Q1", "Q2"], [0.7, 0.3])
    kb.add_alias("Berlin", ["Q3", "Q4"], [0.45, 0.55])
    kb.add_alias("Lonely", ["Q4"], [1.0])
    return kb


def example(nlp, text, spans):
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, s, e, label=label, kb_id=qid) for s, e, label, qid in spans]
    return Example(nlp.make_doc(text), doc)


# The same words around "Paris" and "Berlin" for both of their entities: only the mention's type tells them apart.
TRAIN = [
    ("We saw Paris there.", [(2, 3, "CITY", "Q1")]),
    ("We saw Paris there.", [(2, 3, "PERSON", "Q2")]),
    ("We saw Berlin there.", [(2, 3, "CITY", "Q3")]),
    ("We saw Berlin there.", [(2, 3, "PERSON", "Q4")]),
]


TOK2VEC = {  # small, so that the tests train in a second or two
    "@architectures": "spacy.HashEmbedCNN.v2",
    "pretrained_vectors": None,
    "width": 16,
    "depth": 1,
    "embed_size": 200,
    "window_size": 1,
    "maxout_pieces": 2,
    "subword_features": False,
}


def seed_pipeline(use_types=True, entity_types_path=None, steps=30, interaction=False, similarity=False):
    """sentencizer + wikiel_seed_linker over the 4-entity KB, trained `steps` updates on TRAIN (seeded)."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"use_types": use_types, "type_dropout": 0.0, "tok2vec": TOK2VEC, "interaction": interaction}
    model["similarity"] = similarity
    config = {"entity_vector_length": 8, "model": model}
    el = nlp.add_pipe("wikiel_seed_linker", name="entity_linker", config=config)
    el.set_kb(lambda vocab: make_kb(vocab))
    if entity_types_path is None:
        el.entity_types = dict(TYPES)
    examples = [example(nlp, t, s) for t, s in TRAIN]
    settings = {"entity_types": str(entity_types_path)} if entity_types_path else {}
    nlp.config["initialize"]["components"]["entity_linker"] = settings
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


def typed(nlp, text, spans):
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in spans]
    return nlp.get_pipe("sentencizer")(doc)


def test_seed_linker_uses_the_predicted_type_and_the_ablation_drops_it():
    nlp = seed_pipeline()
    el = nlp.get_pipe("entity_linker")
    assert isinstance(el, SeedEntityLinker) and el.types == [UNK_TYPE, "CITY", "PERSON"]
    doc = typed(nlp, "We saw Paris there. We saw Berlin there.", [(2, 3, "CITY"), (7, 8, "PERSON")])
    assert [kb for kb, _ in el.predict([doc])] == ["Q1", "Q4"]
    doc = typed(nlp, "We saw Paris there. We saw Berlin there.", [(2, 3, "PERSON"), (7, 8, "CITY")])
    assert [kb for kb, _ in el.predict([doc])] == ["Q2", "Q3"]
    # an untyped mention (alias detection's label, or a label that is no KB type) is UNK: no type match
    assert el.type_id(MENTION_LABEL) == el.type_id("MENTION") == 0
    cands = sorted(el.kb.get_alias_candidates("Paris"), key=lambda c: c.entity_)
    assert el.features(cands, el.type_id("CITY"))[:, -1].tolist() == [1.0, 0.0]
    assert el.features(cands, 0)[:, -1].tolist() == [0.0, 0.0]
    # without the type feature the two readings get the same scores
    plain = seed_pipeline(use_types=False).get_pipe("entity_linker")
    a = plain.predict([typed(nlp, "We saw Paris there.", [(2, 3, "CITY")])])
    b = plain.predict([typed(nlp, "We saw Paris there.", [(2, 3, "PERSON")])])
    assert a == b


def test_seed_linker_scores_nil_threshold_types_and_round_trip(tmp_path):
    nlp = seed_pipeline(steps=20)
    el = nlp.get_pipe("entity_linker")
    doc = el(typed(nlp, "We saw Paris there. Nowhere too. Lonely.", [(2, 3, "CITY"), (5, 6, "CITY"), (8, 9, "X")]))
    paris, nowhere, lonely = doc.ents
    assert paris.kb_id_ in ("Q1", "Q2") and paris.label_ == "CITY"  # a typed mention keeps its label
    cands = sorted(el.kb.get_alias_candidates("Paris"), key=lambda c: c.entity_)
    probs = el.score_candidates(cands, el.context_encodings([doc])[0][0], "CITY")
    assert paris._.kb_score == pytest.approx(float(probs.max()), abs=1e-5)
    assert 0 < probs.sum() < 1  # the NIL slot takes the rest
    assert nowhere.kb_id_ == NIL and nowhere._.kb_score is None
    assert lonely.kb_id_ == "Q4" and 0 < lonely._.kb_score < 1  # a single candidate can still score low
    untyped = el(typed(nlp, "We saw Paris there.", [(2, 3, MENTION_LABEL)]))
    assert untyped.ents[0].label_ == TYPES[untyped.ents[0].kb_id_]  # ENTITY spans take the entity's type
    el.nil_threshold = paris._.kb_score + 0.01
    assert el(typed(nlp, "We saw Paris there.", [(2, 3, "CITY")])).ents[0].kb_id_ == NIL
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    lel = loaded.get_pipe("entity_linker")
    assert isinstance(lel, SeedEntityLinker) and as_scored_linker(loaded) is lel
    assert lel.nil_threshold == pytest.approx(el.nil_threshold) and lel.entity_types == el.entity_types
    assert lel.types == el.types
    el.nil_threshold = lel.nil_threshold = None
    text, spans = "We saw Paris there. We saw Berlin there.", [(2, 3, "CITY"), (7, 8, MENTION_LABEL)]
    assert lel.predict([typed(loaded, text, spans)]) == el.predict([typed(nlp, text, spans)])


def test_seed_linker_reads_the_kb_types_at_initialize(tmp_path):
    path = tmp_path / "entities.jsonl"
    path.write_text("".join(f'{{"qid": "{q}", "type": "{t}", "title": "x"}}\n' for q, t in TYPES.items()))
    el = seed_pipeline(entity_types_path=path, steps=1).get_pipe("entity_linker")
    assert el.entity_types == TYPES and el.types == [UNK_TYPE, "CITY", "PERSON"]


def test_nil_softmax_and_training_targets():
    probs = nil_softmax(np.asarray([0.0, 0.0], dtype="float32"))
    assert probs.tolist() == pytest.approx([1 / 3, 1 / 3])
    assert nil_softmax(np.asarray([1000.0])).tolist() == pytest.approx([1.0])  # no overflow
    # a mention whose gold entity is not a candidate teaches NIL: its best candidate's probability goes down
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    config = {"entity_vector_length": 8, "model": {"tok2vec": TOK2VEC}}
    el = nlp.add_pipe("wikiel_seed_linker", name="entity_linker", config=config)
    el.set_kb(lambda vocab: make_kb(vocab))
    examples = [example(nlp, "We saw Lonely there.", [(2, 3, "PERSON", "Q1")])]  # Q1 is no candidate of Lonely
    optimizer = nlp.initialize(get_examples=lambda: examples)
    doc = typed(nlp, "We saw Lonely there.", [(2, 3, "PERSON")])
    before = el.predict([doc])[0][1]
    for _ in range(20):
        nlp.update(examples, sgd=optimizer)
    assert el.predict([doc])[0][1] < before - 0.1


def test_evaluate_gives_the_seed_untyped_gold_spans():
    nlp = seed_pipeline()
    ref = example(nlp, "We saw Paris there.", [(2, 3, "PERSON", "Q2")]).reference
    seen = []
    el = nlp.get_pipe("entity_linker")
    original = SeedEntityLinker.predict

    def spy(self, docs):
        seen.extend(e.label_ for d in docs for e in d.ents)
        return original(self, docs)

    el.predict = spy.__get__(el)
    summary = evaluate.summarize(evaluate.score_mentions(nlp, [ref]))
    assert seen == [MENTION_LABEL]  # never the gold entity's own type
    assert "context" not in summary["methods"] and "pipeline" in summary["methods"]
    assert "| pipeline |" in evaluate.markdown_table(summary) and "| context |" not in evaluate.markdown_table(summary)
    gold_typed = evaluate.summarize(evaluate.score_mentions(nlp, [ref], mention_types="gold"))
    assert seen[-1] == "PERSON" and gold_typed["methods"]["pipeline"]["accuracy"] == 1.0


def test_configs_name_both_architectures():
    v3 = Config().from_disk(ROOT / "configs" / "nel.cfg", interpolate=False)
    seed = Config().from_disk(ROOT / "configs" / "nel-seed.cfg", interpolate=False)
    assert v3["components"]["entity_linker"]["model"]["@architectures"] == "spacy.EntityLinker.v2"
    assert seed["components"]["entity_linker"]["factory"] == "wikiel_seed_linker"
    assert seed["components"]["entity_linker"]["model"]["@architectures"] == "wikiel.SeedLinker.v1"
    assert seed["components"]["entity_linker"]["model"]["use_types"] is True
    assert seed["components"]["entity_linker"]["model"]["similarity"] is True  # the architecture's default: false
    bio = Config().from_disk(ROOT / "configs" / "nel-seed-biomedical.cfg", interpolate=False)["components"]
    assert bio["entity_linker"]["model"] == seed["components"]["entity_linker"]["model"]
    assert bio["entity_linker"]["get_candidates"]["@misc"] == "wikiel.TfidfCandidates.v1"
    for cfg in ("nel.cfg", "nel-seed.cfg"):
        text = (ROOT / "configs" / cfg).read_text()
        assert "EntityLinker.v2" in text and "wikiel.SeedLinker.v1" in text  # both choices explained


def test_seed_pipeline_loads_from_the_shipped_code_alone(tmp_path):
    """What `spacy package` ships (the pipeline modules, imported by the package's __init__) is enough to load a
    seed pipeline in an interpreter that cannot import the project."""
    from test_workflow import WITHOUT_PROJECT

    nlp = seed_pipeline(steps=2)
    nlp.to_disk(tmp_path / "model")
    package = tmp_path / "shipped" / "seed_pkg"
    package.mkdir(parents=True)
    modules = ("candidates", "components", "abbreviations")
    for name in modules:
        (package / f"{name}.py").write_text((ROOT / "scripts/wikiel/pipeline" / f"{name}.py").read_text())
    (package / "__init__.py").write_text("".join(f"from . import {m}\n" for m in modules))
    code = (
        WITHOUT_PROJECT + f"sys.path.insert(0, {str(package.parent)!r})\nimport seed_pkg, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'model')!r})\n"
        "doc = nlp.make_doc('We saw Paris there.')\n"
        "doc.ents = [spacy.tokens.Span(doc, 2, 3, label='CITY')]\n"
        "doc = nlp.get_pipe('entity_linker')(nlp.get_pipe('sentencizer')(doc))\n"
        "print(type(nlp.get_pipe('entity_linker')).__name__, doc.ents[0].kb_id_)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["SeedEntityLinker", el_pick(nlp)]


def el_pick(nlp):
    doc = nlp.get_pipe("entity_linker")(typed(nlp, "We saw Paris there.", [(2, 3, "CITY")]))
    return doc.ents[0].kb_id_


def test_learning_curve_table_for_either_architecture():
    base = {"dev_mentions": 10, "epochs": 2, "baselines": {"prior": 0.5}}
    v3 = curve.markdown_curve(
        {**base, "points": [{"mentions": 100, "train_seconds": 3, "context+prior": 0.7, "context": 0.6}]}
    )
    assert "| train mentions | context+prior | context | train seconds |" in v3 and "| 100 | 0.700 | 0.600 | 3 |" in v3
    seed = curve.markdown_curve({**base, "points": [{"mentions": 100, "train_seconds": 3, "pipeline": 0.8}]})
    assert "| train mentions | pipeline | train seconds |" in seed and "| 100 | 0.800 | 3 |" in seed


def test_seed_linker_interaction_option_trains_and_round_trips(tmp_path):
    nlp = seed_pipeline(interaction=True, steps=10)
    el = nlp.get_pipe("entity_linker")
    assert el.model.has_ref("project") and not seed_pipeline(steps=0).get_pipe("entity_linker").model.has_ref("project")
    doc = typed(nlp, "We saw Paris there. We saw Berlin there.", [(2, 3, "CITY"), (7, 8, "PERSON")])
    assert [kb for kb, _ in el.predict([doc])] == ["Q1", "Q4"]
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("entity_linker").predict([typed(loaded, doc.text, [(2, 3, "CITY"), (7, 8, "PERSON")])]) == (
        el.predict([doc])
    )


# ---- the `similarity` option: cosine(projected context, entity vector) as a feature + EntityLinker.v2's loss ------
def only_the_similarity_column(el):
    """Zero the scorer's input weights of every feature but the similarity cosine (the last column)."""
    relu = el.model.get_ref("scorer").layers[0]
    W = relu.get_param("W").copy()
    W[:, :-1] = 0.0
    relu.set_param("W", W)


def paris_batch(el, nlp):
    doc = typed(nlp, "We saw Paris there. We saw Berlin there.", [(2, 3, "CITY"), (7, 8, MENTION_LABEL)])
    context = np.stack([e for e in el.context_encodings([doc])[0]])
    mentions = [(el._candidates([ent])[0], el.type_id(ent.label_)) for ent in doc.ents]
    return context, el._batch(mentions)


def test_seed_similarity_gradient_reaches_the_encoder_through_the_cosine():
    nlp = seed_pipeline(similarity=True, steps=0)
    el = nlp.get_pipe("entity_linker")
    assert el.model.has_ref("sim_project") and el.model.attrs["similarity"]
    only_the_similarity_column(el)  # the context then reaches the logits through the cosine alone
    context, batch = paris_batch(el, nlp)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(len(batch[1]), 1)).astype("float32")
    direction = rng.normal(size=context.shape).astype("float32")
    direction /= np.linalg.norm(direction)

    def f(c):
        return float((seed_head(el.model, c, *batch, False)[0] * weights).sum())

    _, backprop, aux = seed_head(el.model, context, *batch, True)
    assert aux == 0.0  # no gold vectors given: no auxiliary loss
    d_context = backprop(weights)
    assert np.abs(d_context).max() > 1e-4
    eps = 1e-2
    numeric = (f(context + eps * direction) - f(context - eps * direction)) / (2 * eps)
    assert float((d_context * direction).sum()) == pytest.approx(numeric, rel=0.05, abs=1e-4)
    # the auxiliary loss: 1 - cosine(projected context, gold vector), and its gradient to the context
    gold = el.gold_vectors(["Q1", ""])
    assert gold[1].tolist() == [0.0] * 8 and gold[0].tolist() == pytest.approx(el.kb.get_vector("Q1"))

    def loss(c):
        return seed_head(el.model, c, *batch, False, gold)[2]

    projected = el.model.get_ref("sim_project").predict(context[:1])[0]
    expected = 1 - projected @ gold[0] / np.linalg.norm(projected) / np.linalg.norm(gold[0])
    assert loss(context) == pytest.approx(float(expected), abs=1e-5)
    _, backprop, _ = seed_head(el.model, context, *batch, True, gold)
    d_aux = backprop(np.zeros_like(weights))
    assert np.abs(d_aux[0]).max() > 1e-4 and not d_aux[1].any()  # the mention without a gold vector adds nothing
    numeric = (loss(context + eps * direction) - loss(context - eps * direction)) / (2 * eps)
    assert float((d_aux * direction).sum()) == pytest.approx(numeric, rel=0.05, abs=1e-4)


@pytest.mark.parametrize("similarity", [False, True])
def test_seed_similarity_loss_trains_the_encoder(similarity):
    """With a scorer that passes no gradient (all its input weights 0), only the auxiliary cosine loss reaches the
    encoder: its tok2vec gets a gradient with `similarity` and none without, and training raises the cosine of the
    projected context with the gold entity's vector."""
    nlp = seed_pipeline(similarity=similarity, steps=0)
    el = nlp.get_pipe("entity_linker")
    relu = el.model.get_ref("scorer").layers[0]
    relu.set_param("W", np.zeros_like(relu.get_param("W")))
    examples = [example(nlp, t, s) for t, s in TRAIN]
    losses = el.update(examples, sgd=None)
    grads = [grad for _, grad in el.model.get_ref("tok2vec").get_gradients().values()]
    assert grads and (max(float(np.abs(g).max()) for g in grads) > 0) == similarity
    if not similarity:
        return
    docs = [typed(nlp, t, [(s, e, label) for s, e, label, _ in spans]) for t, spans in TRAIN]
    gold = el.gold_vectors([spans[0][3] for _, spans in TRAIN])

    def mean_cosine():
        projected = el.model.get_ref("sim_project").predict(el.model.get_ref("encoder").predict(docs))
        norms = np.linalg.norm(projected, axis=1) * np.linalg.norm(gold, axis=1)
        return float(((projected * gold).sum(axis=1) / norms).mean())

    before = mean_cosine()
    assert losses["entity_linker"] > np.log(3) - 0.01 + (1 - before) - 0.2  # softmax (uniform) + cosine loss
    optimizer = nlp.resume_training()
    for _ in range(20):
        el.update(examples, sgd=optimizer)
    assert mean_cosine() > before + 0.2


def test_seed_similarity_scores_follow_the_entity_vectors():
    """The cosine feature reads the candidate's entity vector: the same trained model scores Paris differently when
    Q1's vector points along the projected context than against it (with the scorer reading the cosine alone, Q2's
    logit stays as it is)."""
    nlp = seed_pipeline(similarity=True, steps=10)
    el = nlp.get_pipe("entity_linker")
    only_the_similarity_column(el)
    doc = typed(nlp, "We saw Paris there.", [(2, 3, "CITY")])
    encoding = el.context_encodings([doc])[0][0]
    projected = el.model.get_ref("sim_project").predict(encoding[None, :])[0]
    logits, scores = [], []
    for sign in (1.0, -1.0):
        el.set_kb(lambda vocab, sign=sign: make_kb(vocab, vectors={"Q1": (sign * projected).astype("float32")}))
        assert el.kb.get_vector("Q1") == pytest.approx(sign * projected)
        cands = sorted(el.kb.get_alias_candidates("Paris"), key=lambda c: c.entity_)
        logits.append(seed_head(el.model, encoding[None, :], *el._batch([(cands, el.type_id("CITY"))]), False)[0])
        scores.append(el.score_candidates(cands, encoding, "CITY"))
    assert abs(float(logits[0][0, 0] - logits[1][0, 0])) > 1e-3  # Q1's logit moved with its vector
    assert float(logits[0][1, 0]) == pytest.approx(float(logits[1][1, 0]), abs=1e-6)  # Q2's did not
    assert abs(float(scores[0][0] - scores[1][0])) > 1e-4


def test_seed_similarity_option_round_trips_through_config_disk_and_package(tmp_path):
    from test_workflow import WITHOUT_PROJECT

    nlp = seed_pipeline(similarity=True, steps=10)
    el = nlp.get_pipe("entity_linker")
    assert nlp.config["components"]["entity_linker"]["model"]["similarity"] is True
    text, spans = "We saw Paris there. We saw Berlin there.", [(2, 3, "CITY"), (7, 8, MENTION_LABEL)]
    expected = el.predict([typed(nlp, text, spans)])
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    lel = loaded.get_pipe("entity_linker")
    assert loaded.config["components"]["entity_linker"]["model"]["similarity"] is True
    assert lel.model.has_ref("sim_project") and lel.model.attrs["similarity"] is True
    assert lel.predict([typed(loaded, text, spans)]) == expected
    # the project's package step, in its own process (spacy package imports the shipped modules a second time,
    # re-registering the factories in this one)
    package = [sys.executable, "-m", "wikiel", "package", str(tmp_path / "p"), str(tmp_path / "packages")]
    proc = subprocess.run(package + ["--name", "seedsim", "--version", "0.0.1"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tarballs = sorted((tmp_path / "packages").glob("*/dist/*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target)]
    proc = subprocess.run(pip + [str(tarballs[0])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    code = WITHOUT_PROJECT + (
        f"sys.path.insert(0, {str(target)!r})\nimport json, spacy\n"
        "nlp = spacy.load('en_seedsim')\n"
        "el = nlp.get_pipe('entity_linker')\n"
        f"doc = nlp.make_doc({text!r})\n"
        f"doc.ents = [spacy.tokens.Span(doc, s, e, label=l) for s, e, l in {spans!r}]\n"
        "out = el.predict([nlp.get_pipe('sentencizer')(doc)])\n"
        "print(json.dumps([nlp.config['components']['entity_linker']['model']['similarity'],\n"
        "                  el.model.has_ref('sim_project'), out]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    similarity, has_ref, predicted = json.loads(out.stdout.strip().splitlines()[-1])
    assert similarity is True and has_ref is True
    assert [(kb, pytest.approx(score, abs=1e-5)) for kb, score in predicted] == expected


def test_compare_command_covers_several_corpora_with_the_context_ablation(tmp_path):
    """`wikiel compare` with two corpora (`--corpus NAME=DIR`): one table, a corpus column, the prior-only column
    (the context ablation) and the context gain, which is the full model minus the prior alone."""
    nlp = seed_pipeline(similarity=True, steps=10)
    run = tmp_path / "run"
    run.mkdir()
    nlp.to_disk(run / "model-best")
    (run / "stats.json").write_text(json.dumps({"seconds": 2.0, "counts": {}}))
    refs = [example(nlp, t, s).reference for t, s in TRAIN]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        DocBin(docs=refs[:2] if name == "a" else refs).to_disk(tmp_path / name / "dev.spacy")
        (tmp_path / name / "stats.json").write_text(json.dumps({"counts": {"train": {"mentions": 4}}}))
    args = ["compare", f"a:seed={run}", f"b:seed={run}", "--corpus", f"a={tmp_path / 'a'}"]
    args += ["--corpus", f"b={tmp_path / 'b'}", "--output", str(tmp_path / "compare.md")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "compare.json").read_text())
    assert list(data["corpora"]) == ["a", "b"] and data["corpora"]["b"]["dev_mentions"] == 4
    for corpus in ("a", "b"):
        row = data["corpora"][corpus]["runs"]["seed"]
        prior = evaluate.evaluate_pipeline(spacy.load(run / "model-best"), refs[:2] if corpus == "a" else refs)
        assert row["prior_only"] == prior["methods"]["prior"]["accuracy"]
        assert row["context_gain"] == pytest.approx(row["untyped"] - row["prior_only"], abs=1e-4)
        assert row["similarity"] is True and row["train_seconds_per_1k"] == 500.0
    table = (tmp_path / "compare.md").read_text()
    assert "| corpus | linker | gold spans, untyped | prior only (no context) | context gain |" in table
    assert "| a | seed |" in table and "| b | seed |" in table and "\nb: 4 gold mentions" in table
    # a run must name its corpus when there are several; an unknown corpus is an error
    for bad in ([f"seed={run}"], [f"c:seed={run}"]):
        result = CliRunner().invoke(app, ["compare", *bad, "--corpus", f"a={tmp_path / 'a'}", "--corpus", "b=x"])
        assert result.exit_code == 1 and "ERROR:" in result.output
    one = CliRunner().invoke(app, ["compare", f"seed={run}", "--corpus", f"a={tmp_path / 'a'}"])
    assert one.exit_code == 0, one.output
    assert "| linker | gold spans, untyped | prior only (no context) | context gain |" in one.output
