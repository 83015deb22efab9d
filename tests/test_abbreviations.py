"""Abbreviation definitions (Schwartz & Hearst) and the `wikiel_abbreviations` component."""

import numpy as np
import pytest
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from wikiel.pipeline.abbreviations import AbbreviationLinker, find_abbreviations, long_form_start, valid_short_form

POSITIVES = [
    # (sentence, long form, short form)
    ("We inhibited phosphatidylinositol-3-kinase (PI3K) in all cell lines.", "phosphatidylinositol-3-kinase", "PI3K"),
    ("The World Health Organization (WHO) declared a pandemic in March.", "World Health Organization", "WHO"),
    ("Serum levels of tumour necrosis factor alpha (TNF-α) were elevated.", "tumour necrosis factor alpha", "TNF-α"),
    ("All patients underwent magnetic resonance imaging (MRI) at baseline.", "magnetic resonance imaging", "MRI"),
    ("Cells were exposed to 5-fluorouracil (5-FU) for 24 hours.", "5-fluorouracil", "5-FU"),
    ("We measured interleukin-6 (IL-6; ref. 12) in serum.", "interleukin-6", "IL-6"),
    (
        "Titres were high (measured by enzyme-linked immunosorbent assay (ELISA)) in all cases.",
        "enzyme-linked immunosorbent assay",
        "ELISA",
    ),
    ("Children with acute lymphoblastic leukaemia (ALL) were enrolled.", "acute lymphoblastic leukaemia", "ALL"),
    ("Small interfering RNA (siRNA) knocked down the transcript.", "Small interfering RNA", "siRNA"),
    (
        "Samples were analysed by reverse transcription polymerase chain reaction (RT-PCR).",
        "reverse transcription polymerase chain reaction",
        "RT-PCR",
    ),
    (
        "The National Aeronautics and Space Administration (NASA) launched the probe.",
        "National Aeronautics and Space Administration",
        "NASA",
    ),
    ("The US Food and Drug Administration (FDA) approved the drug.", "Food and Drug Administration", "FDA"),
    (
        "Smokers often develop chronic obstructive pulmonary disease (COPD).",
        "chronic obstructive pulmonary disease",
        "COPD",
    ),
    ("Expression of tumor necrosis factor-α (TNF-α) rose.", "tumor necrosis factor-α", "TNF-α"),
    ("The World Health Organization's (WHO) guidance changed.", "World Health Organization", "WHO"),
    # reverse pattern: SHORT (long form)
    ("Patients had MRI (magnetic resonance imaging) twice a year.", "magnetic resonance imaging", "MRI"),
]

NEGATIVES = [
    "The results were published in 2019 (see above).",
    "He joined the company (which was founded in Paris) in 2010.",
    "Patients received NSAIDs (e.g. aspirin or ibuprofen) daily.",
    "Mice were studied after trauma (Smith, 2010).",
    "The cohort was small (n = 12) and heterogeneous.",
    "The effect was significant (p < 0.05) in both arms.",
    "Expression increased in treated cells (Fig. 2).",
    "The samples were sequenced twice (data not shown).",
    "It binds two receptors: (i) the insulin receptor and (ii) the leptin receptor.",
    "The trial ended early. (WHO) was not mentioned.",
    "Tumours regressed in most patients (72%).",
    "The samples were frozen (twice) before analysis.",
]


@pytest.fixture(scope="module")
def sentencizer_nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@pytest.mark.parametrize("text,long_form,short_form", POSITIVES)
def test_find_abbreviations_positive(sentencizer_nlp, text, long_form, short_form):
    pairs = find_abbreviations(sentencizer_nlp(text))
    assert [(lf.text, sf.text) for lf, sf in pairs] == [(long_form, short_form)]
    lf, sf = pairs[0]
    assert isinstance(lf, Span) and isinstance(sf, Span)


@pytest.mark.parametrize("text", NEGATIVES)
def test_find_abbreviations_negative(sentencizer_nlp, text):
    assert find_abbreviations(sentencizer_nlp(text)) == []


def test_several_definitions_and_no_sentences():
    nlp = spacy.blank("en")  # no sentence boundaries: the doc is one window
    doc = nlp("We used chronic obstructive pulmonary disease (COPD) cohorts from the United Kingdom (UK).")
    assert [(lf.text, sf.text) for lf, sf in find_abbreviations(doc)] == [
        ("chronic obstructive pulmonary disease", "COPD"),
        ("United Kingdom", "UK"),
    ]


