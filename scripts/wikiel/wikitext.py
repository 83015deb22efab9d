"""Fast wikitext cleaner and article-link extractor.

`parse_wikitext` turns the wikitext of one article into plain text plus the article links in it, such that
`clean[link.start:link.end] == link.anchor` always holds. It is a chain of linear-time passes (regular
expressions without nested quantifiers plus small bracket-matching loops), not a full MediaWiki parser:

1. comments and extension tags (`<ref>`, `<math>`, `<gallery>` ... removed; `<nowiki>`/`<pre>` kept literally),
2. templates and parser functions `{{...}}`, 3. tables `{| ... |}`, 4. HTML tags (content kept),
5. entities, 6. line markup (headings, lists, rules, magic words, bold/italic), 7. external links,
8. internal links (the only pass that tracks output offsets), 9. whitespace normalisation (offsets remapped).

Characters that must survive as literal text (nowiki content, decoded entities such as `&#91;`) are swapped for
placeholders (Unicode noncharacters U+FDD0.., which never occur in real text) until the end, so later passes
never mistake them for markup.
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from wikiel.util import normalize_title


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
    -2: "Media", -1: "Special", 1: "Talk", 2: "User", 3: "User talk", 4: "Project", 5: "Project talk",
    6: "File", 7: "File talk", 8: "MediaWiki", 9: "MediaWiki talk", 10: "Template", 11: "Template talk",
    12: "Help", 13: "Help talk", 14: "Category", 15: "Category talk", 100: "Portal", 101: "Portal talk",
    108: "Book", 109: "Book talk", 118: "Draft", 119: "Draft talk", 710: "TimedText", 711: "TimedText talk",
    828: "Module", 829: "Module talk",
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
INTERWIKI_PREFIXES: FrozenSet[str] = frozenset("""
w wikipedia wikt wiktionary b wikibooks q wikiquote s wikisource n wikinews v wikiversity voy wikivoyage
species wikispecies commons c d wikidata m meta metawikimedia metawikipedia mw mediawikiwiki foundation wmf
incubator outreach wikitech phab phabricator bugzilla mediazilla gerrit rev testwiki labs wikimania
doi hdl rfc arxiv google googlegroups imdbname imdbtitle imdbcompany iarchive archive oeis pmid issn
translatewiki betawiki sourceforge github gutenberg lyricwiki memoryalpha wikia wikihow
""".split())
# Language-code prefixes the 2-3 letter rule misses.
EXTRA_LANGUAGE_CODES: FrozenSet[str] = frozenset({"simple", "be-x-old", "zh-min-nan", "zh-classical"})
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2,3}(?:-[a-z]{2,8})*")
# Link trails (letters glued onto a link's anchor, `[[bus]]es`) by language; English is the default.
LINK_TRAILS: Dict[str, str] = {
    "en": "[a-z]+",
    "de": "[a-zäöüß]+",
    "fr": "[a-zàâçéèêîôûäëïöüù]+",
    "es": "[a-záéíóúñü]+",
    "it": "[a-zàéèíîìóòúù]+",
    "nl": "[a-zäöüïëéèà]+",
    "pt": "[a-záâãàéêçíóôõúü]+",
    "sv": "[a-zåäöéè]+",
}


def _name_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@dataclass(frozen=True)
class NamespaceInfo:
    """What a link prefix means on one wiki: namespace names and aliases (lower-cased) and the link trail."""
    names: Mapping[str, int] = field(default_factory=dict)
    interwiki: FrozenSet[str] = INTERWIKI_PREFIXES
    link_trail: str = LINK_TRAILS["en"]

    @classmethod
    def from_siteinfo(cls, namespaces: Mapping[int, str], lang: str = "en") -> "NamespaceInfo":
        """Build from the `<siteinfo>` namespaces (key -> localized name) plus canonical names and aliases."""
        names: Dict[str, int] = {}
        for key, name in [*CANONICAL_NAMESPACES.items(), *namespaces.items()]:
            if name and int(key) != 0:
                names[_name_key(name)] = int(key)
        for alias, key in [*NAMESPACE_ALIASES["*"].items(), *NAMESPACE_ALIASES.get(lang, {}).items()]:
            names[_name_key(alias)] = key
        return cls(names=names, link_trail=LINK_TRAILS.get(lang, LINK_TRAILS["en"]))

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
    "ref", "references", "math", "chem", "ce", "gallery", "timeline", "score", "syntaxhighlight", "source",
    "graph", "imagemap", "hiero", "templatedata", "templatestyles", "mapframe", "maplink", "inputbox",
    "categorytree", "indicator", "section", "includeonly", "charinsert", "langconvert", "phonos",
)
_EXT_TAG_RE = re.compile(
    r"<!--|<(/?)(" + "|".join(_LITERAL_TAGS + _REMOVED_TAGS) + r")(?=[\s/>])[^<>]*?(/?)>", re.I)
_CLOSE_TAG_RE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _LITERAL_TAGS + _REMOVED_TAGS}


def _strip_comments_and_extension_tags(text: str) -> str:
    """Remove comments and opaque extension tags with their content; keep nowiki/pre content literally."""
    out: List[str] = []
    pos = 0
    no_close_from: Dict[str, int] = {}  # tag name -> offset after which no closing tag exists
    while True:
        m = _EXT_TAG_RE.search(text, pos)
        if m is None:
            break
        out.append(text[pos:m.start()])
        pos = m.end()
        closing, name, self_closing = m.groups()
        if name is None:  # comment
            end = text.find("-->", pos)
            pos = len(text) if end < 0 else end + 3
            continue
        name = name.lower()
        if closing:
            continue  # stray closing tag
        if self_closing:
            if name == "nowiki":
                out.append(_BREAK)
            continue
        close = None
        if no_close_from.get(name, len(text) + 1) > pos:
            close = _CLOSE_TAG_RE[name].search(text, pos)
            if close is None:
                no_close_from[name] = pos
        if close is None:
            continue  # unclosed: drop the opening tag, keep what follows
        if name in _LITERAL_TAGS:
            out.append(_protect(text[pos:close.start()]))
        pos = close.end()
    out.append(text[pos:])
    return "".join(out)


# --- passes 2 and 3: templates and tables -----------------------------------------------------------------

# Closers end with "}", openers do not. Table tokens start with the "\n" of their line (a literal first
# character is searched much faster than "^" with re.M), so they are searched in "\n" + text.
_BRACES_RE = re.compile(r"\{\{|\}\}")
_TABLE_RE = re.compile(r"\n[ \t:]*\{\||\n[ \t]*\|\}")


def _remove_nested(text: str, tokens: "re.Pattern[str]", unclosed_to_end: bool, skip: int = 0) -> str:
    """Remove balanced open/close token pairs with everything between them (outermost pairs), and stray
    closers. An unclosed opener is dropped alone, or with the rest of the text if `unclosed_to_end`.
    The first `skip` characters of each token are kept."""
    stack: List[int] = []
    spans: List[Tuple[int, int]] = []
    for m in tokens.finditer(text):
        if text[m.end() - 1] != "}":
            stack.append(m.start() + skip)
            continue
        start = stack.pop() if stack else m.start() + skip
        while spans and spans[-1][0] >= start:
            spans.pop()  # nested inside this pair
        spans.append((start, m.end()))
    if stack:
        spans.extend([(stack[0], len(text))] if unclosed_to_end else [(start, start + 2) for start in stack])
        spans.sort()
    if not spans:
        return text
    out: List[str] = []
    pos = 0
    for start, end in spans:
        if start >= pos:
            out.append(text[pos:start])
            pos = end
    out.append(text[pos:])
    return "".join(out)


def _remove_templates(text: str) -> str:
    if "{{" not in text and "}}" not in text:
        return text
    return _remove_nested(text, _BRACES_RE, unclosed_to_end=False)


def _remove_tables(text: str) -> str:
    """Remove `{| ... |}` tables (nested); like MediaWiki, an unclosed table runs to the end of the text."""
    if "{|" not in text and "|}" not in text:
        return text
    return _remove_nested("\n" + text, _TABLE_RE, unclosed_to_end=True, skip=1)[1:]


# --- pass 4: HTML tags ----------------------------------------------------------------------------------

_BLOCK_TAGS = ("br", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "hr", "blockquote",
               "center", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "poem")
_INLINE_TAGS = ("b", "i", "u", "s", "em", "strong", "big", "small", "sub", "sup", "span", "font", "cite",
                "code", "tt", "var", "kbd", "samp", "abbr", "dfn", "del", "ins", "strike", "q", "mark",
                "bdi", "bdo", "ruby", "rb", "rp", "rt", "rtc", "time", "data", "wbr", "td", "th",
                "noinclude", "onlyinclude", "meta", "link")
_HTML_TAG_RE = re.compile(r"<(/?)(" + "|".join(_BLOCK_TAGS + _INLINE_TAGS) + r")(?=[\s/>])[^<>]*>", re.I)
_BLOCK_TAG_SET = frozenset(_BLOCK_TAGS)


def _strip_html_tags(text: str) -> str:
    """Drop known HTML tags, keeping their content; block-level tags become line breaks."""
    if "<" not in text:
        return text
    return _HTML_TAG_RE.sub(lambda m: "\n" if m.group(2).lower() in _BLOCK_TAG_SET else "", text)


# --- pass 5: entities -----------------------------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_SPACE_ENTITIES = frozenset("\xa0\u2002\u2003\u2009\u202f\n\t\r")


def _entity(m: "re.Match[str]") -> str:
    value = html.unescape(m.group())
    return " " if value in _SPACE_ENTITIES else _protect(value)


def _unescape_entities(text: str) -> str:
    if "&" not in text:
        return text
    return _ENTITY_RE.sub(_entity, text)


# --- pass 6: line markup --------------------------------------------------------------------------------

# Line-start patterns are anchored on "\n" (searched much faster than "^" with re.M) on "\n" + text + "\n".
_HEADING_RE = re.compile(r"\n(={1,6})([^\n]+?)\1[ \t]*(?=\n)")
_LINE_PREFIX_RE = re.compile(r"\n(?:[*#:;]+|-{4,})[ \t]*")
_MAGIC_WORD_RE = re.compile(r"__[A-Z]{2,30}__")
_QUOTES_SPLIT_RE = re.compile(r"('{2,})")


def _heading(m: "re.Match[str]") -> str:
    return "\n\n" + m.group(2).strip(" \t=") + "\n"


def _do_quotes(line: str) -> str:
    """Remove bold/italic apostrophe runs from one line, balancing them like MediaWiki's doQuotes
    (`''[[The Times]]'''s` keeps the possessive apostrophe)."""
    parts = _QUOTES_SPLIT_RE.split(line)
    bold = italic = 0
    for i in range(1, len(parts), 2):
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
        for i in range(1, len(parts), 2):
            if len(parts[i]) != 3:
                continue
            before = parts[i - 1]
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
    return "".join(parts[0::2])


def _strip_line_markup(text: str) -> str:
    """Headings become their own paragraph; list/indent prefixes, rules, magic words, bold/italic go."""
    text = "\n" + text + "\n"
    if "=" in text:
        text = _HEADING_RE.sub(_heading, text)
    text = _LINE_PREFIX_RE.sub("\n", text)[1:-1]
    if "__" in text:
        text = _MAGIC_WORD_RE.sub("", text)
    if "''" in text:
        text = _strip_quotes(text)
    return text


def _strip_quotes(text: str) -> str:
    """Apply `_do_quotes` to each line holding `''` (found by search, not by splitting every line)."""
    out: List[str] = []
    pos = 0
    while True:
        i = text.find("''", pos)
        if i < 0:
            break
        start = text.rfind("\n", pos, i) + 1 or pos
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        out.append(text[pos:start])
        out.append(_do_quotes(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --- pass 7: external links -----------------------------------------------------------------------------

_URL_SCHEMES = ("https?:", "ftps?:", "sftp:", "//", "mailto:", "news:", "nntp:", "irc:", "ircs:", "gopher:",
                "git:", "svn:", "telnet:", "urn:", "worldwind:", "xmpp:", "sips?:", "sms:", "ssh:", "tel:",
                "mms:", "magnet:", "geo:", "bitcoin:")
_EXT_LINK_RE = re.compile(
    r"\[(?:" + "|".join(_URL_SCHEMES) + r")[^\s\[\]<>\"]*(?:[ \t]+([^\[\]\n]*))?\]", re.I)


def _replace_external_links(text: str) -> str:
    """`[http://x label]` -> `label`; a bare `[http://x]` is removed."""
    if "[" not in text:
        return text
    return _EXT_LINK_RE.sub(lambda m: m.group(1) or "", text)


# --- pass 8: internal links -----------------------------------------------------------------------------

_LINK_RE = re.compile(r"\[\[([^\[\]{}|\n]*)(?:\|([^\[\]]*(?:(?:\[(?!\[)|\](?!\]))[^\[\]]*)*))?\]\]")
# A file link whose caption holds (un-nested) links; deeper nesting falls back to `_matching_close`.
_CAPTIONED_LINK_RE = re.compile(
    r"\[\[([^\[\]{}|\n]*)\|[^\[\]]*(?:(?:\[(?!\[)|\](?!\])|\[\[[^\[\]]*\]\])[^\[\]]*)*\]\]")
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


@functools.lru_cache(maxsize=1 << 16)
def _link_title(target: str, first_letter_case: bool) -> str:
    return _restore(normalize_title(target, first_letter_case).replace(_BREAK, ""))


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
        end = _WHITESPACE_RUN_RE.match(text, position).end()
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


# --- entry point --------------------------------------------------------------------------------------------

def _sanitize(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.replace("\t", " ")
    return text


def clean_markup(text: str) -> str:
    """Passes 1-7: everything except internal links and whitespace (exposed for tests and debugging)."""
    text = _strip_comments_and_extension_tags(_sanitize(text))
    text = _remove_templates(text)
    text = _remove_tables(text)
    text = _strip_html_tags(text)
    text = _unescape_entities(text)
    text = _strip_line_markup(text)
    return _replace_external_links(text)


def parse_wikitext(text: str, namespaces: Optional[NamespaceInfo] = None,
                   first_letter_case: bool = True) -> Tuple[str, List[Link]]:
    """Clean wikitext to plain text and return it with its article links (`clean[start:end] == anchor`).

    `namespaces` tells file/category/interwiki prefixes apart (English defaults when None);
    `first_letter_case` is False on wikis whose `<case>` is `case-sensitive`. Never raises on odd input.
    """
    raw, spans = _extract_links(clean_markup(text), namespaces or DEFAULT_NAMESPACES, first_letter_case)
    offsets = [offset for start, end, _ in spans for offset in (start, end)]
    clean, mapped = _normalize_whitespace(raw, offsets)
    clean = _restore(clean)
    links = []
    for i, (_, _, target) in enumerate(spans):
        start, end = mapped[2 * i], mapped[2 * i + 1]
        if end > start:
            links.append(Link(start, end, target, clean[start:end]))
    return clean, links
