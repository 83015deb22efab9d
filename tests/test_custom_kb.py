"""Your own knowledge graph (`--vars.kb custom`): the input formats and their errors (file:line), the conversion into
the parse steps' files, build-kb and extract-mentions on them, `.spacy` input, the fetch/check/parse wiring, and the
worked example's generator."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import spacy
from spacy.tokens import DocBin

from conftest import run_cli
from wikiel.corpus.docs import read_docs
from wikiel.corpus.mentions import extract_mentions
from wikiel.kb.build import KBEntity, PruneSettings, build_kb, select_entities
from wikiel.kb.tables import read_kb_entities, title_index
from wikiel.sources import custom
from wikiel.sources.check import check_assets
from wikiel.sources.custom import convert_custom, read_entities, read_mentions, read_priors
from wikiel.sources.fetch import read_manifest, use_custom
from wikiel.util import InputError, OutputError, read_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_kb"

ENTITIES = [
    {
        "id": "ACME-1",
        "name": "Acme Corporation",
        "aliases": ["Acme", "ACME"],
        "description": "maker of anvils",
        "types": ["COMPANY", "MANUFACTURER"],
        "frequency": 12,
    },
    {"id": "acme_2", "name": "Acme River", "aliases": ["Acme"], "types": "RIVER"},
    {"id": "X", "name": "Initech"},
]
DOCS = [
    {
        "id": "d1",
        "text": "Acme sued Initech.",
        "split": "train",
        "spans": [{"start": 0, "end": 4, "id": "ACME-1"}, {"start": 10, "end": 17, "id": "X"}],
    },
    {"id": "d2", "text": "The Acme flooded.", "split": "dev", "spans": [{"start": 4, "end": 8, "id": "acme_2"}]},
    {
        "id": "d3",
        "text": "Acme again, near Gizmo.",
        "split": "train",
        "spans": [{"start": 17, "end": 22, "id": "GIZMO"}, {"start": 0, "end": 4, "id": "acme_2"}],
    },
]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf8")
    return path


@pytest.fixture
def tiny(tmp_path):
    return {
        "entities": write_jsonl(tmp_path / "entities.jsonl", ENTITIES),
        "mentions": write_jsonl(tmp_path / "mentions.jsonl", DOCS),
        "priors": _write(tmp_path / "priors.tsv", "alias\tid\tcount\nAcme\tacme_2\t3\nthe river\tacme_2\t2\n"),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf8")
    return path


# ---- formats and errors ----------------------------------------------------------------------------------------
def test_entities_are_read_with_defaults(tiny):
    entities = read_entities(tiny["entities"])
    assert list(entities) == ["ACME-1", "acme_2", "X"]
    assert entities["acme_2"].types == ["RIVER"] and entities["acme_2"].type == "RIVER"
    assert entities["X"].type == "OTHER" and entities["X"].description == "" and entities["X"].frequency is None
    assert entities["ACME-1"].aliases == ["Acme", "ACME"] and entities["ACME-1"].line == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "A", "name": "Alpha"', "is not JSON"),
        ('{"id": "ACME-1", "name": "Again"}', "duplicate id 'ACME-1' (first at line 1)"),
        ('{"id": "B", "name": "  "}', "entity 'B' has no name"),
        ('{"name": "Nameless id"}', "'id' must be a non-empty string"),
        ('{"id": "C\\tD", "name": "Tab"}', "has tabs, line breaks or surrounding spaces"),
        ('{"id": "E", "name": "E", "frequency": -1}', "'frequency' must be a non-negative integer"),
        ('{"id": "F", "name": "F", "aliases": ["F1", 2]}', "'aliases' must be a list of strings"),
        ('["not", "an", "object"]', "expected a JSON object"),
    ],
)
def test_entity_errors_name_file_and_line(tmp_path, line, message):
    path = write_jsonl(tmp_path / "entities.jsonl", [ENTITIES[0], "", line])
    with pytest.raises(InputError) as err:
        read_entities(path)
    assert str(err.value).startswith(f"{path}:3: ")
    assert message in str(err.value)


def test_empty_entity_file(tmp_path):
    with pytest.raises(InputError, match="holds no entities"):
        read_entities(_write(tmp_path / "entities.jsonl", "\n\n"))


@pytest.mark.parametrize(
    "spans, message",
    [
        ([{"start": 0, "end": 40, "id": "X"}], "span [0, 40) -> 'X' is out of range (the text has 18 characters"),
        ([{"start": 4, "end": 4, "id": "X"}], "is out of range"),
        (
            [{"start": 0, "end": 4, "id": "X"}, {"start": 2, "end": 9, "id": "X"}],
            "spans [0, 4) -> 'X' and [2, 9) -> 'X' overlap",
        ),
        ([{"start": 4, "end": 5, "id": "X"}], "covers only whitespace"),
        ([{"start": "0", "end": 4, "id": "X"}], "'start' and 'end' must be integers"),
        ([{"start": 0, "end": 4}], "'spans[0].id' must be a non-empty string"),
    ],
)
def test_span_errors_name_file_and_line(tmp_path, spans, message):
    path = write_jsonl(
        tmp_path / "mentions.jsonl", [DOCS[0], {"id": "bad", "text": "Acme sued Initech.", "spans": spans}]
    )
    with pytest.raises(InputError) as err:
        list(read_mentions(path))
    assert str(err.value).startswith(f"{path}:2: document 'bad': ") or str(err.value).startswith(f"{path}:2: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"id": "d1", "text": "Again."}, "duplicate document id 'd1' (first at"),
        ({"id": "d9", "text": "Text.", "split": "validation"}, "'split' must be 'train', 'dev' or 'test'"),
        ({"id": "d9", "text": ""}, "has no text"),
        ({"id": "d9", "text": "Text.", "spans": {"start": 0}}, "'spans' must be a list"),
    ],
)
def test_document_errors(tmp_path, record, message):
    path = write_jsonl(tmp_path / "mentions.jsonl", [DOCS[0], record])
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}:2: .*{re.escape(message)}"):
        list(read_mentions(path))


def test_priors_tsv_and_jsonl(tmp_path, tiny):
    assert list(read_priors(tiny["priors"])) == [("Acme", "acme_2", 3, 2), ("the river", "acme_2", 2, 3)]
    jsonl = write_jsonl(tmp_path / "priors.jsonl", [{"alias": "Acme", "id": "ACME-1", "count": 40}])
    assert list(read_priors(jsonl)) == [("Acme", "ACME-1", 40, 1)]
    bad = _write(tmp_path / "bad.tsv", "Acme\tX\t1\nAcme\tX\n")
    with pytest.raises(InputError, match=f"^{bad}:2: expected 3 tab-separated columns"):
        list(read_priors(bad))
    bad = _write(tmp_path / "bad.tsv", "Acme\tX\tmany\n")
    with pytest.raises(InputError, match=f"^{bad}:1: 'count' must be a positive integer"):
        list(read_priors(bad))


# ---- conversion ------------------------------------------------------------------------------------------------
def test_conversion_writes_the_parse_files_exactly(tiny, tmp_path, capsys):
    out = tmp_path / "corpus"
    stats = convert_custom(tiny["entities"], tiny["mentions"], out, priors=tiny["priors"], lang="en")
    wikidata, wikipedia = out / "wikidata", out / "wikipedia"
    assert (wikidata / "entities.jsonl").read_text().splitlines() == [
        '{"qid":"ACME-1","title":"ACME-1","label":"Acme Corporation","description":"maker of anvils",'
        '"aliases":["Acme","ACME"],"types":[],"type":"COMPANY"}',
        '{"qid":"X","title":"X","label":"Initech","description":"","aliases":[],"types":[],"type":"OTHER"}',
        '{"qid":"acme_2","title":"acme_2","label":"Acme River","description":"","aliases":["Acme"],"types":[],'
        '"type":"RIVER"}',
    ]
    assert (wikidata / "subclass_of.tsv").read_text() == ""
    assert [orjson.loads(line) for line in (wikipedia / "articles.jsonl").read_bytes().splitlines()] == [
        {
            "id": "d1",
            "title": "d1",
            "split": "train",
            "text": "Acme sued Initech.",
            "links": [[0, 4, "ACME-1"], [10, 17, "X"]],
        },
        {"id": "d2", "title": "d2", "split": "dev", "text": "The Acme flooded.", "links": [[4, 8, "acme_2"]]},
        {
            "id": "d3",
            "title": "d3",
            "split": "train",
            "text": "Acme again, near Gizmo.",
            "links": [[0, 4, "acme_2"], [17, 22, "GIZMO"]],
        },
    ]
    # train spans (dev never feeds the counts) plus the priors; unknown ids stay links but are not counted
    assert (wikipedia / "link_counts.tsv").read_text() == (
        "Acme\tACME-1\t1\nAcme\tacme_2\t4\nInitech\tX\t1\nthe river\tacme_2\t2\n"
    )
    assert (wikipedia / "inlink_counts.tsv").read_text() == "ACME-1\t12\nX\t1\nacme_2\t1\n"
    assert (wikipedia / "redirects.tsv").read_text() == ""
    assert read_json(wikipedia / "siteinfo.json")["case"] == "case-sensitive"
    c = stats["wikipedia"]["counts"]
    assert (c["articles"], c["train_articles"], c["dev_articles"], c["links"], c["train_links"]) == (3, 2, 1, 5, 4)
    assert (c["unknown_id_spans"], c["unknown_ids"], c["unknown_id_examples"], c["prior_rows"]) == (1, 1, ["GIZMO"], 2)
    assert read_json(wikipedia / "stats.json")["step"] == "parse-wikipedia"
    w = read_json(wikidata / "stats.json")["counts"]
    assert (w["source"], w["entities"], w["with_description"], w["types"]) == (
        "custom",
        3,
        1,
        {"COMPANY": 1, "OTHER": 1, "RIVER": 1},
    )
    assert "1 span(s) link to 1 id(s) not in" in capsys.readouterr().err


def test_strict_makes_unknown_ids_an_error(tiny, tmp_path):
    with pytest.raises(InputError, match=f"^{tiny['mentions']}:3: document 'd3': span \\[17, 22\\) links to 'GIZMO'"):
        convert_custom(tiny["entities"], tiny["mentions"], tmp_path / "corpus", strict=True)
    assert not (tmp_path / "corpus" / "wikipedia" / "articles.jsonl").exists()


def test_hash_split_is_stable_and_follows_dev_percent(tmp_path, tiny):
    docs = [
        {"id": f"doc{i}", "text": "Acme sued Initech.", "spans": [{"start": 0, "end": 4, "id": "ACME-1"}]}
        for i in range(200)
    ]
    path = write_jsonl(tmp_path / "many.jsonl", docs)
    splits = [custom.doc_split(d, 10) for d in read_mentions(path)]
    assert splits == [custom.doc_split(d, 10) for d in read_mentions(path)]
    assert 5 <= splits.count("dev") <= 40
    assert [custom.doc_split(d, 10, seed=1) for d in read_mentions(path)] != splits
    with pytest.raises(OutputError, match="no dev documents"):
        convert_custom(tiny["entities"], path, tmp_path / "corpus", dev_percent=0)


def test_spacy_docbin_input(tmp_path, tiny):
    nlp = spacy.blank("en")
    docbin = DocBin()
    for text, ents in [
        ("Acme sued Initech.", [(0, 4, "ACME-1"), (10, 17, "X")]),
        ("Initech and Acme merged.", [(0, 7, "X"), (12, 16, "NIL")]),
    ]:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label="ORG", kb_id=k) for s, e, k in ents]
        docbin.add(doc)
    docbin.to_disk(tmp_path / "train.spacy")
    docs = list(read_mentions(tmp_path / "train.spacy"))
    assert [(d.id, d.split, d.spans) for d in docs] == [
        ("train.spacy#1", "train", [(0, 4, "ACME-1"), (10, 17, "X")]),
        ("train.spacy#2", "train", [(0, 7, "X")]),
    ]
    folder = tmp_path / "mentions"
    folder.mkdir()
    (tmp_path / "train.spacy").rename(folder / "train.spacy")
    write_jsonl(folder / "more.jsonl", DOCS[1:2])
    stats = convert_custom(tiny["entities"], folder, tmp_path / "corpus")["wikipedia"]["counts"]
    assert (stats["train_articles"], stats["dev_articles"], stats["links"]) == (2, 1, 4)
    with pytest.raises(InputError, match="is not a spaCy DocBin"):
        list(read_mentions(_write(tmp_path / "broken.spacy", "not msgpack")))


# ---- build-kb and extract-mentions on converted files ----------------------------------------------------------
SENTENCES = {
    "ACME-1": ["{} sued Initech over broken anvils and unpaid invoices.", "Shares of {} rose after the anvil sale."],
    "acme_2": ["The {} flooded the valley after heavy rain.", "Fishermen waded into the {} at dawn near the bridge."],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny KB with 48 documents about Acme (the company or the river) converted, a KB and mentions built."""
    root = tmp_path_factory.mktemp("custom-built")
    entities = write_jsonl(root / "entities.jsonl", ENTITIES)
    docs = []
    for i in range(48):
        entity_id = "ACME-1" if i % 3 else "acme_2"
        text = SENTENCES[entity_id][i % 2].format("Acme")
        start = text.index("Acme")
        spans = [{"start": start, "end": start + 4, "id": entity_id}]
        if "Initech" in text:
            spans.append({"start": text.index("Initech"), "end": text.index("Initech") + 7, "id": "X"})
        docs.append({"id": f"doc{i}", "text": text, "spans": spans, "split": "dev" if i % 8 == 0 else "train"})
    mentions = write_jsonl(root / "mentions.jsonl", docs)
    convert_custom(entities, mentions, root / "corpus")
    kb_stats = build_kb(
        root / "corpus" / "wikidata",
        root / "corpus" / "wikipedia",
        root / "kb",
        PruneSettings(min_freq=1, min_pair=1),
        vector_dim=16,
        vector_epochs=1,
    )
    mention_stats = extract_mentions(
        root / "corpus" / "wikipedia" / "articles.jsonl", root / "kb", root / "corpus" / "wikipedia", root / "mentions"
    )
    return {"root": root, "kb": kb_stats, "mentions": mention_stats, "docs": docs}


