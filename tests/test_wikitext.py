"""Tests of the wikitext cleaner / link extractor: one test per rule, robustness, properties, and agreement
with mwparserfromhell and wikitextparser on real enwiki articles."""

import bisect
import html
import time
from collections import Counter
from pathlib import Path
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikiel.sources.wikipedia import DumpReader, Page
from wikiel.sources.wikitext import ARTICLE, HIDDEN, TEXT, NamespaceInfo, parse_wikitext
from wikiel.util import normalize_title, open_dump

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXCERPT = DATA / "wikipedia" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
TABLES = DATA / "wikipedia" / "enwiki-table-markup.xml.bz2"


def clean(text: str, **kwargs) -> str:
    return parse_wikitext(text, **kwargs)[0]


def links(text: str, **kwargs) -> List[tuple]:
    """(target, anchor) pairs, after checking the offset invariant."""
    text_out, found = parse_wikitext(text, **kwargs)
    for link in found:
        assert text_out[link.start : link.end] == link.anchor
    return [(link.target, link.anchor) for link in found]


# --- links ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wikitext, text, expected",
    [
        ("[[Paris]] is big", "Paris is big", [("Paris", "Paris")]),
        ("the [[Paris|city]] is big", "the city is big", [("Paris", "city")]),
        ("[[paris]]", "paris", [("Paris", "paris")]),
        ("[[Paris#History|its past]]", "its past", [("Paris", "its past")]),
        ("two [[bus]]es.", "two buses.", [("Bus", "buses")]),
        ("[[bus]]Es", "busEs", [("Bus", "bus")]),
        ("[[Boston (band)|]] played", "Boston played", [("Boston (band)", "Boston")]),
        ("[[New_York_City]]", "New_York_City", [("New York City", "New_York_City")]),
        ("[[ Paris |  the city  ]]!", "the city !", [("Paris", "the city")]),
        ("'''[[Paris|''the'' city]]'''", "the city", [("Paris", "the city")]),
        ("[[Paris|<span>the</span> &amp; city]]", "the & city", [("Paris", "the & city")]),
        ("[[:Paris]]", "Paris", [("Paris", "Paris")]),
        ("[[Star Wars: Episode IV]]", "Star Wars: Episode IV", [("Star Wars: Episode IV", "Star Wars: Episode IV")]),
        ("[[AT&amp;T]]", "AT&T", [("AT&T", "AT&T")]),
        ("[[Paris|a\nb]]", "a b", [("Paris", "a b")]),
        ("x [''[[The Art]]''] y", "x [The Art] y", [("The Art", "The Art")]),
        ("''[[The Times]]'''s view", "The Times's view", [("The Times", "The Times")]),
        ("[[Paris]]<nowiki/>s", "Pariss", [("Paris", "Paris")]),
    ],
)
def test_article_links(wikitext, text, expected):
    assert clean(wikitext) == text
    assert links(wikitext) == expected


@pytest.mark.parametrize(
    "wikitext, text",
    [
        ("see [[#History]] below", "see History below"),
        ("see [[#History|the history]] below", "see the history below"),
        ("a [[File:X.jpg|thumb|A [[Paris|city]] view]] b", "a b"),
        ("a [[Image:X.jpg|thumb|caption]] b", "a b"),
        ("a [[file:X.jpg]] b", "a b"),
        ("a [[File:X.jpg|thumb|The [[A|[[B]]]] nest]] b", "a b"),
        ("a [[Category:Cities]] b", "a b"),
        ("a [[Category:Cities|Paris]] b", "a b"),
        ("a [[fr:Paris]] b", "a b"),
        ("a [[zh-min-nan:Paris]] b", "a b"),
        ("a [[simple:Paris]] b", "a b"),
        ("a [[wikt:word|word]] b", "a word b"),
        ("a [[wikt:word]] b", "a wikt:word b"),
        ("a [[:fr:Paris|Paris]] b", "a Paris b"),
        ("a [[:Category:Cities|cities]] b", "a cities b"),
        ("a [[Wikipedia:Manual of Style|style]] b", "a style b"),
        ("a [[WP:MOS|style]] b", "a style b"),
        ("a [[Template:Foo|foo]] b", "a foo b"),
        ("a [[User:Bob|Bob]] b", "a Bob b"),
        ("a [[Help:Contents|help]] b", "a help b"),
        ("a [[Portal:Cities|portal]] b", "a portal b"),
        ("a [[doi:10.1000/1|paper]] b", "a paper b"),
    ],
)
def test_non_article_links(wikitext, text):
    assert clean(wikitext) == text
    assert links(wikitext) == []


