"""Real biomedical formats into the custom KB path: PubTator corpora (`wikiel.sources.pubtator`), CTD TSV and OBO
ontologies (`wikiel.sources.ontology`), their warts handled and counted, and the conversion with id resolution and a
held-out test split (`wikiel.sources.custom`). Small hand-written snippets for every case, then the real MEDIC and
NCBI-disease files of ../shared/data/biomedical (skipped when absent)."""

import gzip
import json
from collections import Counter
from pathlib import Path

import orjson
import pytest
import spacy
from spacy.tokens import DocBin

from conftest import SHARED_DATA
from wikiel.sources import ontology, pubtator
from wikiel.sources.check import check_assets
from wikiel.sources.custom import (
    convert_custom,
    convert_entities,
    convert_mentions,
    documents_of_split,
    entity_format,
    load_entities,
    mention_files,
    read_entities,
    read_mentions,
)
from wikiel.sources.fetch import use_custom
from wikiel.sources.ontology import read_ctd, read_obo
from wikiel.sources.pubtator import Tally, read_pubtator, split_ids
from wikiel.util import InputError, OutputError

BIOMEDICAL = SHARED_DATA / "biomedical"
MEDIC = BIOMEDICAL / "CTD_diseases.tsv.gz"
NCBI = {
    "train": BIOMEDICAL / "NCBItrainset_corpus.txt",
    "dev": BIOMEDICAL / "NCBIdevelopset_corpus.txt",
    "test": BIOMEDICAL / "NCBItestset_corpus.txt",
}
needs_shared = pytest.mark.skipif(
    not all(p.is_file() for p in [MEDIC, *NCBI.values()]),
    reason=f"the real MEDIC / NCBI-disease files are not in {BIOMEDICAL} (../shared/data/biomedical)",
)

TITLE = "Familial breast and ovarian cancer."
ABSTRACT = 'Breast cancer and "ovarian" cancer in BRCA1 carriers with DM.'
TEXT = f"{TITLE} {ABSTRACT}"  # offsets index title + " " + abstract


def _offsets(text: str, surface: str, nth: int = 0) -> tuple:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return start, start + len(surface)


def _mention(pmid: str, surface: str, cls: str, ids: str, nth: int = 0, text: str = TEXT, shift: int = 0) -> str:
    start, end = _offsets(text, surface, nth)
    return f"{pmid}\t{start + shift}\t{end + shift}\t{surface}\t{cls}\t{ids}"


DOC_1 = [
    f"100|t|{TITLE}",
    f"100|a|{ABSTRACT}",
    _mention("100", "breast and ovarian cancer", "CompositeMention", "D001943|D010051"),
    _mention("100", "Breast cancer", "SpecificDisease", " D001943"),
    _mention("100", '"ovarian" cancer', "SpecificDisease", "D010051+OMIM:114480"),
    _mention("100", "DM", "SpecificDisease", "-1"),
]


def write(path: Path, lines, gz: bool = False) -> Path:
    text = "".join(line + "\n" for line in lines)
    if gz:
        with gzip.open(path, "wt", encoding="utf8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf8")
    return path


# ---- PubTator ------------------------------------------------------------------------------------------------------
def test_split_ids():
    assert split_ids("D001943|D010051") == ("D001943", "D010051")
    assert split_ids("D007153+D040181") == ("D007153", "D040181")
    assert split_ids(" D007945") == ("D007945",) and split_ids("OMIM:106210 ") == ("OMIM:106210",)
    assert split_ids("-1") == () and split_ids("") == () and split_ids("D1|D1|-1") == ("D1",)


def test_pubtator_documents_mentions_and_composite_ids(tmp_path):
    path = write(tmp_path / "corpus.txt", DOC_1 + ["", "200|t|Only a title about DM.", "200\t19\t21\tDM\tDisease\tD1"])
    tally = Tally()
    docs = list(read_pubtator(path, tally))
    assert [(d.id, d.line) for d in docs] == [("100", 1), ("200", 8)]
    assert docs[0].text == TEXT and docs[1].text == "Only a title about DM."
    first = docs[0].mentions
    assert [(TEXT[m.start : m.end], m.ids, m.cls, m.line) for m in first] == [
        ("breast and ovarian cancer", ("D001943", "D010051"), "CompositeMention", 3),
        ("Breast cancer", ("D001943",), "SpecificDisease", 4),
        ('"ovarian" cancer', ("D010051", "OMIM:114480"), "SpecificDisease", 5),
        ("DM", (), "SpecificDisease", 6),
    ]
    assert tally.counts == Counter(documents=2, mentions=5, composite_mentions=2, mentions_without_id=1)
    assert tally.examples["mentions_without_id"] == [f"{path}:6"]


