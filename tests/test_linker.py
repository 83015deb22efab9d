"""The usable linker: mention detection, the scored EntityLinker, threshold tuning, the link CLI."""

import json
import subprocess

import numpy as np
import orjson
import pytest
import spacy
from spacy.attrs import NORM
from spacy.kb import InMemoryLookupKB
from spacy.language import Language
from spacy.tokens import DocBin, Span
from spacy.training import Example
from typer.testing import CliRunner

from conftest import ROOT, wikiel_command
from wikiel import cli as wikiel_cli
from wikiel.linker.build import (
    alias_types,
    best_row,
    build_linker,
    count_link_probabilities,
    detection_table,
    nil_table,
    typed_scores,
    union_detections,
)
from wikiel.linker.link import link_file, mention_detectors, split_text
from wikiel.pipeline import components as el_components  # noqa: F401
from wikiel.pipeline.components import (
    MENTION_LABEL,
    NIL,
    MentionDetector,
    ScoredEntityLinker,
    as_scored_linker,
    window_doc,
)
from wikiel.training.detector import UNTYPED, link_types, train_detector, write_span_docs
from wikiel.util import InputError


def make_kb(vocab, dim=8):
    kb = InMemoryLookupKB(vocab, entity_vector_length=dim)
    rng = np.random.default_rng(0)
    for qid, freq in [("Q1", 50), ("Q2", 30), ("Q3", 20), ("Q4", 10)]:
        kb.add_entity(qid, freq, rng.normal(size=dim).astype("float32"))
    kb.add_alias("Paris", ["Q1", "Q2"], [0.7, 0.3])
    kb.add_alias("Paris Hilton", ["Q2"], [1.0])
    kb.add_alias("Berlin", ["Q3", "Q4"], [0.45, 0.55])
    return kb


