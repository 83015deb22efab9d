"""parse-wikidata: real excerpts in every input layout, hand-made edge cases, bad input, n-process equality."""

import bz2
import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import WIKIEL, wait_for
from wikiel.sources import wikidata
from wikiel.sources.wikidata import (
    META_CLASSES,
    SeenIds,
    claim_targets,
    entity_id,
    parse_batch,
    parse_entity,
    parse_wikidata,
    read_line_range,
    scan_lines,
)
from wikiel.synthetic.world import generate_world
from wikiel.util import TEST_HOLD_ENV, InputError, OutputError, open_dump, read_json

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT.parent / "shared" / "data"
WIKIDATA = DATA / "wikidata"
real_data = pytest.mark.skipif(not WIKIDATA.is_dir(), reason=f"real excerpts not found at {WIKIDATA}")


def run(tmp_path, *inputs, **kwargs):
    """Parse `inputs` into tmp_path/out; return (stats counts, entity records, subclass pairs)."""
    out = tmp_path / "out"
    stats = parse_wikidata(list(inputs), out, progress=False, **kwargs)
    records = [orjson.loads(line) for line in (out / "entities.jsonl").read_bytes().splitlines()]
    pairs = [tuple(line.split("\t")) for line in (out / "subclass_of.tsv").read_text().splitlines()]
    return stats["counts"], records, pairs


def item(qid, title="", label="", description="", aliases=(), p31=(), p279=(), lang="en", **extra):
    """A hand-made item in the current dump format."""
    entity = {"type": "item", "id": qid, "labels": {}, "descriptions": {}, "aliases": {}, "claims": {}, "sitelinks": {}}
    if title:
        entity["sitelinks"][f"{lang}wiki"] = {"site": f"{lang}wiki", "title": title, "badges": []}
    if label:
        entity["labels"][lang] = {"language": lang, "value": label}
    if description:
        entity["descriptions"][lang] = {"language": lang, "value": description}
    if aliases:
        entity["aliases"][lang] = [{"language": lang, "value": a} for a in aliases]
    for prop, targets in (("P31", p31), ("P279", p279)):
        if targets:
            entity["claims"][prop] = [claim(prop, t) for t in targets]
    entity.update(extra)
    return entity


def claim(prop, target, rank="normal"):
    value = {"entity-type": "item", "numeric-id": int(target[1:]), "id": target}
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": prop,
            "datatype": "wikibase-item",
            "datavalue": {"value": value, "type": "wikibase-entityid"},
        },
        "type": "statement",
        "rank": rank,
    }


def write_dump(path, entities, layout="dump"):
    """Write entities in the real dump layout (`[`, lines ending in `,`, `]`) or as plain JSON lines."""
    lines = [json.dumps(e) for e in entities]
    if layout == "dump":
        text = "[\n" + ",\n".join(lines) + "\n]\n"
    else:
        text = "\n".join(lines) + "\n"
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    with opener(path, "wt", encoding="utf8") as f:
        f.write(text)
    return path


# --- real excerpts ------------------------------------------------------------------------------------


@real_data
def test_sample_items_dump_layout(tmp_path):
    counts, records, _ = run(tmp_path, WIKIDATA / "sample_wikidata_items.json.bz2")
    assert counts["entities"] == counts["items"] == counts["kept"] == len(records) == 100
    assert counts["lines"] == 102 and counts["bad_lines"] == counts["prefiltered"] == 0
    assert counts["no_label"] == counts["no_description"] == counts["meta_dropped"] == 0
    assert sum(1 for r in records if r["aliases"]) == 48
    assert all(r["label"] and r["description"] and r["types"] and r["title"] for r in records)
    belgium = next(r for r in records if r["qid"] == "Q31")
    assert belgium["title"] == "Belgium" and belgium["label"] == "Belgium"
    assert belgium["types"] == ["Q3624078", "Q43702", "Q6256"]
    assert "Kingdom of Belgium" in belgium["aliases"]


@real_data
def test_short_stream_api_lines(tmp_path):
    counts, records, pairs = run(tmp_path, WIKIDATA / "short_stream.json.bz2")
    # 635 lines, 55 with an enwiki sitelink (53 distinct ids: two items appear in two revisions, the second
    # revision is skipped); 2 of them are Wikimedia pages (a category and a human name disambiguation page).
    assert counts["lines"] == 635
    assert counts["with_sitelink"] == 53 and counts["meta_dropped"] == 2 and counts["kept"] == len(records) == 51
    assert len({r["qid"] for r in records}) == 51 and counts["duplicate_entities"] == 2
    assert counts["entities"] + counts["duplicate_entities"] + counts["prefiltered"] == 635
    assert counts["no_label"] == 1 and counts["no_description"] == 14
    assert not {"Q364181", "Q9411411"} & {r["qid"] for r in records}
    assert counts["subclass_pairs"] == len(pairs) == 18


@real_data
@pytest.mark.parametrize(
    "name, n_entities, n_distinct",
    [
        ("short_stream.json.bz2", 635, 574),
        ("twenty_entities.json.bz2", 20, 20),
        ("sample_wikidata_items.json.bz2", 100, 100),
    ],
)
def test_every_line_parses_without_the_prefilter(name, n_entities, n_distinct):
    lines = bz2.decompress((WIKIDATA / name).read_bytes()).splitlines()
    lines = [line for line in lines if line.strip() not in (b"[", b"]")]
    rows, bad = parse_batch(lines, list(range(len(lines))), "en")
    assert bad == [] and len(rows) == n_entities and len({qid for qid, *_ in rows}) == n_distinct