def test_pubtator_gzip_relations_and_no_blank_line_between_documents(tmp_path):
    lines = [*DOC_1[:3], "100\tCID\tD001943\tD010051", "200|t|Second.", "200|a|Text."]
    path = write(tmp_path / "corpus.pubtator.gz", lines, gz=True)
    tally = Tally()
    docs = list(read_pubtator(path, tally))
    assert [d.id for d in docs] == ["100", "200"] and docs[1].text == "Second. Text."
    assert tally.counts["relations"] == 1 and tally.counts["mentions"] == 1
    assert pubtator.is_pubtator(path) and pubtator.has_pubtator_name(path)


def test_pubtator_offset_warts_are_realigned_kept_or_dropped(tmp_path):
    lines = [
        f"100|t|{TITLE}",
        f"100|a|{ABSTRACT}",
        # the NCBI-disease train wart: quotes of the text are spaces in the surface column; offsets are right
        _mention("100", '"ovarian" cancer', "SpecificDisease", "D010051").replace(
            '"ovarian" cancer', " ovarian  cancer"
        ),
        _mention("100", "BRCA1 carriers", "Modifier", "D1", shift=3),  # offsets 3 characters off
        _mention("100", "Breast cancer", "SpecificDisease", "D001943").replace("Breast cancer", "Lung cancer"),
    ]
    path = write(tmp_path / "corpus.txt", lines)
    tally = Tally()
    (doc,) = read_pubtator(path, tally)
    assert [(TEXT[m.start : m.end], m.text) for m in doc.mentions] == [
        ('"ovarian" cancer', " ovarian  cancer"),
        ("BRCA1 carriers", "BRCA1 carriers"),
    ]
    assert (tally.counts["surface_mismatch"], tally.counts["realigned"], tally.counts["offset_mismatch"]) == (1, 1, 1)
    assert tally.examples == {
        "surface_mismatch": [f"{path}:3"],
        "realigned": [f"{path}:4"],
        "offset_mismatch": [f"{path}:5"],
    }
    assert tally.counts["mentions"] == 2


def test_pubtator_identical_duplicate_document_is_skipped_a_different_one_is_an_error(tmp_path):
    path = write(tmp_path / "train.txt", DOC_1 + ["", "200|t|Other.", ""] + DOC_1)
    tally = Tally()
    assert [d.id for d in read_pubtator(path, tally)] == ["100", "200"]
    assert tally.counts["duplicate_documents"] == 1 and tally.counts["duplicate_document_mentions"] == 4
    assert tally.examples["duplicate_documents"] == [f"{path}:10"]
    changed = write(tmp_path / "changed.txt", DOC_1 + [""] + DOC_1[:-1])
    with pytest.raises(InputError, match=rf"^{changed}:8: document 100 appears again \(first at line 1\)"):
        list(read_pubtator(changed))


@pytest.mark.parametrize(
    "bad, line, message",
    [
        ("100\tx\t5\tFamilial\tDisease\tD1", 3, "mention offsets must be integers, got 'x' and '5'"),
        ("100\t5\t2\tFamilial\tDisease\tD1", 3, "mention offsets [5, 2) are not a span"),
        ("100\t0\t8\tFamilial", 3, "a mention line needs 6 tab-separated columns"),
        ("999\t0\t8\tFamilial\tDisease\tD1", 3, "annotation of document '999' outside its document"),
        ("just some text", 3, "not a PubTator line"),
        ("100|a|A second abstract.", 3, "a second abstract line for document 100"),
        ("999|a|An abstract.", 3, "abstract of document 999 without its title line"),
    ],
)
def test_pubtator_errors_name_file_and_line(tmp_path, bad, line, message):
    path = write(tmp_path / "corpus.txt", [f"100|t|{TITLE}", f"100|a|{ABSTRACT}", bad])
    with pytest.raises(InputError) as err:
        list(read_pubtator(path))
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)


def test_pubtator_split_from_the_file_name():
    names = {
        "NCBItrainset_corpus.txt": "train",
        "NCBIdevelopset_corpus.txt": "dev",
        "CDR_DevelopmentSet.PubTator.txt": "dev",
        "NCBItestset_corpus.txt": "test",
        "corpus.txt": None,
    }
    assert {name: pubtator.split_of_name(name) for name in names} == names


def test_mention_files_pick_pubtator_txt_files_only(tmp_path):
    write(tmp_path / "a_train.txt", DOC_1)
    write(tmp_path / "b_test.pubtator.gz", DOC_1, gz=True)
    write(tmp_path / "notes.txt", ["just notes"])
    write(tmp_path / "c.jsonl", [json.dumps({"id": "x", "text": "Text."})])
    write(tmp_path / "d.tsv", DOC_1)  # PubTator content, but not a PubTator name
    assert [p.name for p in mention_files(tmp_path)] == ["a_train.txt", "b_test.pubtator.gz", "c.jsonl"]
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty / "README.txt", ["nothing here"])
    with pytest.raises(InputError, match="holds no .*PubTator"):
        mention_files(empty)


