"""Word vectors for entity descriptions: floret trained offline on the dump's own article text, or a user's pipeline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, List, cast

import floret
import numpy as np
import orjson
import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.training.initialize import convert_vectors

from wikiel import defaults
from wikiel.util import OutputError, atomic_path

TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def article_texts(articles_path: Path, split: str = "train", max_bytes: int = 0) -> Iterator[str]:
    """Clean texts of the articles of one split, stopping after `max_bytes` of text (0 = all)."""
    total = 0
    with open(articles_path, "rb") as f:
        for line in f:
            record = orjson.loads(line)
            if record["split"] != split:
                continue
            yield record["text"]
            total += len(record["text"])
            if max_bytes and total >= max_bytes:
                return


def write_training_text(texts: Iterable[str], path: Path) -> int:
    """One line per paragraph, tokens split like spaCy splits words from punctuation; returns bytes written."""
    n = 0
    with open(path, "w", encoding="utf8") as out:
        for text in texts:
            for para in text.split("\n"):
                tokens = TOKEN_RE.findall(para)
                if tokens:
                    line = " ".join(tokens) + "\n"
                    out.write(line)
                    n += len(line)
    return n


def train_floret_vectors(
    articles_path: Path,
    out_dir: Path,
    lang: str,
    dim: int = defaults.VECTOR_DIM,
    epochs: int = defaults.VECTOR_EPOCHS,
    max_text_mb: int = defaults.MAX_VECTOR_TEXT_MB,
    threads: int = defaults.VECTOR_THREADS,
    seed: int = defaults.SEED,
) -> dict:
    """Train floret subword vectors on article text and save them as a spaCy pipeline directory (vectors only).

    Skipgram with a wide window: on small corpora floret's cbow collapses all words onto one direction, and a
    5-word window at 5 epochs leaves topic words barely closer to each other than to others. One thread by default:
    floret's multi-threaded SGD is not deterministic (its seed is fixed at 0).
    """
    out_dir = Path(out_dir)
    with atomic_path(out_dir) as tmp_dir:
        tmp_dir.mkdir(parents=True)
        text_path = tmp_dir / "text.txt"
        n_bytes = write_training_text(article_texts(articles_path, max_bytes=max_text_mb << 20), text_path)
        if n_bytes == 0:
            raise ValueError(f"{articles_path}: no train article text to train vectors on")
        model = floret.train_unsupervised(
            str(text_path),
            model="skipgram",
            mode="floret",
            hashCount=2,
            bucket=50000,
            minn=4,
            maxn=5,
            minCount=2,
            dim=dim,
            epoch=epochs,
            ws=10,
            lr=0.1,
            thread=threads,
            verbose=0,
        )
        vec_path = tmp_dir / "vectors.floret"
        model.save_floret_vectors(str(vec_path))
        text_path.unlink()
        nlp = spacy.blank(lang)
        try:  # floret (C++) does not report a failed write: a full disk shows as a file that cannot be read back
            convert_vectors(nlp, vec_path, truncate=0, prune=-1, mode="floret")
        except ValueError as err:
            raise OutputError(
                f"{vec_path}: the floret vectors just trained cannot be read back ({str(err).splitlines()[0]}): the "
                "disk may be full or a file size limit (ulimit -f) reached; free space or raise the limit, then rerun"
            ) from err
        vec_path.unlink()
        nlp.to_disk(tmp_dir)
    return {"vector_text_bytes": n_bytes, "vector_dim": dim}


def load_vectors_nlp(vectors: str) -> Language:
    """A pipeline whose vocab has the vectors: a directory written by `train_floret_vectors` or an installed
    spaCy pipeline name (e.g. en_core_web_lg)."""
    return spacy.load(vectors, exclude=["tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter"])


def description_vectors(nlp: Language, texts: List[str], batch_size: int = 1000) -> np.ndarray:
    """Mean word vector of each text, centred on the mean over all texts and scaled to unit length, float32 [n, dim].

    Averaged word vectors share one dominant direction (their cosines are all near 1); the linker compares them by
    cosine, so that common component is removed.
    """
    dim = nlp.vocab.vectors.shape[1]
    out = np.zeros((len(texts), dim), dtype="float32")
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    for i, doc in enumerate(tokenizer.pipe(texts, batch_size=batch_size)):
        if len(doc):
            out[i] = doc.vector
    out -= out.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)