def tiny_pipeline(factory="entity_linker"):
    """sentencizer + entity_linker (initialised, untrained, seeded) over a 4-entity KB."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    el = nlp.add_pipe(factory, name="entity_linker", config={"incl_prior": True, "entity_vector_length": 8})
    el.set_kb(lambda vocab: make_kb(vocab))
    doc = nlp.make_doc("Paris met Berlin.")
    doc.ents = [Span(doc, 0, 1, label="X", kb_id="Q1"), Span(doc, 2, 3, label="X", kb_id="Q3")]
    nlp.initialize(get_examples=lambda: [Example(nlp.make_doc(doc.text), doc)])
    return nlp


def with_gold_spans(nlp, text, spans):
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, s, e, label=MENTION_LABEL) for s, e in spans]
    return nlp.get_pipe("sentencizer")(doc)


# ---- mention detector --------------------------------------------------------------------------------------
def test_detector_longest_match_first_and_threshold():
    nlp = spacy.blank("en")
    det = MentionDetector(nlp, threshold=0.3)
    det.set_probabilities({"Paris": 0.5, "Paris Hilton": 0.9, "Hilton": 0.8, "the": 0.01, "New York City": 0.4})
    doc = nlp.make_doc("Paris Hilton visited Paris and the New York City hotel Hilton.")
    assert [doc[s:e].text for s, e in det.find(doc)] == ["Paris Hilton", "Paris", "New York City", "Hilton"]
    det.threshold = 0.6
    assert [doc[s:e].text for s, e in det.find(doc)] == ["Paris Hilton", "Hilton"]
    det(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Paris Hilton", MENTION_LABEL), ("Hilton", MENTION_LABEL)]


def test_detector_serialises(tmp_path):
    nlp = spacy.blank("en")
    det = nlp.add_pipe("wikiel_mention_detector", name="mention_detector", config={"threshold": 0.2})
    det.set_probabilities({"Paris": 0.5, "Berlin": 0.1})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    doc = loaded("Paris and Berlin.")
    assert [e.text for e in doc.ents] == ["Paris"]
    assert loaded.get_pipe("mention_detector").probs == {"Paris": 0.5, "Berlin": 0.1}


# ---- scored entity linker ----------------------------------------------------------------------------------
def test_scored_linker_predicts_what_spacy_predicts():
    nlp = tiny_pipeline()
    texts = [
        ("Paris is in Berlin. Paris Hilton too.", [(0, 1), (3, 4), (5, 7)]),
        ("Berlin and Paris.", [(0, 1), (2, 3)]),
    ]
    expected = [nlp.get_pipe("entity_linker").predict([with_gold_spans(nlp, t, s)]) for t, s in texts]
    scored = as_scored_linker(nlp)
    assert isinstance(scored, ScoredEntityLinker)
    got = scored.predict([with_gold_spans(nlp, t, s) for t, s in texts])
    assert [kb for kb, _ in got] == [kb for doc_ids in expected for kb in doc_ids]
    # the score is spaCy's p + s - p*s of the chosen candidate; single candidates get a score too
    assert all(score is not None for _, score in got)
    assert got[2][0] == "Q2"


def test_scored_linker_scores_nil_threshold_and_types(tmp_path):
    nlp = tiny_pipeline("wikiel_entity_linker")
    el = nlp.get_pipe("entity_linker")
    el.entity_types = {"Q1": "CITY", "Q2": "PERSON"}
    doc = el(with_gold_spans(nlp, "Paris is nice. Nowhere too.", [(0, 1), (4, 5)]))
    paris, nowhere = doc.ents
    assert paris.kb_id_ in ("Q1", "Q2") and paris.label_ == el.entity_types[paris.kb_id_]
    cands = sorted(el.kb.get_alias_candidates("Paris"), key=lambda c: c.entity_)
    scores = el.score_candidates(cands, el.context_encodings([doc])[0][0])
    assert paris._.kb_score == pytest.approx(float(scores.max()), abs=1e-5)
    assert nowhere.kb_id_ == NIL and nowhere._.kb_score is None and nowhere.label_ == MENTION_LABEL
    el.nil_threshold = paris._.kb_score + 0.01
    doc = el(with_gold_spans(nlp, "Paris is nice.", [(0, 1)]))
    assert doc.ents[0].kb_id_ == NIL
    nlp.to_disk(tmp_path / "p")  # threshold and types survive a round trip
    loaded = spacy.load(tmp_path / "p").get_pipe("entity_linker")
    assert loaded.nil_threshold == pytest.approx(el.nil_threshold)
    assert loaded.entity_types == el.entity_types


def test_scored_linker_batches_context_per_sentence():
    nlp = tiny_pipeline("wikiel_entity_linker")
    el = nlp.get_pipe("entity_linker")
    doc = with_gold_spans(nlp, "Paris and Berlin met. Berlin left.", [(0, 1), (2, 3), (5, 6)])
    enc = el.context_encodings([doc])[0]
    assert np.array_equal(enc[0], enc[1]) and not np.array_equal(enc[0], enc[2])
    single = el.model.predict([doc[0:5].as_doc()])[0]
    assert np.allclose(enc[0], single, atol=1e-6)


def test_window_doc_gives_the_encoder_what_span_as_doc_gives():
    nlp = tiny_pipeline("wikiel_entity_linker")
    el = nlp.get_pipe("entity_linker")
    # "n't" has the tokenizer's norm "not"; the entity 4-6 crosses the end of the window 0-5; 7-9 is past it
    doc = with_gold_spans(nlp, "Paris don't go. Berlin and Paris Hilton left.", [(0, 1), (4, 6), (7, 9)])
    ents = list(doc.ents)
    norms = doc.to_array([NORM])
    for start, end in [(0, 5), (5, 11), (0, 11)]:
        window = window_doc(doc, start, end, norms, ents, [e.start for e in ents])
        expected = doc[start:end].as_doc()
        assert [t.text_with_ws for t in window] == [t.text_with_ws for t in expected]
        assert [t.norm_ for t in window] == [t.norm_ for t in expected]
        assert [t.is_sent_start for t in window] == [t.is_sent_start for t in expected]
        assert [(e.start, e.end, e.label_) for e in window.ents] == [(e.start, e.end, e.label_) for e in expected.ents]
        if window.ents:
            assert np.allclose(el.model.predict([window]), el.model.predict([expected]), atol=1e-6)
    assert "not" in [t.norm_ for t in window_doc(doc, 0, 5, norms, ents, [e.start for e in ents])]
    assert [e.text for e in window_doc(doc, 0, 5, norms, ents, [e.start for e in ents]).ents] == ["Paris"]


# ---- link probability and threshold tuning -----------------------------------------------------------------
def test_link_probability_counts(tmp_path):
    articles = tmp_path / "articles.jsonl"
    rows = [
        {
            "split": "train",
            "text": "Paris is big. Paris is old. Berlin is far.",
            "links": [[0, 5, "Paris"], [28, 34, "Berlin"]],
        },
        {"split": "dev", "text": "Paris Paris Paris", "links": [[0, 5, "Paris"]]},
        {"split": "train", "text": "New York is in New York state.", "links": [[0, 8, "New York"]]},
    ]
    articles.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    probs, counts = count_link_probabilities(articles, {"Paris", "Berlin", "New York", "York"}, spacy.blank("en"), 0)
    # Paris: 2 occurrences, 1 link -> 1/3; Berlin 1/2; New York 2 occurrences, 1 link; York never linked -> absent
    assert probs == {"Paris": pytest.approx(1 / 3), "Berlin": 0.5, "New York": pytest.approx(1 / 3)}
    assert counts["links"] == 3 and counts["aliases_seen"] == 4


def test_detection_and_nil_tables():
    nlp = spacy.blank("en")
    det = MentionDetector(nlp)
    det.set_probabilities({"Paris": 0.5, "Berlin": 0.05})
    gold = nlp.make_doc("Paris and Berlin.")
    gold.ents = [Span(gold, 0, 1, label=MENTION_LABEL)]
    rows = detection_table(det, [gold], [0.01, 0.1])
    assert [(r["precision"], r["recall"]) for r in rows] == [(0.5, 1.0), (1.0, 1.0)]
    assert best_row(rows)["threshold"] == 0.1
    nil = nil_table([(True, 0.9), (False, 0.2), (True, 0.5), (False, None)], 3, [None, 0.3, 0.6])
    assert [(r["predicted"], r["correct"]) for r in nil] == [(4, 2), (2, 2), (1, 1)]
    assert best_row(nil)["threshold"] == 0.3


# ---- link CLI ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def linker_dir(tmp_path_factory):
    nlp = tiny_pipeline("wikiel_entity_linker")
    det = nlp.add_pipe("wikiel_mention_detector", name="mention_detector", before="entity_linker")
    det.set_probabilities({"Paris": 0.5, "Berlin": 0.5, "Paris Hilton": 0.9})
    path = tmp_path_factory.mktemp("linker") / "model"
    nlp.to_disk(path)
    return path


def run_link(*args):
    return subprocess.run(wikiel_command("link", *args), capture_output=True, text=True, timeout=300)


def test_link_cli_jsonl_and_text(linker_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "d1", "text": "Paris Hilton met Berlin."}\n\n{"text": "Nothing."}\n')
    proc = run_link(linker_dir, src, tmp_path / "out.jsonl")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [d["id"] for d in out] == ["d1", 3]
    ents = out[0]["entities"]
    assert [(e["start"], e["end"], e["text"]) for e in ents] == [(0, 12, "Paris Hilton"), (17, 23, "Berlin")]
    assert ents[0]["qid"] == "Q2" and isinstance(ents[0]["score"], float)
    txt = tmp_path / "in.txt"
    txt.write_text("Berlin.\nParis.\n")
    assert run_link(linker_dir, txt, tmp_path / "out2.jsonl").returncode == 0
    assert [d["id"] for d in map(json.loads, (tmp_path / "out2.jsonl").read_text().splitlines())] == [1, 2]


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"text": "ok"}\n{"text": \n', "in.jsonl:2: not valid JSON"),
        ('{"id": 1}\n', 'in.jsonl:1: expected an object with a "text" string'),
    ],
)
def test_link_cli_bad_input(linker_dir, tmp_path, content, message):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    proc = run_link(linker_dir, src, tmp_path / "out.jsonl")
    assert proc.returncode == 1 and message in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_link_cli_missing_pipeline(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Paris.\n")
    proc = run_link(tmp_path / "nope", src, tmp_path / "out.jsonl")
    assert proc.returncode == 1 and "no such pipeline directory" in proc.stderr


# ---- the ner mention detector (train-detector, build-linker --detector) ------------------------------------
NAMES = {"Q1": "Paris", "Q2": "Paris Hilton", "Q3": "Berlin", "Q4": "Berlin"}
TYPES = {"Q1": "CITY", "Q2": "PERSON", "Q3": "CITY", "Q4": "CITY"}


def tiny_wiki(root):
    """articles.jsonl (every mention linked, as in a completely annotated corpus), redirects.tsv and a kb dir."""
    wikipedia, kb_dir = root / "wikipedia", root / "kb"
    wikipedia.mkdir()
    kb_dir.mkdir()
    templates = ["{a} met {b} in spring.", "Yesterday {a} wrote to {b} about trains.", "{a} and {b} are far apart."]
    rows = []
    pairs = [("Q1", "Q3"), ("Q2", "Q1"), ("Q3", "Q2"), ("Q4", "Q1")]
    for i in range(60):
        a, b = pairs[i % len(pairs)]
        template = templates[i % len(templates)]
        head, rest = template.split("{a}")
        text = head + NAMES[a] + rest.replace("{b}", NAMES[b])
        start_a = len(head)
        start_b = text.index(NAMES[b], start_a + len(NAMES[a]))
        links = [[start_a, start_a + len(NAMES[a]), a], [start_b, start_b + len(NAMES[b]), b]]
        rows.append({"title": f"Doc {i}", "split": "dev" if i % 5 == 0 else "train", "text": text, "links": links})
    (wikipedia / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (wikipedia / "redirects.tsv").write_text("")
    entities = [
        {"qid": q, "title": q, "label": n, "description": "", "type": TYPES[q], "freq": 1} for q, n in NAMES.items()
    ]
    (kb_dir / "entities.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entities))
    nlp = tiny_pipeline("wikiel_entity_linker")
    nlp.get_pipe("entity_linker").kb.to_disk(kb_dir / "kb")
    nlp.to_disk(root / "model")
    return wikipedia, kb_dir, root / "model"


@pytest.mark.slow
def test_ner_detector_trains_and_build_linker_chooses(tmp_path):
    wikipedia, kb_dir, model = tiny_wiki(tmp_path)
    stats = train_detector(ROOT / "configs" / "ner.cfg", wikipedia, kb_dir, tmp_path / "ner", None, max_epochs=30)
    assert stats["counts"]["train"]["spans"] == 96 and stats["counts"]["dev"]["spans"] == 24
    assert stats["counts"]["train"]["labels"] == {"CITY": 72, "PERSON": 24}
    assert (tmp_path / "ner" / "model-best" / "meta.json").is_file()
    # typed detection: the ner's labels are the KB's types
    assert set(spacy.load(tmp_path / "ner" / "model-best").get_pipe("ner").labels) == {"CITY", "PERSON"}
    auto = build_linker(
        model, kb_dir, wikipedia, tmp_path / "auto", detector="auto", detector_model=tmp_path / "ner" / "model-best"
    )
    counts = auto["counts"]
    assert set(counts["detectors"]) == {"alias", "ner", "both"}
    best = max(counts["detectors"].values(), key=lambda r: r["f1"])["f1"]
    assert counts["detectors"][counts["detector"]]["f1"] == best
    # type accuracy measured on dev: the ner types what it finds; alias matches are untyped
    ner = counts["detectors"]["ner"]
    assert ner["type_accuracy"] >= 0.9 and ner["typed_share"] == 1.0 and ner["typed"]["f1"] >= 0.9
    assert counts["detectors"]["alias"]["typed_share"] == 0.0 and counts["detectors"]["alias"]["typed"]["f1"] == 0.0
    assert counts["detectors"]["alias"]["kb_types"]["typed_share"] == 1.0  # every alias here has a typed candidate
    assert "type accuracy" in (tmp_path / "auto" / "detection.md").read_text()
    both = build_linker(
        model, kb_dir, wikipedia, tmp_path / "both", detector="both", detector_model=tmp_path / "ner" / "model-best"
    )
    assert both["counts"]["detector"] == "both"
    nlp = spacy.load(tmp_path / "both" / "model")
    assert nlp.pipe_names == ["sentencizer", "ner", "mention_detector", "entity_linker", "abbreviations"]
    assert nlp.get_pipe_config("mention_detector")["overwrite"] is False
    doc = nlp("Paris met Berlin in spring.")
    assert [e.text for e in doc.ents] == ["Paris", "Berlin"]
    assert [e.label_ for e in doc.ents] == ["CITY", "CITY"]  # the type the ner predicted, kept by the linker
    build_linker(model, kb_dir, wikipedia, tmp_path / "alias")
    assert spacy.load(tmp_path / "alias" / "model").pipe_names == [
        "sentencizer",
        "mention_detector",
        "entity_linker",
        "abbreviations",
    ]


def test_detector_spans_labelled_with_kb_types_and_untyped_handling(tmp_path):
    """train-detector's training docs: each link span gets its target's KB type (through redirects); a span to an
    entity outside the KB is generic (ENTITY), missing (unannotated tokens) or omitted (outside), as chosen."""
    wikipedia, kb_dir, _ = tiny_wiki(tmp_path)
    rows = [json.loads(line) for line in (wikipedia / "articles.jsonl").read_text().splitlines()]
    text = "Paris Hilton wrote to Nowhere Town and Berlin."
    rows[1] = {"title": "Doc 1", "split": "train", "text": text, "links": [[0, 12, "Hilton"], [22, 34, "Nowhere"]]}
    rows[1]["links"].append([39, 45, "Q3"])
    (wikipedia / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (wikipedia / "redirects.tsv").write_text("Hilton\tQ2\n")
    types = link_types(kb_dir)
    redirects = {"Hilton": "Q2"}
    docs = {}
    for untyped in UNTYPED:
        path = tmp_path / f"{untyped}.spacy"
        counts = write_span_docs(wikipedia / "articles.jsonl", "train", path, "en", 0, types, redirects, untyped)
        assert counts["untyped"] == 1
        docs[untyped] = next(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))  # rows[1]: the first train doc
    assert [(e.text, e.label_) for e in docs["generic"].ents] == [
        ("Paris Hilton", "PERSON"),
        ("Nowhere Town", MENTION_LABEL),
        ("Berlin", "CITY"),
    ]
    assert [(e.text, e.label_) for e in docs["missing"].ents] == [("Paris Hilton", "PERSON"), ("Berlin", "CITY")]
    assert [t.ent_iob_ for t in docs["missing"][4:6]] == ["", ""]  # unannotated: neither mention nor not
    assert [t.ent_iob_ for t in docs["omit"][4:6]] == ["O", "O"]
    single = write_span_docs(wikipedia / "articles.jsonl", "train", tmp_path / "single.spacy", "en", 0)
    assert single["labels"] == {MENTION_LABEL: single["spans"]} and single["untyped"] == 0
    with pytest.raises(InputError, match="unknown detector labels"):
        train_detector(ROOT / "configs" / "ner.cfg", wikipedia, kb_dir, tmp_path / "x", None, labels="coarse")
    with pytest.raises(InputError, match="untyped spans"):
        train_detector(ROOT / "configs" / "ner.cfg", wikipedia, kb_dir, tmp_path / "x", None, untyped="drop")


def test_typed_scores_and_union_keep_the_ner_type():
    """Typed P/R/F1 needs span and type right; type accuracy is over the spans detected right; in `both` an alias
    match that is also a ner span keeps the ner's type, an alias match the ner missed is untyped."""
    nlp = spacy.blank("en")
    gold = nlp.make_doc("Paris met Paris Hilton in Berlin today.")
    gold.ents = [Span(gold, 0, 1, label="CITY"), Span(gold, 2, 4, label="PERSON"), Span(gold, 5, 6, label="CITY")]
    found = {(0, 1): "CITY", (2, 4): "CITY", (5, 6): MENTION_LABEL, (6, 7): "PERSON"}
    scores = typed_scores([found], [gold])
    assert scores["typed"]["correct"] == 1 and scores["typed"]["predicted"] == 4 and scores["typed"]["gold"] == 3
    assert scores["type_accuracy"] == round(1 / 3, 4) and scores["typed_share"] == round(2 / 3, 4)
    alias = MentionDetector(nlp, threshold=0.1)
    alias.set_probabilities({"Paris": 0.5, "Berlin": 0.5, "Paris Hilton": 0.5})
    union = union_detections(alias, [{(0, 1): "CITY", (5, 6): "CITY"}], [gold])
    assert union == [{(0, 1): "CITY", (2, 4): MENTION_LABEL, (5, 6): "CITY"}]


