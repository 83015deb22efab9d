"""Fast wikitext cleaner and article-link extractor.

`parse_wikitext` turns the wikitext of one article into plain text plus the article links in it, such that
`clean[link.start:link.end] == link.anchor` always holds. It is a chain of linear-time passes (regular
expressions without nested quantifiers plus small bracket-matching loops), not a full MediaWiki parser:

1. comments and extension tags (`<ref>`, `<math>`, `<gallery>` ... removed; `<nowiki>`/`<pre>` kept literally),
2. templates and parser functions `{{...}}`, 3. tables `{| ... |}`, 4. HTML tags (content kept),
5. entities, 6. line markup (headings, lists, rules, magic words, bold/italic), 7. external links,
8. internal links, 9. whitespace normalisation. Article-link anchors are bracketed by a mark character during
   8 and 9 (whitespace never touches a mark), so offsets come from one split at the end; the older offset-map
   version (`_extract_links`, `_normalize_whitespace`) remains for texts holding the mark.

Most passes find their candidates with `str.find` of one rare character (much faster than the regex engine's
scan or a two-character search), and regexes avoid backtracking where it cannot change a match.

Characters that must survive as literal text (nowiki content, decoded entities such as `&#91;`) are swapped for
placeholders (Unicode noncharacters U+FDD0.., which never occur in real text) until the end, so later passes
never mistake them for markup.
"""

from __future__ import annotations

import functools
import html
import itertools
import os
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Dict, FrozenSet, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

from wikiel import defaults
from wikiel.sources import languages
from wikiel.util import normalize_title

_compiled_module: Optional[ModuleType]
try:  # the compiled passes (setup.py; optional): the same outputs as the Python ones, several times faster
    from wikiel.sources import _wikitext as _compiled_module
except ImportError:  # built without a C compiler
    _compiled_module = None

# The compiled module the cleaner uses, None for the Python passes alone (with WIKIEL_PURE_PYTHON=1 set, or
# without the module); read at each call, so tests can switch it.
COMPILED = None if os.environ.get(defaults.PURE_PYTHON_ENV) else _compiled_module


class Link(NamedTuple):
    """An article link: `clean[start:end] == anchor`; `target` is the normalised page title."""

    start: int
    end: int
    target: str
    anchor: str


# --- namespaces and link classification -------------------------------------------------------------------

ARTICLE, TEXT, HIDDEN = "article", "text", "hidden"
FILE_NS, CATEGORY_NS = 6, 14

# Canonical (English) namespace names work on every wiki, next to the localized ones from <siteinfo>.
CANONICAL_NAMESPACES: Dict[int, str] = {
    -2: "Media",
    -1: "Special",
    1: "Talk",
    2: "User",
    3: "User talk",
    4: "Project",
    5: "Project talk",
    6: "File",
    7: "File talk",
    8: "MediaWiki",
    9: "MediaWiki talk",
    10: "Template",
    11: "Template talk",
    12: "Help",
    13: "Help talk",
    14: "Category",
    15: "Category talk",
    100: "Portal",
    101: "Portal talk",
    108: "Book",
    109: "Book talk",
    118: "Draft",
    119: "Draft talk",
    710: "TimedText",
    711: "TimedText talk",
    828: "Module",
    829: "Module talk",
}
# Namespace aliases are not part of the dump; these are the common ones (name -> namespace key).
NAMESPACE_ALIASES: Dict[str, Dict[str, int]] = {
    "*": {"Image": 6, "Image talk": 7},
    "en": {"WP": 4, "WT": 5, "Wikipedia": 4, "Wikipedia talk": 5, "TM": 10},
    "de": {"Bild": 6, "WP": 4},
    "es": {"Imagen": 6, "WP": 4},
    "fr": {"WP": 4},
    "it": {"Immagine": 6, "WP": 4},
    "nl": {"Afbeelding": 6, "WP": 4},
    "pt": {"Imagem": 6, "WP": 4},
    "sv": {"Bild": 6, "WP": 4},
}
# Interwiki prefixes (other projects and external sites) that are not language codes; shown as text.
INTERWIKI_PREFIXES: FrozenSet[str] = frozenset(
    """
w wikipedia wikt wiktionary b wikibooks q wikiquote s wikisource n wikinews v wikiversity voy wikivoyage
species wikispecies commons c d wikidata m meta metawikimedia metawikipedia mw mediawikiwiki foundation wmf
incubator outreach wikitech phab phabricator bugzilla mediazilla gerrit rev testwiki labs wikimania
doi hdl rfc arxiv google googlegroups imdbname imdbtitle imdbcompany iarchive archive oeis pmid issn
translatewiki betawiki sourceforge github gutenberg lyricwiki memoryalpha wikia wikihow
""".split()
)
# Language-code prefixes the 2-3 letter rule misses.
EXTRA_LANGUAGE_CODES: FrozenSet[str] = frozenset({"simple", "be-x-old", "zh-min-nan", "zh-classical"})
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2,3}(?:-[a-z]{2,8})*")


