"""The generated world: deterministic, in the real dump formats, and posing a Wikipedia-like linking task."""

import bz2
import gzip
import json

import orjson
import pytest

from wikiel.kb.types import COARSE_TYPES
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import Settings, parse_wikipedia
from wikiel.synthetic.world import META_CLASSES, TYPE_NOUNS, World, WorldConfig, generate_world


@pytest.fixture(scope="module")
def world_files(small_world):
    return small_world


def test_same_seed_same_bytes_other_seed_other_world(world_files, tmp_path):
    again = generate_world(tmp_path / "again", n_entities=1500, n_articles=300, seed=3)
    other = generate_world(tmp_path / "other", n_entities=1500, n_articles=300, seed=4)
    for key in ("wikidata", "wikipedia", "wikipedia_index"):
        assert world_files[key].read_bytes() == again[key].read_bytes()
        assert world_files[key].read_bytes() != other[key].read_bytes()


def test_wikidata_dump_layout_and_content(world_files):
    lines = gzip.open(world_files["wikidata"]).read().decode("utf8").split("\n")
    assert lines[0] == "[" and lines[-2] == "]" and lines[-1] == ""
    body = lines[1:-2]
    assert all(line.endswith(",") for line in body[:-1]) and not body[-1].endswith(",")
    records = [orjson.loads(line.rstrip(",")) for line in body]
    kinds = {r["type"] for r in records}
    assert kinds == {"item", "property"}
    claims = [c for r in records for c in r["claims"].get("P31", [])]
    value = claims[0]["mainsnak"]["datavalue"]
    assert value["type"] == "wikibase-entityid" and value["value"]["id"] == f"Q{value['value']['numeric-id']}"
    p31 = {c["mainsnak"]["datavalue"]["value"]["id"] for c in claims}
    assert set(META_CLASSES.values()) <= p31  # disambiguation, category, list and template items
    assert any("enwiki" not in r.get("sitelinks", {}) for r in records if r["type"] == "item")
    assert any(r.get("aliases", {}).get("en") for r in records)


def test_wikidata_parser_keeps_entities_and_drops_meta(world_files, tmp_path):
    stats = parse_wikidata([world_files["wikidata"]], tmp_path, lang="en", progress=False)["counts"]
    assert stats["meta_dropped"] > 0
    rows = [json.loads(line) for line in (tmp_path / "entities.jsonl").open()]
    n_subclasses = sum(min(2, len(TYPE_NOUNS[t])) for t in COARSE_TYPES)  # generated subclasses per type
    assert len(rows) == 1500 + len(COARSE_TYPES) + n_subclasses  # entities + real anchor classes + subclasses
    assert (tmp_path / "subclass_of.tsv").read_text().count("\n") == n_subclasses


def test_wikipedia_dump_multistream_index_and_parse(world_files, tmp_path):
    data = world_files["wikipedia"].read_bytes()
    index = bz2.decompress(world_files["wikipedia_index"].read_bytes()).decode("utf8").splitlines()
    offsets = sorted({int(line.split(":", 1)[0]) for line in index})
    assert all(data[o : o + 3] == b"BZh" for o in offsets)
    first = bz2.BZ2Decompressor().decompress(data[offsets[0] :])
    assert b"<page>" in first and index[0].split(":", 2)[2].encode() in first
    stats = parse_wikipedia(world_files["wikipedia"], tmp_path, Settings(), progress=False)["counts"]
    assert stats["articles"] == 300
    assert stats["redirects"] > 0
    articles = [json.loads(line) for line in (tmp_path / "articles.jsonl").open()]
    for article in articles[:50]:
        for start, end, _ in article["links"]:
            assert article["text"][start:end].strip()
    text = bz2.decompress(data).decode("utf8")
    for form in (
        "[[File:",
        "{{Infobox",
        "<ref>",
        "{| class=",
        "[[Category:",
        "[[de:",
        "#REDIRECT",
        "<redirect title",
        "#History|",
    ):
        assert form in text or form.replace("<", "&lt;").replace(">", "&gt;") in text, form


def test_linking_task_is_ambiguous_with_zipf_popularity():
    world = World(WorldConfig(n_entities=4000, n_articles=10, seed=0))
    shorts = [e.short for e in world.entities if e.short]
    shared = sum(1 for s in set(shorts) if shorts.count(s) > 1)
    assert shared > 50  # many surface forms name several entities
    pop = sorted(world.popularity, reverse=True)
    assert pop[0] > 50 * pop[len(pop) // 2]  # a long tail
    assert len({e.title for e in world.entities}) == len(world.entities)  # titles are unique
