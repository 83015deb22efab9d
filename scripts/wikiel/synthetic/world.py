"""A deterministic synthetic world written in the real dump formats.

`generate_world` writes a Wikidata JSON dump (`latest-all.json.gz` layout: `[`, one entity per line ending in `,`, `]`)
and a `{lang}wiki` `pages-articles-multistream.xml.bz2` with its `-index.txt.bz2`, so that every parser of the
project runs on real-format input offline. The wiki is localised by `WorldConfig.lang` through `LANGUAGES` (siteinfo
namespace names, redirect keywords, section and category names, interlanguage partners, Wikidata label language and
optionally the prose words); a language without an entry gets the English one under its own `{lang}wiki` name.
The linking task it poses is shaped like Wikipedia's:

- entity popularity is Zipf-like; surface forms are shared (a city, a person's surname, a club and a film can all be
  "Varena"), so the prior P(entity | alias) is right most but not all of the time;
- each mention sits in a sentence whose words come partly from its entity's topic and type, and each entity's
  description uses words of the same topic and type, so the sentence context carries real signal;
- a share of anchors are one-off variants (lower case, descriptive phrases, misspellings) that no candidate lookup
  finds, so the oracle stays below 100%;
- articles carry the markup a parser must survive: infoboxes and nested templates, refs, tables, files with captions,
  categories, interlanguage links, headings, lists, links of every form, redirects and red links.

Two shapes (`SHAPES`, `--world-shape` / `vars.world_shape`): `small`, the default world, calibrated at 8K entities
(its ambiguity and the reach of its links change with the size), and `wikipedia`, which keeps the same task at any
size, up to the full-size run's million entities:

- a share of the links (`coverage_links`) walks a cycle over the entities of the article's topic, so every entity
  gets a floor of links (enough to pass build-kb's min_freq, as Wikipedia's long tail) while the rest follow the Zipf
  popularity;
- the entities sharing a short form come in groups of 1 + Zipf(`group_zipf`) (at most `max_group`; mostly 2-4, as
  the entries of a disambiguation page), whatever the size, and the group's most popular entity is its primary: it
  is called by the short form far more often (`primary_short`) than the others (`secondary_short`), so that P(entity
  | alias) is right mostly, and the context must do the rest;
- Wikidata-like aliases beside the label (initials "J. Varena", other spellings "Warena" by `respell`, formal names
  "City of Varena", "Varena Corp.", subtitles, common names of taxa), up to `max_redirects` redirects per entity and
  anchors through all of them.

`wikiel.synthetic.shape.link_baselines` measures the prior and oracle a world's links give without writing it.

Memory is O(entities) (names and a few numbers per entity); pages and entities are streamed to disk.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import orjson

from wikiel import defaults
from wikiel.kb.types import COARSE_TYPES
from wikiel.util import atomic_path, step_output

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
ONSETS = ["br", "dr", "gr", "kr", "st", "tr", "th", "sh", "ch", "pl", "v", "m", "l", "n", "s", "t", "k", "d", "r", "b"]

FUNCTION_WORDS = (
    "the of and in to a was is for on as with by from at that which its their also it this an were are has had "
    "after during between into other most more several many some both while where when under over".split()
)
GENERIC_WORDS = (
    "history early later first new large major period century year local national work part known became "
    "important main group number area system second public form based often time high world modern name "
    "received began remained following former original main small general named included role".split()
)
# Words that tell the type of the entity a sentence is about (real English, as in Wikipedia prose).
TYPE_CUES: Dict[str, Sequence[str]] = {
    "PERSON": "born married career he she studied died son daughter wife played wrote elected".split(),
    "COUNTRY": "republic government border nation capital parliament independence economy sovereign".split(),
    "CITY": "population town located municipality district mayor inhabitants suburb centre".split(),
    "SPORTS_TEAM": "season league match club coach won stadium players championship cup".split(),
    "EDUCATION": "university students campus faculty professor college degree academic".split(),
    "COMPANY": "company shares products revenue founded headquarters subsidiary employees".split(),
    "ORGANIZATION": "organization members association council founded committee society".split(),
    "FILM": "film directed starring released screenplay cinema actor premiered".split(),
    "BOOK": "novel published author chapters edition volume literary writer".split(),
    "MUSIC": "album song recorded band single chart studio track".split(),
    "EVENT": "battle war festival held took place troops ceremony siege".split(),
    "TAXON": "species genus family native habitat plants insects described".split(),
    "CHEMICAL": "compound acid molecule formula reaction solution crystals".split(),
    "DISEASE": "disease symptoms treatment patients infection chronic diagnosis".split(),
    "PRODUCT": "device model launched manufacturer version engine design".split(),
    "LOCATION": "river mountain lake valley island coast peak basin".split(),
}
TYPE_NOUNS: Dict[str, Sequence[str]] = {
    "PERSON": ["politician", "footballer", "painter", "writer", "physicist", "singer", "actor", "general"],
    "COUNTRY": ["country", "sovereign state"],
    "CITY": ["city", "town", "municipality"],
    "SPORTS_TEAM": ["football club", "basketball team", "hockey club"],
    "EDUCATION": ["university", "college"],
    "COMPANY": ["company", "manufacturer", "bank"],
    "ORGANIZATION": ["organization", "society", "political party"],
    "FILM": ["film"],
    "BOOK": ["novel", "book"],
    "MUSIC": ["album", "song"],
    "EVENT": ["battle", "festival", "election"],
    "TAXON": ["species", "genus"],
    "CHEMICAL": ["chemical compound"],
    "DISEASE": ["disease", "syndrome"],
    "PRODUCT": ["car model", "aircraft", "computer"],
    "LOCATION": ["river", "mountain", "lake", "island"],
}
# Relative frequency of each type among entities (roughly Wikipedia's link mix).
TYPE_WEIGHTS: Dict[str, float] = {
    "PERSON": 0.26,
    "CITY": 0.13,
    "COUNTRY": 0.02,
    "LOCATION": 0.07,
    "SPORTS_TEAM": 0.05,
    "EDUCATION": 0.03,
    "COMPANY": 0.06,
    "ORGANIZATION": 0.06,
    "FILM": 0.07,
    "BOOK": 0.04,
    "MUSIC": 0.05,
    "EVENT": 0.05,
    "TAXON": 0.04,
    "CHEMICAL": 0.02,
    "DISEASE": 0.02,
    "PRODUCT": 0.03,
}
META_CLASSES = {"disambiguation": "Q4167410", "category": "Q4167836", "list": "Q13406463", "template": "Q11266439"}


@dataclass(frozen=True)
class WorldLanguage:
    """How the generated wiki of one language writes things. A new language needs its siteinfo `namespaces` and
    `redirects`; what it leaves empty (word tables) or unchanged falls back to English."""

    namespaces: Tuple[Tuple[int, str], ...]  # siteinfo (key, localized name), in the order written
    redirects: Tuple[str, ...] = ("#REDIRECT",)  # keywords written by redirect pages, cycled through
    main_page: str = "Main_Page"
    # Link prefixes of files and categories, picked per link by a hash; canonical English names work on every wiki.
    file_prefixes: Tuple[str, ...] = ("File",)
    category_prefixes: Tuple[str, ...] = ("Category",)
    interlanguage: Tuple[str, ...] = ()  # other wikis (default en/de/fr); the first also gets sitelinks, descriptions
    thumb: str = "thumb"
    redirect_note: str = "\n\n{{R from alternative name}}"
    sections: Tuple[str, str] = ("History", "Early life")  # section anchors of links
    see_also: str = "See also"
    references: Tuple[str, str] = ("References", "{{Reflist}}")  # heading, what follows it
    lead: str = "'''{name}''' is a {description}."
    description: str = "{noun} {cue} of {a} {b} and {c}"
    caption: str = "The {word} of {link}."
    category: str = "{word} {noun}s"
    infobox_category: str = "Infobox templates"
    variant: str = "the {word} {noun}"  # a descriptive one-off anchor
    class_label: str = "{noun} of {word}"
    class_description: str = "class of entities"
    disambiguation: str = "{title} (disambiguation)"
    meta_labels: Tuple[Tuple[str, str], ...] = tuple((k, f"Wikimedia {k} page") for k in META_CLASSES)
    meta_titles: Tuple[Tuple[str, str], ...] = (
        ("category", "{category}:{Word} people"),
        ("list", "List of {word} films"),
        ("template", "{template}:{Word} navbox"),
    )
    # Prose words; empty = the English tables above.
    function_words: Sequence[str] = ()
    generic_words: Sequence[str] = ()
    type_cues: Optional[Dict[str, Sequence[str]]] = None
    type_nouns: Optional[Dict[str, Sequence[str]]] = None

    def namespace(self, key: int) -> str:
        return dict(self.namespaces)[key]


ENGLISH = WorldLanguage(
    namespaces=(
        (-2, "Media"),
        (-1, "Special"),
        (0, ""),
        (1, "Talk"),
        (2, "User"),
        (4, "Wikipedia"),
        (6, "File"),
        (10, "Template"),
        (12, "Help"),
        (14, "Category"),
        (100, "Portal"),
        (828, "Module"),
    ),
    interlanguage=("de", "fr"),
)
LANGUAGES: Dict[str, WorldLanguage] = {
    "en": ENGLISH,
    "de": WorldLanguage(
        namespaces=(
            (-2, "Medium"),
            (-1, "Spezial"),
            (0, ""),
            (1, "Diskussion"),
            (2, "Benutzer"),
            (4, "Wikipedia"),
            (6, "Datei"),
            (10, "Vorlage"),
            (12, "Hilfe"),
            (14, "Kategorie"),
            (100, "Portal"),
            (828, "Modul"),
        ),
        redirects=("#WEITERLEITUNG", "#WEITERLEITUNG", "#REDIRECT"),
        main_page="Wikipedia:Hauptseite",
        file_prefixes=("Datei", "Datei", "Datei", "Bild", "File"),
        category_prefixes=("Kategorie", "Kategorie", "Kategorie", "Category"),
        interlanguage=("en", "fr"),
        thumb="mini",
        redirect_note="",
        sections=("Geschichte", "Leben"),
        see_also="Siehe auch",
        references=("Einzelnachweise", "<references />"),
        lead="'''{name}''' ist {description}.",
        description="{noun} {cue} von {a} {b} und {c}",
        caption="Die {word} von {link}.",
        category="{word} ({noun})",
        infobox_category="Vorlage:Infobox",
        variant="die {word} {noun}",
        class_label="{noun} von {word}",
        class_description="Klasse von Entitäten",
        disambiguation="{title} (Begriffsklärung)",
        meta_labels=(
            ("disambiguation", "Wikimedia-Begriffsklärungsseite"),
            ("category", "Wikimedia-Kategorie"),
            ("list", "Wikimedia-Liste"),
            ("template", "Wikimedia-Vorlage"),
        ),
        meta_titles=(
            ("category", "{category}:Person ({Word})"),
            ("list", "Liste von Filmen ({word})"),
            ("template", "{template}:Navigationsleiste {Word}"),
        ),
        function_words=(
            "der die das und in zu ein eine war ist für auf als mit von aus bei dass welche seine ihre auch es "
            "dies einer wurden sind hat hatte nach während zwischen im am zum zur den dem des sowie wo wenn unter "
            "über mehrere viele einige beide".split()
        ),
        generic_words=(
            "Geschichte früh später erste neue große wichtige Zeit Jahrhundert Jahr lokale nationale Werk Teil "
            "bekannt wurde bedeutend Gruppe Zahl Gebiet System zweite öffentlich Form oft hoch Welt modern Name "
            "erhielt begann blieb folgenden ehemalige ursprünglich kleine allgemein genannt Rolle".split()
        ),
        type_cues={
            "PERSON": "geboren verheiratet Karriere er sie studierte starb Sohn Tochter Ehefrau spielte".split(),
            "COUNTRY": "Republik Regierung Grenze Nation Hauptstadt Parlament Unabhängigkeit Wirtschaft".split(),
            "CITY": "Einwohner gelegen Gemeinde Bezirk Bürgermeister Bevölkerung Vorort Zentrum".split(),
            "SPORTS_TEAM": "Saison Liga Spiel Verein Trainer gewann Stadion Spieler Meisterschaft Pokal".split(),
            "EDUCATION": "Universität Studenten Campus Fakultät Professor Hochschule Abschluss akademisch".split(),
            "COMPANY": "Unternehmen Aktien Produkte Umsatz gegründet Hauptsitz Tochterfirma Mitarbeiter".split(),
            "ORGANIZATION": "Organisation Mitglieder Verband Rat gegründet Ausschuss Gesellschaft".split(),
            "FILM": "Film Regie Hauptrolle veröffentlicht Drehbuch Kino Schauspieler Premiere".split(),
            "BOOK": "Roman veröffentlicht Autor Kapitel Ausgabe Band literarisch Schriftsteller".split(),
            "MUSIC": "Album Lied aufgenommen Band Single Charts Studio Titel".split(),
            "EVENT": "Schlacht Krieg Festival stattfand Truppen Zeremonie Belagerung".split(),
            "TAXON": "Art Gattung Familie heimisch Lebensraum Pflanzen Insekten beschrieben".split(),
            "CHEMICAL": "Verbindung Säure Molekül Formel Reaktion Lösung Kristalle".split(),
            "DISEASE": "Krankheit Symptome Behandlung Patienten Infektion chronisch Diagnose".split(),
            "PRODUCT": "Gerät Modell eingeführt Hersteller Version Motor Design".split(),
            "LOCATION": "Fluss Berg See Tal Insel Küste Gipfel Becken".split(),
        },
        type_nouns={
            "PERSON": [
                "Politiker",
                "Fußballspieler",
                "Maler",
                "Schriftsteller",
                "Physiker",
                "Sänger",
                "Schauspieler",
                "General",
            ],
            "COUNTRY": ["Staat", "souveräner Staat"],
            "CITY": ["Stadt", "Kleinstadt", "Gemeinde"],
            "SPORTS_TEAM": ["Fußballverein", "Basketballmannschaft", "Eishockeyverein"],
            "EDUCATION": ["Universität", "Hochschule"],
            "COMPANY": ["Unternehmen", "Hersteller", "Bank"],
            "ORGANIZATION": ["Organisation", "Gesellschaft", "politische Partei"],
            "FILM": ["Film"],
            "BOOK": ["Roman", "Buch"],
            "MUSIC": ["Album", "Lied"],
            "EVENT": ["Schlacht", "Festival", "Wahl"],
            "TAXON": ["Art", "Gattung"],
            "CHEMICAL": ["chemische Verbindung"],
            "DISEASE": ["Krankheit", "Syndrom"],
            "PRODUCT": ["Automodell", "Flugzeug", "Computer"],
            "LOCATION": ["Fluss", "Berg", "See", "Insel"],
        },
    ),
    # Only the siteinfo and redirect keyword: the prose stays English.
    "fr": WorldLanguage(
        namespaces=(
            (-2, "Média"),
            (-1, "Spécial"),
            (0, ""),
            (1, "Discussion"),
            (2, "Utilisateur"),
            (4, "Wikipédia"),
            (6, "Fichier"),
            (10, "Modèle"),
            (12, "Aide"),
            (14, "Catégorie"),
            (100, "Portail"),
            (828, "Module"),
        ),
        redirects=("#REDIRECTION", "#REDIRECT"),
        main_page="Wikipédia:Accueil_principal",
        file_prefixes=("Fichier", "Fichier", "File"),
        category_prefixes=("Catégorie",),
        interlanguage=("en", "de"),
        thumb="vignette",
        redirect_note="",
        sections=("Histoire", "Biographie"),
        see_also="Voir aussi",
        references=("Notes et références", "{{Références}}"),
        disambiguation="{title} (homonymie)",
    ),
}


def language_of(lang: str) -> WorldLanguage:
    """The world's language table: LANGUAGES[lang], else English (written as `{lang}wiki`)."""
    return LANGUAGES.get(lang, ENGLISH)