def _name_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@dataclass(frozen=True)
class NamespaceInfo:
    """What a link prefix means on one wiki: namespace names and aliases (lower-cased) and the link trail."""

    names: Mapping[str, int] = field(default_factory=dict)
    interwiki: FrozenSet[str] = INTERWIKI_PREFIXES
    link_trail: str = field(default_factory=lambda: languages.link_trail("en"))  # letters glued on: `[[bus]]es`

    @classmethod
    def from_siteinfo(cls, namespaces: Mapping[int, str], lang: str = defaults.LANG) -> NamespaceInfo:
        """Build from the `<siteinfo>` namespaces (key -> localized name) plus canonical names and aliases."""
        names: Dict[str, int] = {}
        for key, name in [*CANONICAL_NAMESPACES.items(), *namespaces.items()]:
            if name and int(key) != 0:
                names[_name_key(name)] = int(key)
        for alias, key in [*NAMESPACE_ALIASES["*"].items(), *NAMESPACE_ALIASES.get(lang, {}).items()]:
            names[_name_key(alias)] = key
        return cls(names=names, link_trail=languages.link_trail(lang))

    def classify(self, target: str) -> str:
        """ARTICLE (a link to a main-namespace page), TEXT (keep the display text, no link: other namespaces,
        interwiki, same-page sections, `[[:Category:X]]`) or HIDDEN (drop it and its text: files,
        categories, interlanguage links) for a link target as written."""
        if ":" not in target:
            target = target.lstrip()
            return TEXT if not target or target[0] == "#" else ARTICLE
        target = target.strip()
        colon = target.startswith(":")
        if colon:
            target = target[1:].lstrip()
        if not target or target.startswith("#"):
            return TEXT
        prefix, sep, _ = target.partition(":")
        if not sep:
            return ARTICLE
        key = _name_key(prefix)
        ns = self.names.get(key)
        if ns is not None:
            return HIDDEN if ns in (FILE_NS, CATEGORY_NS) and not colon else TEXT
        if key in self.interwiki:
            return TEXT
        if LANGUAGE_CODE_RE.fullmatch(prefix.strip()) or key in EXTRA_LANGUAGE_CODES:
            return TEXT if colon else HIDDEN
        return ARTICLE


DEFAULT_NAMESPACES = NamespaceInfo.from_siteinfo({}, "en")


# --- placeholders for literal text -------------------------------------------------------------------------

_PROTECTED = "[]{}|<>'=*#:;!&-_~"
_PLACEHOLDER_BASE = 0xFDD0
_PROTECT = str.maketrans({c: chr(_PLACEHOLDER_BASE + i) for i, c in enumerate(_PROTECTED)})
_RESTORE = {chr(_PLACEHOLDER_BASE + i): c for i, c in enumerate(_PROTECTED)}
_BREAK = chr(_PLACEHOLDER_BASE + len(_PROTECTED))  # `<nowiki/>`: stops a link trail, then vanishes


def _protect(text: str) -> str:
    return text.translate(_PROTECT)


def _restore(text: str) -> str:
    """Placeholders back to the characters they stand for (a no-op, and O(1), on ASCII text)."""
    if text.isascii():
        return text
    for placeholder, char in _RESTORE.items():
        if placeholder in text:
            text = text.replace(placeholder, char)
    return text


# --- pass 1: comments and extension tags ------------------------------------------------------------------

_LITERAL_TAGS = ("nowiki", "pre")
_REMOVED_TAGS = (
    "ref",
    "references",
    "math",
    "chem",
    "ce",
    "gallery",
    "timeline",
    "score",
    "syntaxhighlight",
    "source",
    "graph",
    "imagemap",
    "hiero",
    "templatedata",
    "templatestyles",
    "mapframe",
    "maplink",
    "inputbox",
    "categorytree",
    "indicator",
    "section",
    "includeonly",
    "charinsert",
    "langconvert",
    "phonos",
)
# A tag ends at its first ">" (self-closing if "/" precedes it); "ref" first, as by far the most common.
_EXT_TAG_RE = re.compile(
    r"<(?:!--|(/?)("
    + "|".join(sorted(_LITERAL_TAGS + _REMOVED_TAGS, key=lambda name: name != "ref"))
    + r")(?=[\s/>])[^<>]*>)",
    re.I,
)
# re.I matches these to ASCII letters of the names (and `str.lower` would not turn them into those letters)
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_CLOSE_TAG_RE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _LITERAL_TAGS + _REMOVED_TAGS}


def _strip_comments_and_extension_tags(text: str) -> str:
    """Remove comments and opaque extension tags with their content; keep nowiki/pre content literally."""
    if "<" not in text:
        return text
    out: List[str] = []
    append = out.append
    search = _EXT_TAG_RE.search
    kept = pos = 0  # text[kept:start of the next tag] is kept
    no_close_from: Dict[str, int] = {}  # tag name -> offset after which no closing tag exists
    while True:
        m = search(text, pos)
        if m is None:
            break
        start, pos = m.span()
        append(text[kept:start])
        kept = pos
        closing, name = m.groups()
        if name is None:  # comment
            end = text.find("-->", pos)
            kept = pos = len(text) if end < 0 else end + 3
            continue
        if closing:
            continue  # stray closing tag
        name = name.translate(_ASCII_FOLD).lower()  # the tag's name as listed
        if text[pos - 2] == "/":  # self-closing
            if name == "nowiki":
                append(_BREAK)
            continue
        if no_close_from.get(name, len(text) + 1) > pos:
            close = _CLOSE_TAG_RE[name].search(text, pos)
            if close is None:
                no_close_from[name] = pos
                continue  # unclosed: drop the opening tag, keep what follows
            if name in _LITERAL_TAGS:
                append(_protect(text[pos : close.start()]))
            kept = pos = close.end()
    append(text[kept:])
    return "".join(out)


# --- passes 2 and 3: templates and tables -----------------------------------------------------------------

# Balanced open/close token pairs are removed with everything between them (outermost pairs), and stray
# closers too. Tokens are found left to right without overlaps, as one regex alternation would find them.


def _outermost_spans(tokens: List[Tuple[int, int, bool]]) -> Tuple[List[Tuple[int, int]], List[int]]:
    """(start, end, is_closer) tokens in order -> spans to remove (pairs, by the outermost ones, and stray
    closers), in order, and the starts of the unclosed openers."""
    stack: List[int] = []
    spans: List[Tuple[int, int]] = []
    for start, end, closer in tokens:
        if not closer:
            stack.append(start)
            continue
        if stack:
            start = stack.pop()
        while spans and spans[-1][0] >= start:
            spans.pop()  # nested inside this pair
        spans.append((start, end))
    return spans, stack


