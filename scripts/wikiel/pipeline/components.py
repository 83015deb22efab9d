"""Pipeline components of the linker: mention detection on raw text and an EntityLinker that keeps its scores.

- `wikiel_mention_detector`: finds spans of raw text whose string is a KB alias with a high enough *link
  probability* (how often that string is a link when it appears in Wikipedia text), longest match first, and sets
  them as `doc.ents` with the label `ENTITY`, or with the coarse type build-linker gave the alias (the type of
  most prior mass among its KB candidates) when it was built with alias types.
- `wikiel_entity_linker`: spaCy's `EntityLinker` (same config, same training) whose prediction also yields a score
  per mention, `p + s - p*s` of the prior `p` and the context cosine `s` as spaCy combines them. The score is set on
  each linked span as `span._.kb_score`; below `nil_threshold` the mention is NIL (`kb_id_ == "NIL"`). Context
  encodings are computed once per sentence for all its mentions, in one model call per batch of docs (spaCy's own
  `predict` runs the model once per mention), and ties are broken by entity id rather than at random. Detected
  `ENTITY` spans are relabelled with the coarse type of the linked entity.

This module imports only the standard library, numpy and spaCy: `spacy package --code` ships it with the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, cast

import numpy as np
import srsly
from spacy.language import Language
from spacy.pipeline import EntityLinker
from spacy.tokens import Doc, Span
from spacy.util import SimpleFrozenList, filter_spans

try:  # spaCy >= 3.8 registers its own factories on first use
    from spacy.pipeline.factories import register_factories as _register_spacy_factories
except ImportError:  # pragma: no cover - spaCy 3.7 registers them on import

    def _register_spacy_factories() -> None:
        pass


MENTION_LABEL = "ENTITY"
NIL = EntityLinker.NIL

if not Span.has_extension("kb_score"):
    Span.set_extension("kb_score", default=None)


def alias_key(words: Sequence[str]) -> str:
    """The lookup key of a token sequence: its token texts joined by one space (the same for text and alias)."""
    return " ".join(words)


# ---- mention detection ---------------------------------------------------------------------------------------
class MentionDetector:
    """Longest-first, non-overlapping matches of known alias strings whose link probability >= `threshold`."""

    def __init__(
        self,
        nlp: Language,
        name: str = "mention_detector",
        threshold: float = 0.1,
        label: str = MENTION_LABEL,
        overwrite: bool = True,
    ):
        self.name = name
        self.label = label
        self.overwrite = overwrite
        self.cfg = {"threshold": threshold}
        self.probs: Dict[str, float] = {}
        self.types: Dict[str, str] = {}  # alias key -> coarse type given to its matches (else `label`)
        self._index()

    @property
    def threshold(self) -> float:
        return float(self.cfg["threshold"])

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.cfg["threshold"] = float(value)
        self._index()

    def set_probabilities(self, probs: Dict[str, float]) -> None:
        """Alias key (see `alias_key`) -> link probability."""
        self.probs = dict(probs)
        self._index()

    def set_types(self, types: Dict[str, str]) -> None:
        """Alias key -> the coarse type its matches are labelled with (keys without one get `label`)."""
        self.types = dict(types)

    def _index(self) -> None:
        t = self.threshold
        self._keys = {k for k, p in self.probs.items() if p >= t}
        self._first = {k.split(" ", 1)[0] for k in self._keys}
        self._max_len = max((k.count(" ") + 1 for k in self._keys), default=0)

    def find(self, doc: Doc) -> List[Tuple[int, int]]:
        """(start, end) token offsets of the matches in `doc`."""
        words = [t.text for t in doc]
        keys, first, out = self._keys, self._first, []
        i, n = 0, len(words)
        while i < n:
            if words[i] in first:
                for length in range(min(self._max_len, n - i), 0, -1):
                    if alias_key(words[i : i + length]) in keys:
                        out.append((i, i + length))
                        i += length
                        break
                else:
                    i += 1
            else:
                i += 1
        return out

    def label_of(self, doc: Doc, start: int, end: int) -> str:
        """The label of a match: its alias key's type, else `label`."""
        if not self.types:
            return self.label
        return self.types.get(alias_key([t.text for t in doc[start:end]]), self.label)

    def __call__(self, doc: Doc) -> Doc:
        spans = [Span(doc, s, e, label=self.label_of(doc, s, e)) for s, e in self.find(doc)]
        if not self.overwrite:
            spans = filter_spans(list(doc.ents) + spans)
        doc.ents = spans
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def to_disk(self, path, exclude=SimpleFrozenList()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "cfg.json", self.cfg)
        srsly.write_msgpack(path / "probabilities.msgpack", sorted(self.probs.items()))
        if self.types:
            srsly.write_msgpack(path / "types.msgpack", sorted(self.types.items()))

    def from_disk(self, path, exclude=SimpleFrozenList()) -> MentionDetector:
        path = Path(path)
        self.cfg.update(srsly.read_json(path / "cfg.json"))
        self.probs = {k: float(p) for k, p in srsly.read_msgpack(path / "probabilities.msgpack")}
        types_path = path / "types.msgpack"
        self.types = dict(srsly.read_msgpack(types_path)) if types_path.exists() else {}
        self._index()
        return self