FIRST_NAMES_N = 400
TIMESTAMP = "2023-05-01T00:00:00Z"
PAGES_PER_STREAM = 100


@dataclass
class WorldConfig:
    """Knobs of the generated world; defaults are calibrated to Wikipedia-like link statistics."""

    n_entities: int = defaults.WORLD_ENTITIES
    n_articles: int = defaults.WORLD_ARTICLES
    seed: int = defaults.SEED
    lang: str = defaults.LANG
    n_topics: int = 40
    topic_words: int = 60
    zipf: float = defaults.WORLD_ZIPF  # popularity exponent
    shared_root_share: float = 0.7  # entities whose root word is shared with others
    shared_root_pool: float = 0.02  # shared roots per entity
    root_topic_share: float = 0.35  # entities with a shared root that take the root's home topic
    same_topic_mentions: float = 0.7  # mentions of an entity from the article's topic
    context_from_entity: float = 0.4  # context words drawn from the mentioned entity's topic/type
    variant_anchor: float = 0.06  # one-off anchors no lookup finds
    red_links: float = 0.04  # links to pages without a Wikidata item
    extra_items: float = 0.5  # items without a sitelink to this wiki, per entity
    no_description: float = 0.04
    short_form_alias: float = 0.6  # entities whose short form is also a Wikidata alias
    shape: str = defaults.WORLD_SHAPE  # "small" (the default world) or "wikipedia" (see WIKIPEDIA_SHAPE)
    # ---- used by the wikipedia shape only ----
    coverage_links: float = 0.0  # links drawn from a cycle over the entities of the article's topic (a floor)
    group_zipf: float = 2.5  # sizes of the groups of entities sharing a short form: 1 + Zipf(group_zipf)
    max_group: int = 60
    primary_short: float = 0.55  # P(anchor = short form) for the most popular entity of its group
    secondary_short: float = 0.2  # ... for the others (they are usually written out in full)
    alias_anchor: float = 0.15  # P(anchor = one of the Wikidata aliases)
    max_redirects: int = 1  # redirect pages per entity