def _cut(text: str, spans: List[Tuple[int, int]]) -> str:
    """Remove sorted spans (one starting inside an earlier one is part of it)."""
    out: List[str] = []
    pos = 0
    for start, end in spans:
        if start >= pos:
            out.append(text[pos:start])
            pos = end
    out.append(text[pos:])
    return "".join(out)


def _remove_templates(text: str) -> str:
    """Remove `{{...}}` (nested); an unclosed `{{` is dropped alone. Tokens `{{` and `}}` (which never overlap
    each other) are found by searching single braces, much faster than a regex or a two-character search;
    they are encoded as 2 * offset (+1 for `}}`) and merged by sorting."""
    if "{" not in text or "{{" not in text:
        return text.replace("}}", "") if "}" in text else text
    tokens: List[int] = []
    add = tokens.append
    find = text.find
    for brace, closer in (("{", 0), ("}", 1)):
        i = find(brace)
        while i >= 0:
            if text[i + 1 : i + 2] == brace:
                add(2 * i + closer)
                i = find(brace, i + 2)
            else:
                i = find(brace, i + 1)
    tokens.sort()
    # `_outermost_spans`, inlined for these many tokens
    stack: List[int] = []
    spans: List[Tuple[int, int]] = []
    for token in tokens:
        if not token & 1:
            stack.append(token >> 1)
            continue
        end = (token >> 1) + 2
        start = stack.pop() if stack else end - 2
        while spans and spans[-1][0] >= start:
            spans.pop()
        spans.append((start, end))
    if stack:
        spans.extend([(start, start + 2) for start in stack])
        spans.sort()
    return _cut(text, spans)


def _find_pairs(text: str, char: str, other: str, after: bool) -> Iterator[int]:
    """Offsets of the two-character string `char + other` (or `other + char`), searching `char` alone: much
    faster than a two-character search when `char` is rare."""
    find = text.find
    i = find(char)
    while i >= 0:
        if after:
            if text[i + 1 : i + 2] == other:
                yield i
        elif i and text[i - 1] == other:
            yield i - 1
        i = find(char, i + 1)


def _remove_tables(text: str) -> str:
    """Remove `{| ... |}` tables (nested); like MediaWiki, an unclosed table runs to the end of the text.
    Tokens are `{|` after only spaces, tabs and colons on its line, and `|}` after only spaces and tabs; a span
    starts at the token's line start (the line break before it stays). Each line holds at most one token."""
    if "{" not in text and "}" not in text:
        return text
    tokens: List[Tuple[int, int, bool]] = []
    for i, indent, closer in [
        *((i, " \t:", False) for i in _find_pairs(text, "{", "|", True)),
        *((i, " \t", True) for i in _find_pairs(text, "}", "|", False)),
    ]:
        start = i
        while start and text[start - 1] in indent:
            start -= 1
        if not start or text[start - 1] == "\n":
            tokens.append((start, i + 2, closer))
    if not tokens:
        return text
    tokens.sort()
    spans, unclosed = _outermost_spans(tokens)
    if unclosed:
        spans.append((unclosed[0], len(text)))
        spans.sort()
    return _cut(text, spans)


# --- pass 4: HTML tags ----------------------------------------------------------------------------------

_BLOCK_TAGS = (
    "br",
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "table",
    "hr",
    "blockquote",
    "center",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "caption",
    "poem",
)
_INLINE_TAGS = (
    "b",
    "i",
    "u",
    "s",
    "em",
    "strong",
    "big",
    "small",
    "sub",
    "sup",
    "span",
    "font",
    "cite",
    "code",
    "tt",
    "var",
    "kbd",
    "samp",
    "abbr",
    "dfn",
    "del",
    "ins",
    "strike",
    "q",
    "mark",
    "bdi",
    "bdo",
    "ruby",
    "rb",
    "rp",
    "rt",
    "rtc",
    "time",
    "data",
    "wbr",
    "td",
    "th",
    "noinclude",
    "onlyinclude",
    "meta",
    "link",
)
_COMMON_HTML_TAGS = ("br", "sub", "sup", "small", "code", "span", "blockquote", "div")  # tried first
_HTML_TAG_RE = re.compile(
    r"<(/?)("
    + "|".join(sorted(_BLOCK_TAGS + _INLINE_TAGS, key=lambda name: name not in _COMMON_HTML_TAGS))
    + r")(?=[\s/>])[^<>]*>",
    re.I,
)
_BLOCK_TAG_SET = frozenset(_BLOCK_TAGS)


