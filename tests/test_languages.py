"""Any Wikipedia language: a generated non-English world (localized siteinfo namespaces, `#WEITERLEITUNG`
redirects, `[[Datei:...]]`/`[[Kategorie:...]]` links, interlanguage links, German Wikidata labels) read by the parsers,
and the whole chain run on a German world.

The end-to-end test (`test_end_to_end_german_world`) is slow: it runs the whole `all` workflow on a small world,
about 2 minutes on 2 idle cores, 4-5 minutes when they are shared. Leave it out with `-k "not end_to_end"`.
"""

import bz2
import gzip
import io
import json
import re
import time
from pathlib import Path

import pytest

from conftest import run_project_copy
from wikiel.sources import languages as mwlang
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import (
    DumpReader,
    Page,
    Settings,
    SiteInfo,
    dump_language,
    parse_wikipedia,
    redirect_target,
)
from wikiel.sources.wikitext import NamespaceInfo, parse_wikitext
from wikiel.synthetic.world import LANGUAGES
from wikiel.util import InputError

CANONICAL = {6: ("File", "Image"), 14: ("Category",)}


@pytest.fixture(scope="module", params=["de", "fr"])
def parsed(request, make_world, tmp_path_factory):
    """A generated world of one language, with parse-wikipedia and parse-wikidata run on it."""
    lang = request.param
    root = tmp_path_factory.mktemp(f"world-{lang}")
    files = make_world(lang=lang)
    parse_wikipedia(files["wikipedia"], root / "wikipedia", Settings(lang=lang), progress=False)
    parse_wikidata([files["wikidata"]], root / "wikidata", lang=lang, progress=False)
    return lang, files, root


def _dump_items(path: Path):
    with bz2.open(path) as stream:
        return list(DumpReader(io.BufferedReader(stream), path))


def _hidden_prefixes(lang: str) -> set:
    """Lower-cased link prefixes that must never give an article link: localized and canonical file and category
    namespaces (and the German alias `Bild`), and interlanguage codes."""
    language = LANGUAGES[lang]
    names = {
        language.namespace(6),
        language.namespace(14),
        *language.file_prefixes,
        *language.category_prefixes,
        *CANONICAL[6],
        *CANONICAL[14],
        *language.interlanguage,
    }
    if lang == "de":
        names.add("Bild")
    return {name.lower() for name in names}


def test_siteinfo_is_localized(parsed):
    lang, files, root = parsed
    language = LANGUAGES[lang]
    siteinfo = _dump_items(files["wikipedia"])[0]
    assert isinstance(siteinfo, SiteInfo)
    assert siteinfo.dbname == f"{lang}wiki" and siteinfo.first_letter_case
    assert siteinfo.namespaces == dict(language.namespaces)
    written = json.loads((root / "wikipedia" / "siteinfo.json").read_text())
    assert written["dbname"] == f"{lang}wiki" and written["lang"] == lang
    if lang == "de":
        assert {written["namespaces"][k] for k in ("-2", "-1", "1", "2", "4", "6", "10", "12", "14", "100", "828")} == {
            "Medium",
            "Spezial",
            "Diskussion",
            "Benutzer",
            "Wikipedia",
            "Datei",
            "Vorlage",
            "Hilfe",
            "Kategorie",
            "Portal",
            "Modul",
        }
    raw = bz2.decompress(files["wikipedia"].read_bytes()).decode("utf8")
    assert f'xml:lang="{lang}"' in raw and f"https://{lang}.wikipedia.org/wiki/" in raw


def test_file_category_and_interlanguage_links_are_not_entity_links(parsed):
    lang, files, root = parsed
    language = LANGUAGES[lang]
    raw = bz2.decompress(files["wikipedia"].read_bytes()).decode("utf8")
    # The dump writes the localized names, and English canonical ones too (valid on every wiki).
    for prefix in {*language.file_prefixes, *language.category_prefixes, *language.interlanguage}:
        assert f"[[{prefix}:" in raw, prefix
    assert f"[[{language.namespace(6)}:" in raw and f"[[{language.namespace(14)}:" in raw
    hidden = _hidden_prefixes(lang)
    articles = [json.loads(line) for line in (root / "wikipedia" / "articles.jsonl").open()]
    assert len(articles) == 300
    targets = [target for article in articles for _, _, target in article["links"]]
    assert len(targets) > 3000
    bad = [t for t in targets if ":" in t and t.split(":", 1)[0].strip().lower() in hidden]
    assert not bad, bad[:10]
    for article in articles:
        text = article["text"]
        assert ".jpg" not in text and f"|{language.thumb}|" not in text, article["title"]
        assert not any(f"{prefix}:" in text.lower() for prefix in hidden), article["title"]
    link_counts = (root / "wikipedia" / "link_counts.tsv").read_text()
    assert not any(
        line.split("\t")[1].split(":", 1)[0].lower() in hidden
        for line in link_counts.splitlines()
        if ":" in line.split("\t")[1]
    )