class _Names:
    """Pseudo-words made of syllables, unique per use."""

    def __init__(self, rng: Any):
        self.rng = rng
        self.used: set = set()

    def word(self, syllables: Tuple[int, int] = (2, 3)) -> str:
        while True:
            n = int(self.rng.integers(syllables[0], syllables[1] + 1))
            parts = []
            for i in range(n):
                onset = (
                    ONSETS[int(self.rng.integers(len(ONSETS)))]
                    if i == 0
                    else CONSONANTS[int(self.rng.integers(len(CONSONANTS)))]
                )
                parts.append(onset + VOWELS[int(self.rng.integers(len(VOWELS)))])
            if self.rng.random() < 0.5:
                parts.append(CONSONANTS[int(self.rng.integers(len(CONSONANTS)))])
            w = "".join(parts)
            if w not in self.used:
                self.used.add(w)
                return w


@dataclass
class Entity:
    qid: str
    type: str
    p31: str
    topic: int
    name: str  # full name as written in text
    short: Optional[str]  # short form shared with other entities ("Varena")
    aliases: List[str]  # Wikidata aliases (also used as anchors)
    title: str = ""
    description: str = ""
    group: int = -1  # wikipedia shape: the group of entities sharing its short form (-1: none)
    primary: bool = True  # wikipedia shape: the most popular entity of its group