def test_alias_matches_typed_by_their_kb_candidates(tmp_path):
    """Alias types: the type of most prior mass among the alias's candidates; the mention detector labels its
    matches with them (others keep ENTITY) and keeps them through to_disk/from_disk."""
    nlp = spacy.blank("en")
    kb = make_kb(nlp.vocab)
    keys = {"Paris": "Paris", "Paris Hilton": "Paris Hilton", "Berlin": "Berlin"}
    types = alias_types(kb, keys, {"Q1": "CITY", "Q2": "PERSON", "Q3": "CITY", "Q4": "PERSON"})
    assert types == {"Paris": "CITY", "Paris Hilton": "PERSON", "Berlin": "PERSON"}  # Berlin: 0.55 PERSON, 0.45
    assert alias_types(kb, keys, {"Q1": "CITY"}) == {"Paris": "CITY"}  # no typed candidate: left out
    det = nlp.add_pipe("wikiel_mention_detector", name="mention_detector", config={"threshold": 0.1})
    det.set_probabilities({"Paris": 0.5, "Paris Hilton": 0.9, "Rome": 0.5})
    det.set_types({"Paris": "CITY", "Paris Hilton": "PERSON"})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    doc = loaded("Paris Hilton saw Paris and Rome.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Paris Hilton", "PERSON"), ("Paris", "CITY"), ("Rome", "ENTITY")]
    # in `both`, a ner span keeps the ner's label (ENTITY too); alias matches the ner did not find take their type
    union = union_detections(det, [{(0, 2): MENTION_LABEL}], [doc])
    assert union == [{(0, 2): MENTION_LABEL, (3, 4): "CITY", (5, 6): MENTION_LABEL}]


