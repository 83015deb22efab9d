"""The cleaner's fast paths agree with its reference code and with the outputs it had before they were added.

`parse_wikitext` brackets article-link anchors with a mark and splits on it at the end; `_parse_with_offset_map`
(the previous implementation, still used when a text holds the mark) tracks offsets through an offset map. The
inputs below are the corner cases of the fast passes (line starts and ends, file captions skipped by offset,
brace and bracket runs, whitespace runs, case-folded URL schemes, wide strings); their expected outputs were
produced by the cleaner before the fast paths existed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikiel.sources.wikitext import (
    Link,
    NamespaceInfo,
    _parse_with_offset_map,
    clean_markup,
    parse_wikitext,
    parse_wikitext_columns,
)


@pytest.mark.parametrize(
    "wikitext, text, links",
    [
        pytest.param(
            "== * Early life ==\ntext",
            "Early life\n\ntext",
            [],
            id="heading at the start, with a list prefix in its title",
        ),
        pytest.param("* one\n== H ==", "one\n\nH", [], id="heading on the last line"),
        pytest.param(
            "a [[File:X.jpg|thumb|A [[Paris|city]] view]] b [[London]]s c",
            "a b Londons c",
            [(4, 11, "London", "Londons")],
            id="file caption with links, then a link with a trail",
        ),
        pytest.param(
            "a [[File:X.jpg|a [[b|[[c]]]] d]] [[e]] f [[File:Y|[[g]] h]] [[i]]",
            "a e f i",
            [(2, 3, "E", "e"), (6, 7, "I", "i")],
            id="nested captions (bracket matching), links after them",
        ),
        pytest.param(
            "see [[Category:X]]s and [[fr:Paris]]es [[Paris]]ian",
            "see s and es Parisian",
            [(13, 21, "Paris", "Parisian")],
            id="hidden links leave their trail",
        ),
        pytest.param(
            "[[Paris|  the   city  ]] and [[London|a\nb]]",
            "the city and a b",
            [(0, 8, "Paris", "the city"), (13, 16, "London", "a b")],
            id="anchor whitespace",
        ),
        pytest.param(
            "[[Pa<nowiki/>ris]] [[Rome]]<nowiki/>s",
            "Paris Romes",
            [(0, 5, "Paris", "Paris"), (6, 10, "Rome", "Rome")],
            id="nowiki breaks",
        ),
        pytest.param(
            "a ]] b [[Paris]]]] c [[[Rome]]] d",
            "a b Paris c [Rome] d",
            [(4, 9, "Paris", "Paris"), (13, 17, "Rome", "Rome")],
            id="stray brackets",
        ),
        pytest.param(
            "a\x01b [[Paris]]  c",
            "a\x01b Paris c",
            [(4, 9, "Paris", "Paris")],
            id="the mark character itself (offset-map path)",
        ),
        pytest.param("  \n \n a  \n\n\n\n b   c \n  ", "a\n\nb c", [], id="whitespace runs"),
        pytest.param(
            "x <ref name=x/> y <ref / >z</ref> <REF>q</ref > <ref>unclosed [[Paris]] <!-- c --> d",
            "x y unclosed Paris d",
            [(13, 18, "Paris", "Paris")],
            id="extension tags",
        ),
        pytest.param(
            "a {{{b}}} c }}{{ d {{e}} [[Paris]]", "a } c d Paris", [(8, 13, "Paris", "Paris")], id="brace runs"
        ),
        pytest.param("a\n :{| x\n|}\n{|}\nb |}\n c\n{|\n{|\n|}\nd", "a", [], id="table tokens"),
        pytest.param("[ſftp://x y] [HTTP://x z] [İrc://q w]", "y z w", [], id="case-folded URL schemes"),
        pytest.param("a __TOC__ b_c __NOTOC__", "a b_c", [], id="magic words"),
        pytest.param("x \n'''a'' b\nc ''d''' e'''' f", "x\n'a b\nc d e' f", [], id="quote balancing across lines"),
        pytest.param(
            "中文 [[Paris|– city –]]  – \n\n\n [[Oslo]] é",
            "中文 – city – –\n\nOslo é",
            [(3, 11, "Paris", "– city –"), (15, 19, "Oslo", "Oslo")],
            id="wide characters",
        ),
        pytest.param(
            "[[#History]] [[ #x |y]] [[Boston (band)|]] [[:Category:Cities|cities]]",
            "History y Boston cities",
            [(10, 16, "Boston (band)", "Boston")],
            id="non-article links",
        ),
    ],
)
def test_corner_cases_keep_their_output(wikitext, text, links):
    out, found = parse_wikitext(wikitext)
    assert (out, found) == (text, [Link(*link) for link in links])
    assert all(type(link) is Link for link in found)


TOKENS = list("[]{}|<>'=*#:;&- \n\tab/\xe9\u2013") + [
    "[[",
    "]]",
    "[[[",
    "]]]",
    "{{",
    "}}",
    "{|",
    "|}",
    "\n{|",
    "\n|}",
    "\n==",
    "==\n",
    "\n*",
    "''",
    "'''",
    "'''''",
    "Paris",
    "File:",
    "Category:",
    "fr:",
    "[[File:X|",
    "[[a]]",
    "[[b|c]]",
    "[[a|]]",
    "[[ a ]]s",
    "  ",
    "\n\n\n",
    "<ref>",
    "</ref>",
    "<nowiki/>",
    "&nbsp;",
    "&#91;",
    "[http://x y]",
    "__TOC__",
    "\ufdd0",
]


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=50).map("".join), st.booleans())
def test_marked_path_matches_offset_map_path(wikitext, first_letter_case):
    for namespaces in (NamespaceInfo.from_siteinfo({}), NamespaceInfo.from_siteinfo({6: "Datei"}, "de")):
        expected = _parse_with_offset_map(clean_markup(wikitext), namespaces, first_letter_case)
        assert parse_wikitext(wikitext, namespaces, first_letter_case) == expected
        # the columns parse-wikipedia uses: the same links, transposed (each column exactly one entry per link)
        text, columns = parse_wikitext_columns(wikitext, namespaces, first_letter_case)
        assert (text, [list(column) for column in columns]) == (
            expected[0],
            [list(c) for c in zip(*expected[1])] or [[]] * 4,
        )


@pytest.mark.parametrize("wikitext", ["a [[B]] c [[D|e]]f", "a \x01 [[B]] c [[D|e]]f", "no links", "x \x01 y"])
def test_link_columns_match_links(wikitext):
    """Both paths (the mark, U+0001, in the text: the offset map) give one column entry per link."""
    text, links = parse_wikitext(wikitext)
    assert parse_wikitext_columns(wikitext) == (text, tuple(map(list, zip(*links))) or ([], [], [], []))