def test_localized_redirects_are_resolved(parsed):
    lang, files, root = parsed
    keyword = LANGUAGES[lang].redirects[0]
    assert keyword != "#REDIRECT"
    assert redirect_target(f"{keyword} [[Ziel]]", lang) == "Ziel"
    assert redirect_target(f"{keyword.lower()}: [[ziel]]", lang) == "Ziel"
    assert redirect_target("#REDIRECT [[Ziel]]", lang) == "Ziel"  # English works on every wiki
    redirects = dict(line.split("\t") for line in (root / "wikipedia" / "redirects.tsv").read_text().splitlines())
    pages = [p for p in _dump_items(files["wikipedia"]) if isinstance(p, Page) and p.ns == 0]
    localized = [p for p in pages if p.text.startswith(keyword + " ")]
    text_only = [p for p in localized if p.redirect is None]  # only the keyword tells these are redirects
    assert len(localized) > 50 and len(text_only) >= 5
    assert any(p.text.startswith("#REDIRECT ") for p in pages)
    for page in localized:
        target = page.text.split("[[", 1)[1].split("]]", 1)[0]
        assert redirects.get(page.title) == target, page.title
    articles = {json.loads(line)["title"] for line in (root / "wikipedia" / "articles.jsonl").open()}
    assert not articles & {p.title for p in localized}


def test_wikidata_takes_the_wiki_sitelink_and_labels_of_the_language(parsed):
    lang, files, root = parsed
    rows = [json.loads(line) for line in (root / "wikidata" / "entities.jsonl").open()]
    stats = json.loads((root / "wikidata" / "stats.json").read_text())["counts"]
    entities = [r for r in rows if r["qid"].startswith("Q1000")]
    assert len(entities) == 1500 and stats["meta_dropped"] > 0
    titles = {
        line.split(":", 2)[2]
        for line in bz2.decompress(files["wikipedia_index"].read_bytes()).decode("utf8").splitlines()
    }
    # Every article of the dump is the `<lang>wiki` sitelink of an item; labels and descriptions are the wiki's.
    assert len(titles & {r["title"] for r in entities}) >= 300
    assert all(r["label"] for r in entities)
    other = LANGUAGES[lang].interlanguage[0]
    assert not any(r["description"].endswith(f"({other})") for r in entities)
    if lang == "de":
        described = [r["description"] for r in entities if r["description"]]
        assert sum(" von " in d and " und " in d for d in described) == len(described)
        assert any(r["title"].endswith(" (Stadt)") for r in entities)
    # Items with only an `<other>wiki` sitelink (Q5...) are not kept, though the dump has them.
    assert not any(r["qid"].startswith("Q5000") for r in rows)
    assert f'"{other}wiki"'.encode() in gzip.open(files["wikidata"]).read()


def test_english_world_stays_english(small_world):
    files = small_world
    items = _dump_items(files["wikipedia"])
    assert items[0].dbname == "enwiki" and items[0].namespaces[6] == "File" and items[0].namespaces[14] == "Category"
    raw = bz2.decompress(files["wikipedia"].read_bytes()).decode("utf8")
    assert "#REDIRECT [[" in raw and "[[de:" in raw and "[[Datei:" not in raw and "#WEITERLEITUNG" not in raw


# --- end to end (slow: a few minutes) ----------------------------------------------------------------------

GERMAN_WORLD = {
    "lang": "de",
    "world_entities": 2500,
    "world_articles": 600,
    "min_freq": 3,
    "min_pair": 2,
    "max_epochs": 1,
    "curve_sizes": "500,1000",
    "curve_epochs": 1,
    "n_process": 1,
    # floret's default 64-d vectors on all the text dominated this run: the vectors are not what it tests
    "vector_dim": 16,
    "max_vector_text_mb": 1,
}