def test_build_kb_keeps_entities_without_description_and_uses_their_types(built):
    counts = built["kb"]["counts"]
    assert counts["settings"]["require_description"] is False
    entities = read_kb_entities(built["root"] / "kb" / "entities.jsonl")
    assert {qid: (r["type"], r["description"]) for qid, r in entities.items()} == {
        "ACME-1": ("COMPANY", "maker of anvils"),
        "acme_2": ("RIVER", ""),
        "X": ("OTHER", ""),
    }
    assert counts["types"] == {"COMPANY": 1, "OTHER": 1, "RIVER": 1}
    assert title_index(entities)["acme_2"] == "acme_2"  # case-sensitive ids resolve as written
    from spacy.kb import InMemoryLookupKB

    kb = InMemoryLookupKB(spacy.blank("en").vocab, entity_vector_length=1)
    kb.from_disk(built["root"] / "kb" / "kb")
    assert sorted(c.entity_ for c in kb.get_alias_candidates("Acme")) == ["ACME-1", "acme_2"]
    assert [c.entity_ for c in kb.get_alias_candidates("Initech")] == ["X"]


def test_extract_mentions_finds_the_annotated_mentions(built):
    counts = built["mentions"]["counts"]
    docs = built["docs"]
    expected = {split: sum(len(d["spans"]) for d in docs if d["split"] == split) for split in ("train", "dev")}
    assert (counts["train"]["mentions"], counts["dev"]["mentions"]) == (expected["train"], expected["dev"])
    dev = read_docs(built["root"] / "mentions" / "dev.spacy", spacy.blank("en"))
    gold = [(s["id"]) for d in docs if d["split"] == "dev" for s in d["spans"]]
    assert [e.kb_id_ for doc in dev for e in doc.ents] == gold
    assert {e.label_ for doc in dev for e in doc.ents} <= {"COMPANY", "RIVER", "OTHER"}


