"""The compiled pass 8 (`mark_links` in wikiel.sources._wikitext) gives exactly what `_mark_links` gives: the
text with each article link's anchor between marks, and the titles, on generated link-heavy markup (hypothesis)
with several wikis' namespaces and link trails, on corner cases and on real articles (equality includes None: the
compiled pass returns None only where `_mark_links` does, for a skipped file caption ending inside a link)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_wikitext import EXCERPT, TABLES, _real_articles
from test_wikitext_compiled import both
from test_wikitext_speed_equivalence import TOKENS
from wikiel.sources import languages
from wikiel.sources import wikitext as T
from wikiel.sources.wikitext import NamespaceInfo, clean_markup, parse_wikitext_columns

try:
    from wikiel.sources import _wikitext as C
except ImportError:  # pragma: no cover - test_wikitext_compiled.py says what is wrong
    C = None

pytestmark = pytest.mark.skipif(C is None, reason="the compiled module is not built")

NAMESPACES = {
    "en": T.DEFAULT_NAMESPACES,
    "de": NamespaceInfo.from_siteinfo({6: "Datei", 14: "Kategorie"}, "de"),
    "ca": NamespaceInfo.from_siteinfo({6: "Fitxer", 14: "Categoria"}, "ca"),  # the apostrophe trail
    "ru": NamespaceInfo.from_siteinfo({6: "Файл", 14: "Категория"}, "ru"),
    "letters": NamespaceInfo.from_siteinfo({}, "xx"),  # letters_trail(), astral letters included
    "zh": NamespaceInfo.from_siteinfo({}, "zh"),  # no trail
}

# Link markup, the trails' letters, whitespace Python strips, the placeholders and _BREAK, astral characters
# (a letter of plane 1 and one of plane 2 for letters_trail, an emoji), case-folding letters.
LINK_TOKENS = [
    "[[",
    "]]",
    "|",
    ":",
    "#",
    "[[File:X|",
    "[[Datei:Y|",
    "[[Fitxer:Z|",
    "[[Файл:Ф|",
    "[[Category:C]]",
    "[[Kategorie:K]]x",
    "[[fr:Paris]]",
    "[[:en:X]]",
    "[[:Category:C|c]]",
    "[[a|b [[c]] d]]",
    "[[#s|t]]",
    "[[a#b|]]",
    "[[X (y)|]]",
    "[[x, y|]]",
    "[[W:a|]]",
    "[[ a b ]]",
    "[[a]]",
    "[[b|c]]",
    "'",
    "''",
    "ç",
    "·",
    "ё",
    "я",
    "\u0301",
    "Paris",
    "\U00010400",
    "\U00020000",
    "\U0001f600",
    "\u0130",
    "\u212a",
    "\ufdd0",
    "\ufde2",
    "\x85",
    "\xa0",
    "\u2003",
    "\x1c",
    " ",
    "\n",
]
texts = st.lists(st.sampled_from(TOKENS + LINK_TOKENS), max_size=60).map("".join)


def compiled(text: str, ns: NamespaceInfo, first_letter_case: bool):
    trail = T._compiled_trail(ns.link_trail)
    assert trail is not None
    return C.mark_links(
        text, ns.classify, T._TITLE_CACHES[first_letter_case], first_letter_case, T._link_title, T._pipe_trick, *trail
    )


def python(text: str, ns: NamespaceInfo, first_letter_case: bool):
    return T._mark_links(text, ns, first_letter_case, T._link_scanner(ns.link_trail), T._MARK)


def check(text: str, ns: NamespaceInfo, first_letter_case: bool) -> None:
    assert compiled(text, ns, first_letter_case) == python(text, ns, first_letter_case)


@settings(max_examples=2000, deadline=None, database=None)
@given(texts, st.sampled_from(sorted(NAMESPACES)), st.booleans())
def test_mark_links_matches_python(text, lang, first_letter_case):
    check(text, NAMESPACES[lang], first_letter_case)


@settings(max_examples=500, deadline=None, database=None)
@given(texts, st.sampled_from(sorted(NAMESPACES)), st.booleans())
def test_mark_links_matches_python_after_clean_markup(text, lang, first_letter_case):
    """On what it gets in the cleaner: the output of passes 1-7."""
    check(clean_markup(text).replace(T._MARK, ""), NAMESPACES[lang], first_letter_case)


@settings(max_examples=300, deadline=None, database=None)
@given(texts, st.booleans())
def test_mark_links_matches_python_with_empty_title_caches(text, first_letter_case):
    """The misses of the title cache (`_link_title` called from C) as well as its hits."""
    T._TITLE_CACHES[first_letter_case].clear()
    check(text, NAMESPACES["en"], first_letter_case)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[[",
        "]]",
        "[[]]",
        "[[|]]",
        "[[ ]]",
        "[[#]]",
        "[[:]]",
        "[[a]]",
        "[[a",
        "[[a|",
        "[[a|b",
        "[[a]b]]",
        "[[a|b]c]]",
        "[[a|b[c]]",
        "[[[a]]]",
        "[[[[a]]]]",
        "x]]]y",
        "x]\ufde2]y",
        "[[ a ]]bc d",
        "[[a|\n b \n]]c",
        "[[a|\ufde2]]\ufde2b",
        "[[\ufde2a]]",
        "[[a\ufde2]]b",
        "[[a|b]]'s [[c]]''d'",
        "[[Category:X]]abc]] d",
        "[[Category:X]]ab[[Category:Y]]c]]d",
        "[[File:X.jpg|thumb|A [[Paris|city]] view]] b [[London]]s c",
        "a [[File:X.jpg|a [[b|[[c]]]] d]] [[e]] f [[File:Y|[[g]] h]] [[i]]",
        "[[File:X|[[a]] [[b|c]]d]]e [[f]]",
        "[[File:X|[[a|[[b]]]]]]x",
        "[[File:X|[[a]]",
        "[[File:X|]] [[File:Y|[[b]]]]z",
        "[[File:X|[[a]]b]]c]]d [[e]]",
        "[[File:X|a [[b]]c]] [[File:Y|[[c]] [[d|[[e]]]]]] [[f]]",
        "[[[File:X|[[a]]]] b",
        "[[File:A|[[b|[[c]]]]]] [[[File:B|[[d]] e]] f",  # bracket matching, once used, replaces the caption regex
        "[[[File:B|[[d]] e]] f [[File:A|[[b|[[c]]]]]] [[[File:B|[[d]] e]] f",
        "[[File:X|[[a]]]]bc",
        "[[File:X|[[a]]bc]]de",
        "[[File:X|[[a]]]]]]",
        "[[:File:X|[[a]]]] b",
        "[[fr:X|[[a]]]] b",
        "[[W:a|]] [[a (b)|]] [[a, b|]] [[:Category:c|]] [[a#b|]]",
        "[[:fr:Paris]] [[: a]] [[:#a]] [[:: a]]",
        "[[a\x85]]\x85 [[\xa0b\xa0|\xa0]]",
        "\U0001f600[[a]]b\U0001f600 [[\U00010400]]\U00010400x",
    ],
)
@pytest.mark.parametrize("lang", sorted(NAMESPACES))
def test_mark_links_corner_cases(text, lang):
    for first_letter_case in (True, False):
        check(text, NAMESPACES[lang], first_letter_case)


def test_trails():
    """The trail kinds: every language of the data is covered; the table is the trail's class exactly."""
    kinds = {lang: T._compiled_trail(languages.link_trail(lang)) for lang in languages.covered()}
    assert all(kind is not None for kind in kinds.values())
    assert kinds["ca"][0] == 2 and kinds["zh"] == (0, None, None) and kinds["en"][0] == kinds["ru"][0] == 1
    for trail in {languages.link_trail("ru"), languages.link_trail("ca"), languages.letters_trail()}:
        kind, table, pattern = T._compiled_trail(trail)
        for point in (*range(0x3000), *range(0xFD00, 0x10000)):
            assert table[point] == bool(re.fullmatch(trail, chr(point))) or chr(point) == "'", point
    assert T._compiled_trail("(?:ab)+") is None
    assert T._compiled_trail("[a]+[b]+") is None
    assert T._compiled_trail(r"[a\]+") is None