@pytest.mark.slow
def test_end_to_end_german_world(tmp_path):
    """`spacy project run all --vars.lang de` on a generated German world (slow: 2-5 minutes)."""
    started = time.monotonic()
    project = run_project_copy(tmp_path, GERMAN_WORLD, workflow="all")
    seconds = time.monotonic() - started
    counts = lambda step: json.loads((project / step / "stats.json").read_text())["counts"]  # noqa: E731
    assert json.loads((project / "corpus/wikipedia/siteinfo.json").read_text())["namespaces"]["6"] == "Datei"
    assert counts("corpus/wikipedia")["redirects"] > 0
    kb = counts("corpus/kb")
    assert kb["entities"] > 100 and kb["aliases"] > 100
    mentions = counts("corpus/mentions")
    assert mentions["train"]["mentions"] > 1000 and mentions["dev"]["mentions"] > 100
    methods = json.loads((project / "training/evaluation/evaluation.json").read_text())["methods"]
    assert methods["context+prior"]["accuracy"] > methods["random"]["accuracy"]
    assert (project / "training/nel/model-best/config.cfg").read_text().count('lang = "de"') == 1
    print(
        f"German world end to end: {seconds:.0f} s; "
        + ", ".join(f"{m} {v['accuracy']:.3f}" for m, v in methods.items())
    )


# --- link trails and redirect keywords from MediaWiki's language files (issue 13) --------------------------------

TOP = "en ceb de fr sv nl ru es it arz pl ja zh uk vi war ar pt fa ca bg".split()


def _anchors(text: str, lang: str):
    return [link.anchor for link in parse_wikitext(text, NamespaceInfo.from_siteinfo({}, lang))[1]]


def test_data_covers_the_largest_wikipedias():
    assert set(TOP) <= set(mwlang.covered()) and set(mwlang.LANGUAGES) == set(TOP)
    data = json.loads(mwlang.DATA_FILE.read_text(encoding="utf8"))["languages"]
    for lang in TOP:
        entry = data[lang]
        assert entry["fallback_chain"][0] == lang and entry["fallback_chain"][-1] == "en"
        assert any(f"languages/messages/Messages{lang.capitalize()}.php (" in s for s in entry["sources"]), lang
        assert "#REDIRECT" in entry["redirect"]


@pytest.mark.parametrize("lang", TOP)
def test_each_trail_converts_from_pcre(lang):
    """The stored Python pattern is the conversion of MediaWiki's PCRE, and it glues exactly the letters the
    PCRE lists (and nothing like spaces, digits, brackets or punctuation)."""
    entry = json.loads(mwlang.DATA_FILE.read_text(encoding="utf8"))["languages"][lang]
    assert mwlang.pcre_trail_to_python(entry["link_trail_pcre"]) == entry["link_trail"] == mwlang.link_trail(lang)
    trail = re.compile(entry["link_trail"])
    letters = list(mwlang.iter_trail_letters(entry["link_trail_pcre"]))
    if lang == "zh":  # MediaWiki's `/^()(.*)$/sD`: no trail at all
        assert letters == [] and trail.fullmatch("") and not trail.match("市").group()
        return
    assert len(letters) >= 26 and all(trail.fullmatch(letter) for letter in letters), lang
    assert trail.fullmatch("".join(letters))
    assert not any(trail.match(other) for other in [" ", "1", "[", "]", "|", ".", ",", "-", "\n", "_", "«"])


@pytest.mark.parametrize(
    "lang, text, anchors",
    [
        ("bg", "[[Земя]]та е планета", ["Земята"]),
        ("en", "[[Земя]]та and [[bus]]es", ["Земя", "buses"]),  # English unchanged
        ("de", "die [[Straße]]nbahn der [[Stadt]]", ["Straßenbahn", "Stadt"]),
        ("ru", "с [[кошка]]ми и [[ёж]]ём", ["кошками", "ёжём"]),
        ("uk", "у [[Київ]]і", ["Київі"]),
        ("ja", "[[東京]]都の[[日本]]語", ["東京", "日本"]),  # no trail for Japanese letters
        ("zh", "[[北京]]市和[[abc]]de", ["北京", "abc"]),  # zh has no trail at all
        ("ar", "[[كتاب]]ي الجديد", ["كتابي"]),
        ("arz", "[[كتاب]]ي", ["كتابي"]),  # through its fallback, ar
        ("fa", "[[کتاب]]ها", ["کتابها"]),
        ("pl", "w [[Polska]]ę", ["Polskaę"]),
        ("ca", "de [[Barcelona]]'s i [[Girona]]''x''", ["Barcelona's", "Gironax"]),
        ("hi", "[[भारत]]ीय लोग", ["भारतीय"]),  # not in the data: Unicode letters and marks
        ("xx", "[[Ελλάδα]]ς 1", ["Ελλάδας"]),
    ],
)
def test_link_trails_of_real_languages(lang, text, anchors):
    assert _anchors(text, lang) == anchors