def test_build_linker_rejects_unknown_detector_and_missing_model(tmp_path):
    wikipedia, kb_dir, model = tiny_wiki(tmp_path)
    with pytest.raises(InputError, match="unknown detector"):
        build_linker(model, kb_dir, wikipedia, tmp_path / "out", detector="crf")
    with pytest.raises(InputError, match="train-detector"):
        build_linker(model, kb_dir, wikipedia, tmp_path / "out", detector="ner", detector_model=tmp_path / "none")


# ---- link: input sniffed by content, pipelines without a detector, long and failing documents ------------------
def read_out(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_link_sniffs_jsonl_in_a_json_file_and_json_arrays(linker_dir, tmp_path):
    records = [{"id": "d1", "text": "Paris Hilton met Berlin."}, {"id": "d2", "text": "Berlin."}]
    src = tmp_path / "in.json"  # JSONL records in a .json file: read as plain text before (ids 1, 2, wrong offsets)
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = run_link(linker_dir, src, tmp_path / "out.jsonl")
    assert proc.returncode == 0, proc.stderr
    out = read_out(tmp_path / "out.jsonl")
    assert [d["id"] for d in out] == ["d1", "d2"]
    assert [(e["start"], e["end"]) for e in out[0]["entities"]] == [(0, 12), (17, 23)]
    array = tmp_path / "array.txt"  # a JSON array, whatever the name
    array.write_text("\n" + json.dumps(records, indent=2))
    assert run_link(linker_dir, array, tmp_path / "out2.jsonl").returncode == 0
    assert read_out(tmp_path / "out2.jsonl") == out
    text = tmp_path / "plain.json"  # plain text named .json: linked as text only when asked
    text.write_text("\nParis Hilton met Berlin.\n")
    proc = run_link(linker_dir, text, tmp_path / "out3.jsonl")
    assert proc.returncode == 1 and "plain.json:2: is named .json but its content is not JSON" in proc.stderr
    assert "--format text" in proc.stderr and "Traceback" not in proc.stderr
    assert run_link(linker_dir, text, tmp_path / "out3.jsonl", "--format", "text").returncode == 0
    assert [d["id"] for d in read_out(tmp_path / "out3.jsonl")] == [2]


@pytest.mark.parametrize(
    "content,message",
    [
        ('[{"text": "Paris."},\n {"text": Berlin}]\n', "in.txt:2: starts with '[' but is not a JSON array"),
        ('[{"text": "Paris."},\n {"id": 3}]\n', 'in.txt: element 2 of the array: expected an object with a "text"'),
        ('{"text": "Paris."}\nBerlin.\n', "in.txt:2: not valid JSON"),
    ],
)
def test_link_malformed_sniffed_input(linker_dir, tmp_path, content, message):
    src = tmp_path / "in.txt"
    src.write_text(content)
    proc = run_link(linker_dir, src, tmp_path / "out.jsonl")
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_link_refuses_a_pipeline_without_mention_detector(tmp_path):
    model = tmp_path / "model-best"  # sentencizer + entity_linker, as train writes training/nel/model-best
    tiny_pipeline("wikiel_entity_linker").to_disk(model)
    src = tmp_path / "in.txt"
    src.write_text("Paris Hilton met Berlin.\n")
    proc = run_link(model, src, tmp_path / "out.jsonl")
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no mention detector" in lines[0] and "training/linker/model" in lines[0]
    assert not (tmp_path / "out.jsonl").exists()


def test_mention_detectors_are_the_ent_setting_components_before_the_linker():
    nlp = tiny_pipeline("wikiel_entity_linker")
    assert mention_detectors(nlp) == []
    nlp.add_pipe("wikiel_abbreviations")  # refines the ents it is given: not a detector
    assert mention_detectors(nlp) == []
    nlp.add_pipe("entity_ruler", before="entity_linker")
    assert mention_detectors(nlp) == ["entity_ruler"]
    ner = spacy.blank("en")
    ner.add_pipe("ner")
    ner.add_pipe("entity_linker")
    assert mention_detectors(ner) == ["ner"]


def test_split_text_cuts_at_paragraphs_then_sentences_then_spaces():
    text = "One two.\n\nThree four five. Six seven eight nine ten eleven twelve thirteen.\n\nEnd."
    pieces = split_text(text, 30)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 30 and text[o : o + len(p)] == p for o, p in pieces)
    assert pieces[0][1] == "One two.\n\n"
    assert pieces[1][1].endswith("five. ")
    assert split_text("x" * 25, 10) == [(0, "x" * 10), (10, "x" * 10), (20, "x" * 5)]