def test_pubtator_mentions_become_documents_with_splits_and_composites(tmp_path):
    lines = DOC_1 + [_mention("100", "breast", "Modifier", "D1"), _mention("100", "Breast cancer", "X", " D001943")]
    path = write(tmp_path / "NCBItrainset_corpus.txt", lines)
    tally = Tally()
    (doc,) = read_mentions([path], tally=tally)
    assert doc.split == "train" and doc.where == "document '100'" and doc.line == 1
    assert [(TEXT[s:e], i) for s, e, i in doc.spans] == [
        ("breast and ovarian cancer", "D001943"),
        ("Breast cancer", "D001943"),
        ('"ovarian" cancer', "D010051"),
    ]
    assert doc.composite == {
        _offsets(TEXT, "breast and ovarian cancer"): ("D001943", "D010051"),
        _offsets(TEXT, '"ovarian" cancer'): ("D010051", "OMIM:114480"),
    }
    assert tally.counts["overlapping_dropped"] == 1 and tally.counts["duplicate_mentions"] == 1
    empty = write(tmp_path / "empty.txt", ["7|t|", "7|a|", "", "8|t|Text."])
    assert [d.id for d in read_mentions([empty], tally=tally)] == ["8"]
    assert tally.examples["empty_documents"] == [f"{empty}:1"]


# ---- CTD -----------------------------------------------------------------------------------------------------------
CTD_HEADER = [
    "# The Comparative Toxicogenomics Database (CTD) - http://ctdbase.org/",
    "#",
    "# Fields:",
    "# " + "\t".join(ontology.CTD_FIELDS),
    "#",
]
CTD_ROWS = [
    "\t".join(
        [
            "Breast Neoplasms",
            "MESH:D001943",
            "DO:DOID:1612|OMIM:114480",
            "Tumors or cancer of the human BREAST.",
            "MESH:D009371",
            "C04.588.180",
            "C04.588",
            "Breast Cancer|Breast Tumors|Breast Cancer|  |Cancer of Breast",
            "Cancer|Skin disease",
        ]
    ),
    "\t".join(["Ovarian Neoplasms", "MESH:D010051", "DO:DOID:2394", "", "MESH:D009371", "", "", "Ovary Cancer", ""]),
    "\t".join(["Neoplasms", "MESH:D009371", "", "", "", "", "", "", "Cancer"]),
    "\t".join(["Myotonic Dystrophy", "OMIM:160900", "DO:DOID:11722|DO:DOID:1612", "", "", "", "", "DM1", ""]),
]


@pytest.fixture
def ctd(tmp_path):
    return write(tmp_path / "CTD_diseases.tsv.gz", CTD_HEADER + CTD_ROWS, gz=True)


def test_ctd_concepts_types_synonyms_and_alternative_ids(ctd):
    v = read_ctd(ctd)
    assert list(v.concepts) == ["MESH:D001943", "MESH:D010051", "MESH:D009371", "OMIM:160900"]
    breast = v.concepts["MESH:D001943"]
    assert (breast.name, breast.type, breast.line) == ("Breast Neoplasms", "Cancer", 6)
    assert breast.definition == "Tumors or cancer of the human BREAST."
    assert breast.parents == ["MESH:D009371"] and breast.alt_ids == ["DO:DOID:1612", "OMIM:114480"]
    assert [(s.text, s.scope) for s in breast.synonyms][0] == ("Breast Cancer", "RELATED")
    assert breast.aliases() == ["Breast Cancer", "Breast Tumors", "Cancer of Breast"]
    assert v.concepts["MESH:D010051"].type == "Disease"  # no slim mapping: the kind of the file
    assert v.prefixes == ["MESH", "OMIM", "DO"]
    stats = v.stats()
    assert (stats["concepts"], stats["synonyms"], stats["aliases"], stats["alt_ids"]) == (4, 6, 5, 4)
    assert stats["shared_alt_ids"] == 1  # DOID:1612 is an alternative id of two concepts: the first one gets it


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("MESH:D001943", ("MESH:D001943", "exact")),
        ("D001943", ("MESH:D001943", "prefixed")),
        (" D010051", ("MESH:D010051", "prefixed")),
        ("MeSH:D010051", ("MESH:D010051", "prefixed")),
        ("OMIM:114480", ("MESH:D001943", "alternative")),
        ("114480", ("MESH:D001943", "alternative")),
        ("DOID:2394", ("MESH:D010051", "alternative")),
        ("DO:DOID:1612", ("MESH:D001943", "alternative")),
        ("OMIM:160900", ("OMIM:160900", "exact")),
        ("C535918", (None, "missing")),
        ("OMIM:999999", (None, "missing")),
    ],
)
def test_ctd_resolution(ctd, raw, expected):
    assert read_ctd(ctd).resolve(raw) == expected


