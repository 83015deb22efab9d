"""The compiled page scanner (`scan_pages` in wikiel.sources._wikitext, used by `parse_stream_range` through
`wikipedia._compiled_pages`) reads exactly the pages `expat_pages` reads, or declines (None) so that expat_pages
reads them: on generated page documents full of what XML makes hard (references, line ends, `]]>`, comments, CDATA,
attribute normalisation, child elements, prefixes, invalid UTF-8 ...), where it must not decline plain pages; on the
real excerpts; and on every range of a generated multistream dump."""

import bz2
import io
import re
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikiel.sources import wikipedia, wikitext
from wikiel.sources.wikipedia import Page, expat_pages

try:
    from wikiel.sources import _wikitext as C
except ImportError:  # pragma: no cover - test_wikitext_compiled.py says what is wrong
    C = None

pytestmark = pytest.mark.skipif(C is None, reason="wikiel.sources._wikitext is not built")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikipedia"
REAL = ("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2", "enwiki-table-markup.xml.bz2")
ROOT = b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" xmlns:mw="urn:mw" xml:lang="en">\n'
HEADER = ROOT + b"  <siteinfo>\n    <dbname>enwiki</dbname>\n    <case>first-letter</case>\n  </siteinfo>\n"
SENSITIVE = ROOT + b"<siteinfo><case>case-sensitive</case></siteinfo>"


@pytest.fixture(autouse=True)
def compiled(monkeypatch):
    monkeypatch.setattr(wikitext, "COMPILED", C)


def expat(header: bytes, data: bytes, last: bool):
    """What expat_pages reads in the XML parse_stream_range builds, or "unusual" where it declines."""
    try:
        return list(expat_pages(header + data + (b"" if last else wikipedia._CLOSING)))
    except wikipedia._Unusual:
        return "unusual"


def check(header: bytes, data: bytes, last: bool, plain: bool) -> Optional[List[Page]]:
    """The compiled pages equal expat_pages' (a `plain` document must not be declined)."""
    pages = wikipedia._compiled_pages(header, data, last)
    if pages is None:
        assert not plain, f"declined a plain document: {data!r}"
    else:
        assert pages == expat(header, data, last), data
    return pages


# --- generated page documents -------------------------------------------------------------------------------
# Pieces as (bytes, plain): plain ones the scanner must read itself, the others it may decline (expat may accept
# them: comments, CDATA, prefixed names, child elements, numbers Python's int() reads ...).