@real_data
def test_several_files_skip_ids_already_seen(tmp_path):
    stream = WIKIDATA / "short_stream.json.bz2"
    counts, records, pairs = run(tmp_path, stream, stream)
    qids = [r["qid"] for r in records]
    assert len(qids) == len(set(qids)) == 51
    assert counts["duplicate_entities"] == 2 + 73  # 2 revisions in the first copy, all 73 parsed of the second
    assert len(pairs) == 18


@real_data
def test_twenty_entities(tmp_path):
    counts, records, pairs = run(tmp_path, WIKIDATA / "twenty_entities.json.bz2")
    assert counts["kept"] == len(records) == 18
    assert counts["prefiltered"] == 2  # the two items without enwiki and without P279
    assert records[-1]["qid"] == "Q59064"  # indented last line without a comma
    assert pairs == [("Q59047", "Q8486")]


@real_data
@pytest.mark.parametrize(
    "name, qid, title",
    [("Q31.json", "Q31", "Belgium"), ("syvb_Q1.json", "Q1", "Universe"), ("syvb_Q42.json", "Q42", "Douglas Adams")],
)
def test_single_entity_files(tmp_path, name, qid, title):
    counts, records, _ = run(tmp_path, WIKIDATA / name)
    assert [(r["qid"], r["title"]) for r in records] == [(qid, title)]
    assert counts["lines"] == 1


@real_data
def test_pretty_printed_api_document_is_parsed_whole(tmp_path):
    pretty = tmp_path / "Q42-pretty.json"
    pretty.write_text(json.dumps(json.loads((WIKIDATA / "syvb_Q42.json").read_text()), indent=2))
    _, compact, _ = run(tmp_path / "a", WIKIDATA / "syvb_Q42.json")
    _, records, _ = run(tmp_path / "b", pretty)
    assert records == compact and records[0]["label"] == "Douglas Adams"