def test_ctd_without_header_and_ctd_chemicals(tmp_path):
    plain = write(tmp_path / "diseases.tsv", CTD_ROWS[:2])
    assert entity_format(plain) == "ctd" and list(read_ctd(plain).concepts) == ["MESH:D001943", "MESH:D010051"]
    fields = ["ChemicalName", "ChemicalID", "CasRN", "Definition", "ParentIDs", "TreeNumbers", "ParentTreeNumbers"]
    chemicals = write(
        tmp_path / "CTD_chemicals.tsv",
        ["# Fields:", "# " + "\t".join(fields + ["Synonyms"]), "Aspirin\tMESH:D001241\t50-78-2\t\t\t\t\tASA"],
    )
    (aspirin,) = read_ctd(chemicals).concepts.values()
    assert (aspirin.type, aspirin.aliases(), aspirin.alt_ids) == ("Chemical", ["ASA"], [])


@pytest.mark.parametrize(
    "row, message",
    [
        ("\t".join(["Again", "MESH:D001943"]), "duplicate id 'MESH:D001943' (first at line 6)"),
        ("\t".join(["", "MESH:D1"]), "a concept without a name"),
        ("\t".join(["Name only"]), "a concept without an id"),
        ("\t".join(["Too", "MESH:D2"] + [""] * 8), "10 tab-separated columns, the header names 9"),
    ],
)
def test_ctd_errors_name_file_and_line(tmp_path, row, message):
    path = write(tmp_path / "CTD_diseases.tsv", CTD_HEADER + CTD_ROWS[:1] + [row])
    with pytest.raises(InputError) as err:
        read_ctd(path)
    assert str(err.value).startswith(f"{path}:7: ") and message in str(err.value)


# ---- OBO -----------------------------------------------------------------------------------------------------------
OBO = r"""format-version: 1.2
data-version: hp/releases/2024-01-01
default-namespace: human_phenotype
ontology: hp

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0001250
name: Seizure ! a comment
alt_id: HP:0002279
alt_id: HP:0002391
def: "An intermittent \"transient\" abnormality\nof nervous system physiology!" [HPO:probinson, PMID:123]
comment: not read: really
synonym: "Epileptic seizure" EXACT []
synonym: "Seizures" EXACT layperson [ORCID:0000-0001]
synonym: "Fits" RELATED [] {source="x"}
synonym: "Generalized seizure" NARROW []
synonym: "Neurological event" BROAD []
synonym: "Convulsion"
exact_synonym: "Epileptic fit" []
is_a: HP:0012638 ! Abnormal nervous system physiology
is_a: HP:0000118 {source="y"} ! Phenotypic abnormality
relationship: part_of HP:0000118

[Term]
id: HP:0012638
name: Abnormal nervous system\, physiology
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000005
name: Mode of inheritance
is_a: HP:0000001

[Term]
id: HP:0000006
name: Autosomal dominant inheritance
namespace: inheritance
is_a: HP:0000005 ! Mode of inheritance

[Term]
id: HP:0009999
name: obsolete Seizure-like
is_obsolete: true
replaced_by: HP:0002279

[Term]
id: HP:0009998
name: obsolete Something
is_obsolete: true
consider: HP:0001250

[Term]
id: NCBITaxon:9606
is_a: NCBITaxon:1

[Typedef]
id: part_of
name: part of
is_transitive: true
"""


@pytest.fixture
def obo(tmp_path):
    path = tmp_path / "hp.obo"
    path.write_text(OBO, encoding="utf8")
    return path


def test_obo_terms_synonyms_scopes_definitions_parents(obo):
    v = read_obo(obo)
    assert list(v.concepts) == ["HP:0000001", "HP:0000118", "HP:0001250", "HP:0012638", "HP:0000005", "HP:0000006"]
    seizure = v.concepts["HP:0001250"]
    assert seizure.name == "Seizure" and seizure.line == 15
    assert seizure.definition == 'An intermittent "transient" abnormality of nervous system physiology!'
    assert [(s.text, s.scope) for s in seizure.synonyms] == [
        ("Epileptic seizure", "EXACT"),
        ("Seizures", "EXACT"),
        ("Fits", "RELATED"),
        ("Generalized seizure", "NARROW"),
        ("Neurological event", "BROAD"),
        ("Convulsion", "RELATED"),  # no scope: RELATED, as the OBO spec says
        ("Epileptic fit", "EXACT"),
    ]
    assert seizure.aliases() == ["Epileptic seizure", "Seizures", "Fits", "Convulsion", "Epileptic fit"]
    assert seizure.aliases(("EXACT",)) == ["Epileptic seizure", "Seizures", "Epileptic fit"]
    assert seizure.parents == ["HP:0012638", "HP:0000118"] and seizure.alt_ids == ["HP:0002279", "HP:0002391"]
    assert v.concepts["HP:0012638"].name == "Abnormal nervous system, physiology"
    assert v.obsolete["HP:0009998"].consider == ["HP:0001250"]
    assert {c.id: c.type for c in v.concepts.values()}["HP:0000006"] == "inheritance"
    assert {c.type for c in v.concepts.values()} == {"human_phenotype", "inheritance"}
    assert v.counts["typedef_stanzas_skipped"] == 1 and v.counts["terms_without_name"] == 1
    stats = v.stats()
    assert stats["synonyms_by_scope"] == {"BROAD": 1, "EXACT": 3, "NARROW": 1, "RELATED": 2}
    assert (stats["obsolete"], stats["obsolete_with_replacement"], stats["alt_ids"]) == (2, 1, 2)