TEXT_PLAIN = [
    "a b",
    "x" * 40,
    "é",
    "\u2013",
    "\u0416\u0436",
    "\u4e2d\u6587",
    "\U0001f600",
    "\ufdd0",
    "\ufeff",
    "\x7f\x85",
    "&lt;ref name=&quot;a&quot;&gt;",
    "&amp;",
    "&apos;",
    "&#65;",
    "&#0000065;",
    "&#xe9;",
    "&#x1F600;",
    "&#x10FFFF;",
    "&#xD7FF;",
    "&#xE000;",
    "&#13;",
    "&#x9;",
    "&#10;",
    "\r\n",
    "\r",
    "\r\r\n",
    "\n",
    "\t",
    "]]",
    "]",
    "] ]>",
    "]]&gt;",
    "a> x",
    "'\"",
    "=",
]
TEXT_NASTY = [
    "]]>",
    "]]]>",
    "<!-- c -->",
    "<![CDATA[<b>&]]>",
    "<b/>",
    "<b>in</b>",
    "<mw:b/>",
    "<?pi x?>",
    "&nbsp;",
    "&#0;",
    "&#1;",
    "&#xFFFE;",
    "&#xD800;",
    "&#x110000;",
    "&#X41;",
    "&#;",
    "&#65",
    "&",
    "<",
    "\x01",
    "\x0b",
    "\x1f",
    "\ufffe",
    "\uffff",
]
BAD_BYTES = [b"\xff", b"\xe9", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98"]
ATTR_PLAIN = ["a", "lower case", "x_y", "&amp;", "&lt;&gt;", "&#10;", "&#13;", "&#9;", "\t", "\n", "\r\n", "\r",
              "  ", "é", "\U0001f600", "]]>", ">", "#s", ":a"]  # fmt: skip
ATTR_NASTY = ["<", "&nbsp;", "&", "\x01", "&#0;"]
NUMBER_PLAIN = ["", "0", "12", "0012", "123456789012"]
NUMBER_NASTY = [" 3 ", "x", "-1", "+1", "1_0", "\u0661", "1.0", "12345678901234567890", "&#49;2", "1<b/>"]


def joined(parts: List[Tuple[bytes, bool]]) -> Tuple[bytes, bool]:
    return b"".join(p for p, _ in parts), all(ok for _, ok in parts)


SPACE = st.sampled_from([b"", b"", b" ", b"\n  ", b"\r\n", b"\t"])
# endings: (bytes, last, plain): the closing tag (and whitespace) in the range, or left to the caller; or broken
GOOD_ENDINGS = [(b"", False, True), (b"</mediawiki>\n", True, True), (b"\n</mediawiki >\r\n\t", True, True)]
BAD_ENDINGS = [
    (b"", True, False),  # cut short
    (b"</mediawiki>", False, False),  # closed twice
    (b"</mediawiki><!-- c -->", True, False),
    (b"</mediawiki>x", True, False),
    (b"</page>", False, False),
    (b"<page>", False, False),
]
# attributes the scanner declines: a namespace declaration, another prefix, a duplicate, no space between two
ODD_ATTRIBUTES = [b' xmlns:x="u"', b' xmlns="u"', b' mw:title="a"', b' a="1" a="2"', b' a="1"b="2"']


# Where the documents of `documents(slots=True)` may take one odd piece of a kind (see test_one_odd_piece).
SLOTS = {b"\x00t\x00": TEXT_NASTY, b"\x00a\x00": ATTR_NASTY, b"\x00n\x00": NUMBER_NASTY}


def documents(nasty: bool, slots: bool = False):
    """Strategies of (data, plain) and endings: pages (and other elements) of plain pieces only, or (`nasty`) with
    now and then a piece the scanner may decline (then `plain` is False); `slots`: with slots for such a piece
    (SLOTS) among the pieces of text, attribute values and numbers."""

    def piece(plain: List[str], odd: List[str]):
        options = [st.sampled_from(plain).map(lambda s: (s.encode(), True))]
        if nasty:
            options.append(st.sampled_from(odd).map(lambda s: (s.encode(), False)))
            options.append(st.sampled_from(BAD_BYTES).map(lambda b: (b, False)))
        if slots:
            options.append(st.just((next(slot for slot, kind in SLOTS.items() if kind is odd), True)))
        return st.one_of(*options)

    def rarely(plain, odd):
        """`plain`, or now and then (`nasty`) `odd`."""
        return st.one_of(plain, plain, plain, plain, plain, odd) if nasty else plain

    text = st.lists(piece(TEXT_PLAIN, TEXT_NASTY), max_size=5).map(joined)
    attr_value = st.lists(piece(ATTR_PLAIN, ATTR_NASTY), max_size=4).map(joined)
    number = piece(NUMBER_PLAIN, NUMBER_NASTY)
    # element names: plain, or with a namespace prefix (declared in the root: expat reads them, the scanner declines)
    prefix = rarely(st.just((b"", True)), st.just((b"mw:", False)))

    @st.composite
    def element(draw, name: bytes, content, attrs=st.just((b"", True)), empty_ok=True):
        """`<name attrs>content</name>` (or `<name attrs/>` for no content), maybe prefixed, odd whitespace."""
        tag_prefix, plain_name = draw(prefix)
        attr_bytes, plain_attrs = draw(attrs)
        body, plain_body = draw(content)
        tag = tag_prefix + name
        space = draw(SPACE) if attr_bytes else b""
        end_space = draw(st.sampled_from([b"", b"", b" ", b"\n"]))
        if not body and empty_ok and draw(st.booleans()):
            return b"<" + tag + attr_bytes + space + end_space + b"/>", plain_name and plain_attrs
        return (
            b"<" + tag + attr_bytes + space + b">" + body + b"</" + tag + end_space + b">",
            plain_name and plain_attrs and plain_body,
        )

    @st.composite
    def attribute(draw, name: bytes):
        value, plain = draw(attr_value)
        quote = draw(st.sampled_from([b'"', b"'"]))
        if quote in value:
            value = value.replace(quote, b"&quot;" if quote == b'"' else b"&apos;")
        before, around = draw(st.sampled_from([(b" ", b""), (b"\n ", b" "), (b"\t", b"\r\n")]))
        return before + name + around + b"=" + around + quote + value + quote, plain

    def attributes(*names: bytes):
        """Some of the attributes `names` (distinct), with odd values and whitespace."""
        plain = st.lists(st.sampled_from(names), unique=True, max_size=len(names)).flatmap(
            lambda chosen: st.tuples(*[attribute(name) for name in chosen]).map(joined)
        )
        odd = st.tuples(plain, st.sampled_from(ODD_ATTRIBUTES)).map(lambda a: (a[0][0] + a[1], False))
        return rarely(plain, odd)

    def children(*strategies, size=6):
        """A run of child elements with whitespace or text between them (text that does not count)."""
        between = st.one_of(SPACE.map(lambda s: (s, True)), text)
        return st.lists(st.one_of(*strategies, between), max_size=size).map(joined)

    nested = st.tuples(text, st.sampled_from([b"<b/>", b"<b>x</b>", b"<text>t</text>"]), text)
    maybe_nested = rarely(text, nested.map(lambda t: (t[0][0] + t[1] + t[2][0], False)))
    text_element = element(b"text", maybe_nested, attributes(b"xml:space", b"bytes", b"sha1"))
    revision = element(
        b"revision",
        children(
            element(b"id", number),
            text_element,
            text_element,
            element(b"comment", text),
            element(b"contributor", children(element(b"username", text), element(b"title", text))),
        ),
        attributes(b"a"),
    )
    page = element(
        b"page",
        children(
            element(b"title", maybe_nested),
            element(b"ns", number),
            element(b"id", number),
            element(b"redirect", st.just((b"", True)), attributes(b"title", b"xml:title", b"x")),
            revision,
            revision,
            element(b"text", text),  # not in a revision: not the page's text
            element(b"other", children(element(b"text", text), element(b"title", text))),
            size=8,
        ),
        attributes(b"a"),
    )
    other = element(b"other", children(page, element(b"title", text)), empty_ok=False)  # pages inside: not pages
    items = [page, page, page, page, other, SPACE.map(lambda s: (s, True))]
    endings = st.sampled_from(GOOD_ENDINGS)
    if nasty:
        siteinfo = element(b"siteinfo", element(b"case", st.just((b"case-sensitive", True))))
        items.append(siteinfo.map(lambda e: (e[0], False)))
        endings = st.one_of(endings, endings, endings, st.sampled_from(BAD_ENDINGS))
    return st.lists(st.one_of(*items), max_size=6).map(joined), endings


PLAIN_DOCUMENTS, NASTY_DOCUMENTS, SLOTTED_DOCUMENTS = documents(False), documents(True), documents(False, slots=True)


@settings(max_examples=300, deadline=None, database=None)
@given(st.tuples(*NASTY_DOCUMENTS), st.sampled_from([HEADER, SENSITIVE]))
def test_generated_pages_are_read_as_expat_reads_them(document, header):
    (data, plain), (end, last, plain_end) = document
    check(header, data + end, last, plain and plain_end)


@settings(max_examples=500, deadline=None, database=None)
@given(st.tuples(*SLOTTED_DOCUMENTS), st.data())
def test_one_odd_piece(document, data):
    """A plain document but for one odd piece (in a text, an attribute value or a number): the scanner declines it
    or reads what expat reads."""
    (body, _), (end, last, _) = document
    found = [(match.start(), match.group()) for match in re.finditer(rb"\x00[tan]\x00", body)]
    if found:
        kind = data.draw(st.sampled_from(sorted({slot for _, slot in found})))
        at, slot = data.draw(st.sampled_from([(at, slot) for at, slot in found if slot == kind]))
        odd = data.draw(st.one_of(st.sampled_from(SLOTS[slot]).map(str.encode), st.sampled_from(BAD_BYTES)))
        body = body[:at] + odd + body[at + len(slot) :]
    check(HEADER, re.sub(rb"\x00[tan]\x00", b"", body) + end, last, not found)


@settings(max_examples=300, deadline=None, database=None)
@given(st.tuples(*PLAIN_DOCUMENTS), st.sampled_from([HEADER, SENSITIVE]))
def test_plain_pages_are_not_declined(document, header):
    """Pages made of plain pieces only (references, line ends, astral characters, attribute whitespace ...)."""
    (data, plain), (end, last, plain_end) = document
    assert plain and plain_end
    assert check(header, data + end, last, True) is not None


# --- corner cases ----------------------------------------------------------------------------------------------


def page(title=b"T", ns=b"0", page_id=b"1", text=b"x", extra=b"") -> bytes:
    return (
        b"  <page>\n    <title>" + title + b"</title>\n    <ns>" + ns + b"</ns>\n    <id>" + page_id + b"</id>\n"
        b"    " + extra + b'\n    <revision>\n      <id>5</id>\n      <text xml:space="preserve">' + text + b"</text>\n"
        b"    </revision>\n  </page>\n"
    )


@pytest.mark.parametrize(
    "data, values",
    [
        (page(), [(1, "T", 0, "x", None)]),
        (page(text=b"a\r\nb\rc\r\r\nd&#13;&#10;e"), [(1, "T", 0, "a\nb\nc\n\nd\r\ne", None)]),
        (page(title=b"&lt;&gt;&amp;&quot;&apos;&#233;&#x1F600;"), [(1, "<>&\"'é\U0001f600", 0, "x", None)]),
        (page(extra=b'<redirect title="lower&#9;b\r\nc\td&#10;" />'), [(1, "T", 0, "x", "Lower b c d")]),
        (page(extra=b"<redirect title='a \"b\"' /><redirect/>"), [(1, "T", 0, "x", None)]),
        (page(extra=b"<redirect/><redirect title='z' />"), [(1, "T", 0, "x", "Z")]),
        (page(ns=b"", page_id=b"0007"), [(7, "T", 0, "x", None)]),
        (
            b"<page><revision><text>a</text></revision><revision><text>b</text><text /></revision></page>",
            [(0, "", 0, "", None)],
        ),
        (b"<page><revision><text>a</text><id>2</id></revision><revision/></page>", [(0, "", 0, "a", None)]),
        (b"<page/><page><title/><ns/><id/></page>", [(0, "", 0, "", None)] * 2),
        (b"<page a=\"1\" b='2'\n><title >t</title\n></page >", [(0, "t", 0, "", None)]),
        (b"<other><page><title>no</title></page></other><x/>", []),
        (b"]]<page><title>]] ]]&gt;</title></page>", [(0, "]] ]]>", 0, "", None)]),
        (b"", []),
    ],
)
def test_corner_cases(data, values):
    pages = check(HEADER, data, False, True)
    assert [(p.id, p.title, p.ns, p.text, p.redirect) for p in pages] == values


@pytest.mark.parametrize(
    "data",
    [
        page(text=b"a]]>b"),
        page(text=b"<!-- c -->"),
        page(text=b"<![CDATA[x]]>"),
        page(text=b"a<b/>c"),  # expat_pages: the text before the child element
        page(title=b"<b>x</b>y"),
        page(text=b"&nbsp;"),
        page(text=b"&#xFFFE;"),
        page(text=b"\xc3("),
        page(text=b"\x0c"),
        page(ns=b" 0 "),
        page(ns=b"1_0"),
        page(ns=b"-0"),
        page(page_id=b"\xd9\xa1"),  # an Arabic-Indic digit: int() reads it
        page(extra=b'<redirect xmlns:x="u" title="a"/>'),
        page(extra=b'<redirect title="a" title="b"/>'),
        page().replace(b"<title>", b"<mw:title>").replace(b"</title>", b"</mw:title>"),
        page() + b"<siteinfo><case>case-sensitive</case></siteinfo>" + page(extra=b'<redirect title="a"/>'),
        page() + b"<?pi?>",
        page()[:-5],
        page() + b"</mediawiki>",
    ],
)
def test_what_the_scanner_declines(data):
    assert check(HEADER, data, False, False) is None


@pytest.mark.parametrize(
    "header, case",
    [
        (HEADER, True),
        (SENSITIVE, False),
        (ROOT, True),
        (SENSITIVE + b"<siteinfo><case> first-letter </case></siteinfo>\n", True),
        (b'<?xml version="1.0" encoding="utf-8"?>' + SENSITIVE, False),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + HEADER, None),  # expat_pages declines it
        (b"<!DOCTYPE mediawiki>" + HEADER, None),
        (HEADER + b"]]", None),  # "]]" + ">..." would span the boundary
        (HEADER + b"<page>", None),  # not in the root's content
        (HEADER + b"<!-- ", None),
        (HEADER + page(), None),  # a page in the header
        (b"<other>", None),
    ],
)
def test_header_case(header, case):
    assert wikipedia._header_case(header) is case
    if case is not None:
        pages = check(header, page(extra=b'<redirect title="lower"/>'), False, True)
        assert pages[0].redirect == ("Lower" if case else "lower")
    else:
        assert wikipedia._compiled_pages(header, page(), False) is None