def test_matching_rules():
    # the first character must start a word; the others are matched right to left
    assert long_form_start("WHO", "the World Health Organization") == 4
    assert long_form_start("HO", "World Health Organization") == 6
    assert long_form_start("PI3K", "inhibited phosphatidylinositol-3-kinase") == 10
    assert long_form_start("XYZ", "World Health Organization") is None
    assert long_form_start("TNF-α", "tumour necrosis factor alpha") == 0
    assert valid_short_form("PI3K") and valid_short_form("TNF-α") and valid_short_form("OR")
    assert not valid_short_form("2019")  # no letter
    assert not valid_short_form("A")  # too short
    assert not valid_short_form("ABCDEFGHIJK")  # too long
    assert not valid_short_form("one two three")  # too many words
    assert not valid_short_form("-PCR")  # first character not alphanumeric
    assert not valid_short_form("see above") and not valid_short_form("which")
    assert not valid_short_form("mri", reverse=True)  # reversed short forms need a capital


# ---- the component in a pipeline -------------------------------------------------------------------------------
ENTITIES = {
    "Q1": "phosphatidylinositol 3-kinase",
    "Q2": "World Health Organization",
    "Q3": "US FDA",
    "Q4": "magnetic resonance imaging",
    "Q7": "The Who (band)",
    "Q8": "health organization",
    "Q9": "insulin",
}
ALIASES = {  # alias -> (QID, prior); one candidate each so outcomes do not depend on the untrained model
    "phosphatidylinositol-3-kinase": ("Q1", 0.9),
    "World Health Organization": ("Q2", 0.8),
    "US Food and Drug Administration": ("Q3", 0.95),
    "magnetic resonance imaging": ("Q4", 0.7),  # in the KB, but no ruler pattern: found by lookup only
    "WHO": ("Q7", 0.6),
    "Health Organization": ("Q8", 0.5),
    "insulin": ("Q9", 0.99),
}
PATTERNS = [
    {"label": "PROTEIN", "pattern": "phosphatidylinositol-3-kinase"},
    {"label": "ORG", "pattern": "World Health Organization"},
    {"label": "ORG", "pattern": "US Food and Drug Administration"},
    {"label": "ORG", "pattern": "Health Organization"},
    {"label": "PROTEIN", "pattern": "tumour necrosis factor alpha"},  # not in the KB: NIL
    {"label": "PROTEIN", "pattern": "PI3K"},  # not in the KB: NIL, to be replaced
    {"label": "CHEMICAL", "pattern": "insulin"},
    {"label": "ORG", "pattern": "WHO"},  # linked to Q7 (a band): kept
]


def make_kb(vocab, dim=4):
    kb = InMemoryLookupKB(vocab, entity_vector_length=dim)
    rng = np.random.default_rng(0)
    for qid in ENTITIES:
        kb.add_entity(qid, 10, rng.normal(size=dim).astype("float32"))
    for alias, (qid, prior) in ALIASES.items():
        kb.add_alias(alias, [qid], [prior])
    return kb


def build_pipeline(**config):
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", name="mention_detector")
    el = nlp.add_pipe("entity_linker", config={"entity_vector_length": 4})
    el.set_kb(lambda vocab: make_kb(vocab))
    nlp.add_pipe("wikiel_abbreviations", config=config)
    doc = nlp.make_doc("The World Health Organization met.")
    doc.ents = [Span(doc, 1, 4, label="ORG", kb_id="Q2")]
    nlp.initialize(get_examples=lambda: [Example(nlp.make_doc(doc.text), doc)])
    ruler.add_patterns(PATTERNS)  # after initialize, which clears the ruler
    return nlp


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def ents_of(doc):
    return [(e.text, e.kb_id_, e.label_) for e in doc.ents]


def test_pipeline_links_short_forms(nlp):
    doc = nlp("We inhibited phosphatidylinositol-3-kinase (PI3K). PI3K activity fell.")
    assert ents_of(doc) == [
        ("phosphatidylinositol-3-kinase", "Q1", "PROTEIN"),
        ("PI3K", "Q1", "PROTEIN"),
        ("PI3K", "Q1", "PROTEIN"),
    ]
    # spaCy's EntityLinker sets no score: the prior of the long form's QID is used
    assert [e._.kb_score for e in doc.ents[1:]] == [pytest.approx(0.9), pytest.approx(0.9)]
    assert [(s.text, lf.text) for s, lf in doc._.abbreviations] == [("PI3K", "phosphatidylinositol-3-kinase")]


