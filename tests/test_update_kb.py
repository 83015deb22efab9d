"""Merging custom entities into the KB, and swapping a rebuilt KB into a trained linker without retraining."""

import subprocess

import numpy as np
import orjson
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import Span

from conftest import wikiel_command
from test_linker import tiny_pipeline
from wikiel.kb.build import KBEntity, merge_extra_entities


def test_merge_extra_entities(tmp_path):
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        '{"id": "Q1", "name": "Paris", "aliases": ["City of Light"], "types": ["CITY"]}\n'
        '{"id": "ACME-9", "name": "Acme Lyon", "aliases": ["Acme"], "description": "anvil maker", '
        '"frequency": 7}\n{"id": "X-1", "name": "Zed"}\n'
    )
    base = [KBEntity("Q1", "Paris", "Paris", "capital", ["Paname"], ["Q515"], 50, "LOCATION")]
    merged, counts = merge_extra_entities(base, extra)
    assert [e.qid for e in merged] == ["Q1", "ACME-9", "X-1"]
    assert merged[0].aliases == ["Paname", "Paris", "City of Light"] and merged[0].type == "CITY"
    assert merged[0].description == "capital" and merged[0].freq == 50
    assert (merged[1].freq, merged[1].label, merged[1].aliases) == (7, "Acme Lyon", ["Acme"])
    assert merged[2].freq == 1 and merged[2].type == "OTHER"
    assert counts == {"extra_entities": 3, "extra_merged": 1, "extra_added": 2}


def write_kb_dir(path, vocab, dim=8):
    kb = InMemoryLookupKB(vocab, entity_vector_length=dim)
    rng = np.random.default_rng(1)
    for qid in ("Q1", "Q2", "Q9"):
        kb.add_entity(qid, 10, rng.normal(size=dim).astype("float32"))
    kb.add_alias("Paris", ["Q1", "Q2"], [0.6, 0.4])
    kb.add_alias("Lyon", ["Q9"], [1.0])
    (path / "kb").parent.mkdir(parents=True, exist_ok=True)
    kb.to_disk(path / "kb")
    rows = [
        {"qid": q, "title": q, "label": q, "description": "", "type": t, "freq": 10}
        for q, t in (("Q1", "CITY"), ("Q2", "PERSON"), ("Q9", "CITY"))
    ]
    (path / "entities.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def run_update(*args):
    return subprocess.run(
        wikiel_command("update-kb", *args),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_update_kb_links_new_entities_without_retraining(tmp_path):
    nlp = tiny_pipeline("wikiel_entity_linker")
    nlp.to_disk(tmp_path / "model")
    write_kb_dir(tmp_path / "kb2", nlp.vocab)
    proc = run_update(tmp_path / "model", tmp_path / "kb2", tmp_path / "updated")
    assert proc.returncode == 0, proc.stderr
    assert "+1" in proc.stdout and "-2" in proc.stdout  # Q9 added; Q3, Q4 gone
    import wikiel.pipeline.components  # noqa: F401

    updated = spacy.load(tmp_path / "updated")
    doc = updated.make_doc("Lyon is big.")
    doc.ents = [Span(doc, 0, 1, label="ENTITY")]
    doc = updated.get_pipe("entity_linker")(updated.get_pipe("sentencizer")(doc))
    assert (doc.ents[0].kb_id_, doc.ents[0].label_) == ("Q9", "CITY")
    # the trained weights are the old ones
    old = nlp.get_pipe("entity_linker").model.get_ref("tok2vec").to_bytes()
    assert updated.get_pipe("entity_linker").model.get_ref("tok2vec").to_bytes() == old


def test_update_kb_refuses_other_vectors(tmp_path):
    nlp = tiny_pipeline("wikiel_entity_linker")
    nlp.to_disk(tmp_path / "model")
    write_kb_dir(tmp_path / "kb2", nlp.vocab, dim=5)
    proc = run_update(tmp_path / "model", tmp_path / "kb2", tmp_path / "updated")
    assert proc.returncode == 1 and "entity vectors of length 5, the linker was trained with 8" in proc.stderr
    assert not (tmp_path / "updated").exists()