def test_without_the_compiled_module(monkeypatch):
    assert wikipedia._compiled_pages(HEADER, page(), False) is not None
    monkeypatch.setattr(wikitext, "COMPILED", None)
    assert wikipedia._compiled_pages(HEADER, page(), False) is None


def test_stream_ranges_use_the_scanner(monkeypatch, tmp_path):
    """parse_stream_range reads a plain range with the scanner alone, and the others as before."""
    calls = []
    original = wikipedia.expat_pages
    monkeypatch.setattr(wikipedia, "expat_pages", lambda xml: calls.append(xml) or original(xml))
    wikipedia._header_case.cache_clear()
    dump = tmp_path / "d.xml.bz2"
    parts = [HEADER, page(text=b"[[A]] b"), page(text=b"<!-- c -->[[A]] b"), b"</mediawiki>\n"]
    streams = [bz2.compress(part) for part in parts]
    dump.write_bytes(b"".join(streams))
    offsets = [sum(map(len, streams[:k])) for k in range(len(streams) + 1)]
    options = wikipedia.ParseOptions.of(wikipedia.SiteInfo(), wikipedia.Settings())

    def run(first, last_stream):
        task = wikipedia.StreamRange(
            str(dump), offsets[first], offsets[last_stream + 1], HEADER, last_stream == 3, options
        )
        return wikipedia.parse_stream_range(task)

    plain = run(1, 1)
    assert len(calls) == 1 and calls[0].endswith(wikipedia._PROBE + wikipedia._CLOSING)  # the header's probe only
    commented = run(2, 3)
    assert len(calls) == 2  # the comment: expat_pages reads the range
    assert plain.articles == commented.articles and plain.counts["articles"] == 1