class World:
    """All entities, topics and names of one generated world (kept in memory; O(entities))."""

    def __init__(self, cfg: WorldConfig):
        self.cfg = cfg
        self.language = language_of(cfg.lang)
        lx = self.language
        self.type_nouns: Dict[str, Sequence[str]] = lx.type_nouns or TYPE_NOUNS
        self.type_cues: Dict[str, Sequence[str]] = lx.type_cues or TYPE_CUES
        self.function_words: Sequence[str] = lx.function_words or FUNCTION_WORDS
        self.generic_words: Sequence[str] = lx.generic_words or GENERIC_WORDS
        # Other wikis: Wikidata labels, interlanguage links; the first also sitelinks and descriptions.
        self.other_langs = tuple(lang for lang in (lx.interlanguage or ("en", "de", "fr")) if lang != cfg.lang)
        self.wikipedia = cfg.shape == "wikipedia"
        self.rng: Any = _FastRng(cfg.seed) if self.wikipedia else np.random.default_rng(cfg.seed)
        self.names = _Names(self.rng)
        self.topic_vocab = [[self.names.word() for _ in range(cfg.topic_words)] for _ in range(cfg.n_topics)]
        self.first_names = [self.names.word((2, 2)).capitalize() for _ in range(FIRST_NAMES_N)]
        self.classes = self._make_classes()
        self.entities = self._make_wikipedia_entities() if self.wikipedia else self._make_entities()
        self._assign_titles()
        self.popularity = self._make_popularity()
        self.by_topic = [np.flatnonzero(self.topic_of == t) for t in range(cfg.n_topics)]
        self.coverage_next = [0] * cfg.n_topics  # position of each topic's coverage cycle
        self.coverage_stride = [_stride(len(idx)) for idx in self.by_topic]
        if self.wikipedia:
            self._mark_primaries()
        self.topic_cdf = [np.cumsum(self.popularity[idx]) / self.popularity[idx].sum() for idx in self.by_topic]
        self.global_cdf = np.cumsum(self.popularity) / self.popularity.sum()

    # ---- entities -------------------------------------------------------------------------------------------
    def _make_classes(self) -> Dict[str, List[Tuple[str, str, Optional[str]]]]:
        """Per type: (qid, label, parent) classes; the real anchor class plus two generated subclasses."""
        classes: Dict[str, List[Tuple[str, str, Optional[str]]]] = {}
        next_id = 95_000_000
        for name, anchors in COARSE_TYPES.items():
            anchor = anchors[0]
            rows: List[Tuple[str, str, Optional[str]]] = [(anchor, name.lower().replace("_", " "), None)]
            for noun in self.type_nouns[name][:2]:
                label = self.language.class_label.format(noun=noun, word=self.names.word())
                rows.append((f"Q{next_id}", label, anchor))
                next_id += 1
            classes[name] = rows
        return classes

    def _make_entities(self) -> List[Entity]:
        cfg, rng = self.cfg, self.rng
        types = list(TYPE_WEIGHTS)
        weights = np.array([TYPE_WEIGHTS[t] for t in types])
        type_idx = rng.choice(len(types), size=cfg.n_entities, p=weights / weights.sum())
        n_shared = max(4, int(cfg.n_entities * cfg.shared_root_pool))
        shared_roots = [self.names.word().capitalize() for _ in range(n_shared)]
        root_weights = 1.0 / np.power(np.arange(n_shared) + 3.0, 0.9)
        shared_pick = rng.choice(n_shared, size=cfg.n_entities, p=root_weights / root_weights.sum())
        topics = rng.integers(cfg.n_topics, size=cfg.n_entities)
        # Entities sharing a name often share a field too ("John Smith" the footballer and the cricketer).
        root_home_topic = rng.integers(cfg.n_topics, size=n_shared)
        entities = []
        for i in range(cfg.n_entities):
            etype = types[type_idx[i]]
            if rng.random() < cfg.shared_root_share:
                root = shared_roots[shared_pick[i]]
                if rng.random() < cfg.root_topic_share:
                    topics[i] = root_home_topic[shared_pick[i]]
            else:
                root = self.names.word().capitalize()
            name, short, aliases = self._names_for(etype, root)
            if short and short != name and rng.random() < cfg.short_form_alias:
                aliases.append(short)  # Wikidata often lists the short form ("Lincoln") as an alias
            cls = self.classes[etype][int(rng.integers(len(self.classes[etype])))][0]
            entities.append(Entity(f"Q{100_000_000 + i}", etype, cls, int(topics[i]), name, short, aliases))
        self.topic_of = topics
        return entities

    def _make_wikipedia_entities(self) -> List[Entity]:
        """The wikipedia shape: entities sharing a short form come in groups whose sizes do not grow with the world
        (1 + Zipf(group_zipf), at most max_group: mostly 2-4, a few dozens, as the entries of disambiguation pages),
        and each entity gets the Wikidata-like aliases of `_more_aliases`."""
        cfg, rng = self.cfg, self.rng
        n = cfg.n_entities
        types = list(TYPE_WEIGHTS)
        weights = np.array([TYPE_WEIGHTS[t] for t in types])
        type_idx = rng.choice(len(types), size=n, p=weights / weights.sum())
        topics = rng.integers(cfg.n_topics, size=n)
        shared = np.flatnonzero(rng.random(n) < cfg.shared_root_share)
        sizes = np.minimum(rng.zipf(cfg.group_zipf, size=len(shared) + 1) + 1, cfg.max_group)
        ends = np.cumsum(sizes)
        n_groups = int(np.searchsorted(ends, len(shared))) + 1
        group_of = np.full(n, -1, dtype=np.int64)
        group_of[shared] = np.searchsorted(ends, np.arange(len(shared)), side="right")
        roots = [self.names.word().capitalize() for _ in range(n_groups)]
        home_topic = rng.integers(cfg.n_topics, size=n_groups)
        take_home = rng.random(n) < cfg.root_topic_share
        entities = []
        for i in range(n):
            etype = types[type_idx[i]]
            group = int(group_of[i])
            if group >= 0:
                root = roots[group]
                if take_home[i]:
                    topics[i] = home_topic[group]
            else:
                root = self.names.word().capitalize()
            name, short, aliases = self._names_for(etype, root)
            if short and short != name and rng.random() < cfg.short_form_alias:
                aliases.append(short)
            aliases += [a for a in self._more_aliases(etype, name, root) if a != name and a not in aliases]
            cls = self.classes[etype][rng.integers(len(self.classes[etype]))][0]
            entities.append(
                Entity(f"Q{100_000_000 + i}", etype, cls, int(topics[i]), name, short, aliases, group=group)
            )
        self.topic_of = topics
        return entities

    def _more_aliases(self, etype: str, name: str, root: str) -> List[str]:
        """Wikidata-like aliases of the wikipedia shape: initials of people ("J. Varena"), other spellings
        ("Warena", `respell`), informal and formal names ("City of Varena", "Varena Corp."), common names of taxa."""
        rng = self.rng
        pick = lambda seq: seq[rng.integers(len(seq))]  # noqa: E731
        out = []
        if etype == "PERSON":
            out.append(f"{name[0]}. {root}")
            if rng.random() < 0.5:
                out.append(respell(name))
        elif etype in ("CITY", "COUNTRY", "LOCATION"):
            out.append(respell(name))
            if etype == "CITY" and rng.random() < 0.5:
                out.append(f"City of {root}")
        elif etype in ("COMPANY", "ORGANIZATION", "SPORTS_TEAM", "EDUCATION"):
            out.append(f"{name} {pick(['Ltd.', 'Corp.', 'Inc.', 'plc'])}" if etype == "COMPANY" else respell(name))
            if rng.random() < 0.3:
                out.append(f"{root} {pick(['Group', 'Club', 'Institute', 'Holdings'])}")
        elif etype in ("FILM", "MUSIC", "BOOK"):
            out.append(f"{name}: {pick(['The Story', 'Part One', 'Revisited', 'Live', 'Complete Edition'])}")
            if rng.random() < 0.4:
                out.append(respell(name))
        elif etype in ("PRODUCT", "EVENT"):
            out.append(
                f"{root} {pick(['series', 'line'])}"
                if etype == "PRODUCT"
                else f"{root} {pick(['Campaign', 'Conflict'])}"
            )
        elif etype == "TAXON":
            out.append(f"{root.lower()} {pick(['beetle', 'moth', 'fern', 'orchid', 'snail', 'finch'])}")
        else:
            out.append(respell(name))
        return out

    def _names_for(self, etype: str, root: str) -> Tuple[str, Optional[str], List[str]]:
        """Full name, shared short form and aliases of an entity, by type."""
        rng = self.rng
        pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
        if etype == "PERSON":
            first = pick(self.first_names)
            return f"{first} {root}", root, [f"{first} {pick(self.first_names)} {root}"]
        if etype == "COUNTRY":
            return root, root, [f"Republic of {root}"]
        if etype == "CITY":
            return root, root, [f"{root} City"]
        if etype == "LOCATION":
            kind = pick(["River", "Mountains", "Lake", "Island", "Valley"])
            return f"{root} {kind}", root, []
        if etype == "SPORTS_TEAM":
            full = f"{root} {pick(['FC', 'United', 'Rovers', 'Athletic', 'Wanderers'])}"
            return full, root, []
        if etype == "EDUCATION":
            return f"University of {root}", root, [f"{root} University"]
        if etype == "COMPANY":
            full = f"{root} {pick(['Corporation', 'Group', 'Industries', 'Motors', 'Bank'])}"
            return full, root, [_acronym(full)]
        if etype == "ORGANIZATION":
            full = f"{root} {pick(['Society', 'Foundation', 'Council', 'Association', 'Party'])}"
            return full, None, [_acronym(full)]
        if etype in ("FILM", "MUSIC"):
            return root, root, []
        if etype == "BOOK":
            return f"The {root} {pick(['Chronicles', 'Letters', 'Garden', 'Road'])}", None, []
        if etype == "EVENT":
            return (
                f"{pick(['Battle of', 'Siege of', 'Treaty of'])} {root}",
                None,
                [f"{root} {pick(['War', 'Festival'])}"],
            )
        if etype == "TAXON":
            return f"{root}us {self.names.word()}", None, []
        if etype == "CHEMICAL":
            return f"{root.lower()}ine", None, []
        if etype == "DISEASE":
            return f"{root} syndrome", None, [f"{root.lower()}itis"]
        if etype == "PRODUCT":
            return f"{root} {pick(['X', 'Z', 'Nova', 'Pro'])}{int(rng.integers(1, 9)) * 100}", root, []
        raise ValueError(etype)

    def _assign_titles(self) -> None:
        """Unique Wikipedia titles: the name, or `Name (type noun)` / `Name (type noun N)` when taken."""
        taken: Dict[str, int] = {}
        rng = self.rng
        for e in self.entities:
            base = e.name[0].upper() + e.name[1:]
            if base not in taken:
                taken[base] = 1
                e.title = base
            else:
                noun = self.type_nouns[e.type][0]
                title = f"{base} ({noun})"
                attempt = 0
                while title in taken:  # "Varena (1834 city)", then numbered once years run short
                    attempt += 1
                    year = int(rng.integers(1800, 2024))
                    title = f"{base} ({year} {noun})" if attempt <= 3 else f"{base} ({noun} {attempt})"
                taken[title] = 1
                e.title = title
            words = self.topic_vocab[e.topic]
            topic_words = [words[int(rng.integers(len(words)))] for _ in range(3)]
            nouns, cues = self.type_nouns[e.type], self.type_cues[e.type]
            noun = nouns[int(rng.integers(len(nouns)))]
            cue = cues[int(rng.integers(len(cues)))]
            e.description = self.language.description.format(
                noun=noun, cue=cue, a=topic_words[0], b=topic_words[1], c=topic_words[2]
            )

    def _make_popularity(self) -> np.ndarray:
        ranks = self.rng.permutation(self.cfg.n_entities) + 1
        return 1.0 / np.power(ranks + 5.0, self.cfg.zipf)

    def _mark_primaries(self) -> None:
        """Wikipedia shape: the most popular entity of each group is its primary (the one its short form names)."""
        best: Dict[int, int] = {}
        for i, e in enumerate(self.entities):
            if e.group >= 0:
                j = best.get(e.group)
                if j is None or self.popularity[i] > self.popularity[j]:
                    best[e.group] = i
                e.primary = False
        for i in best.values():
            self.entities[i].primary = True

    # ---- sampling -------------------------------------------------------------------------------------------
    def sample_entity(self, topic: int) -> int:
        """A link target: popularity-weighted, mostly from the article's topic. The wikipedia shape draws a share
        `coverage_links` from a cycle over the topic's entities instead, so that every entity gets a floor of links
        (Wikipedia's long tail is linked a few times each) while the rest keeps the Zipf skew."""
        if self.wikipedia and len(self.by_topic[topic]) and self.rng.random() < self.cfg.coverage_links:
            idx = self.by_topic[topic]
            k = self.coverage_next[topic]
            self.coverage_next[topic] = k + 1
            # A fixed stride walks the topic's entities in a scattered order, visiting each once per round.
            return int(idx[(k * self.coverage_stride[topic]) % len(idx)])
        if self.rng.random() < self.cfg.same_topic_mentions and len(self.by_topic[topic]):
            idx = self.by_topic[topic]
            return int(idx[min(int(np.searchsorted(self.topic_cdf[topic], self.rng.random())), len(idx) - 1)])
        return min(int(np.searchsorted(self.global_cdf, self.rng.random())), len(self.entities) - 1)

    def anchor_for(self, e: Entity) -> str:
        """Anchor text for a mention of `e`: a one-off variant now and then, else its short form, an alias or
        its name."""
        r = self.rng.random()
        if r < self.cfg.variant_anchor:
            return self._variant(e)
        if self.wikipedia:
            return self._wikipedia_anchor(e)
        r = self.rng.random()
        if e.short and e.short != e.name and r < 0.5:
            return e.short
        if e.aliases and r > 0.88:
            return e.aliases[int(self.rng.integers(len(e.aliases)))]
        return e.name

    def _wikipedia_anchor(self, e: Entity) -> str:
        """The short form mostly for the primary of its group (Paris, France is "Paris"; Paris, Texas is written out),
        now and then a Wikidata alias, else the name."""
        cfg, rng = self.cfg, self.rng
        if e.short and e.short != e.name and rng.random() < (cfg.primary_short if e.primary else cfg.secondary_short):
            return e.short
        if e.aliases and rng.random() < cfg.alias_anchor:
            return e.aliases[rng.integers(len(e.aliases))]
        return e.name

    def _variant(self, e: Entity) -> str:
        kind = int(self.rng.integers(3))
        if kind == 0 and e.name.lower() != e.name:
            return e.name.lower()
        if kind == 1 and len(e.name) > 4:
            i = int(self.rng.integers(1, len(e.name) - 2))
            return e.name[:i] + e.name[i + 1] + e.name[i] + e.name[i + 2 :]
        words = self.topic_vocab[e.topic]
        return self.language.variant.format(
            word=words[int(self.rng.integers(len(words)))], noun=self.type_nouns[e.type][0]
        )

    def context_words(self, e: Entity, article_topic: int, n: int) -> List[str]:
        """Words around a mention: partly its entity's topic and type cues, else the article's topic or generic."""
        out = []
        rng = self.rng
        for _ in range(n):
            words: Sequence[str]
            r = rng.random()
            if r < self.cfg.context_from_entity:
                if rng.random() < 0.6:
                    words = self.topic_vocab[e.topic]
                else:
                    words = self.type_cues[e.type]
            elif r < 0.75:
                words = self.topic_vocab[article_topic]
            else:
                words = self.generic_words
            out.append(words[int(rng.integers(len(words)))])
        return out