@pytest.mark.parametrize(
    "lang, text",
    [
        ("bg", "#ПРЕНАСОЧВАНЕ [[Земя]]"),
        ("bg", "#виж [[Земя]]"),
        ("ja", "＃転送 [[Земя]]"),
        ("ru", "#перенаправление [[Земя]]"),
        ("uk", "#ПЕРЕНАПРАВЛЕНИЕ [[Земя]]"),  # Russian, through uk's fallback
        ("es", "#REDIRECCIÓN [[Земя]]"),
        ("fa", "#تغییرمسیر [[Земя]]"),
        ("ca", "#redirecció: [[Земя]]"),
    ],
)
def test_localized_redirect_keywords(lang, text):
    assert redirect_target(text, lang) == "Земя"
    assert redirect_target(text, "en") is None  # a keyword of one wiki only
    assert redirect_target("#REDIRECT [[Земя]]", lang) == "Земя"


def test_pcre_conversion():
    convert = mwlang.pcre_trail_to_python
    assert convert("/^([a-z]+)(.*)$/sD") == "[a-z]+"
    assert re.fullmatch(convert("/^([\\x{0621}-\\x{064A}a-z]+)(.*)$/sDu"), "كتابx")
    grouped = re.compile(convert("/^((?:[a-z]|(ß))+)(.*)$/sDu"))
    assert grouped.groups == 0 and grouped.fullmatch("aßb")
    assert re.fullmatch(convert("/^([a-z]+)(.*)$/iu"), "ABc")
    assert re.fullmatch(convert("/^(\\w+)(.*)$/u"), "ab_1") and not re.fullmatch(convert("/^(\\w+)(.*)$/u"), "é")
    assert re.fullmatch(convert("#^([a-z&|~[]+)(.*)$#u"), "a&|~[")
    assert re.fullmatch(convert("{^([.]+)(.*)$}s"), "..")
    for bad, why in [
        ("/^(\\p{L}+)(.*)$/u", "escape \\\\p"),
        ("/^([äö]+)(.*)$/sD", "without the u flag"),
        ("/^([a-z]+)$/u", "not of the form"),
        ("/^([a-z]+)(.*)$/uU", "flags 'U'"),
        ("a^([a-z]+)(.*)$a", "not a delimited"),
        ("|^([a-z]+)(.*)$", "no closing delimiter"),
        ("/^([[:alpha:]]+)(.*)$/u", "POSIX"),
    ]:
        with pytest.raises(ValueError, match=why):
            convert(bad)


def test_php_strings():
    assert mwlang.php_string(r"'it\'s \\ \n'") == "it's \\ \\n"
    assert mwlang.php_string(r'"a\"b\\c\n\u{e9}\x41$"') == 'a"b\\c\néA$'


def _messages(root: Path, code: str, body: str) -> None:
    path = mwlang.messages_file(root, code)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<?php\n" + body, encoding="utf8")


