"""Tests of the external sort behind the parse-wikipedia count and redirect tables."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikiel.sources import spill
from wikiel.sources.spill import SpillingCounter, SpillingDict

# What a field may hold: no tab, line break or character below tab (other control and non-ASCII characters are fine).
FIELD = st.text(st.characters(min_codepoint=0x0B, blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=6)
PAIRS = st.tuples(FIELD, FIELD)


def joined(pair):
    return "\t".join(pair)


@settings(max_examples=60, deadline=None)
@given(
    updates=st.lists(st.dictionaries(PAIRS, st.integers(1, 5), max_size=8), max_size=30), max_entries=st.integers(1, 12)
)
def test_counter_matches_sorted_counter(tmp_path_factory, updates, max_entries):
    """Joined keys come out in the order of their fields as tuples, with the counts of an in-memory Counter."""
    table = SpillingCounter(tmp_path_factory.mktemp("runs"), "counts", max_entries)
    expected: Counter = Counter()
    for counts in updates:
        table.update({joined(pair): n for pair, n in counts.items()})
        expected.update(counts)
    assert list(table.items()) == [(joined(pair), n) for pair, n in sorted(expected.items())]


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(FIELD, FIELD), max_size=80), max_entries=st.integers(1, 12))
def test_dict_keeps_the_first_value(tmp_path_factory, pairs, max_entries):
    table = SpillingDict(tmp_path_factory.mktemp("runs"), "map", max_entries)
    expected: dict = {}
    for key, value in pairs:
        table.setdefault(key, value)
        expected.setdefault(key, value)
    assert list(table.items()) == sorted(expected.items())


def test_runs_are_written_and_merged_in_rounds(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "MAX_OPEN_RUNS", 3)
    table = SpillingCounter(tmp_path, "counts", max_entries=2)
    for i in range(40):
        table.add(f"k{i % 7}\tx", i)
    assert table.runs_written > 3
    assert len(list(tmp_path.iterdir())) == len(table.runs) <= 3, "merged runs are deleted"
    expected = Counter()
    for i in range(40):
        expected[f"k{i % 7}\tx"] += i
    assert list(table.items()) == sorted(expected.items())


def test_run_files_are_sorted_tsv(tmp_path):
    table = SpillingCounter(tmp_path, "counts", max_entries=2)
    table.update({"é\tx y": 3, "b\t": 1, "a\tz": 2})
    assert (tmp_path / "counts-000000.tsv").read_text(encoding="utf8") == "a\tz\t2\nb\t\t1\né\tx y\t3\n"
    assert not table.data


def test_nothing_spilled_below_the_limit(tmp_path):
    table = SpillingCounter(tmp_path, "counts", max_entries=3)
    table.update({"b": 1, "a": 2})
    table.update({"b": 1})
    assert list(table.items()) == [("a", 2), ("b", 2)]
    assert table.runs_written == 0 and not list(tmp_path.iterdir())
    assert list(SpillingDict(tmp_path, "empty", 1).items()) == []


def test_max_entries_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        SpillingCounter(tmp_path, "counts", 0)