def test_localized_namespaces_and_case_sensitive_wikis():
    german = NamespaceInfo.from_siteinfo({6: "Datei", 14: "Kategorie", 4: "Wikipedia"}, "de")
    assert clean("a [[Datei:X.jpg|mini|Bild]] [[Kategorie:Stadt]] [[Bild:X.jpg]] b", namespaces=german) == "a b"
    assert links("die [[Stadt]]ä", namespaces=german) == [("Stadt", "Stadtä")]
    assert links("[[iPod]] and [[eBay]]", first_letter_case=False) == [("iPod", "iPod"), ("eBay", "eBay")]


@pytest.mark.parametrize(
    "target, kind",
    [
        ("Paris", ARTICLE),
        (":Paris", ARTICLE),
        ("Star Wars: Episode IV", ARTICLE),
        ("#History", TEXT),
        ("File:X.jpg", HIDDEN),
        (" image : X.jpg", HIDDEN),
        ("Category:X", HIDDEN),
        (":Category:X", TEXT),
        ("fr:Paris", HIDDEN),
        ("be-x-old:Paris", HIDDEN),
        (":fr:Paris", TEXT),
        ("wikt:word", TEXT),
        ("Talk:Paris", TEXT),
        ("Media:X.ogg", TEXT),
        ("FR:Paris", ARTICLE),
    ],
)
def test_classify(target, kind):
    assert NamespaceInfo.from_siteinfo({}).classify(target) == kind


# --- removed and stripped markup -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wikitext, text",
    [
        ("a {{cite|x={{nested|y}}|[[Paris]]}} b", "a b"),
        ("a {{#if:{{{1|}}}|yes|no}} b", "a b"),
        ("{{Infobox\n|name=X\n|city=[[Paris]]\n}}\n'''X''' is a town.", "X is a town."),
        ("a\n{| class=wikitable\n|-\n| [[Paris]] || 1\n|}\nb", "a\n\nb"),
        ("a\n{|\n| outer\n{|\n| inner [[Paris]]\n|}\n| more\n|}\nb", "a\n\nb"),
        ("a\n:{| class=wikitable\n| x\n|}\nb", "a\n\nb"),
        ("a{{Infobox|x=\n{|\n| t\n|}\n}}b", "ab"),
        ("a<ref name=x>{{cite|[[Paris]]}}</ref> b<ref name=x/> c<ref>y</ref>.", "a b c."),
        ("a <!-- [[Paris]] --> b", "a b"),
        ("a <math>x^{2}}}</math> b", "a b"),
        ("a <gallery>\nFile:X.jpg|[[Paris]]\n</gallery> b", "a b"),
        ("a <timeline>x</timeline> <score>c</score> <syntaxhighlight lang=c>{{</syntaxhighlight> b", "a b"),
        ("__TOC__\n__NOTOC__ a", "a"),
        ('a <span style="x">b</span> <small>c</small> H<sub>2</sub>O', "a b c H2O"),
        ("a <nowiki>[[Paris]] {{x}} ''y''</nowiki> b", "a [[Paris]] {{x}} ''y'' b"),
        ("a<br />b", "a\nb"),
        ("'''bold''' and ''italic'' and '''''both'''''", "bold and italic and both"),
        ("l''''amour''''", "l'amour'"),
        ("== History ==\nText", "History\n\nText"),
        ("Intro\n=== Early life ===\nText", "Intro\n\nEarly life\n\nText"),
        ("* one\n** two\n# three\n: four\n; five", "one\ntwo\nthree\nfour\nfive"),
        ("a\n----\nb", "a\n\nb"),
        ("[http://example.com Example site] and [http://example.com] and [//x.org y]", "Example site and and y"),
        ("see http://example.com now", "see http://example.com now"),
        ("a&nbsp;b &amp; c &lt;ref&gt; &#91;&#91;x&#93;&#93; &eacute;", "a b & c <ref> [[x]] é"),
        ("  a   b  \n\n\n\n  c  ", "a b\n\nc"),
        ("a\nb\n\nc", "a\nb\n\nc"),
    ],
)
def test_markup(wikitext, text):
    assert clean(wikitext) == text


