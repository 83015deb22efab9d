"""The compiled wikitext passes (wikiel.sources._wikitext, built by setup.py) give exactly the outputs of the
Python passes they replace: pass by pass on generated markup (hypothesis) and on real articles, and for the
whole cleaner. The Python passes stay the reference (and run where no C compiler built the module)."""

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_wikitext import EXCERPT, TABLES, _real_articles
from test_wikitext_speed_equivalence import TOKENS
from wikiel import defaults
from wikiel.sources import wikitext as T
from wikiel.sources.wikitext import NamespaceInfo, parse_wikitext_columns

try:
    from wikiel.sources import _wikitext as C
except ImportError:  # pragma: no cover - the failure below says what is wrong
    C = None


def test_the_compiled_module_is_built_and_used():
    """setup.py builds it wherever a C compiler exists (CI has one): a build that silently failed would make the
    cleaner several times slower without any other test noticing."""
    assert C is not None, "wikiel.sources._wikitext is missing: `pip install -e .` with a C compiler builds it"
    assert T.COMPILED is C


# Characters the passes treat specially, wide ones included (placeholders, the mark, noncharacters, astral).
SPECIAL = list(" \n\x01ab[]|'=\xe9\u2013\ufdd0\ufdd3\ufde1\ufde2\ufde3\U0001f600")
texts = st.lists(st.sampled_from(TOKENS + SPECIAL), max_size=60).map("".join)


def python_finish(marked: str):
    """The Python tail of `parse_wikitext_columns` that `finish` replaces."""
    clean = T._restore(T._collapse_whitespace(marked))
    pieces = clean.split(T._MARK)
    offsets = [sum(map(len, pieces[: i + 1])) for i in range(len(pieces))]
    return "".join(pieces), offsets[0:-1:2], offsets[1::2], pieces[1::2]


@settings(max_examples=1500, deadline=None, database=None)
@given(texts)
def test_finish_matches_python(marked):
    assert C.finish(marked) == python_finish(marked)


@pytest.mark.parametrize(
    "marked",
    ["", " ", "\n\n", "\x01", "\x01\x01", " a \x01b\x01 ", "a\n \n \nb", "\ufdd0\ufde2\U0001f600  x", "a\x01b"],
)
def test_finish_corner_cases(marked):
    assert C.finish(marked) == python_finish(marked)


def both(function, *args):
    """`function(*args)` with the compiled passes, then with the Python passes alone (the tests of every compiled
    pass compare the two this way)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(T, "COMPILED", C)
        compiled = function(*args)
        patch.setattr(T, "COMPILED", None)
        python = function(*args)
    return compiled, python


@settings(max_examples=500, deadline=None, database=None)
@given(texts, st.booleans())
def test_whole_cleaner_matches_python(wikitext, first_letter_case):
    for namespaces in (NamespaceInfo.from_siteinfo({}), NamespaceInfo.from_siteinfo({6: "Datei"}, "de")):
        compiled, python = both(parse_wikitext_columns, wikitext, namespaces, first_letter_case)
        assert compiled == python


def test_real_articles_match_python():
    namespaces, articles = _real_articles(EXCERPT)
    _, tables = _real_articles(TABLES)
    for page in articles + tables:
        compiled, python = both(parse_wikitext_columns, page.text, namespaces, True)
        assert compiled == python, page.title


def test_pure_python_switch():
    """WIKIEL_PURE_PYTHON (defaults.PURE_PYTHON_ENV) makes the cleaner run its Python passes alone."""
    code = "from wikiel.sources import wikitext; print(wikitext.COMPILED is None, wikitext._compiled_module is None)"
    for value, expected in (("1", "True False"), ("", "False False")):
        env = {**os.environ, defaults.PURE_PYTHON_ENV: value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == expected.split()


ENTITY_TOKENS = [
    *"&#xX;09aFgZ \u2013\U0001f600",
    "&amp;",
    "&nbsp;",
    "&#91;",
    "&#x5B;",
    "&#X5b;",
    "&notit;",
    "&ndash;",
    "&#1234567;",
    "&#12345678;",
    "&#x10FFFF;",
    "&#x1234567;",
    "&#0;",
    "&#x110000;",
    "&lt",
    "&" + "a" * 31 + ";",
    "&" + "a" * 32 + ";",
    "&a;",
    "&amp;amp;",
]


def python_unescape(text: str) -> str:
    return T._unescape_entities(text)


@settings(max_examples=1500, deadline=None, database=None)
@given(st.lists(st.sampled_from(ENTITY_TOKENS + TOKENS), max_size=40).map("".join))
def test_unescape_entities_matches_python(text):
    assert C.unescape_entities(text, T._entity, {}) == python_unescape(text)
    assert C.unescape_entities(text, T._entity, T._ENTITY_CACHE) == python_unescape(text)


def test_unescape_entities_cache_and_errors():
    cache: dict = {}
    assert C.unescape_entities("a &amp; b &amp;", T._entity, cache) == T._unescape_entities("a &amp; b &amp;")
    assert cache == {"&amp;": T._entity("&amp;")}
    for i in range(5000):  # bounded: cleared when full
        C.unescape_entities(f"&#{i};", T._entity, cache)
    assert len(cache) <= 4096
    with pytest.raises(TypeError):
        C.unescape_entities("&amp;", lambda entity: 1, {})
    with pytest.raises(ZeroDivisionError):
        C.unescape_entities("&amp;", lambda entity: 1 / 0, {})