def test_obo_branch_types(obo):
    types = {c.id: c.type for c in read_obo(obo, types="branch").concepts.values()}
    assert types == {
        "HP:0000001": "All",
        "HP:0000118": "Phenotypic abnormality",
        "HP:0001250": "Phenotypic abnormality",
        "HP:0012638": "Phenotypic abnormality",
        "HP:0000005": "Mode of inheritance",
        "HP:0000006": "Mode of inheritance",
    }


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HP:0001250", ("HP:0001250", "exact")),
        ("HP_0001250", ("HP:0001250", "prefixed")),
        ("hp:0001250", ("HP:0001250", "prefixed")),
        ("HP:0002279", ("HP:0001250", "alternative")),
        ("HP:0009999", ("HP:0001250", "replaced")),  # replaced_by an alternative id of Seizure
        ("HP:0009998", (None, "obsolete")),  # only `consider`: never followed
        ("HP:1234567", (None, "missing")),
        ("NCBITaxon:9606", (None, "missing")),  # a term without a name is no concept
    ],
)
def test_obo_resolution(obo, raw, expected):
    assert read_obo(obo).resolve(raw) == expected


@pytest.mark.parametrize(
    "stanza, message",
    [
        ('id: HP:1\nname: X\ndef: "not closed [ref]', "def: the quoted text is not closed"),
        ("id: HP:1\nname: X\nsynonym: unquoted EXACT []", "synonym: expected a quoted text"),
        ("name: no id", "a [Term] without an id"),
        ("id: HP:0000001\nname: Again", "duplicate id 'HP:0000001' (first at line 6)"),
        ("id: HP:1\nthis line has no tag", "expected 'tag: value' or a [Stanza] header"),
    ],
)
def test_obo_errors_name_file_and_line(tmp_path, stanza, message):
    path = tmp_path / "bad.obo"
    head = OBO.split("[Term]\nid: HP:0000118")[0]
    path.write_text(f"{head}[Term]\n{stanza}\n", encoding="utf8")
    with pytest.raises(InputError) as err:
        read_obo(path)
    assert str(err.value).startswith(f"{path}:") and message in str(err.value)
    assert int(str(err.value).split(":")[1]) >= 10  # the line of the stanza or of the bad tag


def test_obo_limit_and_gzip(tmp_path):
    path = tmp_path / "go.obo.gz"
    with gzip.open(path, "wt", encoding="utf8") as f:
        f.write(OBO)
    assert entity_format(path) == "obo"
    assert list(read_obo(path, limit=2).concepts) == ["HP:0000001", "HP:0000118"]


# ---- the custom path: entity formats, conversion, check -------------------------------------------------------------
def test_entity_format_detection(tmp_path, ctd, obo):
    jsonl = write(tmp_path / "entities.jsonl", [json.dumps({"id": "A", "name": "Alpha", "alt_ids": "ignored"})])
    assert [entity_format(p) for p in (jsonl, ctd, obo)] == ["jsonl", "ctd", "obo"]
    renamed = write(tmp_path / "ontology.txt", OBO.splitlines())
    assert entity_format(renamed) == "obo"
    assert read_entities(jsonl)["A"].alt_ids == []  # JSONL unchanged: other keys are ignored
    unknown = write(tmp_path / "entities.csv", ["id,name", "A,Alpha"])
    with pytest.raises(InputError, match=r"is not an entity file of a known format .*JSONL.*CTD.*OBO"):
        read_entities(unknown)