@pytest.mark.parametrize(
    "wikitext",
    [
        "a }} b ]] c",
        "a [[ b {{ c",
        "a {{ b [[Paris]]",
        "x <ref>never closed [[Paris]]",
        "a {| b",
        "[[Paris|",
        "<!-- unclosed",
        "[[File:X.jpg|thumb|[[Paris]] unclosed",
        "'''''''''",
        "[[]]",
        "[[|]]",
        "[[#]]",
        "{{{{{a}}}}}",
        "[http://x",
        "<nowiki>",
        "</ref></nowiki>",
        "==",
        "\n=\n",
        "&#0; &#xD800; &bogus;",
        "[[\ufdd0]]\ufdd1",
    ],
)
def test_malformed_input_degrades_gracefully(wikitext):
    links(wikitext)


def test_unclosed_ref_keeps_following_text():
    assert clean("a <ref>b [[Paris]] c") == "a b Paris c"
    assert links("a {{ b [[Paris]]") == [("Paris", "Paris")]


@pytest.mark.parametrize(
    "unit",
    [
        "[[",
        "{{",
        "}}",
        "]]",
        "[[a|",
        "[[File:a|",
        "[[File:a|[[b]] ",
        "<ref>",
        "<ref",
        "<!--",
        "''",
        "'''x",
        "[http://a ",
        "=",
        "\n==a",
        "{|\n",
        "\n|}",
        "&amp",
        "<nowiki>",
        "[[a]]",
        "\n*",
        "  \n",
        "[[a|{{b|<ref>[[c",
    ],
)
def test_linear_time_on_adversarial_input(unit):
    text = unit * 100_000
    start = time.perf_counter()
    links(text)
    assert time.perf_counter() - start < 10, "super-linear behaviour"


# --- properties ------------------------------------------------------------------------------------------------

MARKUP_TOKENS = list("[]{}|<>'=*#:;!&-_~ \nabcAB/.") + [
    "[[",
    "]]",
    "{{",
    "}}",
    "<ref>",
    "</ref>",
    "<ref name=a/>",
    "<!--",
    "-->",
    "File:",
    "Category:",
    "fr:",
    "http://x ",
    "''",
    "'''",
    "&amp;",
    "&nbsp;",
    "&#91;",
    "<nowiki>",
    "</nowiki>",
    "<nowiki/>",
    "{|",
    "|}",
    "\n==",
    "==\n",
    "<span>",
    "</span>",
    "<math>",
    "</math>",
    "__TOC__",
    "\n*",
    "Paris",
    "#",
    "\ufdd0",
]
wikitext_strategy = st.one_of(st.text(), st.lists(st.sampled_from(MARKUP_TOKENS), max_size=60).map("".join))


@settings(max_examples=600, deadline=None, database=None)
@given(wikitext_strategy)
def test_never_raises_and_offsets_point_at_anchors(text):
    out, found = parse_wikitext(text)
    assert out == out.strip(" \n")
    previous_end = 0
    for link in found:
        assert previous_end <= link.start < link.end <= len(out)
        assert out[link.start : link.end] == link.anchor == link.anchor.strip()
        assert link.target
        previous_end = link.end


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet='abcXYZ019 .,?()"/\n\u00e9\u4e2d'))
def test_idempotent_on_clean_text(text):
    out, found = parse_wikitext(text)
    assert found == []
    assert out.split() == text.split()
    assert parse_wikitext(out)[0] == out


# --- real articles ------------------------------------------------------------------------------------------------


def _real_articles(path: Path):
    if not path.exists():
        pytest.skip(f"real data excerpt {path} is absent (expected ../shared/data beside the repository)")
    with open_dump(path) as stream:
        items = list(DumpReader(stream, path))
    namespaces = NamespaceInfo.from_siteinfo(items[0].namespaces)
    return namespaces, [p for p in items if isinstance(p, Page) and p.ns == 0 and not p.redirect and p.text]


@pytest.fixture(scope="module")
def real_articles():
    namespaces, articles = _real_articles(EXCERPT)
    _, tables = _real_articles(TABLES)
    return namespaces, articles + tables