@Language.factory(
    "wikiel_mention_detector",
    assigns=["doc.ents"],
    default_config={"threshold": 0.1, "label": MENTION_LABEL, "overwrite": True},
)
def make_mention_detector(nlp: Language, name: str, threshold: float, label: str, overwrite: bool) -> MentionDetector:
    return MentionDetector(nlp, name, threshold=threshold, label=label, overwrite=overwrite)


# ---- linking with scores -------------------------------------------------------------------------------------
class ScoredEntityLinker(EntityLinker):
    """spaCy's EntityLinker with per-mention scores, a NIL threshold and entity types (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cfg.setdefault("nil_threshold", self.threshold)
        self.entity_types: Dict[str, str] = {}

    @property
    def nil_threshold(self) -> Optional[float]:
        return self.cfg.get("nil_threshold")

    @nil_threshold.setter
    def nil_threshold(self, value: Optional[float]) -> None:
        self.cfg["nil_threshold"] = None if value is None else float(value)

    def context_encodings(self, docs: Sequence[Doc]) -> List[List[Optional[np.ndarray]]]:
        """Per doc, per entity: the encoding of the sentence window holding it (computed once per window)."""
        windows: Dict[Tuple[int, int, int], List[Tuple[int, int]]] = {}
        for di, doc in enumerate(docs):
            sentences = list(doc.sents) if len(doc) and doc.ents else []
            starts = [s.start for s in sentences]
            for ei, ent in enumerate(doc.ents):
                sents = list(ent.sents)  # type: ignore[attr-defined]  # Span.sents exists, spaCy's stub lacks it
                first = max(0, starts.index(sents[0].start) - self.n_sents)
                last = min(len(sentences) - 1, starts.index(sents[-1].start) + self.n_sents)
                key = (di, sentences[first].start, sentences[last].end)
                windows.setdefault(key, []).append((di, ei))
        out: List[List[Optional[np.ndarray]]] = [[None] * len(doc.ents) for doc in docs]
        if not windows or not self.incl_context:
            return out
        window_docs = [docs[di][start:end].as_doc() for di, start, end in windows]
        rows = self.model.ops.to_numpy(self.model.predict(window_docs))
        offset = 0
        for window_doc, members in zip(window_docs, windows.values()):
            encoding = rows[offset]
            offset += len(window_doc.ents)
            for di, ei in members:
                out[di][ei] = encoding
        return out

    def score_candidates(self, candidates: list, encoding: Optional[np.ndarray]) -> np.ndarray:
        """spaCy's combination of prior and context similarity for each candidate."""
        priors = np.asarray([c.prior_prob if self.incl_prior else 0.0 for c in candidates], dtype="float32")
        if not self.incl_context or encoding is None:
            return priors
        vectors = np.asarray([c.entity_vector for c in candidates], dtype="float32")
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(encoding)
        sims = vectors @ encoding / np.where(norms == 0, 1, norms)
        return priors + sims - priors * sims

    def predict(  # type: ignore[override]  # (QID, score) pairs where spaCy's stub says QIDs
        self, docs: Iterable[Doc]
    ) -> List[Tuple[str, Optional[float]]]:
        """(QID or NIL, score of the best candidate or None without candidates) for every entity of every doc."""
        self.validate_kb()
        docs = [docs] if isinstance(docs, Doc) else list(docs)
        encodings = self.context_encodings(docs)
        threshold = self.nil_threshold
        out: List[Tuple[str, Optional[float]]] = []
        for doc, doc_encodings in zip(docs, encodings):
            ents = list(doc.ents)
            keep = [i for i, ent in enumerate(ents) if ent.label_ not in self.labels_discard]
            if self.candidates_batch_size > 1:
                found = list(self.get_candidates_batch(self.kb, [ents[i] for i in keep]))
            else:
                found = [self.get_candidates(self.kb, ents[i]) for i in keep]
            by_ent = dict(zip(keep, found))
            for i in range(len(ents)):
                candidates = sorted(by_ent.get(i, ()), key=lambda c: c.entity_)
                if not candidates:
                    out.append((NIL, None))
                    continue
                scores = self.score_candidates(candidates, doc_encodings[i])
                best = int(np.argmax(scores))
                score = float(scores[best])
                out.append((candidates[best].entity_ if threshold is None or score >= threshold else NIL, score))
        return out

    def set_annotations(  # type: ignore[override]  # predictions carry scores (see predict)
        self, docs: Iterable[Doc], predictions: List[Tuple[str, Optional[float]]]
    ) -> None:
        docs = list(docs)
        n_ents = sum(len(doc.ents) for doc in docs)
        if n_ents != len(predictions):
            raise ValueError(f"{self.name}: {len(predictions)} predictions for {n_ents} entities")
        i = 0
        overwrite = self.cfg["overwrite"]
        for doc in docs:
            new_ents, scores = [], []
            for ent in doc.ents:
                kb_id, score = predictions[i]
                i += 1
                if not overwrite and ent.kb_id:
                    kb_id = ent.kb_id_
                label = ent.label_
                if label == MENTION_LABEL and kb_id in self.entity_types:
                    label = self.entity_types[kb_id]
                new_ents.append(Span(doc, ent.start, ent.end, label=label, kb_id=kb_id))
                scores.append(score)
            doc.ents = new_ents
            for ent, score in zip(doc.ents, scores):
                ent._.kb_score = score

    def to_disk(self, path, *, exclude=SimpleFrozenList()) -> None:
        super().to_disk(path, exclude=exclude)
        srsly.write_msgpack(Path(path) / "entity_types.msgpack", sorted(self.entity_types.items()))

    def from_disk(self, path, *, exclude=SimpleFrozenList()) -> ScoredEntityLinker:
        super().from_disk(path, exclude=exclude)
        types_path = Path(path) / "entity_types.msgpack"
        self.entity_types = dict(srsly.read_msgpack(types_path)) if types_path.exists() else {}
        return self