@pytest.mark.parametrize("trail", ["(?:ab)+", "[a]+[b]+", "[ab]+"])
def test_other_trails_use_the_python_pass(monkeypatch, trail):
    ns = NamespaceInfo(names=dict(T.DEFAULT_NAMESPACES.names), link_trail=trail)
    text = "[[x]]abab [[y]]ba [[File:Z]]ab c"
    expected = python(text, ns, True)
    assert T._mark_links_compiled(C, text, ns, True, T._link_scanner(trail)) == expected


def test_astral_trail_letters_go_through_the_pattern():
    ns = NAMESPACES["letters"]
    marked, titles = compiled("[[a]]b\U00010400c\U0001f600 [[d]]\U00020000", ns, True)
    assert marked == "\x01ab\U00010400c\x01\U0001f600 \x01d\U00020000\x01" and titles == ["A", "D"]


@settings(max_examples=300, deadline=None, database=None)
@given(texts, st.sampled_from(["ca", "ru", "letters", "zh"]), st.booleans())
def test_whole_cleaner_matches_python(text, lang, first_letter_case):
    ns = NAMESPACES[lang]
    with_c, python = both(parse_wikitext_columns, text, ns, first_letter_case)
    assert with_c == python


def test_real_articles_match_python():
    namespaces, articles = _real_articles(EXCERPT)
    _, tables = _real_articles(TABLES)
    n_links = 0
    for page in articles + tables:
        text = clean_markup(page.text)
        for first_letter_case in (True, False):
            result = compiled(text, namespaces, first_letter_case)
            assert result is not None and result == python(text, namespaces, first_letter_case), page.title
        n_links += len(result[1])
    assert n_links > 10_000