# A Wikipedia-like world at any size: the same ambiguity and popularity per entity at 10K as at 1M entities.
WIKIPEDIA_SHAPE: Dict[str, Any] = {
    "coverage_links": 0.5,
    "shared_root_share": 0.9,
    "group_zipf": 2.2,
    "max_group": 60,
    "primary_short": 0.8,
    "secondary_short": 0.55,
    "alias_anchor": 0.25,
    "short_form_alias": 0.7,
    "variant_anchor": 0.05,
    "max_redirects": 2,
}
SHAPES: Dict[str, Dict[str, Any]] = {"small": {}, "wikipedia": WIKIPEDIA_SHAPE}


def world_config(shape: str = defaults.WORLD_SHAPE, **settings: Any) -> WorldConfig:
    """The WorldConfig of a shape (`SHAPES`), with `settings` on top; ValueError for an unknown shape."""
    if shape not in SHAPES:
        raise ValueError(f"unknown world shape {shape!r} (one of {', '.join(SHAPES)})")
    return WorldConfig(**{**SHAPES[shape], **settings, "shape": shape})


class _FastRng:
    """The random draws of the wikipedia shape: scalars from Python's `random` (a numpy Generator spends a few
    microseconds per scalar call, which is most of the generation time at a million entities), arrays from numpy.
    Both seeded, so the world is deterministic."""

    def __init__(self, seed: int):
        self.py = random.Random(seed)
        self.np = np.random.default_rng(seed)

    def random(self, size: Optional[int] = None) -> Any:
        return self.py.random() if size is None else self.np.random(size)

    def integers(self, low: int, high: Optional[int] = None, size: Optional[int] = None) -> Any:
        if size is not None:
            return self.np.integers(low, high, size=size)
        if high is None:
            low, high = 0, low
        return low + int(self.py.random() * (high - low))  # randrange is 5 times slower; the bias is below 1e-9

    def choice(self, a: Any, size: Optional[int] = None, replace: bool = True, p: Any = None) -> Any:
        if size is None and p is None and not isinstance(a, int):
            return a[int(self.py.random() * len(a))]
        return self.np.choice(a, size=size, replace=replace, p=p)

    def permutation(self, n: int) -> np.ndarray:
        return self.np.permutation(n)

    def zipf(self, a: float, size: int) -> np.ndarray:
        return self.np.zipf(a, size=size)