def test_ontology_entities_and_their_conversion(tmp_path, obo):
    entities = load_entities(obo)
    assert entities.format == "obo" and entities.vocabulary is not None
    seizure = entities.entities["HP:0001250"]
    assert (seizure.name, seizure.type, seizure.alt_ids) == ("Seizure", "human_phenotype", ["HP:0002279", "HP:0002391"])
    assert "Generalized seizure" not in seizure.aliases and "Fits" in seizure.aliases
    assert load_entities(obo, alias_scopes="EXACT").entities["HP:0001250"].aliases == [
        "Epileptic seizure",
        "Seizures",
        "Epileptic fit",
    ]
    with pytest.raises(InputError, match="synonym scopes must be"):
        load_entities(obo, alias_scopes="EXACT,SIMILAR")
    stats = convert_entities(obo, tmp_path / "wikidata", obo_types="branch")["counts"]
    assert (stats["format"], stats["entities"], stats["aliases"]) == ("obo", 6, 5)
    assert stats["vocabulary"]["obsolete"] == 2 and stats["types"]["Phenotypic abnormality"] == 3
    lines = (tmp_path / "wikidata" / "entities.jsonl").read_bytes().splitlines()
    records = {r["qid"]: r for r in map(orjson.loads, lines)}
    assert records["HP:0001250"]["alt_ids"] == ["HP:0002279", "HP:0002391"]
    assert records["HP:0001250"]["parents"] == ["HP:0012638", "HP:0000118"]
    assert "alt_ids" not in records["HP:0000001"] and "parents" not in records["HP:0000001"]


def _corpus(tmp_path: Path) -> Path:
    """train/dev/test PubTator files against the CTD snippet: every resolution status, a composite mention with
    an unknown first id, a missing id, a duplicate document."""
    directory = tmp_path / "corpus"
    directory.mkdir()
    write(
        directory / "mini_train.txt",
        DOC_1
        + ["", "300|t|Myotonic dystrophy (DM) and cancer.", "300\t0\t18\tMyotonic dystrophy\tSpecificDisease\t160900"]
        + ["300\t20\t22\tDM\tSpecificDisease\tC535918|OMIM:160900", "300\t28\t34\tcancer\tDiseaseClass\tD009371"]
        + ["", *DOC_1],
    )
    write(
        directory / "mini_develop.txt",
        ["400|t|Ovary cancer.", "400\t0\t12\tOvary cancer\tSpecificDisease\tDOID:2394"],
    )
    write(directory / "mini_test.txt", ["500|t|Neoplasms of the breast.", "500\t0\t9\tNeoplasms\tX\tD009371"])
    return directory


def test_conversion_resolves_ids_and_holds_out_test_documents(tmp_path, ctd, capsys):
    stats = convert_custom(ctd, _corpus(tmp_path), tmp_path / "out")
    c = stats["wikipedia"]["counts"]
    articles = [
        orjson.loads(line) for line in (tmp_path / "out/wikipedia/articles.jsonl").read_bytes().split(b"\n")[:-1]
    ]
    assert [(a["id"], a["split"]) for a in articles] == [("400", "dev"), ("100", "train"), ("300", "train")]
    assert [link[2] for link in articles[1]["links"]] == ["MESH:D001943", "MESH:D001943", "MESH:D010051"]
    assert [link[2] for link in articles[2]["links"]] == ["OMIM:160900", "OMIM:160900", "MESH:D009371"]
    assert (c["train_articles"], c["dev_articles"], c["test_articles"], c["held_out_articles"]) == (2, 1, 1, 1)
    assert (c["articles"], c["links"], c["test_links"], c["articles_written"]) == (3, 7, 1, 3)
    assert c["id_status"]["train"] == {"exact": 1, "prefixed": 6, "alternative": 1, "missing": 1}
    assert c["id_status"]["dev"] == {"alternative": 1} and c["id_status"]["test"] == {"prefixed": 1}
    assert c["id_status"]["all"] == {"exact": 1, "prefixed": 7, "alternative": 2, "missing": 1}
    assert (c["composite_spans"], c["composite_spans_unresolved"], c["unknown_id_spans"]) == (3, 0, 0)
    assert c["pubtator"]["duplicate_documents"] == 1 and c["pubtator"]["mentions_without_id"] == 1
    assert c["pubtator"]["files"] == 3 and c["pubtator_examples"]["duplicate_documents"] == [
        f"{tmp_path / 'corpus' / 'mini_train.txt'}:13"
    ]
    links = (tmp_path / "out/wikipedia/link_counts.tsv").read_text().splitlines()
    assert "Neoplasms\tMESH:D009371\t1" not in links and "cancer\tMESH:D009371\t1" in links  # test feeds nothing
    assert "Ovary cancer\tMESH:D010051\t1" not in links  # neither does dev
    err = capsys.readouterr().err
    assert "1 test document(s) (1 spans) held out" in err
    assert "11 ids: 1 exact, 7 prefixed, 2 alternative, 1 missing; 3 composite spans" in err
    assert "PubTator: 1 repeated document(s) skipped" in err and "WARNING" not in err


