"""Readers of the tables that the parse steps and build-kb write, used by every later stage.

- parse-wikipedia: `redirects.tsv` (title -> target), `articles.jsonl` (clean text with link spans, split);
- build-kb: `entities.jsonl` (id -> title, label, description, type, freq) and the spaCy KB in `kb/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import orjson
from spacy.kb import InMemoryLookupKB

from ..util import normalize_title

MAX_REDIRECT_HOPS = 3


# ---- reading the parse outputs -------------------------------------------------------------------------------
def read_tsv(path: Path, n_cols: int) -> Iterator[List[str]]:
    with open(path, encoding="utf8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == n_cols:
                yield parts


def read_redirects(path: Path) -> Dict[str, str]:
    return {source: target for source, target in read_tsv(path, 2)}


def resolve(title: str, redirects: Dict[str, str]) -> str:
    """Follow redirects (a few hops, cycles stop) to the final title."""
    for _ in range(MAX_REDIRECT_HOPS):
        nxt = redirects.get(title)
        if nxt is None or nxt == title:
            break
        title = nxt
    return title


def read_kb_entities(path: Path) -> Dict[str, dict]:
    """qid -> {title, label, description, type, freq} from build-kb's entities.jsonl."""
    with open(path, "rb") as f:
        return {r["qid"]: r for r in map(orjson.loads, f)}


def title_index(kb_entities: Dict[str, dict]) -> Dict[str, str]:
    """Link target -> id: normalised titles, and each title exactly as written (custom KB ids are case-sensitive
    and may hold `_` or `#`; Wikipedia titles are already normalised, so for them both keys are the same)."""
    index = {normalize_title(r["title"]): qid for qid, r in kb_entities.items()}
    index.update((r["title"], qid) for qid, r in kb_entities.items())
    return index


def load_kb(kb_dir: Path, nlp) -> InMemoryLookupKB:
    kb = InMemoryLookupKB(nlp.vocab, entity_vector_length=1)
    kb.from_disk(kb_dir)
    return kb


def paragraphs(text: str, links: List[list]) -> Iterator[Tuple[str, List[Tuple[int, int, str]]]]:
    """Split an article at blank lines; yield each paragraph with its links, offsets made paragraph-relative."""
    start = 0
    links = sorted(links)
    li = 0
    while start <= len(text):
        end = text.find("\n\n", start)
        if end < 0:
            end = len(text)
        para_links = []
        while li < len(links) and links[li][0] < end:
            s, e, target = links[li][:3]
            if s >= start and e <= end:
                para_links.append((s - start, e - start, target))
            li += 1
        if text[start:end].strip():
            yield text[start:end], para_links
        start = end + 2


def split_articles(articles_path: Path, split: str) -> Iterator[dict]:
    """The article records (parse-wikipedia's articles.jsonl) of one split, in file order."""
    with open(articles_path, "rb") as f:
        for line in f:
            article = orjson.loads(line)
            if article["split"] == split:
                yield article


def article_paragraphs(
    articles_path: Path, split: str, max_bytes: int = 0, max_articles: int = 0
) -> Iterator[Tuple[str, List[Tuple[int, int, str]]]]:
    """(paragraph text, [(start, end, target)]) of the articles of one split, up to `max_bytes` of text or
    `max_articles` articles (0 = no limit)."""
    n_bytes = n_articles = 0
    for article in split_articles(articles_path, split):
        yield from paragraphs(article["text"], article["links"])
        n_bytes += len(article["text"])
        n_articles += 1
        if (max_bytes and n_bytes >= max_bytes) or (max_articles and n_articles >= max_articles):
            return