# --- real and generated dumps ----------------------------------------------------------------------------------


def split_header(xml: bytes) -> Tuple[bytes, bytes]:
    at = xml.index(b"<page")
    return xml[:at], xml[at:]


@pytest.mark.parametrize("name", REAL)
def test_real_excerpts(name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real data excerpt {path} is absent")
    header, data = split_header(bz2.decompress(path.read_bytes()))
    pages = check(header, data, True, True)
    assert pages is not None and len(pages) > 1
    # and cut into runs of pages, as the ranges of a multistream dump are
    cuts = [0] + [match.end() for match in re.finditer(rb"</page>\n", data)][::7]
    for start, end in zip(cuts, cuts[1:]):
        assert check(header, data[start:end], False, True) is not None


def test_generated_multistream_dump(make_world):
    world = make_world(n_entities=2000, n_articles=300, seed=3)
    dump, index = world["wikipedia"], world["wikipedia_index"]
    bounds = wikipedia.chunk_bounds(index, dump, 20_000)
    header, _ = wikipedia._header(dump, bounds[0])
    n_pages = 0
    for start, end in zip(bounds, bounds[1:]):
        data = wikipedia._decompress_range(dump, start, end)
        pages = check(header, data, end == bounds[-1], True)
        n_pages += len(pages)
    assert len(bounds) > 3
    assert n_pages == sum(1 for _ in expat_pages(bz2.decompress(dump.read_bytes())))
    assert n_pages == len(list(wikipedia.DumpReader(io.BytesIO(bz2.decompress(dump.read_bytes())), dump))) - 1