def test_documents_of_split_gives_the_held_out_documents_resolved(tmp_path, ctd):
    corpus = _corpus(tmp_path)
    (doc,) = documents_of_split(ctd, corpus)
    assert (doc.id, doc.split, doc.spans) == ("500", "test", [(0, 9, "MESH:D009371")])
    assert [d.id for d in documents_of_split(load_entities(ctd), corpus, "train")] == ["100", "300"]


def test_conversion_of_missing_ids_and_strict(tmp_path, ctd, capsys):
    corpus = write(
        tmp_path / "c_train.txt", ["1|t|Gone disease and lost cancer.", "1\t0\t12\tGone disease\tX\tD999999"]
    )
    write(tmp_path / "c_dev.txt", ["2|t|Lost.", "2\t0\t4\tLost\tX\tC1|C2"])
    files = [corpus, tmp_path / "c_dev.txt"]
    c = convert_mentions(ctd, files, tmp_path / "out")["counts"]
    assert (c["unknown_id_spans"], c["unknown_ids"], c["unknown_id_examples"]) == (2, 2, ["C1", "D999999"])
    assert c["composite_spans_unresolved"] == 1 and c["id_status"]["all"] == {"missing": 3}
    assert "WARNING: 2 span(s) link to 2 id(s) not in" in capsys.readouterr().err
    with pytest.raises(InputError, match=rf"^{corpus}:1: document '1': span \[0, 12\) links to 'D999999', which"):
        convert_mentions(ctd, files, tmp_path / "out", strict=True)
    with pytest.raises(InputError, match=r"links to 'C1', 'C2', none of which is in"):
        convert_mentions(ctd, files[1:] + files[:1], tmp_path / "out", strict=True)


def test_only_test_documents_is_an_output_error(tmp_path, ctd):
    path = write(tmp_path / "x_test.txt", ["1|t|Breast cancer.", "1\t0\t13\tBreast cancer\tX\tD001943"])
    with pytest.raises(OutputError, match="no documents in .* but 1 held-out test document"):
        convert_mentions(ctd, [path], tmp_path / "out")


def test_jsonl_and_spacy_test_split(tmp_path):
    nlp = spacy.blank("en")
    doc = nlp("Alpha four.")
    doc.ents = [doc.char_span(0, 5, label="X", kb_id="A")]
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "test.spacy")
    entities = write(tmp_path / "entities.jsonl", [json.dumps({"id": "A", "name": "Alpha"})])
    docs = [
        {"id": "d1", "text": "Alpha one.", "split": "train", "spans": [{"start": 0, "end": 5, "id": "A"}]},
        {"id": "d2", "text": "Alpha two.", "split": "dev", "spans": [{"start": 0, "end": 5, "id": "A"}]},
        {"id": "d3", "text": "Alpha three.", "split": "test", "spans": [{"start": 0, "end": 5, "id": "A"}]},
    ]
    mentions = write(tmp_path / "mentions.jsonl", map(json.dumps, docs))
    c = convert_mentions(entities, [mentions, tmp_path / "test.spacy"], tmp_path / "out")["counts"]
    assert (c["articles"], c["test_articles"], c["held_out_articles"], c["test_links"]) == (2, 2, 2, 2)
    assert c["id_status"] == {"train": {"exact": 1}, "dev": {"exact": 1}, "test": {"exact": 2}, "all": {"exact": 4}}
    assert "pubtator" not in c and c["entity_format"] == "jsonl"
    assert b'"d3"' not in (tmp_path / "out" / "articles.jsonl").read_bytes()


def test_fetch_and_check_summaries_of_ontology_and_pubtator_inputs(tmp_path, ctd):
    corpus = _corpus(tmp_path)
    manifest = use_custom(tmp_path / "assets", "en", ctd, corpus)
    assert [Path(m["path"]).name for m in manifest["mentions"]] == [
        "mini_develop.txt",
        "mini_test.txt",
        "mini_train.txt",
    ]
    results = check_assets(tmp_path / "assets" / "manifest.json", lang="en")
    assert [(r.key, r.problem) for r in results] == [("entities", None), ("mentions", None)]
    assert "4 entities" in results[0].summary and "CTD TSV: 6 synonyms, 4 alternative ids" in results[0].summary
    summary = results[1].summary
    assert "4 documents, 8 spans (2 train, 1 dev, 1 test), the test documents held out" in summary
    assert "11 ids: 1 exact, 7 prefixed, 2 alternative, 1 missing; 3 composite spans" in summary
    assert "PubTator: 1 repeated document(s) skipped (identical copies)" in summary


# ---- the real files (../shared/data/biomedical) -----------------------------------------------------------------
@pytest.fixture(scope="module")
def medic():
    return read_ctd(MEDIC)


