"""The compiled passes 4, 6 and 7 (`strip_html_tags`, `strip_line_markup`, `replace_external_links` in
wikiel.sources._wikitext) give exactly the outputs of `_strip_html_tags`, `_strip_line_markup` and
`_replace_external_links`, for every input (they never fall back to the Python passes): on generated markup
(hypothesis), on corner cases of the patterns they replace, and on real articles. `clean_markup` uses them when
the compiled module is there."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_wikitext import EXCERPT, TABLES, _real_articles
from test_wikitext_speed_equivalence import TOKENS
from wikiel.sources import wikitext as T

try:
    from wikiel.sources import _wikitext as C
except ImportError:  # pragma: no cover - test_wikitext_compiled.py says what is wrong
    C = None

pytestmark = pytest.mark.skipif(C is None, reason="wikiel.sources._wikitext is not built")

# Wide characters: é (1 byte), U+2013 and placeholders (2 bytes), an astral one (4 bytes), and the letters re.I
# matches with an ASCII one (dotted and dotless i, long s, Kelvin sign), which may spell a URL scheme.
WIDE = ["\xe9", "\u2013", "\ufdd0", "\ufdd3", "\ufde1", "\ufde2", "\U0001f600", "\u0130", "\u0131", "\u017f", "\u212a"]
# Pass 6: line starts, headings (runs of `=` of any length, trailing spaces), list prefixes, rules, magic words
# (valid, too short, too long), apostrophe runs of every length between spaces and letters.
LINE_TOKENS = list("\n=*#:;- \t'_x") + [
    "\n=",
    "==",
    "======",
    "=======",
    "----",
    "---",
    "\n----",
    "\n* ",
    "\n#:",
    "\n;",
    "''",
    "'''",
    "''''",
    "'''''",
    "''''''",
    "''''''''",
    " a",
    "a ",
    "__",
    "__TOC__",
    "__NOTOC__",
    "__A__",
    "__" + "X" * 30 + "__",
    "__" + "X" * 31 + "__",
    "AB",
    "\r",
    "\xa0",
]
# Pass 7: brackets, schemes in any case (and their case-folded spellings), URL ends, label separators.
LINK_TOKENS = list('[]<>" \t\n:/x') + [
    "[http://",
    "[HTTPS://",
    "[Http:",
    "[ftp:",
    "[sftp:",
    "[//",
    "[mailto:",
    "[news:",
    "[irc:",
    "[ircs:",
    "[worldwind:",
    "[bitcoin:",
    "[tel:",
    "[telnet:",
    "[sip:",
    "[sips:",
    "[xyz:",
    "[abcdefghij:",
    "[a:",
    "[[",
    "]]",
    "[h\u0131tp:",
    "[\u017fms:",
    "[\u017f\u017fh:",
    "[\u0130rc:",
    "[g\u0130t:",
    "[\u212aa:",
    "example.org",
    " label",
    "\xa0",
    "\u2003",
    "\x85",
    "\x0b",
]
# Pass 4: every known tag name (in cases re.I folds), unknown ones, what may follow a name, unclosed tags.
TAG_TOKENS = (
    ["<", "</", ">", "/>", "/", " ", "\n", "\xa0", "\x85", "=", '"', "x", "1", "<<"]
    + [spelling for name in T._BLOCK_TAGS + T._INLINE_TAGS for spelling in (name, name.upper())]
    + ["\u017fpan", "\u0130", "\u0131", "\u212abd", "mar\u212a", "brx", "h7", "tab le"]
)
texts = st.lists(st.sampled_from(TOKENS + WIDE + LINE_TOKENS + LINK_TOKENS), max_size=60).map("".join)
tag_texts = st.lists(st.sampled_from(TAG_TOKENS + WIDE), max_size=40).map("".join)
line_texts = st.lists(st.sampled_from(LINE_TOKENS + WIDE), max_size=40).map("".join)
link_texts = st.lists(st.sampled_from(LINK_TOKENS + WIDE), max_size=40).map("".join)
# Lines of apostrophe runs between short words and spaces: doQuotes' rebalancing and its choice of bold run.
quote_texts = st.lists(st.sampled_from(["'" * k for k in range(1, 8)] + [" ", "x", "xy", "\n"]), max_size=24).map(
    "".join
)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.one_of(texts, tag_texts))
def test_strip_html_tags_matches_python(text):
    assert C.strip_html_tags(text) == T._strip_html_tags(text)


@pytest.mark.parametrize("name", T._BLOCK_TAGS + T._INLINE_TAGS)
def test_strip_html_tags_knows_every_tag(name):
    """The C code's list of names is wikitext.py's: each tag (in any case) goes, as a line break if a block."""
    for tag in (f"<{name}>", f"</{name.upper()}>", f"<{name.capitalize()} class=x/>", f"<{name}\n>", f"<{name}/ >"):
        text = f"a{tag}b"
        assert C.strip_html_tags(text) == T._strip_html_tags(text) == ("a\nb" if name in T._BLOCK_TAGS else "ab")
    for text in (f"<{name}x>", f"<x{name}>", f"<{name}", f"<{name} <x>", f"<{name}>"[:-1]):
        assert C.strip_html_tags(text) == T._strip_html_tags(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<",
        "<>",
        "</>",
        "<//b>",
        "<b",
        "<b>",
        "< b>",
        "<b >",
        "<b\xa0>",
        "<b\x85/>",
        "<\u017fpan>",
        "<\u0130>",
        "<\u0131>",
        "<\u212abd>",
        "<\u212a>",
        "<br<br>>",
        '<br x="<">',
        "<onlyinclude>",
        "<onlyincludes>",
        "a<br>\U0001f600<p>",
        "<b>\u2013</b>",
    ],
)
def test_strip_html_tags_corner_cases(text):
    assert C.strip_html_tags(text) == T._strip_html_tags(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.one_of(texts, line_texts, quote_texts))
def test_strip_line_markup_matches_python(text):
    assert C.strip_line_markup(text) == T._strip_line_markup(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.one_of(texts, link_texts))
def test_replace_external_links_matches_python(text):
    assert C.replace_external_links(text) == T._replace_external_links(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "=",
        "==",
        "===",
        "=a=",
        "=====",
        "======",
        "=======a=======",
        "== a ==  \t",
        "== a == b",
        "== a ==\n== b ==",
        "==a=\nx",
        "=a==",
        "=== * a ===",
        "== ----  a ==",
        "== --- a ==",
        "== ;: a ==",
        "= = a = =",
        "x\n== a ==",
        "x\n== a ==\n",
        "x\n==\n",
        "* a\n# b\n:c\n;d\n----e\n---f\n-",
        "*\t a",
        "\n",
        "\n\n* a",
        "x__TOC__y",
        "___TOC__",
        "__TOC__TOC__",
        "__TOC___",
        "__T__",
        "__toc__",
        "'__TOC__'",
        "a''b",
        "a'''b",
        "a''''b",
        "a'''''b",
        "a''''''''b",
        "''a''' b'''",
        "x '''a'' b",
        "x a'''b'' c",
        "x ab'''c''",
        "'''a''\n'''b''",
        "''''a''",
        " ''''a''",
        "a ''''b''",
        "ab''''c''",
        "a'b''c'''d",
        "x'''a'' ''''b'''''c''",
        "x'''a'' '''b'''''c''",
        "x '''a''b'''''c''",
        "''\u2013'''\U0001f600",
        "== ''a''' ==",
    ],
)
def test_strip_line_markup_corner_cases(text):
    assert C.strip_line_markup(text) == T._strip_line_markup(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[",
        "[http://x]",
        "[http://x label]",
        "[http://x  \t label  ]",
        "[http://x ]",
        "[http://x label",
        "[http://x la[bel]",
        "[http://x la\nbel]",
        "[http://x\xa0label]",
        "[http://x\nlabel]",
        "[http://x<b>]",
        '[http://x"]',
        "[http:]",
        "[HtTp://x y]",
        "[h\u0131tp://x y]",
        "[H\u0130TP://x y]",
        "[\u017fftp://x y]",
        "[\u212aa:x y]",
        "[//x y]",
        "[/x y]",
        "[abcdefghij:x y]",
        "[worldwind:x y]",
        "[a:x y]",
        "[xyz:x y]",
        "[tel:1 y][telnet:2 z][telx:3 w]",
        "[[http://x y]]",
        "[http://x [http://y z]]",
        "a [http://x y] b [https://z] c",
    ],
)
def test_replace_external_links_corner_cases(text):
    assert C.replace_external_links(text) == T._replace_external_links(text)


def test_results_are_canonical_strings():
    """The result is narrowed to its widest character (a wide text that loses its wide characters compares equal
    to the Python result only if it is)."""
    for function, text in ((C.strip_line_markup, "'''\u2013'''a"), (C.replace_external_links, "[http://x \u2013]a")):
        out = function(text.replace("\u2013", "\U0001f600"))
        assert out == function(text).replace("\u2013", "\U0001f600")
    assert C.strip_line_markup("== \u2013 ==\nx'''\U0001f600'''") == "\n\u2013\n\nx\U0001f600"
    assert C.strip_line_markup("__\u2013__TOC__") == "__\u2013"
    assert C.replace_external_links("[//x \U0001f600]a") == "\U0001f600a"
    assert C.replace_external_links("[//\U0001f600 a]") == "a"


def test_arguments_must_be_str():
    for function in (C.strip_html_tags, C.strip_line_markup, C.replace_external_links):
        with pytest.raises(TypeError):
            function(b"== a ==")


def test_real_articles_pass_by_pass():
    """Each pass on what the previous Python passes make of each real article."""
    _, articles = _real_articles(EXCERPT)
    _, tables = _real_articles(TABLES)
    for page in articles + tables:
        text = T._sanitize(page.text)
        for python_pass in (T._strip_comments_and_extension_tags, T._remove_templates, T._remove_tables):
            text = python_pass(text)
        assert C.strip_html_tags(text) == T._strip_html_tags(text), page.title
        text = T._unescape_entities(T._strip_html_tags(text))
        stripped = T._strip_line_markup(text)
        assert C.strip_line_markup(text) == stripped, page.title
        assert C.replace_external_links(stripped) == T._replace_external_links(stripped), page.title


class _Spy:
    """The compiled module, recording which of its functions are called."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        function = getattr(C, name)

        def call(*args):
            self.calls.append(name)
            return function(*args)

        return call


def test_clean_markup_uses_the_compiled_passes(monkeypatch):
    spy = _Spy()
    monkeypatch.setattr(T, "COMPILED", spy)
    text = "== a ==\n* ''b'' [http://x c] __TOC__<br>"
    assert T.clean_markup(text) == "\na\n\nb c \n"
    assert {"strip_html_tags", "strip_line_markup", "replace_external_links"} <= set(spy.calls)
    monkeypatch.setattr(T, "COMPILED", None)
    assert T.clean_markup(text) == "\na\n\nb c \n"