def test_description_still_required_for_wikidata():
    no_description = KBEntity("Q1", "T", "L", "", [], [], 50)
    assert select_entities([no_description], PruneSettings(min_freq=1)) == []
    assert select_entities([no_description], PruneSettings(min_freq=1, require_description=False)) == [no_description]


# ---- the workflow wiring: fetch, check, parse steps ------------------------------------------------------------
def run(command, *args, cwd=None):
    return run_cli(command, *args, cwd=cwd, timeout=300)


def test_fetch_check_and_parse_steps_with_a_custom_manifest(tiny, tmp_path):
    proc = run(
        "fetch",
        tmp_path / "assets",
        "--kb",
        "custom",
        "--custom-entities",
        tiny["entities"],
        "--custom-mentions",
        tiny["mentions"],
        "--custom-priors",
        tiny["priors"],
    )
    assert proc.returncode == 0, proc.stderr
    manifest = tmp_path / "assets" / "manifest.json"
    assert read_manifest(manifest)["source"] == "custom"
    results = check_assets(manifest, lang="en")
    assert [(r.key, r.problem) for r in results] == [("entities", None), ("mentions", None), ("priors", None)]
    assert "3 entities" in results[0].summary and "1 spans link to 1 ids not in the entity file" in results[1].summary
    proc = run("parse-wikidata", "--manifest", manifest, tmp_path / "corpus" / "wikidata")
    assert proc.returncode == 0, proc.stderr
    proc = run("parse-wikipedia", "--manifest", manifest, tmp_path / "corpus" / "wikipedia", "--dev-percent", "10")
    assert proc.returncode == 0, proc.stderr
    assert "3 documents (2 train, 1 dev)" in proc.stdout
    assert (tmp_path / "corpus" / "wikipedia" / "link_counts.tsv").read_text().count("\n") == 4
    proc = run("parse-wikipedia", "--manifest", manifest, tmp_path / "corpus" / "wikipedia", "--strict")
    assert proc.returncode == 1 and "ERROR:" in proc.stderr and "Traceback" not in proc.stderr
    # a file changed after fetch: check says so (and never advises deleting the user's file)
    with open(tiny["entities"], "a", encoding="utf8") as f:
        f.write(json.dumps({"id": "NEW", "name": "New"}) + "\n")
    problems = {r.key: str(r.problem) for r in check_assets(manifest) if r.problem}
    assert list(problems) == ["entities"] and "the manifest says" in problems["entities"]
    assert "delete" not in problems["entities"] and "--force" in problems["entities"]


