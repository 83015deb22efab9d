"""Link trails and redirect keywords of Wikipedia languages, as data generated from MediaWiki's language files.

MediaWiki defines, per language, in `languages/messages/MessagesXx.php`:
- `$linkTrail`: a PCRE like `/^([a-zäöüß]+)(.*)$/sDu` whose first group is the text glued onto a link's anchor
  (`[[Bus]]se` shows "Busse");
- `$magicWords['redirect']`: the keywords of a redirect page (`#WEITERLEITUNG`), case-insensitive;
- `$fallback`: the languages it falls back on. A language without its own `$linkTrail` takes the first of its
  fallback chain (English last: `[a-z]+`); its redirect keywords are its own followed by those of the chain
  (MediaWiki merges magic word synonyms that way), so `#REDIRECT` works on every wiki.

`languages.json` (beside this module) holds the result for the largest Wikipedias, with the trail converted to a
Python `re` pattern and the files it came from. Regenerate it from a MediaWiki checkout with

    python -m wikiel.sources.languages /path/to/mediawiki [--languages en,de,...] [--provenance FILE]

(`--provenance` maps file names to where each came from, for a checkout that is not a git clone).

A language that is not in the data gets English's redirect keywords and `letters_trail()`: a run of Unicode
letters and combining marks, of any script. MediaWiki's own default, `[a-z]+`, glues Latin letters only, which
is wrong for the many languages written in other scripts, and a trail of letters is what most of MediaWiki's
Latin- and Cyrillic-script trails spell out letter by letter.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

DATA_FILE = Path(__file__).with_name("languages.json")
MESSAGES_DIR = Path("languages") / "messages"
# The 20 largest Wikipedias by article count, and Bulgarian (the example).
LANGUAGES: Tuple[str, ...] = tuple("en ceb de fr sv nl ru es it arz pl ja zh uk vi war ar pt fa ca bg".split())
_PHP_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_LINK_TRAIL_RE = re.compile(r"^[ \t]*\$linkTrail\s*=\s*(" + _PHP_STRING + r")\s*;", re.M)
_FALLBACK_RE = re.compile(r"^[ \t]*\$fallback\s*=\s*(" + _PHP_STRING + r")\s*;", re.M)
_MAGIC_WORDS_RE = re.compile(r"^[ \t]*\$magicWords\s*=\s*(?:array\s*\(|\[)", re.M)
_REDIRECT_RE = re.compile(
    r"^[ \t]*'redirect'\s*=>\s*(?:array\s*\(|\[)((?:\s*(?:" + _PHP_STRING + r"|\d+)\s*,?)*)\s*(?:\)|\])", re.M
)
_PHP_ITEM_RE = re.compile(_PHP_STRING + r"|\d+")
# The whole of a MediaWiki link trail: group 1 is the trail, group 2 the rest of the text.
_TRAIL_BODY_RE = re.compile(r"\^\((.*)\)\(\.\*\)\$", re.S)
_DELIMITER_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}


# --- the data, at run time ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _data() -> Dict[str, dict]:
    with open(DATA_FILE, encoding="utf8") as f:
        return dict(json.load(f)["languages"])


def _code(lang: str) -> str:
    return lang.strip().lower().replace("_", "-")


def covered() -> List[str]:
    """The languages of the data (MediaWiki codes)."""
    return sorted(_data())


def link_trail(lang: str) -> str:
    """The link trail of `lang` as a Python `re` pattern: MediaWiki's, or `letters_trail()` for a language
    outside the data."""
    entry = _data().get(_code(lang))
    return entry["link_trail"] if entry else letters_trail()


def redirect_keywords(lang: str) -> Tuple[str, ...]:
    """The redirect keywords of `lang` (with the '#', matched case-insensitively), English's included."""
    entry = _data().get(_code(lang)) or _data()["en"]
    return tuple(entry["redirect"])


@functools.lru_cache(maxsize=1)
def letters_trail() -> str:
    """A run of Unicode letters and combining marks (general categories L* and M*, planes 0-2): the link trail
    of languages without one of their own."""
    ranges: List[Tuple[int, int]] = []
    for point in range(0x30000):
        if unicodedata.category(chr(point))[0] in "LM":
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    parts = (_escape_point(a) if a == b else f"{_escape_point(a)}-{_escape_point(b)}" for a, b in ranges)
    return "[" + "".join(parts) + "]+"


def _escape_point(point: int) -> str:
    if 0x30 <= point < 0x7F and chr(point).isalnum():
        return chr(point)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


# --- from MediaWiki's PCRE to Python's re -------------------------------------------------------------------


