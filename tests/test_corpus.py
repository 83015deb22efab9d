"""Paragraph splitting of articles and training subsets."""

import spacy

from wikiel.corpus.docs import count_mentions, subset_docs
from wikiel.kb.tables import paragraphs


def test_paragraphs_keep_link_offsets_relative():
    text = "Alpha links Beta.\n\nGamma is in Delta.\n\n\n\nEnd"
    links = [[12, 16, "Beta"], [31, 36, "Delta"]]
    out = list(paragraphs(text, links))
    assert [p for p, _ in out] == ["Alpha links Beta.", "Gamma is in Delta.", "End"]
    for para, para_links in out:
        for s, e, target in para_links:
            assert para[s:e] == target


def test_subset_docs_trims_to_exact_mention_count():
    nlp = spacy.blank("en")
    docs = []
    for _ in range(10):
        doc = nlp.make_doc("Paris and Rome and Oslo .")
        doc.ents = [
            doc.char_span(0, 5, label="CITY", kb_id="Q90"),
            doc.char_span(10, 14, label="CITY", kb_id="Q220"),
            doc.char_span(19, 23, label="CITY", kb_id="Q585"),
        ]
        docs.append(doc)
    subset = subset_docs(docs, 7, seed=1)
    assert count_mentions(subset) == 7
    assert count_mentions(subset_docs(docs, 7, seed=1)) == 7
    assert count_mentions(subset_docs(docs, 100)) == 30
