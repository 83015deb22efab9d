"""link: raw text in, entities with Wikidata QIDs, types and scores out (JSONL).

Input: `.jsonl` (one object per line with a "text" string and an optional "id") or plain text (one document per
non-empty line; the id is the line number). Output: one JSON object per input document,
`{"id", "entities": [{"start", "end", "text", "qid", "type", "score"}]}` with character offsets into the text;
mentions the linker leaves NIL are dropped unless `keep_nil` (then their "qid" is null).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Tuple, Union

import orjson
import spacy
from spacy.language import Language
from tqdm import tqdm

from wikiel import defaults
from wikiel.pipeline import abbreviations, candidates, components  # noqa: F401  (what a pipeline's config names)
from wikiel.pipeline.components import NIL
from wikiel.util import InputError, output_file


def load_linker(name_or_path: Union[str, Path]) -> Language:
    """A packaged linker (installed name) or a pipeline directory (training/linker/model)."""
    if not Path(name_or_path).exists() and not spacy.util.is_package(str(name_or_path)):
        raise InputError(
            name_or_path,
            "no such pipeline directory or installed package",
            hint="run `spacy project run build-linker` or pip install the packaged linker",
        )
    return spacy.load(name_or_path)


def read_documents(path: Path) -> Iterator[Tuple[object, str]]:
    """(id, text) of each input document; bad lines raise InputError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such input file")
    jsonl = path.suffix == ".jsonl"
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as err:
                raise InputError(path, f"not UTF-8 ({err.reason} at byte {err.start} of the line)", line=n) from err
            if not line.strip():
                continue
            if not jsonl:
                yield n, line.rstrip("\n")
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise InputError(path, f"not valid JSON ({err})", line=n) from err
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise InputError(path, 'expected an object with a "text" string', line=n)
            yield record.get("id", n), record["text"]


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def doc_entities(doc, keep_nil: bool = False) -> list:
    out = []
    for ent in doc.ents:
        linked = bool(ent.kb_id_) and ent.kb_id_ != NIL
        if linked or keep_nil:
            score = ent._.kb_score if ent.has_extension("kb_score") else None
            out.append(
                {
                    "start": ent.start_char,
                    "end": ent.end_char,
                    "text": ent.text,
                    "qid": ent.kb_id_ if linked else None,
                    "type": ent.label_,
                    "score": None if score is None else round(float(score), 4),
                }
            )
    return out


def link_file(
    nlp: Language,
    input_path: Path,
    output_path: Path,
    batch_size: int = defaults.LINK_BATCH_SIZE,
    keep_nil: bool = False,
) -> dict:
    """Link every document of `input_path` into `output_path` (written whole or not at all); returns counts."""
    total = count_lines(Path(input_path))
    counts = {"documents": 0, "entities": 0, "characters": 0}
    docs = read_documents(input_path)
    with output_file(output_path, "link", "wb") as out:
        pairs = ((text, doc_id) for doc_id, text in docs)
        for doc, doc_id in tqdm(
            nlp.pipe(pairs, as_tuples=True, batch_size=batch_size),
            total=total,
            desc="linking",
            unit=" doc",
            mininterval=1,
        ):
            ents = doc_entities(doc, keep_nil)
            out.write(orjson.dumps({"id": doc_id, "entities": ents}) + b"\n")
            counts["documents"] += 1
            counts["entities"] += len(ents)
            counts["characters"] += len(doc.text)
    return counts
