"""The generated world: deterministic, in the real dump formats, and posing a Wikipedia-like linking task."""

import bz2
import gzip
import json
import re
from collections import Counter

import orjson
import pytest
from typer.testing import CliRunner

from wikiel.cli import app
from wikiel.kb.build import PruneSettings
from wikiel.kb.types import COARSE_TYPES
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import Settings, parse_wikipedia
from wikiel.synthetic.shape import link_baselines
from wikiel.synthetic.world import (
    META_CLASSES,
    TYPE_NOUNS,
    World,
    WorldConfig,
    generate_world,
    respell,
    world_config,
)


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


def test_wikipedia_shape_prior_and_oracle_in_band():
    """The wikipedia shape: popularity resolves most shared surface forms (prior well above random, in the 0.6-0.8
    band of Wikipedia links), few anchors miss the KB (oracle), a floor of links puts most entities in the KB, and
    anchors come as names, shared short forms, Wikidata aliases and one-off variants."""
    world = World(world_config("wikipedia", n_entities=3000, n_articles=10, seed=0))
    b = link_baselines(world, 20_000, 2_000, PruneSettings(min_freq=3, min_pair=3, max_entities=2400))
    assert 0.6 <= b.prior <= 0.8, b
    assert b.prior - b.random >= 0.04, b
    assert b.oracle >= 0.84, b
    assert b.kb_entities == 2400 and b.kb_aliases >= 2 * b.kb_entities, b  # the floor; aliases beyond one per entity
    assert min(b.anchor_kinds.get(k, 0) for k in ("name", "short", "alias", "variant")) >= 0.03 * b.dev_links, b
    # The small world of the same size leaves most entities out of the KB (its links follow the Zipf alone).
    small = link_baselines(World(WorldConfig(n_entities=3000, seed=0)), 20_000, 2_000, PruneSettings(min_freq=3))
    assert small.kb_entities < 0.7 * 3000


def test_wikipedia_shape_groups_do_not_grow_with_the_world():
    """Groups sharing a short form keep their size distribution as the world grows (the small world's shared roots
    gather ever more entities), and the most popular entity of each group is its primary."""

    def group_sizes(n):
        world = World(world_config("wikipedia", n_entities=n, n_articles=10, seed=1))
        groups: Counter = Counter()
        best: dict = {}
        for i, e in enumerate(world.entities):
            if e.group >= 0:
                groups[e.group] += 1
                best[e.group] = max(best.get(e.group, i), i, key=lambda j: world.popularity[j])
        assert all(world.entities[i].primary for i in best.values())
        assert sum(e.primary for e in world.entities if e.group >= 0) == len(groups)
        return sorted(groups.values())

    a, b = group_sizes(1000), group_sizes(5000)
    assert max(b) <= WorldConfig.max_group and abs(sum(a) / len(a) - sum(b) / len(b)) < 0.5


def test_wikipedia_shape_dumps_have_aliases_redirects_and_respellings(tmp_path):
    files = generate_world(tmp_path, n_entities=800, n_articles=150, seed=3, shape="wikipedia")
    records = [orjson.loads(line.rstrip(b",")) for line in gzip.open(files["wikidata"]).read().split(b"\n")[1:-2]]
    aliases = [a["value"] for r in records for a in r.get("aliases", {}).get("en", [])]
    assert any(re.fullmatch(r"[A-Z]\. [A-Z][a-z]+", a) for a in aliases)  # initials of people
    assert sum(respell(r["labels"]["en"]["value"]) in aliases for r in records if "en" in r["labels"]) > 100
    text = bz2.decompress(files["wikipedia"].read_bytes()).decode("utf8")
    targets = Counter(re.findall(r'<redirect title="([^"]+)" />', text))
    assert max(targets.values()) == 2  # up to two redirects per entity
    stats = parse_wikipedia(files["wikipedia"], tmp_path / "parsed", Settings(), progress=False)["counts"]
    assert stats["articles"] == 150 and stats["redirects"] > 150


def test_unknown_world_shape_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["fetch", str(tmp_path / "out"), "--world-shape", "huge"])
    assert result.exit_code == 1
    assert result.output == "ERROR: --world-shape (vars.world_shape) must be one of small, wikipedia, not 'huge'\n"
    assert list(tmp_path.iterdir()) == []