def test_link_document_over_max_length_keeps_exact_offsets(linker_dir, tmp_path):
    nlp = spacy.load(linker_dir)
    nlp.max_length = 100_000  # small, to keep the test fast; the document is 1.2 M characters
    filler = (
        "Nothing happened at all in the town today. " * 60
    )  # sparse mentions: linking cost grows with their density
    paragraph = "Paris Hilton met Berlin in spring. " + filler + "\n\n" + filler + "Berlin.\n"
    text = ""
    while len(text) < 1_200_000:
        text += paragraph
    mentions = text.count("Paris Hilton") + text.count("Berlin")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "long", "text": text}) + "\n" + json.dumps({"id": "short", "text": "Berlin."}))
    counts = link_file(nlp, src, tmp_path / "out.jsonl")
    assert counts["split_documents"] == 1 and counts["failed_documents"] == 0
    long, short = read_out(tmp_path / "out.jsonl")
    assert len(long["entities"]) == mentions
    assert all(text[e["start"] : e["end"]] == e["text"] for e in long["entities"])
    assert short == {"id": "short", "entities": [{"start": 0, "end": 6, "text": "Berlin", **short_rest(short)}]}


def short_rest(record):
    e = record["entities"][0]
    return {"qid": e["qid"], "type": e["type"], "score": e["score"]}


