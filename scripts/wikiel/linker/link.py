"""link: raw text in, entities with Wikidata QIDs, types and scores out (JSONL).

Input, recognised by its content (the first non-blank characters), not by its name:
- JSONL: the first non-blank character is `{`: one object per non-blank line with a "text" string and an optional
  "id" (default: the line number);
- a JSON array: the first non-blank character is `[`: the whole file is one array of such objects (default id: the
  element's 1-based position);
- plain text: anything else, one document per non-empty line (the id is the line number).
A file named `.json`/`.jsonl` whose content is not JSON, and a `[` file that is not a JSON array of documents, are
errors naming the file and line (`--format text` links such a file as plain text). Output: one JSON object per input
document, `{"id", "entities": [{"start", "end", "text", "qid", "type", "score"}]}` with character offsets into the
text; mentions the linker leaves NIL are dropped unless `keep_nil` (then their "qid" is null).

The pipeline must find mentions itself: a component before the entity linker that sets `doc.ents` (the
`wikiel_mention_detector` of build-linker, a `ner`, an `entity_ruler`, ...). A pipeline without one (train's
training/nel/model-best links only spans given to it) is refused.

A document longer than the pipeline's `nlp.max_length` is cut into pieces under it, at paragraph breaks, else line
breaks, else sentence ends, else spaces (a hard cut only in a run without any), and each piece is linked on its own;
the entities' offsets index the whole document. A document the pipeline fails on does not stop the run: its output
line has an "error" (and no entities), it is counted in `failed_documents` and listed in the summary.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import orjson
from spacy.language import Language
from spacy.pipeline import EntityLinker
from tqdm import tqdm

from wikiel import defaults
from wikiel.pipeline import abbreviations, candidates, components  # noqa: F401  (what a pipeline's config names)
from wikiel.pipeline.components import NIL
from wikiel.util import InputError, load_pipeline, output_file

FORMATS = ("auto", "text", "jsonl", "json")
JSON_SUFFIXES = (".json", ".jsonl")
FORMAT_HINT = "use --format text to link it as plain text, one document per line"
# cut points of an over-long document, best first: paragraph break, line break, sentence end, space
CUT_PATTERNS = (re.compile(r"\n[ \t]*\n\s*"), re.compile(r"\n"), re.compile(r"[.!?;:][\"')\]]*\s+"), re.compile(r"\s+"))
ERROR_EXAMPLES = 10  # failed documents listed in the summary


def load_linker(name_or_path: Union[str, Path]) -> Language:
    """A packaged linker (installed name) or a pipeline directory (training/linker/model)."""
    return load_pipeline(name_or_path, "run `spacy project run build-linker` or pip install the packaged linker")


def _is_entity_linker(nlp: Language, name: str, pipe: Any) -> bool:
    return isinstance(pipe, EntityLinker) or nlp.get_pipe_meta(name).factory in ("entity_linker",)


def mention_detectors(nlp: Language) -> List[str]:
    """The components before the (first) entity linker that find mentions: they set `doc.ents` without needing
    them (a `wikiel_mention_detector`, `ner`, `entity_ruler`, a `span_ruler` writing ents; not the abbreviation
    linker, which only refines the ents it is given)."""
    found = []
    for name, pipe in nlp.pipeline:
        if _is_entity_linker(nlp, name, pipe):
            break
        meta = nlp.get_pipe_meta(name)
        sets_ents = "doc.ents" in meta.assigns or bool(getattr(pipe, "annotate_ents", False))
        if sets_ents and "doc.ents" not in meta.requires:
            found.append(name)
    return found


def require_detector(nlp: Language, where: Union[str, Path]) -> None:
    """InputError unless the pipeline has an entity linker and a mention detector before it."""
    names = [name for name, _ in nlp.pipeline]
    if not any(_is_entity_linker(nlp, name, pipe) for name, pipe in nlp.pipeline):
        raise InputError(
            where,
            f"has no entity linker (components: {', '.join(names) or 'none'})",
            hint="link with the built linker: training/linker/model (spacy project run build-linker)",
        )
    if not mention_detectors(nlp):
        raise InputError(
            where,
            f"has no mention detector before its entity linker (components: {', '.join(names)}), so it would "
            "find no entity in raw text",
            hint="link with the built linker, training/linker/model (spacy project run build-linker), which adds "
            "mention detection; training/nel/model-best only links spans given to it",
        )


def sniff_format(path: Path) -> str:
    """`jsonl`, `json` (an array) or `text`, from the first non-blank characters; InputError for a `.json`/`.jsonl`
    file whose content is not JSON."""
    head = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            head = chunk.lstrip(b"\xef\xbb\xbf \t\r\n") if not head else head
            if head:
                break
    first = head[:1]
    if first == b"{":
        return "jsonl"
    if first == b"[":
        return "json"
    if path.suffix.lower() in JSON_SUFFIXES and head:
        line = 1 + _leading_newlines(path)
        raise InputError(
            path,
            f"is named {path.suffix} but its content is not JSON (it starts with {_start(head)!r};"
            ' expected {"text": ...} objects, one per line, or a JSON array of them)',
            line=line,
            hint=FORMAT_HINT,
        )
    return "text"


def _start(head: bytes) -> str:
    return head[:30].decode("utf8", "replace").split("\n")[0]


def _leading_newlines(path: Path) -> int:
    with open(path, "rb") as f:
        n = 0
        for raw in f:
            if raw.strip():
                return n
            n += 1
    return n


def _decode(path: Path, raw: bytes, number: int) -> str:
    try:
        line = raw.decode("utf8")
    except UnicodeDecodeError as err:
        raise InputError(path, f"not UTF-8 ({err.reason} at byte {err.start} of the line)", line=number) from err
    return line.lstrip("\ufeff") if number == 1 else line


def _document(path: Path, record: Any, default_id: object, line: Optional[int], where: str = "") -> Tuple[object, str]:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputError(path, f'{where}expected an object with a "text" string', line=line)
    return record.get("id", default_id), record["text"]


def read_documents(path: Path, input_format: str = "auto") -> Iterator[Tuple[object, str]]:
    """(id, text) of each input document; bad lines raise InputError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such input file")
    if input_format not in FORMATS:
        raise InputError(path, f"unknown --format {input_format!r}", hint=f"one of {', '.join(FORMATS)}")
    kind = sniff_format(path) if input_format == "auto" else input_format
    if kind == "json":
        yield from _json_array(path)
        return
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = _decode(path, raw, n)
            if not line.strip():
                continue
            if kind == "text":
                yield n, line.rstrip("\n").rstrip("\r")
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise InputError(path, f"not valid JSON ({err})", line=n, hint="one JSON object per line") from err
            yield _document(path, record, n, n)