def _stride(n: int) -> int:
    """A step coprime with `n` near n * 0.618 (so that k * step mod n visits every index once per n steps)."""
    step = max(1, int(n * 0.6180339887))
    while np.gcd(step, n) != 1:
        step += 1
    return step


RESPELLINGS = (("k", "c"), ("c", "k"), ("f", "ph"), ("v", "w"), ("z", "s"), ("i", "y"), ("th", "t"), ("sh", "sch"))


def respell(name: str) -> str:
    """Another spelling of a name, chosen by a hash ("Varena" -> "Warena", "Kodi" -> "Cody"); the name with a
    doubled last consonant or an added "e" when no rule applies."""
    start = hash_int(name) % len(RESPELLINGS)
    for k in range(len(RESPELLINGS)):
        old, new = RESPELLINGS[(start + k) % len(RESPELLINGS)]
        at = name.lower().find(old)
        if at >= 0:
            piece = name[at : at + len(old)]
            new = new.capitalize() if piece[0].isupper() else new
            return name[:at] + new + name[at + len(old) :]
    return name + name[-1] if name[-1] in CONSONANTS else name + "e"


def _acronym(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[0].isupper())


# ---- Wikidata JSON ------------------------------------------------------------------------------------------
def _claim(qid: str, prop: str, target: str) -> dict:
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": prop,
            "datavalue": {
                "value": {"entity-type": "item", "numeric-id": int(target[1:]), "id": target},
                "type": "wikibase-entityid",
            },
            "datatype": "wikibase-item",
        },
        "type": "statement",
        "id": f"{qid}${uuid.UUID(int=hash_int(qid + prop + target))}",
        "rank": "normal",
    }


def hash_int(text: str) -> int:
    """Stable 128-bit integer of a string (Python's hash() is salted per process)."""
    return int(hashlib.md5(text.encode("utf8")).hexdigest(), 16)


def _terms(lang_values: Dict[str, str]) -> dict:
    return {lang: {"language": lang, "value": value} for lang, value in lang_values.items() if value}


def _item(
    qid: str,
    labels: Dict[str, str],
    descriptions: Dict[str, str],
    aliases: Dict[str, List[str]],
    claims: Dict[str, List[str]],
    sitelinks: Dict[str, str],
    revid: int,
) -> dict:
    return {
        "type": "item",
        "id": qid,
        "labels": _terms(labels),
        "descriptions": _terms(descriptions),
        "aliases": {lang: [{"language": lang, "value": v} for v in vals] for lang, vals in aliases.items() if vals},
        "claims": {prop: [_claim(qid, prop, t) for t in targets] for prop, targets in claims.items()},
        "sitelinks": {site: {"site": site, "title": title, "badges": []} for site, title in sitelinks.items()},
        "lastrevid": revid,
    }


def _property(pid: str, label: str) -> dict:
    return {
        "type": "property",
        "datatype": "wikibase-item",
        "id": pid,
        "labels": _terms({"en": label}),
        "descriptions": {},
        "aliases": {},
        "claims": {},
        "lastrevid": 1000 + int(pid[1:]),
    }


def write_wikidata(world: World, path: Path) -> int:
    """Write the Wikidata dump (gz, dump layout, fixed mtime so bytes are reproducible); returns entity count."""
    cfg, rng, lx = world.cfg, world.rng, world.language
    site = f"{cfg.lang}wiki"
    other = world.other_langs[0]  # a second wiki with sitelinks and descriptions
    meta_labels = dict(lx.meta_labels)
    records: List[dict] = [_property("P31", "instance of"), _property("P279", "subclass of")]
    for rows in world.classes.values():
        for qid, label, parent in rows:
            claims = {"P279": [parent]} if parent else {}
            records.append(
                _item(
                    qid,
                    {cfg.lang: label},
                    {cfg.lang: lx.class_description},
                    {},
                    claims,
                    {site: label[0].upper() + label[1:]},
                    2000,
                )
            )
    for rank, (kind, meta) in enumerate(META_CLASSES.items()):
        records.append(_item(meta, {cfg.lang: meta_labels[kind]}, {}, {}, {}, {}, 3000 + rank))
    n = len(records)
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        # No file name and a fixed mtime in the gzip header: the same world gives the same bytes.
        with gzip.GzipFile(filename="", mode="wb", compresslevel=5, fileobj=raw, mtime=0) as gz:
            out = io.BufferedWriter(gz, buffer_size=1 << 20)
            out.write(b"[\n")
            for rec in records:
                out.write(orjson.dumps(rec) + b",\n")
            shared_seen: set = set()
            for i, e in enumerate(world.entities):
                desc = "" if rng.random() < cfg.no_description else e.description
                aliases = [a for a in e.aliases if a != e.name]
                labels = {cfg.lang: e.name, **{lang: e.name for lang in world.other_langs}}
                descs = {cfg.lang: desc, other: f"{desc.split(' ')[0]} ({other})" if desc else ""}
                rec = _item(
                    e.qid,
                    labels,
                    descs,
                    {cfg.lang: aliases},
                    {"P31": [e.p31]},
                    {site: e.title, f"{other}wiki": e.title},
                    10_000 + i,
                )
                out.write(orjson.dumps(rec) + b",\n")
                n += 1
                # Meta items next to it: a disambiguation page per shared short form, now and then a category.
                if e.short and e.short not in shared_seen and e.title != e.short:
                    shared_seen.add(e.short)
                    rec = _item(
                        f"Q{300_000_000 + i}",
                        {cfg.lang: e.short},
                        {cfg.lang: meta_labels["disambiguation"]},
                        {},
                        {"P31": [META_CLASSES["disambiguation"]]},
                        {site: lx.disambiguation.format(title=e.short)},
                        20_000 + i,
                    )
                    out.write(orjson.dumps(rec) + b",\n")
                    n += 1
                if i % 97 == 0:
                    word = world.topic_vocab[e.topic][0]
                    kind = ("category", "list", "template")[i % 3]
                    title = dict(lx.meta_titles)[kind].format(
                        word=word, Word=word.capitalize(), category=lx.namespace(14), template=lx.namespace(10)
                    )
                    rec = _item(
                        f"Q{400_000_000 + i}",
                        {cfg.lang: title},
                        {},
                        {},
                        {"P31": [META_CLASSES[kind]]},
                        {site: title},
                        30_000 + i,
                    )
                    out.write(orjson.dumps(rec) + b",\n")
                    n += 1
                # Items with no article in this wiki (the long tail of Wikidata).
                if rng.random() < cfg.extra_items:
                    label = world.names.word().capitalize()
                    rec = _item(
                        f"Q{500_000_000 + i}",
                        {other: label} if i % 3 else {cfg.lang: label},
                        {},
                        {},
                        {"P31": [e.p31]},
                        {f"{other}wiki": label} if i % 2 else {},
                        40_000 + i,
                    )
                    out.write(orjson.dumps(rec) + b",\n")
                    n += 1
            out.write(orjson.dumps(_property("P17", "country")) + b"\n]\n")
            out.flush()
            out.detach()
    return n + 1