@needs_shared
def test_real_medic_counts(medic):
    stats = medic.stats()
    assert (stats["concepts"], stats["synonyms"], stats["with_definition"], stats["alt_ids"]) == (
        11865,
        66129,
        4691,
        6590,
    )
    assert stats["aliases"] == 66129 and stats["obsolete"] == 0 and stats["prefixes"] == ["MESH", "OMIM", "DO"]
    assert stats["shared_alt_ids"] == 178  # Disease Ontology ids listed under several MeSH concepts
    types = Counter(c.type for c in medic.concepts.values())
    assert len(types) == 37 and types.most_common(3) == [
        ("Congenital abnormality", 2199),
        ("Genetic disease (inborn)", 1233),
        ("Cancer", 1070),
    ]
    assert types["Disease"] == 36  # no slim mapping


EXPECTED_NCBI = {  # split: (documents, mentions, composite mentions, id statuses)
    "train": (592, 5134, 115, {"exact": 99, "prefixed": 4801, "alternative": 239, "missing": 120}),
    "dev": (100, 787, 30, {"exact": 11, "prefixed": 737, "alternative": 57, "missing": 16}),
    "test": (100, 960, 15, {"exact": 15, "prefixed": 879, "alternative": 79, "missing": 6}),
}


@needs_shared
@pytest.mark.parametrize("split", list(EXPECTED_NCBI))
def test_real_ncbi_disease_counts_and_resolution(medic, split):
    tally = Tally()
    docs = list(read_pubtator(NCBI[split], tally))
    mentions = [m for d in docs for m in d.mentions]
    n_docs, n_mentions, n_composite, expected = EXPECTED_NCBI[split]
    assert (len(docs), len(mentions), tally.counts["composite_mentions"]) == (n_docs, n_mentions, n_composite)
    statuses = Counter(medic.resolve(i)[1] for m in mentions for i in m.ids)
    assert dict(statuses) == expected
    assert not any(medic.resolve(i)[0] is None and medic.resolve(i)[1] != "missing" for m in mentions for i in m.ids)
    listed = Counter(alt for c in medic.concepts.values() for alt in c.alt_ids)
    shared = {alt for alt, n in listed.items() if n > 1}
    assert not any(i in shared or i.startswith("DOID") for m in mentions for i in m.ids)  # never an ambiguous alt id
    if split == "train":  # 593 abstracts, 5,145 mentions as published; PMID 8528200 (11 mentions) is there twice
        assert (tally.counts["duplicate_documents"], tally.counts["duplicate_document_mentions"]) == (1, 11)
        assert tally.examples["duplicate_documents"] == [f"{NCBI['train']}:4556"]
        assert tally.counts["surface_mismatch"] == 1 and tally.examples["surface_mismatch"] == [f"{NCBI['train']}:3248"]
        assert 0.015 < expected["missing"] / sum(expected.values()) < 0.03  # "about 2% of train ids are not in MEDIC"
    else:
        assert set(tally.counts) == {"documents", "mentions", "composite_mentions"}
    assert not tally.counts["realigned"] and not tally.counts["offset_mismatch"]


@needs_shared
def test_real_end_to_end_conversion(tmp_path):
    assert [p.name for p in mention_files(BIOMEDICAL)] == sorted(p.name for p in NCBI.values())
    stats = convert_custom(MEDIC, BIOMEDICAL, tmp_path / "corpus")
    e, m = stats["wikidata"]["counts"], stats["wikipedia"]["counts"]
    assert (e["format"], e["entities"], e["aliases"], e["with_description"]) == ("ctd", 11865, 66129, 4691)
    assert (m["train_articles"], m["train_links"], m["dev_articles"], m["dev_links"]) == (592, 5134, 100, 787)
    assert (m["test_articles"], m["test_links"], m["held_out_articles"], m["articles_written"]) == (100, 960, 100, 692)
    assert m["id_status"]["all"] == {"exact": 125, "prefixed": 6417, "alternative": 375, "missing": 142}
    assert (m["composite_spans"], m["composite_spans_unresolved"]) == (160, 1)
    assert (m["unknown_id_spans"], m["unknown_ids"]) == (126, 17)
    assert m["pubtator"]["duplicate_documents"] == 1 and m["pubtator"]["surface_mismatch"] == 1
    test_ids = {d.id for d in read_pubtator(NCBI["test"])}
    written = [orjson.loads(line) for line in (tmp_path / "corpus/wikipedia/articles.jsonl").read_bytes().splitlines()]
    assert len(written) == 692 and not test_ids & {a["id"] for a in written}
    assert Counter(a["split"] for a in written) == {"train": 592, "dev": 100}
    linked = {link[2] for a in written for link in a["links"]}
    assert "MESH:D001943" in linked and "D001943" not in linked  # unprefixed MeSH ids resolved
    manifest = use_custom(tmp_path / "assets", "en", MEDIC, BIOMEDICAL)  # the fetch step's quick check
    assert Path(manifest["entities"]["path"]).name == MEDIC.name and len(manifest["mentions"]) == 3