def test_occurrence_before_definition_and_label(nlp):
    doc = nlp("MRI is common. Patients underwent magnetic resonance imaging (MRI) at baseline.")
    # the long form is no ent: found by looking its text up in the KB; no type known -> ENTITY
    assert ents_of(doc) == [("MRI", "Q4", "ENTITY"), ("MRI", "Q4", "ENTITY")]
    assert doc.ents[0]._.kb_score == pytest.approx(0.7)


def test_lookup_can_be_switched_off():
    nlp = build_pipeline(lookup_long_form=False)
    doc = nlp("Patients underwent magnetic resonance imaging (MRI). MRI was repeated.")
    assert ents_of(doc) == []
    assert [(s.text, lf.text) for s, lf in doc._.abbreviations] == [("MRI", "magnetic resonance imaging")]


def test_link_definition_off():
    nlp = build_pipeline(link_definition=False)
    doc = nlp("We inhibited phosphatidylinositol-3-kinase (PI3K). PI3K activity fell.")
    # the NIL ruler ent on the definition stays as it was; the later use is linked
    assert ents_of(doc) == [
        ("phosphatidylinositol-3-kinase", "Q1", "PROTEIN"),
        ("PI3K", "NIL", "PROTEIN"),
        ("PI3K", "Q1", "PROTEIN"),
    ]


def test_unknown_long_form_stays_unlinked(nlp):
    doc = nlp("Serum tumour necrosis factor alpha (TNF-α) rose. TNF-α fell later.")
    assert ents_of(doc) == [("tumour necrosis factor alpha", "NIL", "PROTEIN")]
    assert [(s.text, lf.text) for s, lf in doc._.abbreviations] == [("TNF-α", "tumour necrosis factor alpha")]


def test_short_form_linked_elsewhere_is_kept(nlp):
    doc = nlp("The World Health Organization (WHO) met. WHO issued guidance.")
    # the ruler found "WHO" and the KB links it to another entity: those links are kept
    assert ents_of(doc) == [("World Health Organization", "Q2", "ORG"), ("WHO", "Q7", "ORG"), ("WHO", "Q7", "ORG")]


def test_suffix_ent_that_cannot_explain_the_short_form_is_not_used(nlp):
    # only "Health Organization" is an ent; it cannot stand for W-H-O, and the full name is not an alias
    doc = nlp("The Global Health Organization (GHO) met. GHO issued guidance.")
    assert ents_of(doc) == [("Health Organization", "Q8", "ORG")]
    assert [(s.text, lf.text) for s, lf in doc._.abbreviations] == [("GHO", "Global Health Organization")]


def test_covering_ent_is_used(nlp):
    doc = nlp("The US Food and Drug Administration (FDA) approved insulin. The FDA also approved it.")
    assert ents_of(doc) == [
        ("US Food and Drug Administration", "Q3", "ORG"),
        ("FDA", "Q3", "ORG"),
        ("insulin", "Q9", "CHEMICAL"),
        ("FDA", "Q3", "ORG"),
    ]


def test_docs_without_definitions_are_untouched(nlp):
    doc = nlp("Insulin and insulin (twice).")
    assert ents_of(doc) == [("insulin", "Q9", "CHEMICAL")]
    assert doc._.abbreviations == []


def test_round_trip(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "wikiel_abbreviations" / "cfg.json").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    assert isinstance(loaded.get_pipe("wikiel_abbreviations"), AbbreviationLinker)
    text = "We inhibited phosphatidylinositol-3-kinase (PI3K). PI3K activity fell."
    assert ents_of(loaded(text)) == ents_of(nlp(text))
    other = build_pipeline(lookup_long_form=False)
    other.get_pipe("wikiel_abbreviations").from_bytes(nlp.get_pipe("wikiel_abbreviations").to_bytes())
    assert other.get_pipe("wikiel_abbreviations").cfg == {"lookup_long_form": True, "link_definition": True}


def test_doc_stays_serialisable(nlp):
    doc = nlp("We inhibited phosphatidylinositol-3-kinase (PI3K). PI3K activity fell.")
    docs = list(DocBin(docs=[doc], store_user_data=True).get_docs(nlp.vocab))
    assert [(s.text, lf.text) for s, lf in docs[0]._.abbreviations] == [("PI3K", "phosphatidylinositol-3-kinase")]
    assert isinstance(docs[0], Doc)