@Language.component("test_fails_on_boom")
def fails_on_boom(doc):
    if "BOOM" in doc.text:
        raise ValueError("cannot handle BOOM")
    return doc


def test_one_failing_document_does_not_stop_the_run(linker_dir, tmp_path, monkeypatch):
    nlp = spacy.load(linker_dir)
    nlp.add_pipe("test_fails_on_boom", first=True)
    src = tmp_path / "in.txt"
    src.write_text("Paris Hilton met Berlin.\nBOOM Berlin.\nBerlin.\n")
    monkeypatch.setattr(wikiel_cli, "load_linker", lambda name: nlp)
    result = CliRunner().invoke(wikiel_cli.app, ["link", str(linker_dir), str(src), str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    out = read_out(tmp_path / "out.jsonl")
    assert [d["id"] for d in out] == [1, 2, 3]
    assert len(out[0]["entities"]) == 2 and len(out[2]["entities"]) == 1
    assert out[1]["entities"] == [] and "cannot handle BOOM" in out[1]["error"]
    assert "1 of 3 document(s) failed" in result.output and "2: ValueError: cannot handle BOOM" in result.output


def test_link_refuses_empty_input_and_reads_a_bom(linker_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    proc = run_link(linker_dir, empty, tmp_path / "out.jsonl")
    assert proc.returncode == 1 and "empty.txt: holds no documents" in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()
    array = tmp_path / "bom.json"
    array.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"id": "a", "text": "Berlin."}]).encode())
    assert run_link(linker_dir, array, tmp_path / "out.jsonl").returncode == 0
    assert [d["id"] for d in read_out(tmp_path / "out.jsonl")] == ["a"]


def test_link_refuses_a_pipeline_without_entity_linker(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler")
    with pytest.raises(InputError, match="has no entity linker .*training/linker/model"):
        link_file(nlp, tmp_path / "in.txt", tmp_path / "out.jsonl", pipeline_name="ruler-only")