# ---- Wikipedia XML ------------------------------------------------------------------------------------------
SITEINFO_HEAD = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ http://www.mediawiki.org/xml/export-0.10.xsd" '
    'version="0.10" xml:lang="{lang}">\n'
    """  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>{lang}wiki</dbname>
    <base>https://{lang}.wikipedia.org/wiki/{main_page}</base>
    <generator>MediaWiki 1.41.0-wmf.7</generator>
    <case>first-letter</case>
    <namespaces>
"""
)


def siteinfo_xml(lang: str) -> str:
    """The `<mediawiki>` start tag and `<siteinfo>` of the `{lang}wiki` dump, with its localized namespaces."""
    lx = language_of(lang)
    lines = [SITEINFO_HEAD.format(lang=lang, main_page=escape(lx.main_page))]
    for key, name in lx.namespaces:
        if name:
            lines.append(f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>\n')
        else:
            lines.append(f'      <namespace key="{key}" case="first-letter" />\n')
    lines.append("    </namespaces>\n  </siteinfo>\n")
    return "".join(lines)


def _page_xml(title: str, ns: int, page_id: int, text: str, redirect: Optional[str] = None) -> str:
    redirect_xml = f"    <redirect title={quoteattr(redirect)} />\n" if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n{redirect_xml}"
        f"    <revision>\n      <id>{page_id * 10 + 7}</id>\n      <parentid>{page_id * 10 + 3}</parentid>\n"
        f"      <timestamp>{TIMESTAMP}</timestamp>\n      <contributor>\n        <username>WorldBot</username>\n"
        f"        <id>42</id>\n      </contributor>\n      <comment>generated</comment>\n"
        f"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode("utf8"))}" xml:space="preserve">{escape(text)}</text>\n'
        f"      <sha1>{format(hash_int(text) % (36**31), 'x')}</sha1>\n    </revision>\n  </page>\n"
    )


class _PageStreams:
    """Writes pages as they come: a bz2 stream per PAGES_PER_STREAM pages and the index line of each page, so that
    memory does not grow with the number of pages."""

    def __init__(self, out: Any, index_out: Any, lang: str):
        self.out = out
        self.index = bz2.BZ2Compressor(9)
        self.index_out = index_out
        self.chunk: List[str] = []
        self.titles: List[Tuple[str, int]] = []
        out.write(bz2.compress(siteinfo_xml(lang).encode("utf8"), 9))

    def add(self, title: str, page_id: int, page: str) -> None:
        self.chunk.append(page)
        self.titles.append((title, page_id))
        if len(self.chunk) == PAGES_PER_STREAM:
            self.flush()

    def flush(self) -> None:
        if self.chunk:
            offset = self.out.tell()
            lines = "".join(f"{offset}:{pid}:{title}\n" for title, pid in self.titles)
            self.index_out.write(self.index.compress(lines.encode("utf8")))
            self.out.write(bz2.compress("".join(self.chunk).encode("utf8"), 9))
            self.chunk, self.titles = [], []

    def close(self) -> None:
        self.flush()
        self.out.write(bz2.compress(b"</mediawiki>\n", 9))
        self.index_out.write(self.index.flush())


class ArticleWriter:
    """Writes one article's wikitext: markup of every kind around sentences with links."""

    def __init__(self, world: World, redirect_of: Dict[int, str]):
        self.w = world
        self.rng = world.rng
        self.lx = world.language
        self.redirect_of = redirect_of  # entity index -> a redirect title pointing at it

    def link(self, topic: int) -> Tuple[str, Optional[int]]:
        """Wikitext of one link in one of the real link forms, and the linked entity (None for a red link)."""
        w, rng = self.w, self.rng
        if rng.random() < w.cfg.red_links:
            words = w.topic_vocab[topic]
            target = f"{words[int(rng.integers(len(words)))].capitalize()} {words[int(rng.integers(len(words)))]}"
            return f"[[{target}]]", None
        idx = w.sample_entity(topic)
        e = w.entities[idx]
        anchor = w.anchor_for(e)
        target = e.title
        r = rng.random()
        if idx in self.redirect_of and r < 0.15:
            target = self.redirect_of[idx]
        elif r < 0.18:
            target = f"{e.title}#{self.lx.sections[0] if rng.random() < 0.5 else self.lx.sections[1]}"
        elif r < 0.22:
            target = target.replace(" ", "_")
        if anchor == target or anchor == target[0].lower() + target[1:]:
            return f"[[{anchor}]]", idx  # [[T]], or [[t]] with a lower-case first letter
        return f"[[{target}|{anchor}]]", idx

    def sentence(self, topic: int, n_links: int) -> str:
        """One sentence: function words, context words of the linked entities (else the article's topic), links."""
        w, rng = self.w, self.rng
        links = [self.link(topic) for _ in range(n_links)]
        entity_ctx: List[str] = []
        for _, idx in links:
            if idx is not None:
                entity_ctx += w.context_words(w.entities[idx], topic, 3)
        words = []
        for _ in range(int(rng.integers(8, 16))):
            if rng.random() < 0.45:
                words.append(w.function_words[int(rng.integers(len(w.function_words)))])
            else:
                words.append(entity_ctx.pop() if entity_ctx else self._topic_word(topic))
        for text, _ in links:
            words.insert(int(rng.integers(1, len(words))), text)
        if rng.random() < 0.15:
            words.insert(int(rng.integers(1, len(words))), f"'''{self._topic_word(topic)}'''")
        if rng.random() < 0.1:
            words.insert(int(rng.integers(1, len(words))), f"''{self._topic_word(topic)}''")
        words[0] = words[0][0].upper() + words[0][1:]
        text = " ".join(words) + "."
        if rng.random() < 0.2:
            word = self._topic_word(topic)
            text += (
                f"<ref>{{{{cite web |url=https://example.org/{word} |title={word} "
                "{{!}} archive |date=2020}}</ref>"
            )
        elif rng.random() < 0.05:
            text += '<ref name="main" />'
        return text

    def _topic_word(self, topic: int) -> str:
        words = self.w.topic_vocab[topic] if self.rng.random() < 0.55 else self.w.generic_words
        return words[int(self.rng.integers(len(words)))]

    def _prefix(self, prefixes: Sequence[str], key: str) -> str:
        """One of a namespace's link prefixes, by a hash of `key` (no draw from the world's random stream)."""
        return prefixes[0] if len(prefixes) == 1 else prefixes[hash_int(key) % len(prefixes)]

    def article(self, subject: Entity) -> str:
        w, rng, lx = self.w, self.rng, self.lx
        topic = subject.topic
        parts = [
            f"{{{{Infobox {w.type_nouns[subject.type][0]}\n| name = {subject.name}\n| image = {subject.name}.jpg\n"
            f"| region = [[{w.entities[w.sample_entity(topic)].title}]]\n"
            f"| established = {{{{start date|19{int(rng.integers(10, 99))}}}}}\n}}}}",
            lx.lead.format(name=subject.name, description=subject.description),
        ]
        for s in range(int(rng.integers(2, 4))):
            parts.append(f"== {self._topic_word(topic).capitalize()} ==")
            for _ in range(int(rng.integers(1, 3))):
                sentences = [
                    self.sentence(topic, int(rng.choice([0, 1, 1, 1, 2, 2]))) for _ in range(int(rng.integers(3, 6)))
                ]
                parts.append(" ".join(sentences))
            r = rng.random()
            if r < 0.3:
                word = self._topic_word(topic)
                caption = lx.caption.format(word=word, link=f"[[{w.entities[w.sample_entity(topic)].title}]]")
                prefix = self._prefix(lx.file_prefixes, f"{subject.title}\t{s}")
                parts.append(f"[[{prefix}:{subject.name} {s}.jpg|{lx.thumb}|{caption}]]")
            elif r < 0.5:
                rows = "\n|-\n".join(
                    f"| 19{int(rng.integers(10, 99))} || [[{w.entities[w.sample_entity(topic)].title}]]"
                    for _ in range(3)
                )
                parts.append(f'{{| class="wikitable"\n|-\n! Year !! Name\n|-\n{rows}\n|}}')
            elif r < 0.6:
                parts.append("<!-- editors: please cite sources -->")
        parts.append(f"== {lx.see_also} ==")
        parts.extend(f"* {self.link(topic)[0]}" for _ in range(int(rng.integers(1, 4))))
        parts.append(f"== {lx.references[0]} ==\n{lx.references[1]}")
        category = lx.category.format(word=self._topic_word(topic).capitalize(), noun=w.type_nouns[subject.type][0])
        parts.append(f"[[{self._prefix(lx.category_prefixes, subject.title)}:{category}]]")
        parts.append("\n".join(f"[[{lang}:{subject.title}]]" for lang in w.other_langs))
        return "\n\n".join(parts)