@real_data
def test_gz_bz2_plain_give_identical_output(tmp_path):
    text = bz2.decompress((WIKIDATA / "twenty_entities.json.bz2").read_bytes())
    plain = tmp_path / "dump.json"
    plain.write_bytes(text)
    (tmp_path / "dump.json.gz").write_bytes(gzip.compress(text))
    (tmp_path / "dump.json.bz2").write_bytes(bz2.compress(text))
    outputs = []
    for name in ("dump.json", "dump.json.gz", "dump.json.bz2"):
        out = tmp_path / name.replace(".", "_")
        parse_wikidata([tmp_path / name], out, progress=False)
        outputs.append(((out / "entities.jsonl").read_bytes(), (out / "subclass_of.tsv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0][0]


@real_data
def test_n_process_output_is_identical(tmp_path):
    inputs = [
        WIKIDATA / n
        for n in ("sample_wikidata_items.json.bz2", "short_stream.json.bz2", "twenty_entities.json.bz2", "Q31.json")
    ]
    results = []
    for n_process in (1, 3):
        out = tmp_path / f"n{n_process}"
        stats = parse_wikidata(inputs, out, n_process=n_process, piece_bytes=64 << 10, progress=False)
        results.append(((out / "entities.jsonl").read_bytes(), (out / "subclass_of.tsv").read_bytes(), stats["counts"]))
    assert results[0][:2] == results[1][:2]
    assert {k: v for k, v in results[0][2].items() if k != "n_process"} == {
        k: v for k, v in results[1][2].items() if k != "n_process"
    }


@real_data
def test_cli_with_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps({"wikidata": [{"path": str(WIKIDATA / "twenty_entities.json.bz2")}], "wikipedia": None})
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wikiel",
            "parse-wikidata",
            "--manifest",
            str(manifest),
            str(tmp_path / "out"),
            "--n-process",
            "2",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 0, result.stderr
    assert read_json(tmp_path / "out" / "stats.json")["counts"]["kept"] == 18


@real_data
def test_xml_given_as_wikidata_dump(tmp_path):
    xml = DATA / "wikipedia" / "enwiki-table-markup.xml.bz2"
    with pytest.raises(InputError, match="is XML") as err:
        parse_wikidata([xml], tmp_path / "out", progress=False)
    assert err.value.path == str(xml)
    assert not (tmp_path / "out" / "entities.jsonl").exists()


# --- hand-made formats and rules ------------------------------------------------------------------------


def test_2014_numeric_id_format(tmp_path):
    old = {
        "id": "Q64",
        "type": "item",
        "labels": {"en": {"language": "en", "value": "Berlin"}},
        "sitelinks": {"enwiki": {"site": "enwiki", "title": "Berlin", "badges": []}},
        "claims": {
            "P31": [
                {
                    "mainsnak": {
                        "snaktype": "value",
                        "property": "P31",
                        "datavalue": {"value": {"entity-type": "item", "numeric-id": 515}, "type": "wikibase-entityid"},
                    },
                    "type": "statement",
                    "rank": "normal",
                }
            ],
            "P279": [
                {
                    "mainsnak": {
                        "snaktype": "value",
                        "property": "P279",
                        "datavalue": {
                            "value": {"entity-type": "item", "numeric-id": 1549591},
                            "type": "wikibase-entityid",
                        },
                    },
                    "type": "statement",
                    "rank": "normal",
                }
            ],
        },
    }
    counts, records, pairs = run(tmp_path, write_dump(tmp_path / "old.json", [old]))
    assert records == [
        {"qid": "Q64", "title": "Berlin", "label": "Berlin", "description": "", "aliases": [], "types": ["Q515"]}
    ]
    assert pairs == [("Q64", "Q1549591")]
    assert counts["no_description"] == 1


def test_entity_id_forms():
    assert entity_id({"entity-type": "item", "numeric-id": 5, "id": "Q5"}) == "Q5"
    assert entity_id({"entity-type": "item", "numeric-id": 5}) == "Q5"
    assert entity_id({"numeric-id": 5}) == "Q5"
    assert entity_id({"entity-type": "property", "numeric-id": 31}) == "P31"
    assert entity_id({"entity-type": "form", "id": "L1-F1"}) == "L1-F1"
    assert entity_id({"entity-type": "sense"}) is None
    assert entity_id("Q5") is None


@given(st.integers(min_value=1, max_value=10**9), st.sampled_from(["item", "property"]))
def test_entity_id_numeric_matches_id(number, kind):
    full = {"entity-type": kind, "numeric-id": number, "id": f"{'Q' if kind == 'item' else 'P'}{number}"}
    assert entity_id({k: v for k, v in full.items() if k != "id"}) == entity_id(full)


def test_claim_targets_order_dedup_and_ranks():
    entity = item("Q1", p31=["Q5", "Q6", "Q5"])
    entity["claims"]["P31"].append(claim("P31", "Q7", rank="deprecated"))
    entity["claims"]["P31"].append({"mainsnak": {"snaktype": "somevalue", "property": "P31"}, "rank": "normal"})
    assert claim_targets(entity, "P31") == ["Q5", "Q6"]
    assert claim_targets(entity, "P279") == []


@pytest.mark.parametrize("group", [True, 3, "Q5", {"mainsnak": {}}, None])
def test_claim_group_of_another_shape_holds_no_claims(tmp_path, group):
    entity = item("Q1", "Paris", "Paris", p31=["Q515"])
    entity["claims"]["P279"] = group
    assert claim_targets(entity, "P279") == [] and claim_targets(entity, "P31") == ["Q515"]
    dump = tmp_path / "d.json"
    dump.write_text("[\n" + json.dumps(entity) + "\n]\n")
    stats = parse_wikidata([dump], tmp_path / "out", progress=False)
    assert stats["counts"]["kept"] == 1 and stats["counts"]["bad_lines"] == 0


def test_meta_items_dropped_properties_and_others_ignored(tmp_path):
    entities = [
        item("Q1", "Paris", "Paris", p31=["Q515"]),
        item("Q2", "Paris (disambiguation)", p31=["Q4167410"]),
        item("Q3", "Category:Paris", p31=["Q4167836"]),
        item("Q4", "List of mayors of Paris", p31=["Q13406463"]),
        {
            "type": "property",
            "id": "P31",
            "datatype": "wikibase-item",
            "labels": {"en": {"language": "en", "value": "instance of"}},
            "sitelinks": {"enwiki": {"site": "enwiki", "title": "x"}},
        },
        {"type": "lexeme", "id": "L1", "lemmas": {}, "sitelinks": {"enwiki": {"title": "y"}}},
        item("Q5", "Lyon", "Lyon", p31=["Q515", "Q484170"]),
    ]
    counts, records, _ = run(tmp_path, write_dump(tmp_path / "d.json", entities))
    assert [r["qid"] for r in records] == ["Q1", "Q5"]
    assert counts["meta_dropped"] == 3 and counts["properties"] == 1 and counts["other_types"] == 1
    assert counts["items"] == 5 and counts["with_sitelink"] == 5 and counts["entities"] == 7
    assert {"Q4167410", "Q4167836", "Q13406463", "Q11266439", "Q15184295", "Q14204246", "Q17442446"} <= META_CLASSES


def test_parse_entity_fields_and_empty_list_maps():
    full = item("Q90", "Paris", "Paris", "capital of France", ["City of Light"], p31=["Q515", "Q515"])
    assert parse_entity(full, "en") == {
        "qid": "Q90",
        "title": "Paris",
        "label": "Paris",
        "description": "capital of France",
        "aliases": ["City of Light"],
        "types": ["Q515"],
    }
    assert parse_entity(full, "de") is None
    bare = {
        "type": "item",
        "id": "Q9",
        "labels": [],
        "descriptions": [],
        "aliases": [],
        "claims": [],
        "sitelinks": {"enwiki": {"title": "Nine"}},
    }
    assert parse_entity(bare, "en") == {
        "qid": "Q9",
        "title": "Nine",
        "label": "",
        "description": "",
        "aliases": [],
        "types": [],
    }
    assert parse_entity({"id": "P31", "type": "property"}, "en") is None


def test_other_language(tmp_path):
    entity = item("Q90", "Paris", "Paris", lang="fr", p31=["Q515"])
    _, records, _ = run(tmp_path, write_dump(tmp_path / "d.json", [entity, item("Q1", "X", "X")]), lang="fr")
    assert [r["qid"] for r in records] == ["Q90"]


def test_subclass_pairs_of_items_without_sitelink(tmp_path):
    entities = [item("Q515", p279=["Q486972", "Q1549591"]), item("Q1", "Paris", "Paris", p31=["Q515"])]
    counts, records, pairs = run(tmp_path, write_dump(tmp_path / "d.json", entities, layout="lines"))
    assert pairs == [("Q515", "Q486972"), ("Q515", "Q1549591")]
    assert [r["qid"] for r in records] == ["Q1"] and counts["items"] == 2


def test_api_format_lines_with_several_entities(tmp_path):
    path = tmp_path / "api.json"
    lines = [{"entities": {"Q1": item("Q1", "A", "A"), "Q2": item("Q2", "B", "B")}}, item("Q3", "C", "C")]
    path.write_text("\n".join(json.dumps(x) for x in lines))
    _, records, _ = run(tmp_path, path)
    assert [r["qid"] for r in records] == ["Q1", "Q2", "Q3"]


# --- bad input ----------------------------------------------------------------------------------------


def test_bad_lines_are_skipped_and_counted(tmp_path):
    path = write_dump(tmp_path / "d.json", [item("Q1", "A", "A"), item("Q2", "B", "B")], layout="lines")
    with open(path, "ab") as f:
        f.write(b'{"id": "Q3", "sitelinks": {"enwiki": \n')  # truncated JSON
        f.write(b'{"id": "Q4", "sitelinks": {"enwiki": {"title": "\xff"}}}\n')  # valid JSON, not UTF-8
        f.write(json.dumps(item("Q5", "C", "C")).encode() + b"\n")
    counts, records, _ = run(tmp_path, path, max_bad_lines=2)
    assert [r["qid"] for r in records] == ["Q1", "Q2", "Q5"]
    assert counts["bad_lines"] == 2
    assert read_json(tmp_path / "out" / "stats.json")["counts"]["first_bad_lines"] == [f"{path}:3", f"{path}:4"]


def test_too_many_bad_lines_raise_input_error(tmp_path):
    path = tmp_path / "d.json"
    good = json.dumps(item("Q1", "A", "A"))
    path.write_text(good + "\n" + '{"enwiki": broken\n' * 5)
    with pytest.raises(InputError, match="more than 3 lines") as err:
        parse_wikidata([path], tmp_path / "out", max_bad_lines=3, progress=False)
    assert err.value.path == str(path) and err.value.line == 5
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("suffix", [".gz", ".bz2"])
def test_truncated_compressed_file(tmp_path, suffix):
    entities = [item(f"Q{i}", f"T{i}", f"L{i}", description="x" * (i % 97), p31=["Q5"]) for i in range(1, 3000)]
    whole = write_dump(tmp_path / f"whole.json{suffix}", entities)
    cut = tmp_path / f"cut.json{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated") as err:
        parse_wikidata([cut], tmp_path / "out", progress=False)
    assert err.value.path == str(cut)
    assert not (tmp_path / "out" / "entities.jsonl").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">\n<page>', "is XML"),
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"Q1\tQ5\n", "does not look like"),
    ],
)
def test_wrong_files(tmp_path, content, message):
    path = tmp_path / "wrong.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        parse_wikidata([path], tmp_path / "out", progress=False)
    assert err.value.path == str(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        parse_wikidata([tmp_path / "nope.json.gz"], tmp_path / "out", progress=False)
    with pytest.raises(InputError, match="is a directory"):
        parse_wikidata([tmp_path], tmp_path / "out", progress=False)


def test_no_kept_entity_raises_output_error(tmp_path):
    path = write_dump(tmp_path / "d.json", [item("Q1", "Paris", "Paris")])
    with pytest.raises(OutputError, match="--lang") as err:
        parse_wikidata([path], tmp_path / "out", lang="de", progress=False)
    assert str(path) in str(err.value)
    assert not (tmp_path / "out" / "entities.jsonl").exists()


def test_cli_reports_one_error_line(tmp_path):
    result = subprocess.run(
        [*WIKIEL, "parse-wikidata", "--dump", str(tmp_path / "nope.json"), str(tmp_path / "out")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("ERROR: ")
    assert "Traceback" not in result.stderr


def test_synthetic_world_dump(tmp_path):
    files = generate_world(tmp_path / "world", n_entities=300, n_articles=100, seed=1, lang="en")
    counts, records, pairs = run(tmp_path, files["wikidata"], n_process=2)
    assert counts["kept"] == len(records) > 0 and counts["bad_lines"] == 0
    assert len({r["qid"] for r in records}) == len(records)


def test_gzip_decoder_thread_and_process_give_identical_output(tmp_path):
    """A gz dump decoded by the decoder thread (n_process 1), the decoder process (2: this process parses) or the
    process with a pool of parsers (3), with pieces small enough for many: the same outputs and counts."""
    files = generate_world(tmp_path / "world", n_entities=2000, n_articles=10, seed=3, lang="en")
    found = []
    for n_process in (1, 2, 3):
        out = tmp_path / f"n{n_process}"
        stats = parse_wikidata([files["wikidata"]], out, n_process=n_process, piece_bytes=32 << 10, progress=False)
        counts = {k: v for k, v in stats["counts"].items() if k != "n_process"}
        found.append(((out / "entities.jsonl").read_bytes(), (out / "subclass_of.tsv").read_bytes(), counts))
    assert found[0][0] and found[0] == found[1] == found[2]


# --- complete input: a dump array must be closed, compressed data must not stop early -------------------------


def dump_lines(n=400):
    """The lines of a dump-layout file of n items: `[`, one item per line ending in `,` (the last without), `]`."""
    items = [json.dumps(item(f"Q{i}", f"T{i}", f"L{i}", description="x" * (i % 50), p31=["Q5"])) for i in range(1, n)]
    return [b"[\n", *[f"{line},\n".encode() for line in items[:-1]], f"{items[-1]}\n".encode(), b"]\n"]


def members(parts, suffix):
    """Each part compressed on its own and concatenated: a multi-member gz or a multistream bz2 file."""
    compress = {".gz": gzip.compress, ".bz2": bz2.compress}[suffix]
    return [compress(b"".join(part)) for part in parts]


def cut_cases(tmp_path):
    lines = dump_lines()
    half = len(lines) // 2
    whole_gz = gzip.compress(b"".join(lines))
    return {
        "plain without ]": b"".join(lines[:-1]),
        "plain cut at a line after [": b"".join(lines[:half]),
        "gz cut between members": b"".join(members([lines[:half], lines[half:]], ".gz")[:1]),
        "bz2 cut between streams": b"".join(members([lines[:100], lines[100:half], lines[half:]], ".bz2")[:2]),
        "gz recompressed after a cut at a line": gzip.compress(b"".join(lines[:half])),
        "bz2 recompressed after a cut inside a line": bz2.compress(b"".join(lines)[: len(b"".join(lines)) // 2]),
        "gz without ] but a blank line": gzip.compress(b"".join(lines[:-1]) + b"\n  \n"),
    }, len(whole_gz)


@pytest.mark.parametrize(
    "case",
    [
        "plain without ]",
        "plain cut at a line after [",
        "gz cut between members",
        "bz2 cut between streams",
        "gz recompressed after a cut at a line",
        "bz2 recompressed after a cut inside a line",
        "gz without ] but a blank line",
    ],
)
@pytest.mark.parametrize("n_process", [1, 2])
def test_unclosed_dump_array_is_truncated(tmp_path, case, n_process):
    data = cut_cases(tmp_path)[0][case]
    path = tmp_path / "cut.json"
    path.write_bytes(data)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"is truncated: its JSON array .* is not closed by a `\]` line") as err:
        parse_wikidata([path], out, progress=False, n_process=n_process)
    assert err.value.path == str(path) and err.value.offset == len(data)
    assert not out.exists() or not list(out.iterdir())


def test_closed_arrays_and_newline_delimited_input_pass(tmp_path):
    lines = dump_lines()
    cases = {
        "whole.json": b"".join(lines),
        "trailing-blank.json": b"".join(lines) + b"\n\n",
        "members.json.gz": b"".join(members([lines[:10], lines[10:]], ".gz")),
        "streams.json.bz2": b"".join(members([lines[:1], lines[1:200], lines[200:]], ".bz2")),
        # newline-delimited: no end marker, so a cut copy cannot be told from a whole one and is accepted
        "cut.jsonl": b"".join(line.rstrip(b",\n") + b"\n" for line in lines[1:200]),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        counts, records, _ = run(tmp_path / name.replace(".", "-"), path)
        assert counts["kept"] == len(records) == (199 if name == "cut.jsonl" else 399), name


@pytest.mark.parametrize("n_process", [1, 2])
@pytest.mark.parametrize("suffix", [".gz", ".bz2"])
def test_compressed_data_that_stops_inside_a_member(tmp_path, suffix, n_process):
    lines = dump_lines(3000)
    parts = members([lines[:1000], lines[1000:]], suffix)
    path = tmp_path / f"cut.json{suffix}"
    path.write_bytes(parts[0] + parts[1][: len(parts[1]) // 2])
    with pytest.raises(InputError, match=f"its {'gzip' if suffix == '.gz' else 'bz2'} data ends early") as err:
        parse_wikidata([path], tmp_path / "out", progress=False, n_process=n_process)
    message = str(err.value)
    assert "Traceback" not in message and "std::exception" not in message
    if suffix == ".gz":  # the compressed offset: the end of the file, where the member stops
        assert err.value.offset == path.stat().st_size and f"compressed byte {path.stat().st_size:,}" in message
    else:  # bz2 is read ahead by threads: the decompressed offset of the lines read
        assert "decompressed byte" in message
    assert not (tmp_path / "out" / "entities.jsonl").exists()


def test_gzip_crc_error(tmp_path):
    data = bytearray(gzip.compress(b"".join(dump_lines())))
    data[-8] ^= 0xFF  # the CRC32 of the member's trailer
    path = tmp_path / "crc.json.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="its gzip data ends early or is corrupt at or before compressed byte") as err:
        parse_wikidata([path], tmp_path / "out", progress=False)
    assert "CRC32" in str(err.value) and err.value.offset is not None


def test_gzip_crc_mismatch_names_the_file_end(tmp_path):
    """The decoder thread's CRC error: "CRC32 mismatch" at the end of the file (where the member's trailer is)."""
    data = bytearray(gzip.compress(b"".join(dump_lines())))
    data[-8] ^= 0xFF
    path = tmp_path / "crc.json.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="CRC32 mismatch") as err:
        parse_wikidata([path], tmp_path / "out", progress=False, n_process=2)
    assert err.value.offset == len(data) and err.value.path == str(path)
    assert not (tmp_path / "out" / "entities.jsonl").exists()


@pytest.mark.parametrize("n_process", [1, 2])
def test_gzip_corrupt_inside_the_data_stops_the_step(tmp_path, n_process):
    """Corrupt deflate data in the middle of a gz dump: an InputError naming the file and a compressed byte at or
    after the damage (the decoder reads ahead), never a smaller result."""
    lines = dump_lines(3000)
    parts = members([lines[:1500], lines[1500:]], ".gz")
    second = bytearray(parts[1])
    second[len(second) // 2 : len(second) // 2 + 200] = bytes(200)
    path = tmp_path / "corrupt.json.gz"
    path.write_bytes(parts[0] + bytes(second))
    with pytest.raises(InputError, match="its gzip data ends early or is corrupt at or before compressed byte") as err:
        parse_wikidata([path], tmp_path / "out", progress=False, n_process=n_process)
    assert len(parts[0]) < err.value.offset <= path.stat().st_size
    assert not (tmp_path / "out" / "entities.jsonl").exists()


def test_cli_gzip_cut_inside_a_member_one_line(tmp_path):
    """A gz dump cut inside its last member (an interrupted download): one error line naming the file and the
    compressed byte, exit code 1, no output."""
    lines = dump_lines(3000)
    whole = gzip.compress(b"".join(lines))
    path = tmp_path / "cut.json.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = subprocess.run(
        [*WIKIEL, "parse-wikidata", "--dump", str(path), str(tmp_path / "out"), "--n-process", "2"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.replace("\r", "\n").splitlines() if "ERROR" in line]
    size = path.stat().st_size
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {path} (byte {size}): cannot be read: its gzip data")
    assert f"compressed byte {size:,}" in errors[0] and "EOFError" in errors[0]
    assert not (tmp_path / "out" / "entities.jsonl").exists()


def test_cli_killed_gzip_decoder_one_line(tmp_path):
    """The gzip decoder process killed mid-step (`kill -9`, the out-of-memory killer): one error line naming the file
    and the compressed byte the data stops at, exit code 1, no output; no hang, and no silent end of the data. The
    decoder is held (TEST_HOLD_ENV) before it decodes anything, so it is killed mid-way for certain."""
    path = tmp_path / "dump.json.gz"
    path.write_bytes(gzip.compress(b"".join(dump_lines(3000))))
    hold = tmp_path / "hold"
    env = {**os.environ, TEST_HOLD_ENV: str(hold)}
    args = [*WIKIEL, "parse-wikidata", "--dump", str(path), str(tmp_path / "out"), "--n-process", "2"]
    proc = subprocess.Popen(args, cwd=PROJECT, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert wait_for(lambda: bool(list(tmp_path.glob("hold.worker-*"))) or proc.poll() is not None, 120)
        (decoder,) = [int(p.name.rsplit("-", 1)[1]) for p in tmp_path.glob("hold.worker-*")]
        os.kill(decoder, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1 and "Traceback" not in stderr
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {path} (byte 0): cannot be read: at compressed byte 0")
    assert "the gzip decoder process stopped before the end of the data (killed by SIGKILL" in errors[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_cli_truncated_dump_one_line(tmp_path):
    path = tmp_path / "cut.json.gz"
    path.write_bytes(cut_cases(tmp_path)[0]["gz cut between members"])
    result = subprocess.run(
        [*WIKIEL, "parse-wikidata", "--dump", str(path), str(tmp_path / "out"), "--n-process", "2"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ERROR: {path} (byte {path.stat().st_size}): is truncated")
    assert not (tmp_path / "out" / "entities.jsonl").exists()


# --- duplicate entity ids ------------------------------------------------------------------------------------


def test_duplicate_ids_in_one_file_keep_the_first(tmp_path):
    entities = [
        item("Q1", "Paris", "Paris", "capital", p279=["Q515"]),
        item("Q2", "Lyon", "Lyon", "city"),
        item("Q1", "Paris (again)", "Paris again", "a later revision", p279=["Q9"]),
        item("P31", label="instance of", type="property", claims={"P279": [claim("P279", "Q7")]}),
        item("P31", label="instance of", type="property", claims={"P279": [claim("P279", "Q8")]}),
    ]
    path = write_dump(tmp_path / "dup.json", entities)
    for n_process in (1, 2):
        counts, records, pairs = run(tmp_path / str(n_process), path, n_process=n_process)
        assert [(r["qid"], r["title"]) for r in records] == [("Q1", "Paris"), ("Q2", "Lyon")]
        assert pairs == [("Q1", "Q515"), ("P31", "Q7")]
        assert counts["duplicate_entities"] == 2 and counts["entities"] == 3 and counts["kept"] == 2
        stats = read_json(tmp_path / str(n_process) / "out" / "stats.json")["counts"]
        assert stats["first_duplicates"] == [f"Q1 at {path}:4", f"P31 at {path}:6"]


def test_duplicate_ids_across_files_keep_the_first_file(tmp_path):
    first = write_dump(tmp_path / "a.json", [item("Q1", "Paris", "Paris", "capital"), item("Q2", "Lyon", "Lyon", "c")])
    second = write_dump(tmp_path / "b.json.gz", [item("Q2", "Lyon 2", "Lyon", "c"), item("Q3", "Nice", "Nice", "c")])
    counts, records, _ = run(tmp_path, first, second)
    assert [(r["qid"], r["title"]) for r in records] == [("Q1", "Paris"), ("Q2", "Lyon"), ("Q3", "Nice")]
    assert counts["duplicate_entities"] == 1
    result = subprocess.run(
        [*WIKIEL, "parse-wikidata", "--dump", str(first), "--dump", str(second), str(tmp_path / "cli")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"note: 1 entities skipped whose id came earlier in the input (the first is kept; first: Q2 at {second}:2"
        in (result.stdout)
    )


def test_seen_ids_bitmap_and_others():
    seen = SeenIds()
    ids = ["Q1", "Q8", "Q9", "P1", "L1", "Q123456789", "Q01", "Q", "", "x1", "Q१", "Q99999999999", "Q1-F1"]
    assert all(seen.add(i) for i in ids)
    assert not any(seen.add(i) for i in ids)
    assert seen.add("Q2") and seen.add("Q1073741824") and len(seen.bitmaps["Q"]) < (1 << 25)


# --- pieces: cut anywhere, scanned on whole buffers, run on a Dask cluster ----------------------------------------


def tricky_lines():
    """A dump with what piece boundaries must not lose or duplicate: blank and structural lines, a bad line, a
    duplicate id, a property with P279, items with and without the sitelink, a last line without its newline."""
    lines = [b"[\n", b"\n"]
    for i in range(1, 25):
        entity = item(f"Q{i}", f"T{i}" if i % 3 else "", f"L{i}", p279=[f"Q{i + 100}"] if i % 4 == 0 else [])
        lines.append(json.dumps(entity).encode() + b",\n")
        if i == 7:
            lines += [b'{"enwiki": broken\n', b"  \n", b" ]\n"]
    lines.append(json.dumps(item("Q5", "Again", "again")).encode() + b",\n")
    lines.append(json.dumps(item("P9", type="property", claims={"P279": [claim("P279", "P1")]})).encode() + b"\n")
    return lines + [b"]"]


def outputs(out):
    stats = read_json(out / "stats.json")["counts"]
    counts = {k: v for k, v in stats.items() if k not in ("n_process", "scheduler")}
    return (out / "entities.jsonl").read_bytes(), (out / "subclass_of.tsv").read_bytes(), counts


@given(st.lists(st.integers(min_value=0, max_value=5000), max_size=12))
def test_line_ranges_cut_anywhere_give_every_line_once(tmp_path_factory, cuts):
    data = b"".join(tricky_lines())
    path = tmp_path_factory.getbasetemp() / "ranges.json"
    path.write_bytes(data)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    assert b"".join(read_line_range(path, a, b) for a, b in zip(bounds, bounds[1:])) == data


SCAN_SAMPLES = [b"[\n", b"]\n", b"\n", b"  \n", b'{"x": "enwiki"}\n', b'{"enwiki": 1}\n', b"abc\n"]
SCAN_SAMPLES += [b'"enwiki', b'"P279"', b'"P279', b'enwiki"\n', b'"enwik"\n', b'"P279"]\n']  # keys cut by the end


@given(
    st.lists(st.sampled_from(SCAN_SAMPLES)), st.integers(min_value=0, max_value=40), st.sampled_from(["bytes", "simd"])
)
def test_scan_lines_is_the_line_by_line_prefilter(lines, lo, search):
    """The whole-buffer scan finds exactly the lines a line-by-line `key in line` finds, and counts the same, with
    either key search (StringZilla's or bytes.find)."""
    data = b"".join(lines)
    lo = min(lo, len(data))
    lo = data.rfind(b"\n", 0, lo) + 1  # scans start at a line
    keys = (b'"enwiki"', b'"P279"')
    with mock.patch.object(wikidata, "_find", getattr(wikidata, f"_find_{search}")):
        found, numbers, count, structural, closed = scan_lines(data, keys, lo)
    own = data[lo:].splitlines(keepends=True)
    assert found == [line for line in own if any(k in line for k in keys)]
    assert numbers == [n for n, line in enumerate(own, 1) if any(k in line for k in keys)]
    assert count == len(own)
    assert structural == sum(len(line) <= 3 and line.strip() in (b"[", b"]", b"") for line in own)
    solid = [line for line in own if not line.isspace()]
    assert closed == (solid[-1].strip() == b"]" if solid else None)


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_pieces_of_any_size_give_the_same_outputs(tmp_path, suffix, monkeypatch):
    """Plain files are cut into byte ranges the workers read, compressed ones are read and scanned in blocks: cut
    at every awkward place (inside a line, on a newline, inside the head), the outputs and counts are those of one
    piece."""
    data = b"".join(tricky_lines())
    compress = {"": bytes, ".gz": gzip.compress, ".bz2": bz2.compress}[suffix]
    path = tmp_path / f"dump.json{suffix}"
    path.write_bytes(compress(data))
    reference = None
    for piece_bytes in (1, 2, 3, 50, 333, 1 << 20):
        monkeypatch.setattr(wikidata, "SCAN_BYTES", piece_bytes)
        out = tmp_path / f"out-{piece_bytes}"
        parse_wikidata([path], out, piece_bytes=piece_bytes, max_bad_lines=5, progress=False)
        reference = reference or outputs(out)
        assert outputs(out) == reference, piece_bytes
    entities, pairs, counts = reference
    assert counts["bad_lines"] == 1 and counts["duplicate_entities"] == 1 and counts["lines"] == len(tricky_lines())
    assert read_json(tmp_path / "out-1" / "stats.json")["counts"]["first_bad_lines"] == [f"{path}:10"]


def test_failed_piece_is_named_by_its_byte_range(tmp_path, monkeypatch):
    path = tmp_path / "dump.json"
    path.write_bytes(b"".join(tricky_lines()))
    calls = []

    def failing(name, start, end):
        calls.append(start)
        if len(calls) == 2:
            raise MemoryError("out of memory")
        return read_line_range(name, start, end)

    monkeypatch.setattr(wikidata, "read_line_range", failing)
    with pytest.raises(InputError, match=r"dump.json bytes 1,000-2,000: failed: MemoryError: out of memory"):
        parse_wikidata([path], tmp_path / "out", piece_bytes=1000, progress=False)


def test_gzip_cut_inside_its_only_member_is_an_error(tmp_path):
    """rapidgzip alone returns the first half of a file cut inside its only member without an error."""
    data = b"".join(f'{{"id": "Q{i}", "x": "{i * 7919 % 100003}"}}\n'.encode() for i in range(300_000))
    whole = gzip.compress(data)
    path = tmp_path / "cut.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises((EOFError, OSError), match="ends early"), open_dump(path, 2) as stream:
        while stream.read(1 << 20):
            pass


def test_dask_run_matches_local_run(tmp_path, small_world, cluster, monkeypatch):
    """The pieces on a cluster of 3 worker processes: the same bytes as the local run, plain and gz (given by a path
    relative to this process's directory, not the workers'), and a cut gz dump is the same error with its offset."""
    text = gzip.decompress(small_world["wikidata"].read_bytes())
    monkeypatch.chdir(tmp_path)
    for name, data in (("dump.json", text), ("dump.json.gz", gzip.compress(text))):
        path = Path(name)
        path.write_bytes(data)
        local, dask = tmp_path / f"local-{name}", tmp_path / f"dask-{name}"
        parse_wikidata([path], local, n_process=2, piece_bytes=50_000, progress=False)
        stats = parse_wikidata([path], dask, piece_bytes=50_000, progress=False, scheduler=cluster)
        assert outputs(dask) == outputs(local) and stats["counts"]["scheduler"] == cluster
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(gzip.compress(text)[:-5000])
    with pytest.raises(InputError, match="gzip data ends early") as err:
        parse_wikidata([cut], tmp_path / "cut", progress=False, scheduler=cluster)
    assert err.value.offset == cut.stat().st_size


# --- the field reader (msgspec) against orjson parsing whole entities -----------------------------------------


def whole_only(monkeypatch):
    """Make parse_batch parse every line whole with orjson (the field reader takes none)."""
    monkeypatch.setattr(wikidata._FieldReader, "read", lambda self, text: None)


ODD_LINES = [
    item("Q1", "A", "A", "a", ["x", "y"], p31=["Q5"], p279=["Q6", "Q6"]),
    {**item("Q2", "B"), "labels": [], "descriptions": [], "aliases": [], "claims": [], "sitelinks": {"enwiki": "B"}},
    {**item("Q3", "C"), "labels": "odd", "type": None},
    {**item("Q4", "D"), "type": 5},
    {**item("Q5", "E"), "aliases": {"en": {"value": "not a list"}}},
    {**item("Q6", "F"), "aliases": {"en": [{"value": 1}, "s", {"value": "ok"}, {"language": "en"}]}},
    {**item("Q7", "G", "G"), "labels": {"en": {"value": None}}, "descriptions": {"en": "plain"}},
    {**item("Q8", "H"), "claims": {"P31": [{"rank": "deprecated", "mainsnak": {}}, 5, {"mainsnak": []}]}},
    {
        **item("Q9", "I"),
        "claims": {
            "P31": [
                {"mainsnak": {"datavalue": {"type": "wikibase-entityid", "value": {"numeric-id": 7}}}},
                {"mainsnak": {"datavalue": {"type": "wikibase-entityid", "value": {"numeric-id": True}}}},
                {"mainsnak": {"datavalue": {"type": "string", "value": "Q4167410"}}},
                {"mainsnak": {"datavalue": {"type": "wikibase-entityid", "value": "Q1"}}},
            ]
        },
    },
    {**item("Q10", "J"), "entities": {"Q11": item("Q11", "K")}},
    {**item("Q12", "L"), "entities": None},
    {**item("Q13", "M"), "entities": 3},
    {**item("P14", "N"), "type": "property"},
    {**item("L15", "O"), "type": "lexeme"},
    {**item("Q16", "P"), "sitelinks": {"enwiki": {"title": 3}}},
    {**item("Q17", "Q"), "sitelinks": {"enwiki": None}},
    {"entities": {"Q18": item("Q18", "R"), "Q19": item("Q19", "S")}},
    [item("Q20", "T"), item("Q21", "U")],
    {"id": 22, "sitelinks": {"enwiki": "V"}},
    {"sitelinks": {"enwiki": "W"}},
    {**item("Q23", "X", p31=["Q4167410"])},
    {**item("Q24", "Y"), "claims": {"P279": {"not": "a list"}}},
]


def test_field_reader_gives_the_rows_of_whole_parsing(monkeypatch):
    lines = [orjson.dumps(entity) + b",\n" for entity in ODD_LINES]
    lines += [
        b'{"id": "Q30", "sitelinks": {"enwiki": {"title": "Z"}}, "x": "\xff"}\n',  # not UTF-8 where it is skipped
        b'{"id": "Q31", "sitelinks": {"enwiki": {"title": "Z"}}, "x": 123456789012345678901234567890}\n',
        b'{"id": "Q32", "sitelinks": {"enwiki": {"title": "A"}}, "sitelinks": {"enwiki": {"title": "B"}}}\n',
        b'{"id": "Q33", "sitelinks": {"enwiki": {"title": "Z"}}, "x": "\\ud800"}\n',  # a lone surrogate escape
        b'{"id": "Q34", "sitelinks": {"enwiki": {"title": "Z"}}} trailing\n',
        b"  \n",
        b"[\n",
    ]
    numbers = list(range(1, len(lines) + 1))
    fast = parse_batch(lines, numbers, "en")
    whole_only(monkeypatch)
    assert fast == parse_batch(lines, numbers, "en")
    assert len(fast[0]) > 20 and fast[1]  # rows, and bad lines


JSON_KEYS = st.sampled_from(
    ["id", "type", "labels", "descriptions", "aliases", "claims", "sitelinks", "entities", "en", "enwiki", "value"]
    + ["title", "P31", "P279", "mainsnak", "datavalue", "rank", "numeric-id", "entity-type", "deprecated"]
    + ["wikibase-entityid", "item", "property"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | JSON_KEYS | st.text(max_size=4) | st.just("Q1"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(deadline=None, max_examples=300)
@given(st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=7), st.sampled_from(["Q7", "P7", "L7", "x"]))
def test_field_reader_matches_whole_parsing_on_any_shape(entity, qid):
    """Whatever shapes the fields have, the field reader's rows are those of orjson parsing the line whole, and no
    shape makes the step fail: a field of another shape is read as absent (`"P279": true` once raised TypeError)."""
    entity.setdefault("id", qid)
    line = orjson.dumps(entity) + b"\n"
    fast = parse_batch([line], [1], "en")
    with mock.patch.object(wikidata._FieldReader, "read", lambda self, text: None):
        assert fast == parse_batch([line], [1], "en")