def _json_array(path: Path) -> Iterator[Tuple[object, str]]:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        line = data[: err.pos].count(b"\n") + 1
        raise InputError(
            path,
            f"starts with '[' but is not a JSON array ({err.msg})",
            line=line,
            hint=f'give one JSON array of {{"text": ...}} objects, or {FORMAT_HINT}',
        ) from err
    if not isinstance(value, list):
        raise InputError(path, f"expected a JSON array of documents, got {type(value).__name__}", line=1)
    for i, record in enumerate(value, 1):
        yield _document(path, record, i, None, f"element {i} of the array: ")


def count_documents(path: Path, input_format: str = "auto") -> Optional[int]:
    """The number of documents for the progress bar (None for a JSON array: not worth reading twice)."""
    kind = sniff_format(path) if input_format == "auto" else input_format
    if kind == "json":
        return None
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def split_text(text: str, max_length: int) -> List[Tuple[int, str]]:
    """(offset, piece) of `text` cut into pieces of at most `max_length` characters: each cut at the last paragraph
    break in reach, else line break, else sentence end, else whitespace, else hard; the pieces concatenate to
    `text`."""
    if max_length < 1:
        raise ValueError("max_length must be positive")
    pieces = []
    start = 0
    n = len(text)
    while n - start > max_length:
        window = text[start : start + max_length]
        cut = 0
        for pattern in CUT_PATTERNS:
            ends = [m.end() for m in pattern.finditer(window) if 0 < m.end() <= max_length]
            if ends:
                cut = ends[-1]
                break
        if cut <= 0:
            cut = max_length
        pieces.append((start, text[start : start + cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def doc_entities(doc, keep_nil: bool = False, offset: int = 0) -> list:
    out = []
    for ent in doc.ents:
        linked = bool(ent.kb_id_) and ent.kb_id_ != NIL
        if linked or keep_nil:
            score = ent._.kb_score if ent.has_extension("kb_score") else None
            out.append(
                {
                    "start": ent.start_char + offset,
                    "end": ent.end_char + offset,
                    "text": ent.text,
                    "qid": ent.kb_id_ if linked else None,
                    "type": ent.label_,
                    "score": None if score is None else round(float(score), 4),
                }
            )
    return out


def _link_batch(nlp: Language, texts: Sequence[str], keep_nil: bool) -> List[Union[list, Exception]]:
    """The entities of each text, or the exception the pipeline raised on it (a failing batch is redone one
    text at a time, so one bad text does not fail the others)."""
    try:
        return [doc_entities(doc, keep_nil) for doc in nlp.pipe(texts, batch_size=len(texts))]
    except Exception:  # noqa: BLE001 - any component error: find the text(s) it comes from
        results: List[Union[list, Exception]] = []
        for text in texts:
            try:
                results.append(doc_entities(nlp(text), keep_nil))
            except Exception as err:  # noqa: BLE001 - reported per document
                results.append(err)
        return results


def link_documents(
    nlp: Language, documents: Iterator[Tuple[object, str]], batch_size: int, keep_nil: bool
) -> Iterator[Tuple[object, str, list, Optional[str]]]:
    """(id, text, entities, error or None) of each document, in input order; documents over `nlp.max_length` are
    linked piece by piece (see `split_text`), their offsets shifted back into the whole text."""
    pending: List[Tuple[object, str, List[Tuple[int, str]]]] = []
    n_pieces = 0

    def flush() -> Iterator[Tuple[object, str, list, Optional[str]]]:
        texts = [piece for _, _, pieces in pending for _, piece in pieces]
        results = iter(_link_batch(nlp, texts, keep_nil)) if texts else iter(())
        for doc_id, text, pieces in pending:
            ents: list = []
            error: Optional[str] = None
            for offset, _ in pieces:
                result = next(results)
                if isinstance(result, Exception):
                    error = error or f"{type(result).__name__}: {result}".splitlines()[0][:300]
                elif error is None:
                    ents.extend({**e, "start": e["start"] + offset, "end": e["end"] + offset} for e in result)
            yield doc_id, text, ([] if error else ents), error

    for doc_id, text in documents:
        pieces = split_text(text, nlp.max_length) if len(text) > nlp.max_length else [(0, text)]
        pending.append((doc_id, text, pieces))
        n_pieces += len(pieces)
        if n_pieces >= batch_size:
            yield from flush()
            pending, n_pieces = [], 0
    if pending:
        yield from flush()


def link_file(
    nlp: Language,
    input_path: Path,
    output_path: Path,
    batch_size: int = defaults.LINK_BATCH_SIZE,
    keep_nil: bool = False,
    input_format: str = defaults.LINK_FORMAT,
    pipeline_name: Union[str, Path] = "the pipeline",
) -> Dict[str, Any]:
    """Link every document of `input_path` into `output_path` (written whole or not at all); returns counts and
    the failed documents (`failed`: [(id, reason)], the first ERROR_EXAMPLES)."""
    require_detector(nlp, pipeline_name)
    input_path = Path(input_path)
    docs = read_documents(input_path, input_format)
    first = next(docs, None)  # a file of no known format fails here, before any output or progress bar
    if first is None:
        raise InputError(input_path, "holds no documents (it is empty or blank)", hint="one document per line")
    docs = itertools.chain([first], docs)
    total = count_documents(input_path, input_format)
    counts: Dict[str, Any] = {
        "documents": 0,
        "entities": 0,
        "characters": 0,
        "split_documents": 0,
        "failed_documents": 0,
        "format": sniff_format(input_path) if input_format == "auto" else input_format,
    }
    failed: List[Tuple[object, str]] = []
    with output_file(output_path, "link", "wb") as out:
        results = link_documents(nlp, docs, batch_size, keep_nil)
        for doc_id, text, ents, error in tqdm(results, total=total, desc="linking", unit=" doc", mininterval=1):
            record: Dict[str, Any] = {"id": doc_id, "entities": ents}
            if error is not None:
                record["error"] = error
                counts["failed_documents"] += 1
                if len(failed) < ERROR_EXAMPLES:
                    failed.append((doc_id, error))
            out.write(orjson.dumps(record) + b"\n")
            counts["documents"] += 1
            counts["entities"] += len(ents)
            counts["characters"] += len(text)
            counts["split_documents"] += len(text) > nlp.max_length
    counts["failed"] = failed
    return counts