def test_regenerate_from_a_checkout(tmp_path):
    """Fallback chains as MediaWiki follows them: the first trail of the chain, redirect keywords merged along it;
    commented-out lines and other arrays' `'Redirect'` keys are not read."""
    _messages(
        tmp_path,
        "en",
        "$magicWords = [\n\t'redirect' => [ '0', '#REDIRECT' ],\n];\n$linkTrail = '/^([a-z]+)(.*)$/sD';\n",
    )
    _messages(
        tmp_path,
        "yy",
        "$magicWords = array(\n\t'redirect' => array( 1, '#YY', \"#Y\\u{e9}\" ),\n);\n"
        '$linkTrail = "/^([a-zé]+)(.*)$/sDu";\n',
    )
    _messages(
        tmp_path,
        "xx-abc",
        "$fallback = 'yy, en';\n#$linkTrail = '/^([q]+)(.*)$/sD';\n"
        "$specialPageAliases = [\n\t'Redirect' => [ 'Umleiten' ],\n];\n"
        "$magicWords = [\n\t'notoc' => [ '0', '__NO__' ],\n\t'redirect' => [ '0', '#XX', '#YY' ],\n];\n",
    )
    out = tmp_path / "languages.json"
    assert mwlang.main([str(tmp_path), "--languages", "xx-abc,en", "--output", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf8"))["languages"]
    assert data["xx-abc"]["fallback_chain"] == ["xx-abc", "yy", "en"]
    assert data["xx-abc"]["redirect"] == ["#XX", "#YY", "#Yé", "#REDIRECT"]
    assert data["xx-abc"]["link_trail"] == "[a-zé]+" and data["xx-abc"]["link_trail_from"] == "yy"
    assert data["xx-abc"]["sources"][0] == "languages/messages/MessagesXx_abc.php"
    assert data["en"] == {**data["en"], "fallback_chain": ["en"], "link_trail": "[a-z]+", "redirect": ["#REDIRECT"]}
    assert mwlang.main([str(tmp_path / "nowhere"), "--output", str(out)]) == 1


def _bg_dump(path: Path, lang_attrs: str, base: str) -> Path:
    """An export-0.8 dump (no <dbname>) of a Bulgarian wiki: one article and one localized redirect."""
    path.write_bytes(
        f"""<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.8/" version="0.8" {lang_attrs}>
  <siteinfo><sitename>Уикипедия</sitename>{base}<generator>MediaWiki 1.21</generator><case>first-letter</case>
    <namespaces><namespace key="0" case="first-letter" />
      <namespace key="14" case="first-letter">Категория</namespace></namespaces>
  </siteinfo>
  <page><title>Слънце</title><ns>0</ns><id>1</id><revision><id>1</id><text>"""
        """'''Слънцето''' е звезда. [[Земя]]та обикаля около него. [[Категория:Звезди]]</text></revision></page>
  <page><title>Слънцето</title><ns>0</ns><id>2</id><revision><id>2</id><text>"""
        """#ПРЕНАСОЧВАНЕ [[Слънце]]</text></revision></page>
</mediawiki>
""".encode("utf-16")
    )
    return path


BG_BASE = "<base>https://bg.wikipedia.org/wiki/Начална_страница</base>"


def test_bulgarian_dump_without_dbname(tmp_path):
    dump = _bg_dump(tmp_path / "bgwiki.xml", 'xml:lang="bg"', BG_BASE)
    siteinfo = _dump_items_plain(dump)[0]
    assert (siteinfo.dbname, siteinfo.xml_lang, dump_language(siteinfo)) == ("", "bg", "bg")
    parse_wikipedia(dump, tmp_path / "out", Settings(lang="bg", dev_percent=0), progress=False)
    (article,) = [json.loads(line) for line in (tmp_path / "out" / "articles.jsonl").open()]
    assert [anchor for *_, anchor in [(*link, article["text"][link[0] : link[1]]) for link in article["links"]]] == [
        "Земята"
    ]
    assert (tmp_path / "out" / "redirects.tsv").read_text(encoding="utf8") == "Слънцето\tСлънце\n"


@pytest.mark.parametrize(
    "attrs, base, told",
    [
        ('xml:lang="bg"', BG_BASE, "<base> https://bg.wikipedia.org/wiki/Начална_страница"),
        ('xml:lang="bg"', "", 'xml:lang="bg"'),
        ("", BG_BASE, "<base> https://bg.wikipedia.org/wiki/"),
    ],
)
def test_dump_language_contradicting_lang_is_one_error(tmp_path, attrs, base, told):
    dump = _bg_dump(tmp_path / "bgwiki.xml", attrs, base)
    with pytest.raises(InputError) as error:
        parse_wikipedia(dump, tmp_path / "out", Settings(lang="en"), progress=False)
    message = str(error.value)
    assert f"is a dump of the 'bg' wiki (its {told}" in message and "not of --lang 'en'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "siteinfo, lang",
    [
        (SiteInfo(dbname="bgwiki", xml_lang="en"), "bg"),
        (SiteInfo(dbname="zh_min_nanwiki"), "zh-min-nan"),
        (SiteInfo(dbname="enwiktionary"), "en"),
        (SiteInfo(base="https://simple.wikipedia.org/wiki/Main_Page", xml_lang="en"), "simple"),
        (SiteInfo(base="http://bg.m.wikipedia.org/wiki/X"), "bg"),
        (SiteInfo(base="https://wiki.example.org/wiki/Main", xml_lang="de"), "de"),
        (SiteInfo(xml_lang="bg"), "bg"),
        (SiteInfo(base="https://wiki.example.org/wiki/Main"), None),
        (SiteInfo(), None),
    ],
)
def test_dump_language(siteinfo, lang):
    assert dump_language(siteinfo) == lang


def _dump_items_plain(path: Path):
    with open(path, "rb") as stream:
        return list(DumpReader(stream, path))
