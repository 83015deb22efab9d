"""The mention corpus as spaCy DocBin files: reading, writing, seeded subsets (training, learning curve, benchmark)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import List

from spacy.tokens import Doc, DocBin

from wikiel import defaults
from wikiel.util import InputError


def read_docs(path: Path, nlp) -> List[Doc]:
    """The documents of a DocBin file; InputError naming it when it is missing or not a DocBin."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist or is not a file", hint="run the extract-mentions step")
    try:
        docbin = DocBin().from_disk(path)
    except ValueError as err:
        raise InputError(path, "is not a spaCy DocBin (.spacy) file", hint="pass the extract-mentions output") from err
    return list(docbin.get_docs(nlp.vocab))


def write_docs(docs: List[Doc], path: Path) -> None:
    DocBin(docs=docs, store_user_data=False).to_disk(path)


def subset_docs(docs: List[Doc], n_mentions: int, seed: int = defaults.SEED) -> List[Doc]:
    """The first docs of a seeded shuffle holding `n_mentions` mentions (the last doc's ents trimmed to fit)."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    out: List[Doc] = []
    total = 0
    for i in order:
        if total >= n_mentions:
            break
        doc = docs[i]
        ents = list(doc.ents)
        if total + len(ents) > n_mentions:
            doc = doc.copy()
            doc.ents = ents[: n_mentions - total]
        out.append(doc)
        total += len(doc.ents)
    return out


def count_mentions(docs: List[Doc]) -> int:
    return sum(len(doc.ents) for doc in docs)
