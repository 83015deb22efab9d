"""The compiled passes 1-3 of the wikitext cleaner (wikiel.sources._wikitext: comments and extension tags,
templates, tables) give exactly the outputs of the Python passes: on generated markup (hypothesis), corner
cases, and every real article, pass by pass."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_wikitext import EXCERPT, TABLES, _real_articles
from test_wikitext_compiled import both
from test_wikitext_speed_equivalence import TOKENS
from wikiel.sources import wikitext as T

try:
    from wikiel.sources import _wikitext as C
except ImportError:  # pragma: no cover - test_wikitext_compiled.py says what is wrong
    C = None

pytestmark = pytest.mark.skipif(C is None, reason="wikiel.sources._wikitext is not built")

# Wide characters of every string kind: placeholders (U+FDD0.., the break U+FDE2), astral, non-ASCII spaces
# (`\s` in the tag patterns), and the four non-ASCII characters re.I matches to ASCII letters.
WIDE = ["\xe9", "\u2013", "\ufdd0", "\ufdd3", "\ufde2", "\U0001f600", "\xa0", "\x85", "\u3000", "\u2028"]
FOLDING = ["\u0130", "\u0131", "\u017f", "\u212a"]
TAGS = [
    "<!--",
    "-->",
    "<!-- x -->",
    "<ref",
    "<ref>",
    "</ref>",
    "<REF>",
    "</Ref >",
    "</ref\n>",
    "<ref/>",
    "<ref name=a/>",
    "<ref name=x>",
    "<refs>",
    "<references/>",
    "<references>",
    "</references>",
    "<nowiki>",
    "</nowiki>",
    "<nowiki/>",
    "<NoWiki >",
    "<pre>",
    "</pre>",
    "<pre\u3000>",
    "</pre\x85>",
    "<math>",
    "</math>",
    "<math/>",
    "<ce>",
    "</ce>",
    "<score>",
    "</\u017fcore>",
    "<\u017fcore/>",
    "</\u0130nputbox>",
    "</\u0131nputbox>",
    "<maplin\u212a>",
    "</maplin\u212a>",
    "</maplink>",
    "<syntaxhighlight lang=c>",
    "</syntaxhighlight>",
    "<syntaxhighlightx>",
    "<gallery>",
    "</gallery>",
    "<",
    ">",
    "</",
    "/",
    "-",
    "!",
    "x",
    "=",
]
COMMENTS = ["<!--", "-->", "--", "-", ">", "<", "!", "x", "\u2013"]
BRACES = ["{", "}", "{{", "}}", "{{{", "}}}", "{}}", "{{}", "}{", "|", "a", "\n", " "]
TABLE = ["{|", "|}", "\n{|", "\n|}", "\n:{|", "\n :{|", "\n\t|}", "\n:|}", "\n", " ", "\t", ":", "{", "}", "|", "a"]


def markup(alphabet, max_size=60):
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map("".join)


def check_strip(text: str) -> None:
    assert C.strip_comments_and_extension_tags(text) == T._strip_comments_and_extension_tags(text)


def check_templates(text: str) -> None:
    result = C.remove_templates(text)
    assert type(result) is str and result == T._remove_templates(text)


def check_tables(text: str) -> None:
    result = C.remove_tables(text)
    assert type(result) is str and result == T._remove_tables(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(markup(TOKENS + TAGS + WIDE + FOLDING))
def test_strip_comments_and_extension_tags_matches_python(text):
    check_strip(text)


@settings(max_examples=1000, deadline=None, database=None)
@given(markup(COMMENTS, 30))
def test_comments_match_python(text):
    check_strip(text)


@settings(max_examples=1000, deadline=None, database=None)
@given(markup(TAGS + ["\ufdd0", "\U0001f600"]), markup(TAGS + WIDE + FOLDING, 10))
def test_strip_comments_and_extension_tags_matches_python_on_long_text(head, tail):
    """Long texts: the memoised closing-tag searches (one per name) reused from later offsets."""
    check_strip(head * 5 + tail + head)


@settings(max_examples=3000, deadline=None, database=None)
@given(markup(BRACES + TOKENS + WIDE))
def test_remove_templates_matches_python(text):
    check_templates(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(markup(BRACES + WIDE[:6], 120))
def test_remove_templates_matches_python_on_braces(text):
    check_templates(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(markup(TABLE + BRACES + WIDE[:6]))
def test_remove_tables_matches_python(text):
    check_tables(text)


@settings(max_examples=1000, deadline=None, database=None)
@given(markup(TOKENS + TAGS + BRACES + TABLE + WIDE + FOLDING))
def test_compiled_clean_markup_matches_python(text):
    """The cleaner's passes 1-7 with the compiled passes (the wrapper in clean_markup) and without."""
    compiled, python = both(T.clean_markup, text)
    assert compiled == python


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<",
        "<!--",
        "<!-->",
        "<!--->",
        "<!---->",
        "a<!-- b -->c<!-- d",
        "<!--->x",
        "a<!-- b ->c--d-->e",
        "<ref>a</ref>b",
        "<ref>a</ref\t>b</ref>c",
        "<ref>a",
        "<ref>a<ref>b</ref>c",
        "<ref name=a/>b<ref name=b>c</ref>",
        "<ref name=<b>>x</ref>",
        "<ref name=x",
        "</ref>x",
        "x<nowiki/>y",
        "<nowiki>[[a]] {{b}}</nowiki>",
        "<nowiki>\xe9</nowiki>",
        "<nowiki>plain</nowiki>",
        "<pre>x</pre><pre>|</pre>",
        "<nowiki>a<nowiki>b</nowiki>",
        "<math>x</math><math>y",
        "<math>y<math>z</math>",
        "<references>x</references><ref>y</ref>",
        "<syntaxhighlight>x</SYNTAXHIGHLIGHT>",
        "<syntaxhighlightt>x</syntaxhighlightt>",
        "<\u017fcore>x</score>",
        "<\u017fcore/>x",
        "</\u017fcore>x",
        "<score>x</\u017fcore>y",
        "<\u0130nputbox>x",
        "<maplin\u212a>x</maplink>y",
        "<maplink>x</maplin\u212a\u3000>y",
        "\ufdd0<pre>\U0001f600{</pre>",
        "<ref\x85>a</ref>",
    ],
)
def test_strip_comments_and_extension_tags_corner_cases(text):
    check_strip(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<\u0130nputbox>x", "x"),  # unclosed: the opening tag goes alone
        ("<\u0131nputbox>x</inputbox>y", "y"),
        ("<\u017fcore>x</score>y", "y"),
        ("<\u017fcore/>x", "x"),
        ("</\u0130nputbox>x", "x"),
        ("<maplin\u212a>x</maplink>y", "y"),
        ("a <\u0130nputbox> b", "a  b"),
    ],
)
def test_tag_names_with_case_folded_letters(text, expected):
    """A tag named with U+0130, U+0131, U+017F or U+212A matches `_EXT_TAG_RE` (re.I) as the ASCII name: both passes
    treat it as that tag (the Python pass raised KeyError on such an opening tag, looking its closing tag up by
    `name.lower()`)."""
    assert T._strip_comments_and_extension_tags(text) == expected
    assert C.strip_comments_and_extension_tags(text) == expected
    assert T.parse_wikitext(text)[0] == " ".join(expected.split())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{{",
        "}}",
        "{{{",
        "}}}",
        "{{{{",
        "}}}}",
        "{}}",
        "{{}",
        "{{}}}",
        "{{{}}",
        "{{{a}}}",
        "a {{b {{c}} d}} e }} f {{ g",
        "}}{{",
        "{{a}}b}}c",
        "{{a{{b}}",
        "{{\xe9}}\u2013{{\U0001f600}}x",
        "\u2013{{x}}\xe9",
        "\U0001f600{{x}}",
        "x}}\xe9",
    ],
)
def test_remove_templates_corner_cases(text):
    check_templates(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{|",
        "|}",
        "{|}",
        "{||}",
        "a\n{|\nx\n|}\nb",
        "a\n:: {|\nx\n |}b",
        "a\n{|\n{|\nx\n|}\ny\n|}\nz",
        "a\n{|\nx",
        "a\n|}\nb",
        "a\n:|}\nb",
        "a {|\n|}",
        "\t{|x|}",
        "\n{|\xe9\n|}\u2013",
        "\U0001f600\n{|\n|}x",
        "{|\n|}\n{|\n{|\n|}",
    ],
)
def test_remove_tables_corner_cases(text):
    check_tables(text)


def test_real_articles_pass_by_pass():
    """Each pass on each real article (fed the Python output of the passes before), and no fallback."""
    _, articles = _real_articles(EXCERPT)
    _, tables = _real_articles(TABLES)
    for page in articles + tables:
        text = T._sanitize(page.text)
        for compiled, python in [
            (C.strip_comments_and_extension_tags, T._strip_comments_and_extension_tags),
            (C.remove_templates, T._remove_templates),
            (C.remove_tables, T._remove_tables),
        ]:
            expected = python(text)
            assert compiled(text) == expected, (page.title, python.__name__)
            text = expected
