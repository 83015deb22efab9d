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
import time
from pathlib import Path

import pytest

from conftest import run_project_copy
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import DumpReader, Page, Settings, SiteInfo, parse_wikipedia, redirect_target
from wikiel.synthetic.world import LANGUAGES

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