def test_real_articles_offsets_and_cleanliness(real_articles):
    namespaces, articles = real_articles
    assert len(articles) == 111
    n_links = 0
    for page in articles:
        out, found = parse_wikitext(page.text, namespaces)
        assert out and out == out.strip()
        for marker in ("{{", "}}", "[[", "]]", "<ref", "''", "\n==", "{|", "&nbsp;", "\n\n\n", "  "):
            assert marker not in out, (page.title, marker)
        for link in found:
            assert out[link.start : link.end] == link.anchor
            assert link.target == normalize_title(link.target)
        n_links += len(found)
    assert n_links > 20_000


_REFERENCE_SKIPPED_TAGS = {
    "ref",
    "references",
    "math",
    "gallery",
    "timeline",
    "score",
    "syntaxhighlight",
    "source",
    "imagemap",
    "hiero",
    "chem",
    "ce",
    "graph",
    "templatedata",
    "nowiki",
    "pre",
    "includeonly",
    "table",
}


def _mwparserfromhell_targets(code, namespaces) -> List[str]:
    """Article links outside templates, removed tags and tables, descending into formatting and headings."""
    from mwparserfromhell.nodes import ExternalLink, Heading, Tag, Wikilink

    targets = []
    for node in code.nodes:
        if isinstance(node, Wikilink):
            title = html.unescape(str(node.title))
            if namespaces.classify(title) == ARTICLE:
                targets.append(normalize_title(title))
        elif isinstance(node, Tag) and node.contents is not None:
            if str(node.tag).lower() not in _REFERENCE_SKIPPED_TAGS:
                targets += _mwparserfromhell_targets(node.contents, namespaces)
        elif isinstance(node, Heading):
            targets += _mwparserfromhell_targets(node.title, namespaces)
        elif isinstance(node, ExternalLink) and node.title:
            targets += _mwparserfromhell_targets(node.title, namespaces)
    return targets


def _wikitextparser_targets(text, namespaces) -> List[str]:
    """Article links whose span lies outside templates, tables, comments, removed tags and file links."""
    import wikitextparser

    parsed = wikitextparser.parse(text)
    wikilinks = parsed.wikilinks
    removed = sorted(
        [x.span for x in parsed.templates]
        + [x.span for x in parsed.parser_functions]
        + [x.span for x in parsed.tables]
        + [x.span for x in parsed.comments]
        + [x.span for x in parsed.get_tags() if x.name.lower() in _REFERENCE_SKIPPED_TAGS]
        + [x.span for x in wikilinks if namespaces.classify(x.title) == HIDDEN]
    )
    merged: List[List[int]] = []
    for start, end in removed:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [start for start, _ in merged]
    targets = []
    for link in wikilinks:
        start, end = link.span
        k = bisect.bisect_right(starts, start) - 1
        if k >= 0 and merged[k][1] >= end:
            continue
        title = html.unescape(link.title)
        if namespaces.classify(title) == ARTICLE:
            targets.append(normalize_title(title))
    return targets


@pytest.mark.parametrize("reference", ["mwparserfromhell", "wikitextparser"])
def test_agreement_with_reference_parsers(real_articles, reference):
    """Multisets of link targets per article vs a full parser (links in templates/refs/tables excluded).

    mwparserfromhell misparses a few `'''`-heavy tables (it lets bold run past `|}`) and refs, so its numbers
    are a little lower; the remaining disagreements with it were all checked to be its errors."""
    import mwparserfromhell

    namespaces, articles = real_articles
    common = n_ours = n_reference = 0
    for page in articles:
        if reference == "mwparserfromhell":
            expected = Counter(_mwparserfromhell_targets(mwparserfromhell.parse(page.text), namespaces))
        else:
            expected = Counter(_wikitextparser_targets(page.text, namespaces))
        ours = Counter(link.target for link in parse_wikitext(page.text, namespaces)[1])
        common += sum((expected & ours).values())
        n_ours += sum(ours.values())
        n_reference += sum(expected.values())
    recall, precision = common / n_reference, common / n_ours
    print(
        f"\nvs {reference}: recall {recall:.4f}, precision {precision:.4f} "
        f"({n_reference} reference links, {n_ours} ours)"
    )
    minimum = 0.97 if reference == "mwparserfromhell" else 0.995
    assert recall >= minimum and precision >= minimum
