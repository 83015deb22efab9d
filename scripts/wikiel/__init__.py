"""wikiel: Wikidata + Wikipedia -> spaCy entity linker. One module per pipeline stage."""

__version__ = "0.1.0"