def test_fetch_validates_the_custom_files(tiny, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [ENTITIES[0], {"id": "Z"}])
    proc = run(
        "fetch",
        tmp_path / "assets",
        "--kb",
        "custom",
        "--custom-entities",
        bad,
        "--custom-mentions",
        tiny["mentions"],
    )
    assert proc.returncode == 1 and f"ERROR: {bad}:2: entity 'Z' has no name" in proc.stderr
    proc = run(
        "fetch", tmp_path / "assets", "--kb", "custom", "--custom-entities", tiny["entities"], "--custom-mentions", ""
    )
    assert proc.returncode == 1 and "needs --custom-entities and --custom-mentions" in proc.stderr
    with pytest.raises(InputError, match="does not exist"):
        use_custom(tmp_path, "en", tiny["entities"], tmp_path / "missing.jsonl")


def test_convert_cli(tiny, tmp_path):
    proc = run("convert-custom-kb", tiny["entities"], tiny["mentions"], tmp_path / "corpus", "--priors", tiny["priors"])
    assert proc.returncode == 0, proc.stderr
    assert "3 entities; 3 documents (2 train, 1 dev), 5 spans, 1 to unknown ids" in proc.stdout
    bad = write_jsonl(tmp_path / "m.jsonl", [{"id": "d", "text": "Acme", "spans": [{"start": 0, "end": 9, "id": "X"}]}])
    proc = run("convert-custom-kb", tiny["entities"], bad, tmp_path / "corpus2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"ERROR: {bad}:1: document 'd': span [0, 9) -> 'X' is out of range" in proc.stderr


# ---- the worked example ----------------------------------------------------------------------------------------
def test_example_generator_is_deterministic_and_committed(tmp_path):
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        proc = subprocess.run(
            [sys.executable, str(EXAMPLE / "make_example.py"), str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append({name: (out / name).read_bytes() for name in ("entities.jsonl", "mentions.jsonl", "priors.tsv")})
    assert outputs[0] == outputs[1]
    for name, data in outputs[0].items():
        assert (EXAMPLE / name).read_bytes() == data, f"{name} is not what make_example.py writes: regenerate it"
    assert sum(len(data) for data in outputs[0].values()) < 3_000_000


def test_example_is_valid_and_ambiguous():
    entities = read_entities(EXAMPLE / "entities.jsonl")
    assert 300 <= len(entities) <= 600
    docs = list(read_mentions(EXAMPLE / "mentions.jsonl"))
    n_mentions = sum(len(d.spans) for d in docs)
    assert 8000 <= n_mentions <= 12000
    assert all(i in entities for d in docs for _, _, i in d.spans)
    owners = {}
    for e in entities.values():
        for alias in [e.name, *e.aliases]:
            owners.setdefault(alias, set()).add(e.id)
    shared = [a for a, ids in owners.items() if len(ids) > 1]
    assert len(shared) >= 40 and {"MS", "PE", "Diabetes"} <= set(shared)
    definitions = sum(d.text[e : e + 2] == " (" for d in docs for _, e, _ in d.spans)
    assert definitions >= 300  # "long form (ABBR)" definitions
    assert any(e.description == "" for e in entities.values()) and any(not e.types for e in entities.values())


# ---- implausible spans (byte / UTF-16 offsets), Wikidata-style aliases -------------------------------------------
def _shifted_docs():
    """Spans written with UTF-8 byte offsets (d1) and UTF-16 code-unit offsets (d2), as other languages count."""
    t1 = "Le café près d'Acme Corporation a fermé, dit Initech."
    b1 = t1.encode()
    s1 = len(t1[: t1.index("Acme")].encode())
    e1 = s1 + len("Acme Corporation")
    t2 = "\U0001f600\U0001f600 Acme sued Initech."  # two astral characters: 4 UTF-16 code units
    s2 = len(t2[: t2.index("Acme")].encode("utf-16-le")) // 2
    assert b1[s1:e1].decode() == "Acme Corporation" and t1[s1:e1] != "Acme Corporation"
    return [
        {"id": "d1", "text": t1, "split": "train", "spans": [{"start": s1, "end": e1, "id": "ACME-1"}]},
        {"id": "d2", "text": t2, "split": "train", "spans": [{"start": s2, "end": s2 + 4, "id": "ACME-1"}]},
        {"id": "d3", "text": "Initech and ACME.", "split": "dev", "spans": [{"start": 12, "end": 16, "id": "ACME-1"}]},
        {**DOCS[0], "id": "d4"},
    ]


def test_byte_and_utf16_offsets_are_reported_and_never_become_aliases(tiny, tmp_path, capsys):
    mentions = write_jsonl(tmp_path / "shifted.jsonl", _shifted_docs())
    stats = convert_custom(tiny["entities"], mentions, tmp_path / "corpus")
    c = stats["wikipedia"]["counts"]
    assert c["implausible_spans"] == 2 and c["implausible_spans_mid_word"] == 2
    assert c["implausible_spans_utf8_offsets"] == 1 and c["implausible_spans_utf16_offsets"] == 1
    assert c["anchors_cut_inside_a_word"] == 2
    examples = c["implausible_span_examples"]
    assert (
        examples[0].startswith(f"{mentions}:1: document 'd1': span [17, 33) ") and "'Acme Corporation'" in examples[0]
    )
    assert examples[1].startswith(f"{mentions}:2: document 'd2': span [5, 9) 'me s' -> 'ACME-1'")
    aliases = [line.split("\t")[0] for line in (tmp_path / "corpus/wikipedia/link_counts.tsv").read_text().splitlines()]
    assert aliases == ["Acme", "Initech"]  # no cut-off alias ("me Corporation a", "me s") with a prior
    err = capsys.readouterr().err
    assert "WARNING: 2 span(s) whose text is not a plausible surface form" in err and f"{mentions}:1" in err
    assert "1 of them become the entity's name when read as UTF-8 byte offsets" in err
    assert "1 of them become the entity's name when read as UTF-16 code-unit offsets" in err


def test_strict_spans_fails_on_the_first_implausible_span(tiny, tmp_path):
    mentions = write_jsonl(tmp_path / "shifted.jsonl", _shifted_docs())
    with pytest.raises(InputError, match=f"^{mentions}:1: document 'd1': span \\[17, 33\\) .*UTF-8 byte offsets"):
        convert_custom(tiny["entities"], mentions, tmp_path / "corpus", strict_spans=True)
    assert not (tmp_path / "corpus" / "wikipedia" / "articles.jsonl").exists()
    proc = run("convert-custom-kb", tiny["entities"], mentions, tmp_path / "corpus", "--strict-spans", "true")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"ERROR: {mentions}:1: document 'd1'" in proc.stderr and "give character offsets" in proc.stderr


@pytest.mark.parametrize(
    "text,start,end,problem",
    [
        ("The ACME plant.", 4, 8, None),  # an alias, other case
        ("The Acmé Corporation plant.", 4, 20, None),  # the name, other accents
        ("The Acme Corporation's plant.", 4, 20, None),
        ("Initech and Corporation.", 12, 23, None),  # a whole word of the name
        ("He saw the Acme Corporation.", 7, 27, None),  # the name inside, as whole words
        ("Acmes are here.", 0, 4, custom.MID_WORD_END),
        ("XAcme is here.", 1, 5, custom.MID_WORD_START),
        ("The Initech plant.", 4, 11, custom.NOT_A_NAME),
        ("The Corp plant.", 4, 8, custom.NOT_A_NAME),  # part of a word of the name is not enough
    ],
)
def test_surface_problem(text, start, end, problem):
    names = custom.entity_names(read_entities_from(ENTITIES)["ACME-1"])
    assert custom.surface_problem(text, start, end, names) == problem


def read_entities_from(records):
    entities = {}
    for r in records:
        e = custom.CustomEntity(r["id"], r["name"], r.get("aliases", []), "", [], None, 1)
        entities[e.id] = e
    return entities


@pytest.mark.parametrize(
    "line,message",
    [
        ({"id": "A", "name": "Acme", "aliases": {"en": ["Acme Co"]}}, "'aliases' is a map or a list of objects"),
        (
            {"id": "A", "name": "Acme", "aliases": {"en": [{"language": "en", "value": "Acme Co"}]}},
            "'aliases' is a map or a list of objects",
        ),
        ({"id": "A", "name": "Acme", "aliases": [{"language": "en", "value": "Acme Co"}]}, "list of strings"),
        ({"id": "A", "name": {"en": {"value": "Acme"}}}, "'name' is a map (Wikidata style)"),
        ({"id": "A", "labels": {"en": {"value": "Acme"}}}, "has 'labels' but no 'name'"),
        ({"id": "A", "name": "Acme", "alias": ["Acme Co"]}, "has 'alias' but no 'aliases'"),
        ({"id": "A", "name": "Acme", "type": "COMPANY"}, "has 'type' but no 'types'"),
        ({"id": "A", "name": "Acme", "descriptions": {"en": {"value": "x"}}}, "has 'descriptions' but no"),
    ],
)
def test_wikidata_style_entities_fail_naming_the_expected_form(tmp_path, line, message):
    path = write_jsonl(tmp_path / "e.jsonl", [ENTITIES[0], line])
    with pytest.raises(InputError, match=f"^{path}:2: ") as err:
        read_entities(path)
    assert message in str(err.value), str(err.value)


# ---- edits of the custom files after fetch ------------------------------------------------------------------------
def test_parse_steps_refuse_custom_files_edited_since_fetch(tiny, tmp_path):
    args = ["--kb", "custom", "--custom-entities", tiny["entities"], "--custom-mentions", tiny["mentions"]]
    assert run("fetch", tmp_path / "assets", *args).returncode == 0
    manifest = tmp_path / "assets" / "manifest.json"
    assert read_json(manifest)["mentions"][0]["sha256"]
    before = manifest.read_bytes()
    assert run("fetch", tmp_path / "assets", *args).returncode == 0
    assert manifest.read_bytes() == before  # nothing changed: the same manifest
    text = tiny["mentions"].read_text()
    tiny["mentions"].write_text(text.replace("Acme sued", "Acme hit "))  # same size, other content
    for step, out in (("parse-wikipedia", "wikipedia"), ("parse-wikidata", "wikidata")):
        proc = run(step, "--manifest", manifest, tmp_path / "corpus" / out)
        if step == "parse-wikidata":  # reads only the entity file, which did not change
            assert proc.returncode == 0, proc.stderr
            continue
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert f"ERROR: {tiny['mentions']}: changed since fetch" in proc.stderr
        assert "run `spacy project run fetch`" in proc.stderr
    assert run("fetch", tmp_path / "assets", *args).returncode == 0
    assert manifest.read_bytes() != before
    proc = run("parse-wikipedia", "--manifest", manifest, tmp_path / "corpus" / "wikipedia")
    assert proc.returncode == 0, proc.stderr
    assert "Acme hit" in (tmp_path / "corpus" / "wikipedia" / "articles.jsonl").read_text()


def test_fetch_world_generates_nothing_when_unchanged(tmp_path):
    args = ["--world-entities", "60", "--world-articles", "12"]
    assert run("fetch", tmp_path / "assets", *args).returncode == 0
    manifest = tmp_path / "assets" / "manifest.json"
    before = manifest.read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "assets" / "world").iterdir()}
    proc = run("fetch", tmp_path / "assets", *args)
    assert proc.returncode == 0 and "unchanged since the last fetch" in proc.stdout
    assert manifest.read_bytes() == before
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not regenerated
    proc = run("fetch", tmp_path / "assets", *args, "--seed", "1")  # other settings: generated again
    assert proc.returncode == 0 and "unchanged" not in proc.stdout and manifest.read_bytes() != before


def _project_run(project: Path, command: str, overrides) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "spacy", "project", "run", command, str(project)]
    argv += [f"--vars.{k}={v}" for k, v in overrides.items()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_workflow_sees_custom_files_edited_after_fetch(tiny, tmp_path):
    from conftest import run_project_copy

    project = tmp_path / "project"
    project.mkdir()
    (project / "custom").mkdir()
    for key in ("entities", "mentions"):
        (project / "custom" / tiny[key].name).write_bytes(tiny[key].read_bytes())
    overrides = {
        "kb": "custom",
        "custom_entities": "custom/entities.jsonl",
        "custom_mentions": "custom/mentions.jsonl",
        "n_process": 1,
    }
    run_project_copy(project, overrides, workflow="fetch")
    for step in ("parse-wikidata", "parse-wikipedia"):
        proc = _project_run(project, step, overrides)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    articles = project / "corpus" / "wikipedia" / "articles.jsonl"
    mentions = project / "custom" / "mentions.jsonl"
    mentions.write_text(mentions.read_text().replace("Acme sued", "Acme hit "))
    # fetch (no_skip) sees the edit, so the parse step reruns instead of reporting "nothing changed"
    for step in ("fetch", "parse-wikipedia"):
        proc = _project_run(project, step, overrides)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "nothing changed" not in proc.stdout.lower(), proc.stdout
    assert "Acme hit" in articles.read_text()
    # nothing edited: fetch runs, changes nothing, and the parse step is skipped
    assert _project_run(project, "fetch", overrides).returncode == 0
    proc = _project_run(project, "parse-wikipedia", overrides)
    assert proc.returncode == 0 and "nothing changed" in proc.stdout.lower(), proc.stdout


def test_out_of_range_byte_offsets_are_named(tiny, tmp_path):
    text = "Ça coûte cher à Acme"  # 20 characters, 23 UTF-8 bytes: "Acme" is bytes [19, 23)
    path = write_jsonl(
        tmp_path / "m.jsonl", [{"id": "d", "text": text, "spans": [{"start": 19, "end": 23, "id": "X"}]}]
    )
    with pytest.raises(InputError, match=f"^{path}:1: .*out of range.*look like UTF-8 byte offsets") as err:
        list(read_mentions(path))
    assert "give character offsets" in str(err.value)


def test_check_reports_implausible_spans(tiny, tmp_path):
    mentions = write_jsonl(tmp_path / "shifted.jsonl", _shifted_docs())
    summary = custom.summarize_mentions([mentions], custom.load_entities(tiny["entities"]))
    assert "WARNING: 2 span(s) whose text is not a plausible surface form" in summary
    assert "UTF-8 byte offsets" in summary and "UTF-16 code-unit offsets" in summary