def pcre_trail_to_python(php_regex: str) -> str:
    """The trail group of a MediaWiki `$linkTrail` (`/^(...)(.*)$/flags`) as a Python `re` pattern that matches
    the same strings: `\\x{...}` code points spelled Python's way, capturing groups made non-capturing (the
    pattern is embedded in bigger ones), the flags `i`, `s` and `x` as scoped inline flags, `\\w`/`\\d`/`\\s`/`\\b`
    ASCII-only as in PCRE without UCP. ValueError for anything else PCRE has and `re` has not."""
    if len(php_regex) < 2 or php_regex[0].isalnum() or php_regex[0] in "\\ \t\n":
        raise ValueError(f"{php_regex!r} is not a delimited PCRE")
    close = _DELIMITER_PAIRS.get(php_regex[0], php_regex[0])
    end = php_regex.rfind(close)
    if end <= 0:
        raise ValueError(f"{php_regex!r} has no closing delimiter {close!r}")
    body, flags = php_regex[1:end], php_regex[end + 1 :]
    unknown = set(flags) - set("sDuimx")
    if unknown:
        raise ValueError(f"{php_regex!r}: PCRE flags {''.join(sorted(unknown))!r} are not supported")
    whole = _TRAIL_BODY_RE.fullmatch(body)
    if whole is None:
        raise ValueError(f"{php_regex!r} is not of the form /^(trail)(.*)$/")
    trail = whole.group(1)
    if "u" not in flags and not trail.isascii():
        raise ValueError(f"{php_regex!r} has non-ASCII characters without the u flag (PCRE would match bytes)")
    converted, needs_ascii = _convert(trail, php_regex)
    inline = "".join(f for f in "isx" if f in flags and (f != "s" or "." in trail))
    if needs_ascii:
        inline += "a"
    if "m" in flags and ("^" in trail or "$" in trail):
        inline += "m"
    pattern = f"(?{inline}:{converted})" if inline else converted
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f"{php_regex!r} converts to {pattern!r}, which Python rejects: {err}") from err
    return pattern


_UNSUPPORTED_ESCAPES = set("pPXRhvKGQENCc") | set("123456789gk")


