"""Pruning rules, redirect resolution and coarse types on hand-made counts."""

import pytest

from wikiel.kb.build import (
    KBEntity,
    PruneSettings,
    load_candidate_entities,
    select_aliases,
    select_entities,
    validate_kb_inputs,
)
from wikiel.kb.tables import resolve
from wikiel.kb.types import OTHER, TypeMapper
from wikiel.util import InputError, OutputError


def entity(qid, freq, description="a thing"):
    return KBEntity(qid, f"T{qid}", f"L{qid}", description, [], [], freq)


def test_select_entities_applies_min_freq_description_and_max():
    settings = PruneSettings(min_freq=20, max_entities=2)
    cands = [entity("Q1", 19), entity("Q2", 20), entity("Q3", 500, description=""), entity("Q4", 30), entity("Q5", 25)]
    kept = select_entities(cands, settings)
    assert [e.qid for e in kept] == ["Q4", "Q5"]  # most linked first; Q3 has no description; Q1 too rare


def test_select_entities_breaks_ties_by_qid():
    kept = select_entities([entity("Q10", 50), entity("Q9", 50), entity("Q100", 50)], PruneSettings(min_freq=1))
    assert [e.qid for e in kept] == ["Q9", "Q10", "Q100"]


def test_select_aliases_min_pair_max_per_alias_and_priors():
    settings = PruneSettings(min_pair=5, max_per_alias=2, structured_count=1)
    pairs = {"Paris": {"Q90": 80, "Q167646": 15, "Q7": 4, "Q8": 6}, "rare": {"Q1": 2}}
    aliases = select_aliases(pairs, {}, settings)
    assert "rare" not in aliases  # below min_pair and not structured
    assert [q for q, _ in aliases["Paris"]] == ["Q90", "Q167646"]  # top 2 of the pairs with >= 5
    assert abs(sum(p for _, p in aliases["Paris"]) - 1.0) < 1e-9
    assert abs(aliases["Paris"][0][1] - 80 / 95) < 1e-9


def test_structured_aliases_survive_min_pair_with_pseudo_count():
    settings = PruneSettings(min_pair=5, structured_count=1)
    aliases = select_aliases({"Lincoln": {"Q91": 9}}, {"Lincoln": {"Q91", "Q28260"}, "Abe": {"Q91"}}, settings)
    assert dict(aliases["Lincoln"]) == {"Q91": 0.9, "Q28260": 0.1}
    assert aliases["Abe"] == [("Q91", 1.0)]


def test_max_aliases_keeps_most_frequent():
    settings = PruneSettings(min_pair=1, max_aliases=2)
    aliases = select_aliases({"a": {"Q1": 3}, "b": {"Q1": 10}, "c": {"Q2": 7}}, {}, settings)
    assert sorted(aliases) == ["b", "c"]


def test_max_aliases_keeps_entity_labels_before_frequent_anchors():
    settings = PruneSettings(min_pair=1, max_aliases=2, structured_count=1)
    pairs = {"the city": {"Q1": 50}, "city 1": {"Q1": 20}, "Paris": {"Q1": 3}}
    structured = {"Paris": {"Q1"}, "Lutetia": {"Q1"}}
    aliases = select_aliases(pairs, structured, settings, labels=["Paris"])
    assert sorted(aliases) == ["Paris", "the city"]  # the label, then the most linked anchor
    assert sorted(select_aliases(pairs, structured, settings)) == ["city 1", "the city"]  # without labels: counts


def test_resolve_follows_redirect_chains_and_stops_on_cycles():
    redirects = {"A": "B", "B": "C", "X": "Y", "Y": "X"}
    assert resolve("A", redirects) == "C"
    assert resolve("C", redirects) == "C"
    assert resolve("X", redirects) in {"X", "Y"}


def test_type_mapper_walks_subclass_edges():
    mapper = TypeMapper({"Q1549591": ["Q515"], "Q200": ["Q1549591"], "Q300": ["Q999"]})
    assert mapper.entity_type(["Q5"]) == "PERSON"
    assert mapper.entity_type(["Q200"]) == "CITY"  # big city -> city, two hops
    assert mapper.entity_type(["Q300", "Q11424"]) == "FILM"  # first P31 that maps
    assert mapper.entity_type(["Q300"]) == OTHER
    assert mapper.entity_type([]) == OTHER


def test_validate_kb_inputs_refuses_what_the_kb_would_crash_on():
    entities = [entity("Q1", 3), entity("Q2", 2)]
    validate_kb_inputs(entities, {"a": [("Q1", 0.5), ("Q2", 0.5)]})
    bad = [
        ([entity("Q1", 3), entity("Q1", 2)], {}, "entity id 'Q1' is empty or twice"),
        ([entity("", 3)], {}, "entity id '' is empty"),
        ([entity("Q1", float("nan"))], {}, "frequency nan"),
        (entities, {"a": [("Q1", 0.7), ("Q2", 0.7)]}, "priors [0.7, 0.7]"),
        (entities, {"a": [("Q1", float("inf"))]}, "priors [inf]"),
        (entities, {"a": [("Q3", 1.0)]}, "not KB entities"),
        (entities, {"": [("Q1", 1.0)]}, "empty alias"),
    ]
    for ents, aliases, message in bad:
        with pytest.raises(OutputError) as err:
            validate_kb_inputs(ents, aliases)
        assert message in str(err.value)


def test_load_candidate_entities_locates_bad_records(tmp_path):
    path = tmp_path / "entities.jsonl"
    good = '{"qid": "Q1", "title": "A", "label": "A", "description": "d", "aliases": [], "types": []}\n'
    cases = [
        (good + good, 2, "entity id 'Q1' is already on line 1"),
        (good + "{not json\n", 2, "is not a JSON line"),
        (good + '{"qid": "", "title": "A"}\n', 2, "has no qid"),
        ('{"qid": "Q1", "title": "A", "aliases": "x"}\n', 1, "aliases are not a list of strings"),
    ]
    for text, line, message in cases:
        path.write_text(text)
        with pytest.raises(InputError, match=message) as err:
            list(load_candidate_entities(path, {"A": 1}))
        assert err.value.path == str(path) and err.value.line == line
    path.write_text(good + good.replace("Q1", "Q2").replace('"A"', '"B"'))
    assert [e.qid for e in load_candidate_entities(path, {"A": 1})] == ["Q1"]  # unlinked entities are not loaded