def write_wikipedia(world: World, xml_path: Path, index_path: Path) -> Dict[str, int]:
    """Write the multistream pages-articles XML (bz2 streams of 100 pages) and its offset index."""
    cfg, rng = world.cfg, world.rng
    n_articles = min(cfg.n_articles, len(world.entities))
    subjects = np.sort(rng.choice(len(world.entities), size=n_articles, replace=False))
    redirect_of: Dict[int, str] = {}  # the first redirect of an entity: links go through it now and then
    more_redirects: Dict[int, List[str]] = {}  # the others (wikipedia shape: up to max_redirects per entity)
    used_titles = {e.title for e in world.entities}
    for i, e in enumerate(world.entities):
        for alias in e.aliases:
            if alias not in used_titles and rng.random() < 0.5:
                used_titles.add(alias)
                if i not in redirect_of:
                    redirect_of[i] = alias
                else:
                    more_redirects.setdefault(i, []).append(alias)
                if 1 + len(more_redirects.get(i, ())) >= cfg.max_redirects:
                    break
    writer = ArticleWriter(world, redirect_of)
    lx = world.language
    keywords = lx.redirects
    counts = {"articles": 0, "redirects": 0, "other_pages": 0}
    with atomic_path(xml_path) as xml_tmp, atomic_path(index_path) as index_tmp:
        with open(xml_tmp, "wb") as out, open(index_tmp, "wb") as index_out:
            pages = _PageStreams(out, index_out, cfg.lang)
            page_id = 10
            # Real dumps hold the redirect's target in `<redirect title>` (the world wrote the redirect's own title
            # there until this was found; parse-wikipedia then mapped those redirects to themselves).
            for rank, idx in enumerate(subjects):
                e = world.entities[idx]
                pages.add(e.title, page_id, _page_xml(e.title, 0, page_id, writer.article(e)))
                counts["articles"] += 1
                page_id += int(rng.integers(1, 4))
                if idx in redirect_of:
                    # Real dumps carry both the <redirect> element and the #REDIRECT text; a few old pages only the
                    # text, which must then say it with the wiki's own keyword (with the element, also the others).
                    element = e.title if rank % 10 else None
                    keyword = keywords[rank % len(keywords)] if element else keywords[0]
                    for alias in [redirect_of[idx], *more_redirects.get(idx, ())]:
                        text = f"{keyword} [[{e.title}]]{lx.redirect_note}"
                        pages.add(alias, page_id, _page_xml(alias, 0, page_id, text, element))
                        counts["redirects"] += 1
                        page_id += 1
                if rank % 50 == 0:
                    title = f"{lx.namespace(10)}:Infobox {world.type_nouns[e.type][0]}"
                    text = (
                        '{| class="infobox"\n| {{{name}}}\n|}<noinclude>'
                        f"[[{lx.namespace(14)}:{lx.infobox_category}]]</noinclude>"
                    )
                    pages.add(title, page_id, _page_xml(title, 10, page_id, text))
                    counts["other_pages"] += 1
                    page_id += 1
            # Redirects of entities without an article page still resolve links.
            with_article = set(subjects.tolist())
            for n, (idx, alias) in enumerate(sorted(redirect_of.items())):
                if idx not in with_article:
                    keyword = keywords[n % len(keywords)]
                    target = world.entities[idx].title
                    for title in [alias, *more_redirects.get(idx, ())]:
                        pages.add(title, page_id, _page_xml(title, 0, page_id, f"{keyword} [[{target}]]", target))
                        counts["redirects"] += 1
                        page_id += 1
            pages.close()
    return counts


def generate_world(
    out_dir: Path,
    n_entities: int = defaults.WORLD_ENTITIES,
    n_articles: int = defaults.WORLD_ARTICLES,
    seed: int = defaults.SEED,
    lang: str = defaults.LANG,
    zipf: float = defaults.WORLD_ZIPF,
    shape: str = defaults.WORLD_SHAPE,
) -> Dict[str, Path]:
    """Generate a world into `out_dir`; returns the paths of the Wikidata dump, XML dump and its index.

    `zipf` is the popularity exponent: lower spreads the links over more entities. `shape` is `small` (the default
    world) or `wikipedia` (the full-size run: a floor of links per entity, so the exponent keeps its skew)."""
    out_dir = Path(out_dir)
    world = World(world_config(shape, n_entities=n_entities, n_articles=n_articles, seed=seed, lang=lang, zipf=zipf))
    names = {
        "wikidata": "latest-all.json.gz",
        "wikipedia": f"{lang}wiki-latest-pages-articles-multistream.xml.bz2",
        "wikipedia_index": f"{lang}wiki-latest-pages-articles-multistream-index.txt.bz2",
    }
    with step_output(out_dir, "fetch-world") as staging:  # the three files appear together or not at all
        write_wikidata(world, staging / names["wikidata"])
        write_wikipedia(world, staging / names["wikipedia"], staging / names["wikipedia_index"])
    return {key: out_dir / name for key, name in names.items()}