def _replace_matches(
    text: str, char: str, pattern: re.Pattern[str], replacement: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub(replacement, text)` for a pattern whose matches start with `char`: candidates are found
    with `str.find`, much faster than the regex engine's scan when `char` is rare."""
    out: List[str] = []
    pos = 0
    find = text.find
    match = pattern.match
    i = find(char)
    while i >= 0:
        m = match(text, i)
        if m is None:
            i = find(char, i + 1)
            continue
        out.append(text[pos:i])
        out.append(replacement(m))
        pos = m.end()
        i = find(char, pos)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _html_tag(m: re.Match[str]) -> str:
    return "\n" if m.group(2).lower() in _BLOCK_TAG_SET else ""


def _strip_html_tags(text: str) -> str:
    """Drop known HTML tags, keeping their content; block-level tags become line breaks."""
    return _replace_matches(text, "<", _HTML_TAG_RE, _html_tag)


# --- pass 5: entities -----------------------------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_SPACE_ENTITIES = frozenset("\xa0\u2002\u2003\u2009\u202f\n\t\r")


def _entity(m: Union[re.Match[str], str]) -> str:
    """The replacement of an `_ENTITY_RE` match (or of its text, for the compiled pass)."""
    value = html.unescape(m if isinstance(m, str) else m.group())
    return " " if value in _SPACE_ENTITIES else _protect(value)


_ENTITY_CACHE: Dict[str, str] = {}  # entity -> `_entity`'s replacement, for the compiled pass


def _unescape_entities(text: str) -> str:
    return _replace_matches(text, "&", _ENTITY_RE, _entity)


# --- pass 6: line markup --------------------------------------------------------------------------------

# Line-start patterns are anchored on "\n" (searched much faster than "^" with re.M); a heading runs to a line
# break or the end. `_strip_line_markup` applies them in one pass as `_HEADING_RE` then `_LINE_PREFIX_RE` would
# (on "\n" + text + "\n").
_LINE_PREFIX = r"(?:[*#:;]+|-{4,})[ \t]*"
_HEADING_RE = re.compile(r"\n(={1,6})([^\n]+?)\1[ \t]*(?=\n|\Z)")
_LINE_PREFIX_RE = re.compile(r"\n" + _LINE_PREFIX)
# The same matches as `_HEADING_RE.pattern + "|" + _LINE_PREFIX_RE.pattern`, with the line break factored out and a
# lookahead for the characters either alternative starts with: most lines start with neither, and are rejected at
# once (a third faster on real pages).
_LINE_MARKUP_RE = re.compile(r"\n(?=[=*#:;-])(?:" + _HEADING_RE.pattern[len(r"\n") :] + "|" + _LINE_PREFIX + ")")
_LINE_PREFIX_START_RE = re.compile(_LINE_PREFIX)
_MAGIC_WORD_RE = re.compile(r"__[A-Z]{2,30}__")
_QUOTE_RUNS_RE = re.compile("(''+)")


def _line_markup(m: re.Match[str]) -> str:
    """A heading becomes its own paragraph (without a list prefix, as `_LINE_PREFIX_RE` would remove it from
    the line it starts); a list prefix goes."""
    if m.group(1) is None:
        return "\n"
    title = m.group(2).strip(" \t=")
    prefix = _LINE_PREFIX_START_RE.match(title)
    return "\n\n" + (title[prefix.end() :] if prefix else title) + "\n"


def _strip_line_markup(text: str) -> str:
    """Headings become their own paragraph; list/indent prefixes, rules, magic words, bold/italic go."""
    if text[:1] in ("=", "*", "#", ":", ";", "-"):  # the first line may hold markup too
        text = _LINE_MARKUP_RE.sub(_line_markup, "\n" + text)[1:]
    else:
        text = _LINE_MARKUP_RE.sub(_line_markup, text)
    if next(_find_pairs(text, "_", "_", True), -1) >= 0:
        text = _MAGIC_WORD_RE.sub("", text)
    if "'" in text and "''" in text:
        text = _strip_quotes(text)
    return text


def _strip_quotes(text: str) -> str:
    """Remove bold/italic apostrophe runs, line by line, balancing them like MediaWiki's doQuotes
    (`''[[The Times]]'''s` keeps the possessive apostrophe). One split of the whole text: parts alternate text
    and runs; a line's runs are those between text parts holding no line break. A line whose runs are all
    `''`, `'''` or `'''''` and need no rebalancing just loses them; the others go to `_balance_quotes`."""
    parts = _QUOTE_RUNS_RE.split(text)
    last = len(parts) - 1
    first = 1
    while first < last:
        end = first
        while end + 2 < last and "\n" not in parts[end + 1]:
            end += 2
        runs = parts[first : end + 1 : 2]
        n2, n3, n5 = runs.count("''"), runs.count("'''"), runs.count("'''''")
        if n2 + n3 + n5 != len(runs) or (n3 + n5) & 1 and (n2 + n5) & 1:
            _balance_quotes(parts, first, end)
        first = end + 2
    return "".join(parts[0::2])


def _balance_quotes(parts: List[str], first: int, last: int) -> None:
    """doQuotes on one line's runs `parts[first:last + 1:2]`, in place: a run of 4 is an apostrophe and bold, of
    more than 5 apostrophes and bold italic; if both bold and italic are left open, one bold run becomes an
    apostrophe and italic (after a one-letter word, else after a longer word, else after a space). The text
    before the first run may hold earlier lines. The runs are dropped by the caller."""
    bold = italic = 0
    for i in range(first, last + 1, 2):
        n = len(parts[i])
        if n == 4:
            parts[i - 1] += "'"
            n = 3
        elif n > 5:
            parts[i - 1] += "'" * (n - 5)
            n = 5
        parts[i] = "'" * n
        bold += n != 2
        italic += n != 3
    if bold % 2 and italic % 2:
        single = multi = space = None
        for i in range(first, last + 1, 2):
            if len(parts[i]) != 3:
                continue
            before = parts[i - 1] if i != first else parts[i - 1].rpartition("\n")[2]
            if before[-1:] == " ":
                space = space or i
            elif before[-2:-1] == " ":
                single = i
                break
            elif multi is None:
                multi = i
        chosen = single or multi or space
        if chosen:
            parts[chosen - 1] += "'"


# --- pass 7: external links -----------------------------------------------------------------------------

_URL_SCHEMES = (
    "https?:",
    "ftps?:",
    "sftp:",
    "//",
    "mailto:",
    "news:",
    "nntp:",
    "irc:",
    "ircs:",
    "gopher:",
    "git:",
    "svn:",
    "telnet:",
    "urn:",
    "worldwind:",
    "xmpp:",
    "sips?:",
    "sms:",
    "ssh:",
    "tel:",
    "mms:",
    "magnet:",
    "geo:",
    "bitcoin:",
)
# The lookahead (implied by every scheme) rejects most `[` quickly: it is case-sensitive, so it lists the letters
# that re.I lets match an ASCII letter (dotted/dotless i, long s, Kelvin sign).
_URL_SCHEME_LOOKAHEAD = r"(?-i:(?=[a-zA-Z\u0130\u0131\u017f\u212a]{2,9}+:|//))"
_EXT_LINK_RE = re.compile(
    r"\[" + _URL_SCHEME_LOOKAHEAD + "(?:" + "|".join(_URL_SCHEMES) + r")[^\s\[\]<>\"]*(?:[ \t]+([^\[\]\n]*))?\]", re.I
)


def _replace_external_links(text: str) -> str:
    """`[http://x label]` -> `label`; a bare `[http://x]` is removed."""
    if "[" not in text:
        return text
    return _EXT_LINK_RE.sub(lambda m: m.group(1) or "", text)


# --- pass 8: internal links -----------------------------------------------------------------------------

_LINK_TARGET = r"[^\[\]{}|\n]*"
_LINK_LABEL = r"[^\[\]]*(?:(?:\[(?!\[)|\](?!\]))[^\[\]]*)*"  # no `[[` or `]]`
_LINK_RE = re.compile(r"\[\[(" + _LINK_TARGET + r")(?:\|(" + _LINK_LABEL + r"))?\]\]")
# A file link whose caption holds (un-nested) links; deeper nesting falls back to `_matching_close`.
_CAPTIONED_LINK_RE = re.compile(r"\[\[([^\[\]{}|\n]*)\|[^\[\]]*(?:(?:\[(?!\[)|\](?!\])|\[\[[^\[\]]*\]\])[^\[\]]*)*\]\]")
_CAPTION_START_RE = re.compile(r"\[\[([^\[\]{}|\n]*)\|")
_LINK_TOKEN_RE = re.compile(r"\[\[|\]\]")
_PARENTHETICAL_RE = re.compile(r"\s*\([^()]*\)\s*$")


def _pipe_trick(target: str) -> str:
    """The display text of `[[target|]]`: no namespace, no trailing `(...)`, else nothing after a comma."""
    target = target.strip().lstrip(":")
    if ":" in target:
        target = target.split(":", 1)[1]
    stripped = _PARENTHETICAL_RE.sub("", target)
    return stripped if stripped != target else target.split(",", 1)[0]


def _display_text(target: str, label: Optional[str]) -> str:
    """The shown text: the label, the pipe trick for `[[T|]]`, else the target as written."""
    if label:
        return label
    if label == "":
        return _pipe_trick(target)
    target = target.strip().lstrip(":").lstrip()
    return target[1:] if target.startswith("#") else target


_TITLE_CACHES: Dict[bool, Dict[str, str]] = {False: {}, True: {}}  # link target as written -> title
_TITLE_CACHE_SIZE = 1 << 16


def _link_title(target: str, first_letter_case: bool) -> str:
    cache = _TITLE_CACHES[bool(first_letter_case)]
    title = cache.get(target)
    if title is None:
        if len(cache) >= _TITLE_CACHE_SIZE:
            cache.clear()
        if (
            target.isprintable()
            and target[:1] not in ("", " ", ":")
            and target[-1] != " "
            and "  " not in target
            and "#" not in target
            and "_" not in target
        ):
            # already normal: printable, so no whitespace but single inner spaces, and no placeholders
            title = target[0].upper() + target[1:] if first_letter_case else target
        else:
            title = _restore(normalize_title(target, first_letter_case).replace(_BREAK, ""))
        cache[target] = title
    return title


def _matching_close(text: str) -> Dict[int, int]:
    """Offsets of each `[[` -> end of its matching `]]`."""
    stack: List[int] = []
    pairs: Dict[int, int] = {}
    for m in _LINK_TOKEN_RE.finditer(text):
        if m.group() == "[[":
            stack.append(m.start())
        elif stack:
            pairs[stack.pop()] = m.end()
    return pairs


def _extract_links(text: str, ns: NamespaceInfo, first_letter_case: bool) -> Tuple[str, List[Tuple[int, int, str]]]:
    """Replace internal links by their display text: returns the text and (start, end, title) of article links.
    Stray `[[`/`]]` are dropped; file/category/interlanguage links vanish with their captions."""
    parts: List[str] = []
    spans: List[Tuple[int, int, str]] = []
    length = pos = 0
    trail_re = re.compile(ns.link_trail)
    has_break = _BREAK in text
    pairs: Optional[Dict[int, int]] = None  # bracket matching, computed once a caption defeats the regex

    def emit(piece: str) -> None:
        nonlocal length
        if "]]" in piece:
            piece = piece.replace("]]", "")
        if has_break and _BREAK in piece:
            piece = piece.replace(_BREAK, "")
        parts.append(piece)
        length += len(piece)

    while True:
        i = text.find("[[", pos)
        if i < 0:
            break
        while text.startswith("[", i + 2):  # `[[[T]]]`: the first bracket is literal
            i += 1
        emit(text[pos:i])
        m = _LINK_RE.match(text, i)
        if m is None:  # a stray `[[`, or a file link with links in its caption: skip the latter whole
            pos = i + 2
            opening = _CAPTION_START_RE.match(text, i)
            if opening and ns.classify(opening.group(1)) == HIDDEN:
                captioned = _CAPTIONED_LINK_RE.match(text, i) if pairs is None else None
                if captioned:
                    pos = captioned.end()
                else:
                    if pairs is None:
                        pairs = _matching_close(text)
                    pos = pairs.get(i, pos)
            continue
        target, label = m.groups()
        pos = m.end()
        kind = ns.classify(target)
        if kind == HIDDEN:
            continue
        display = _display_text(target, label)
        trail = trail_re.match(text, pos)
        if trail:
            display += trail.group()
            pos = trail.end()
        if "\n" in display:
            display = display.replace("\n", " ")
        if has_break and _BREAK in display:
            display = display.replace(_BREAK, "")
        core = display.strip()
        title = _link_title(target, first_letter_case) if kind == ARTICLE and core else ""
        if title:
            start = length + display.find(core)
            spans.append((start, start + len(core), title))
        parts.append(display)
        length += len(display)
    emit(text[pos:])
    return "".join(parts), spans


_CAPTION_BODY_RE = re.compile(_CAPTION_START_RE.pattern[len(r"\[\[") :])  # on the text after a stray `[[`
# Brackets each article link's anchor in `_mark_links`: U+0001 is not allowed in XML, so never occurs in dumps
# (else `_extract_links` is used), and, unlike NUL, is searched fast in wide strings.
_MARK = "\x01"


@functools.lru_cache(maxsize=64)
def _link_scanner(link_trail: str) -> Optional[re.Pattern[str]]:
    """One search for the next `[[` (the last of a run of brackets) with `_LINK_RE` and the link trail, if
    they match: groups (target, label, trail; label None without `|`, trail "" if none), all None for a stray
    `[[`. None if the trail does not embed. Written for speed, with the same matches: "(?:x|)" instead of
    "(?:x)?", and no backtracking into the target or the label (a shorter one never lets `|` or `]]` follow)."""
    try:
        return re.compile(
            r"\[\[(?!\[)(?:(" + _LINK_TARGET + r"+)(?:\|((?>" + _LINK_LABEL + r"))|)\]\]((?:" + link_trail + r")|)|)"
        )
    except re.error:
        return None


def _mark_links(
    text: str, ns: NamespaceInfo, first_letter_case: bool, scanner: re.Pattern[str], mark: str
) -> Optional[Tuple[str, List[str]]]:
    """`_extract_links`, but bracketing each article link's anchor with `mark` instead of tracking offsets (the
    whitespace pass then needs no offset map): returns the text and the titles of the marked links, in order.

    One `scanner.split` cuts the text into rows (a link's groups, or a stray `[[`, and the text after it).
    Offsets are only computed for a file link whose caption holds links, which is skipped whole: the rows up to
    its end are dropped. None if that end falls inside a link or a stray (which never happens, see
    `_matching_close`: the caller then uses `_extract_links`)."""
    out: List[str] = []
    titles: List[str] = []
    append = out.append
    classify = ns.classify
    title_cache = _TITLE_CACHES[bool(first_letter_case)]
    has_break = _BREAK in text
    pairs: Optional[Dict[int, int]] = None
    parts = scanner.split(text)
    gap = parts[0]  # the text after the previous row, emitted once the next row may no longer change it
    anchor, anchor_offset = 0, 0  # the text of row `anchor` (0: before the first link) starts at that offset
    column = iter(parts[1:])
    rows = zip(itertools.count(1), column, column, column, column)  # row m: target, label, trail, text after
    for m, target, label, trail, next_gap in rows:
        if "]" in gap and "]]" in gap:  # (a one-character search is much faster)
            gap = gap.replace("]]", "")
        if has_break and _BREAK in gap:
            gap = gap.replace(_BREAK, "")
        append(gap)
        gap = next_gap
        if target is None:  # a stray `[[`, or a file link with links in its caption: skip the latter whole
            opening = _CAPTION_BODY_RE.match(gap)
            if not opening or classify(opening.group(1)) != HIDDEN:
                continue
            # its offset: the anchor's, plus the rows in between: their groups, and `[[`, `]]`, `|` for
            # each link (`[[` for each stray)
            n = m - 1 - anchor
            i = (
                anchor_offset
                + sum(map(len, filter(None, parts[4 * anchor : 4 * m - 3])))
                + 4 * n
                - 2 * parts[4 * anchor + 1 : 4 * m - 4 : 4].count(None)
                + n
                - parts[4 * anchor + 2 : 4 * m - 4 : 4].count(None)
            )
            captioned = _CAPTIONED_LINK_RE.match(text, i) if pairs is None else None
            if captioned:
                end = captioned.end()
            else:
                if pairs is None:
                    pairs = _matching_close(text)
                end = pairs.get(i, i + 2)
            offset = i + 2  # of `gap`
            while end > offset + len(gap):  # drop the rows before the end
                row = next(rows, None)
                if row is None:
                    return None
                m, row_target, row_label, row_trail, next_gap = row
                offset += len(gap)
                if row_target is None:
                    offset += 2
                else:
                    offset += (
                        4
                        + len(row_target)
                        + (0 if row_label is None else len(row_label) + 1)
                        + (len(row_trail) if row_trail else 0)
                    )
                if end < offset:
                    return None
                gap = next_gap
            anchor, anchor_offset = m, offset
            gap = gap[end - offset :]
            continue
        if label is None and not trail and not has_break and ":" not in target:  # `[[target]]`: the fast path
            display = target.strip()
            if not display or display[0] == "#":
                append(display[1:])
                continue
            title = title_cache.get(target)
            if title is None:
                title = _link_title(target, first_letter_case)
            if title:
                titles.append(title)
                out += (mark, display, mark)
            else:
                append(display)
            continue
        if ":" in target:
            kind = classify(target)
            if kind == HIDDEN:  # vanishes; a trail stays as text
                if trail:
                    gap = trail + gap
                continue
            article = kind == ARTICLE
            display = _display_text(target, label)
        else:  # `classify` and `_display_text` for the common case
            stripped = target.strip()
            article = stripped != "" and stripped[0] != "#"
            if label:
                display = label
            elif label is None:
                display = stripped if article else stripped[1:]
            else:
                display = _pipe_trick(target)
        if trail:
            display += trail
        if "\n" in display:
            display = display.replace("\n", " ")
        if has_break and _BREAK in display:
            display = display.replace(_BREAK, "")
        if article:
            core = display.strip()
            if core:
                title = title_cache.get(target)
                if title is None:
                    title = _link_title(target, first_letter_case)
                if title:
                    titles.append(title)
                    if len(core) == len(display):
                        out += (mark, display, mark)
                    else:
                        start = display.find(core)
                        out += (display[:start], mark, core, mark, display[start + len(core) :])
                    continue
        append(display)
    if "]" in gap and "]]" in gap:
        gap = gap.replace("]]", "")
    if has_break and _BREAK in gap:
        gap = gap.replace(_BREAK, "")
    append(gap)
    return "".join(out), titles


def _trail_class_body(pattern: str, start: int, end: int) -> Optional[str]:
    """The body of the character class `pattern[start - 1:end + 1]` (`[body]`) if it is one class: no unescaped
    `]` before `end`."""
    i = start
    while i < end:
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "]":
            return None
        else:
            i += 1
    return pattern[start:end] if i == end and pattern[start - 1] == "[" and pattern[end] == "]" else None


@functools.lru_cache(maxsize=64)
def _compiled_trail(link_trail: str) -> Optional[Tuple[int, Optional[bytes], Optional[re.Pattern[str]]]]:
    """The link trail as `mark_links` (the compiled pass) takes it: (kind, table, pattern). Kind 0: no trail
    (""); 1: a run of a class (`[...]+`); 2: a run of a class or of apostrophes not followed by another
    (`(?:[...]|'(?!'))+`, Catalan's). The table holds 1 for each code point of the BMP in the class; the
    compiled trail matches wherever the run reaches an astral character. None for another trail (the Python
    pass then runs)."""
    if not link_trail:
        return 0, None, None
    kind = 0
    body = None
    if link_trail.endswith("]+"):
        kind, body = 1, _trail_class_body(link_trail, 1, len(link_trail) - 2)
    elif link_trail.startswith("(?:[") and link_trail.endswith("]|'(?!'))+"):
        kind, body = 2, _trail_class_body(link_trail, 4, len(link_trail) - len("]|'(?!'))+"))
    if body is None:
        return None
    try:
        single = re.compile("[" + body + "]")
        pattern = re.compile(link_trail)
    except re.error:
        return None
    table = bytearray(0x10000)
    for m in single.finditer("".join(map(chr, range(0x10000)))):
        table[m.start()] = 1
    return kind, bytes(table), pattern


def _mark_links_compiled(
    compiled: ModuleType, text: str, ns: NamespaceInfo, first_letter_case: bool, scanner: re.Pattern[str]
) -> Optional[Tuple[str, List[str]]]:
    """`_mark_links(text, ns, first_letter_case, scanner, _MARK)` by the compiled pass, or by the Python pass
    for a text or a link trail the compiled one leaves to it."""
    trail = _compiled_trail(ns.link_trail)
    if trail is not None:
        marked = compiled.mark_links(
            text,
            ns.classify,
            _TITLE_CACHES[bool(first_letter_case)],
            first_letter_case,
            _link_title,
            _pipe_trick,
            *trail,
        )
        if marked is not None:
            return marked
    return _mark_links(text, ns, first_letter_case, scanner, _MARK)


# --- pass 9: whitespace -----------------------------------------------------------------------------------

# A whitespace run needs changing iff it contains one of these; searching for literals is ~10x faster than
# for a character class, which stops at every space.
_WHITESPACE_TRIGGERS = [re.compile(literal) for literal in ("  ", " \n", "\n ", "\n\n\n")]
_WHITESPACE_RUN_RE = re.compile(r"[ \n]+")


def _whitespace_runs(text: str) -> Iterator[Tuple[int, int]]:
    """(start, end) of each maximal run of spaces/line breaks that needs changing, in order."""
    triggers = sorted({m.start() for trigger in _WHITESPACE_TRIGGERS for m in trigger.finditer(text)})
    end = 0
    for position in triggers:
        if position < end:
            continue
        start = position
        while start > 0 and text[start - 1] in " \n":
            start -= 1
        run = _WHITESPACE_RUN_RE.match(text, position)
        assert run is not None  # every trigger starts with a space or a line break
        end = run.end()
        yield start, end


def _normalize_whitespace(text: str, offsets: List[int]) -> Tuple[str, List[int]]:
    """Collapse space runs, drop spaces around line breaks, keep at most one blank line, strip the ends;
    map the (sorted, never inside whitespace) `offsets` onto the new text."""
    out: List[str] = []
    mapped: List[int] = []
    pos = shift = k = 0
    n_offsets = len(offsets)
    for start, end in _whitespace_runs(text):
        newlines = text.count("\n", start, end)
        new = "" if start == 0 or end == len(text) else "\n\n" if newlines > 1 else "\n" if newlines else " "
        while k < n_offsets and offsets[k] <= start:
            mapped.append(offsets[k] - shift)
            k += 1
        out.append(text[pos:start])
        out.append(new)
        pos = end
        shift += (end - start) - len(new)
    out.append(text[pos:])
    mapped.extend(offset - shift for offset in offsets[k:])
    clean = "".join(out)
    lead = len(clean) - len(clean.lstrip(" \n"))
    if lead:  # a lone leading space or line break is no trigger
        clean = clean[lead:]
        mapped = [max(0, offset - lead) for offset in mapped]
    return clean.rstrip(" \n"), mapped


_NEWLINE_SPACES_RE = re.compile("\n +")
_NEWLINE_RUN_RE = re.compile("\n\n\n+")


def _collapse_whitespace(text: str) -> str:
    """`_normalize_whitespace` without offsets, as a few whole-text passes: space runs collapse (by splitting on
    two spaces: a piece starts with the rest of an odd run, and is empty only inside a run or at an end),
    spaces next to a line break go, three or more line breaks become two (so each run of spaces and line breaks
    becomes "\n\n", "\n" or " " by its number of line breaks), and the ends are stripped."""
    pieces = text.split("  ")
    if len(pieces) > 1:
        text = " ".join([piece for piece in [p.lstrip(" ") if p[:1] == " " else p for p in pieces] if piece])
    if text.isascii():
        text = _NEWLINE_SPACES_RE.sub("\n", text.replace(" \n", "\n"))
    else:  # two-character searches are slow in wider strings: strip each line instead
        text = "\n".join(map(str.strip, text.split("\n"), itertools.repeat(" ")))
    text = _NEWLINE_RUN_RE.sub("\n\n", text)
    return text.strip(" \n")


# --- entry point --------------------------------------------------------------------------------------------


def _sanitize(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.replace("\t", " ")
    return text


def clean_markup(text: str) -> str:
    """Passes 1-7: everything except internal links and whitespace (exposed for tests and debugging)."""
    text = _sanitize(text)
    compiled = COMPILED
    if compiled is None:
        text = _remove_tables(_remove_templates(_strip_comments_and_extension_tags(text)))
        text = _unescape_entities(_strip_html_tags(text))
        return _replace_external_links(_strip_line_markup(text))
    # the same passes compiled, exact for every text (none falls back)
    text = compiled.remove_tables(compiled.remove_templates(compiled.strip_comments_and_extension_tags(text)))
    text = compiled.unescape_entities(compiled.strip_html_tags(text), _entity, _ENTITY_CACHE)
    return compiled.replace_external_links(compiled.strip_line_markup(text))


class LinkColumns(NamedTuple):
    """The article links of a cleaned text as columns (what `parse_wikitext` makes its Links of): link i is
    `clean[starts[i]:ends[i]] == anchors[i]`, to the page titled `targets[i]`."""

    starts: List[int]
    ends: List[int]
    targets: List[str]
    anchors: List[str]


def parse_wikitext(
    text: str, namespaces: Optional[NamespaceInfo] = None, first_letter_case: bool = True
) -> Tuple[str, List[Link]]:
    """Clean wikitext to plain text and return it with its article links (`clean[start:end] == anchor`).

    `namespaces` tells file/category/interwiki prefixes apart (English defaults when None);
    `first_letter_case` is False on wikis whose `<case>` is `case-sensitive`. Never raises on odd input.
    """
    clean, columns = parse_wikitext_columns(text, namespaces, first_letter_case)
    return clean, list(map(tuple.__new__, itertools.repeat(Link), zip(*columns)))


def parse_wikitext_columns(
    text: str, namespaces: Optional[NamespaceInfo] = None, first_letter_case: bool = True
) -> Tuple[str, LinkColumns]:
    """`parse_wikitext` with the links as columns: cheaper for a caller that wants (start, end, target) triples
    and "anchor<TAB>target" strings rather than Link tuples (parse-wikipedia: no tuple per link is built)."""
    namespaces = namespaces or DEFAULT_NAMESPACES
    text = clean_markup(text)
    scanner = _link_scanner(namespaces.link_trail)
    marked = None
    compiled = COMPILED
    if scanner is not None and _MARK not in text:
        if compiled is not None:
            marked = _mark_links_compiled(compiled, text, namespaces, first_letter_case, scanner)
        else:
            marked = _mark_links(text, namespaces, first_letter_case, scanner, _MARK)
    if marked is None:
        clean, links = _parse_with_offset_map(text, namespaces, first_letter_case)
        if not links:
            return clean, LinkColumns([], [], [], [])
        starts, ends, targets, anchors = map(list, zip(*links))
        return clean, LinkColumns(starts, ends, targets, anchors)
    clean, titles = marked
    if compiled is not None:
        clean, starts, ends, anchors = compiled.finish(clean)
        return clean, LinkColumns(starts, ends, titles, anchors)
    clean = _restore(_collapse_whitespace(clean))
    if not titles:
        return clean, LinkColumns([], [], [], [])
    # Marks bracket non-empty anchors that start and end with non-whitespace, so no whitespace run
    # straddles them: pieces alternate text, anchor, text, ..., and their cumulative lengths are the offsets.
    pieces = clean.split(_MARK)
    offsets = list(itertools.accumulate(map(len, pieces)))
    return "".join(pieces), LinkColumns(offsets[0:-1:2], offsets[1::2], titles, pieces[1::2])


def _parse_with_offset_map(text: str, namespaces: NamespaceInfo, first_letter_case: bool) -> Tuple[str, List[Link]]:
    """Passes 8 and 9 on `clean_markup`'s output, tracking link offsets through an offset map: the reference
    for the marked path of `parse_wikitext` (and its fallback)."""
    raw, spans = _extract_links(text, namespaces, first_letter_case)
    offsets = [offset for start, end, _ in spans for offset in (start, end)]
    clean, mapped = _normalize_whitespace(raw, offsets)
    clean = _restore(clean)
    links = []
    for i, (_, _, target) in enumerate(spans):
        start, end = mapped[2 * i], mapped[2 * i + 1]
        if end > start:
            links.append(Link(start, end, target, clean[start:end]))
    return clean, links