def _convert(trail: str, source: str) -> Tuple[str, bool]:
    out: List[str] = []
    needs_ascii = False
    in_class = False
    i = 0
    while i < len(trail):
        char = trail[i]
        if char == "\\":
            if i + 1 >= len(trail):
                raise ValueError(f"{source!r} ends with a lone backslash")
            escaped = trail[i + 1]
            if escaped == "x" and trail.startswith("{", i + 2):
                close = trail.index("}", i + 2)
                point = int(trail[i + 3 : close], 16)
                out.append(_escape_point(point) if point > 0x7F or not chr(point).isalnum() else chr(point))
                i = close + 1
                continue
            if escaped in _UNSUPPORTED_ESCAPES:
                raise ValueError(f"{source!r}: PCRE escape \\{escaped} is not supported")
            if escaped in "wdsbWDSB":
                needs_ascii = True
            out.append(trail[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
                out.append(char)
            elif char == "[" and trail.startswith("[:", i):
                raise ValueError(f"{source!r}: POSIX classes like [:alpha:] are not supported")
            elif char in "[&~|" or (char == "-" and out and out[-1] == "-"):
                out.append("\\" + char)  # literal in PCRE, a (future) set operation in Python
            else:
                out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if trail.startswith("^", i + 1):
                out.append("^")
                i += 1
            if trail.startswith("]", i + 1):  # `[]...]`: a literal first `]`
                out.append("\\]")
                i += 1
        elif char == "(" and not trail.startswith("?", i + 1):
            out.append("(?:")
        elif char == "(" and trail.startswith(("?P<", "?<"), i + 1) and not trail.startswith(("?<=", "?<!"), i + 1):
            close = trail.index(">", i)
            out.append("(?:")
            i = close
        else:
            out.append(char)
        i += 1
    if in_class:
        raise ValueError(f"{source!r} has an unclosed character class")
    return "".join(out), needs_ascii


# --- reading MediaWiki's language files ---------------------------------------------------------------------


def php_string(literal: str) -> str:
    """The value of a PHP string literal (single- or double-quoted, without variables)."""
    quote, body = literal[0], literal[1:-1]
    if quote == "'":
        return re.sub(r"\\([\\'])", r"\1", body)
    escapes = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f", "\\": "\\", "$": "$", '"': '"'}

    def unescape(match: re.Match[str]) -> str:
        text = match.group()
        if text[1] in escapes:
            return escapes[text[1]]
        if text.startswith("\\u{"):
            return chr(int(text[3:-1], 16))
        if text[1] == "x":
            return chr(int(text[2:], 16))
        if text[1] in "01234567":
            return chr(int(text[1:], 8))
        return text

    if re.search(r"(?<!\\)\$[A-Za-z_{]", body):
        raise ValueError(f"{literal!r} interpolates a variable")
    return re.sub(r"\\(?:u\{[0-9A-Fa-f]+\}|x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", unescape, body, flags=re.S)


@dataclass
class MessagesFile:
    """What one `MessagesXx.php` says about link trails and redirects."""

    fallback: List[str] = field(default_factory=list)
    link_trail: Optional[str] = None  # the PHP value, a PCRE
    redirect: Optional[List[str]] = None


def read_messages_file(path: Path) -> MessagesFile:
    text = path.read_text(encoding="utf8")
    info = MessagesFile()
    fallback = _FALLBACK_RE.search(text)
    if fallback:
        info.fallback = [code.strip() for code in php_string(fallback.group(1)).split(",") if code.strip()]
    trail = _LINK_TRAIL_RE.search(text)
    if trail:
        info.link_trail = php_string(trail.group(1))
    magic = _MAGIC_WORDS_RE.search(text)
    if magic:
        redirect = _REDIRECT_RE.search(text, magic.end())
        if redirect:
            items = [php_string(item) if item[0] in "'\"" else item for item in _PHP_ITEM_RE.findall(redirect.group(1))]
            info.redirect = items[1:]  # the first is the case-sensitivity flag
    return info


def messages_file(checkout: Path, code: str) -> Path:
    """`languages/messages/MessagesZh_hans.php` for `zh-hans`."""
    name = code[:1].upper() + code[1:].replace("-", "_")
    return checkout / MESSAGES_DIR / f"Messages{name}.php"


class _Checkout:
    def __init__(self, root: Path, provenance: Mapping[str, str]):
        self.root = root
        self.provenance = provenance
        self.files: Dict[str, Optional[MessagesFile]] = {}

    def file(self, code: str) -> Optional[MessagesFile]:
        if code not in self.files:
            path = messages_file(self.root, code)
            self.files[code] = read_messages_file(path) if path.is_file() else None
        return self.files[code]

    def chain(self, code: str) -> List[str]:
        """`code`, then its fallbacks (each followed by theirs), then English, as MediaWiki falls back."""
        chain: List[str] = []

        def visit(current: str) -> None:
            if current in chain:
                return
            chain.append(current)
            info = self.file(current)
            for fallback in info.fallback if info else []:
                visit(fallback)

        visit(code)
        if "en" in chain:
            chain.remove("en")
        return [*chain, "en"]

    def source(self, code: str) -> str:
        path = messages_file(self.root, code)
        relative = path.relative_to(self.root).as_posix()
        where = self.provenance.get(path.name) or _git_commit(self.root, relative)
        return f"{relative} ({where})" if where else relative


def _git_commit(root: Path, relative: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H", "--", relative],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"commit {done.stdout.strip()}" if done.stdout.strip() else ""


def generate(checkout: Path, languages: Sequence[str], provenance: Mapping[str, str]) -> dict:
    """The data file's content for `languages`, read from a MediaWiki checkout."""
    tree = _Checkout(checkout, provenance)
    if tree.file("en") is None:
        raise ValueError(f"{messages_file(checkout, 'en')} does not exist: {checkout} is not a MediaWiki checkout")
    entries = {}
    for code in languages:
        if tree.file(code) is None:
            raise ValueError(f"{messages_file(checkout, code)} does not exist")
        chain = tree.chain(code)
        trail_from = next(c for c in chain if (tree.file(c) or MessagesFile()).link_trail is not None)
        pcre = tree.file(trail_from).link_trail  # type: ignore[union-attr]
        assert pcre is not None
        redirect: List[str] = []
        used = {trail_from}
        for current in chain:
            info = tree.file(current)
            if info and info.redirect:
                used.add(current)
                redirect += [word for word in dict.fromkeys(info.redirect) if word not in redirect]
        entries[code] = {
            "fallback_chain": chain,
            "link_trail_pcre": pcre,
            "link_trail": pcre_trail_to_python(pcre),
            "link_trail_from": trail_from,
            "redirect": redirect,
            "sources": [tree.source(c) for c in chain if c in used or c == code],
        }
    return {
        "about": "Link trails and redirect keywords of Wikipedia languages, from MediaWiki's "
        "languages/messages/Messages*.php ($linkTrail, $magicWords['redirect'], $fallback). Generated by "
        "`python -m wikiel.sources.languages MEDIAWIKI_CHECKOUT`: do not edit by hand.",
        "languages": entries,
    }


def write(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wikiel.sources.languages", description="Regenerate languages.json from MediaWiki."
    )
    parser.add_argument("checkout", type=Path, help="a MediaWiki checkout (holding languages/messages/)")
    parser.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated MediaWiki codes")
    parser.add_argument("--provenance", type=Path, help="JSON: file name -> where it came from (else git log)")
    parser.add_argument("--output", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    provenance = json.loads(args.provenance.read_text(encoding="utf8")) if args.provenance else {}
    try:
        data = generate(args.checkout, [_code(c) for c in args.languages.split(",") if c.strip()], provenance)
    except (ValueError, OSError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    write(data, args.output)
    print(f"wrote {args.output}: {len(data['languages'])} languages")
    return 0


def iter_trail_letters(pcre: str) -> Iterator[str]:
    """The characters listed in a simple trail class (`/^([a-zäö]+)(.*)$/`), ranges expanded: for checks."""
    body = _TRAIL_BODY_RE.search(pcre)
    klass = re.fullmatch(r"\(?(?:\?:)?\[([^\]]*)\].*", body.group(1), re.S) if body else None
    if not klass:
        return
    chars = klass.group(1)
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            yield from (chr(c) for c in range(ord(chars[i]), ord(chars[i + 2]) + 1))
            i += 3
        else:
            yield chars[i]
            i += 1


if __name__ == "__main__":
    sys.exit(main())