def _entity_linker_meta():
    """spaCy's own entity_linker factory settings (spaCy >= 3.8 registers its factories on first use)."""
    try:
        return Language.get_factory_meta("entity_linker")
    except ValueError:
        _register_spacy_factories()
        return Language.get_factory_meta("entity_linker")


_EL_DEFAULTS = _entity_linker_meta()


@Language.factory(
    "wikiel_entity_linker",
    requires=_EL_DEFAULTS.requires,
    assigns=_EL_DEFAULTS.assigns,
    default_config=dict(_EL_DEFAULTS.default_config),
    default_score_weights=dict(_EL_DEFAULTS.default_score_weights),
)
def make_scored_entity_linker(
    nlp: Language,
    name: str,
    model,
    *,
    labels_discard,
    n_sents,
    incl_prior,
    incl_context,
    entity_vector_length,
    get_candidates,
    get_candidates_batch,
    generate_empty_kb,
    overwrite,
    scorer,
    use_gold_ents,
    candidates_batch_size,
    threshold,
) -> ScoredEntityLinker:
    return ScoredEntityLinker(
        nlp.vocab,
        model,
        name,
        labels_discard=labels_discard,
        n_sents=n_sents,
        incl_prior=incl_prior,
        incl_context=incl_context,
        entity_vector_length=entity_vector_length,
        get_candidates=get_candidates,
        get_candidates_batch=get_candidates_batch,
        generate_empty_kb=generate_empty_kb,
        overwrite=overwrite,
        scorer=scorer,
        use_gold_ents=use_gold_ents,
        candidates_batch_size=candidates_batch_size,
        threshold=threshold,
    )


def as_scored_linker(nlp: Language) -> ScoredEntityLinker:
    """The pipeline's entity_linker as a `wikiel_entity_linker` (a pipeline trained with spaCy's own factory is
    converted, keeping its weights and KB)."""
    el = cast(EntityLinker, nlp.get_pipe("entity_linker"))
    if isinstance(el, ScoredEntityLinker):
        return el
    config = {k: v for k, v in nlp.config["components"]["entity_linker"].items() if k != "factory"}
    data = el.to_bytes()
    nlp.replace_pipe("entity_linker", "wikiel_entity_linker", config=config)
    scored = cast(ScoredEntityLinker, nlp.get_pipe("entity_linker"))
    scored.from_bytes(data)
    return scored
