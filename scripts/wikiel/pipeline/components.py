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

from bisect import bisect_left, bisect_right
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, cast

import numpy as np
import srsly
from spacy.attrs import NORM
from spacy.language import Language
from spacy.ml.models.entity_linker import build_nel_encoder
from spacy.pipeline import EntityLinker
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import SimpleFrozenList, filter_spans, registry
from thinc.api import Linear, Model, Optimizer, Relu, chain, set_dropout_rate
from thinc.types import Floats2d, Ints2d

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
def window_doc(doc: Doc, start: int, end: int, norms: np.ndarray, ents: Sequence[Span], ent_starts: List[int]) -> Doc:
    """Tokens start..end of `doc` as a Doc of their own for the context encoder: the words, spaces, token norms
    (`doc.to_array([NORM])`, the tokenizer's exceptions included), sentence starts and the entities wholly inside
    (`ents`: the doc's, in order, `ent_starts` their start tokens).
    What `Span.as_doc` gives the encoder, without its per-call copy of the whole doc's arrays and its span vector
    (which looked up every token's static vector: half the linker's time on whole articles)."""
    tokens = doc[start:end]
    window = Doc(
        doc.vocab,
        words=[t.text for t in tokens],
        spaces=[bool(t.whitespace_) for t in tokens],
        sent_starts=[bool(t.is_sent_start) if i else True for i, t in enumerate(tokens)],
    )
    window.from_array([NORM], cast(Ints2d, norms[start:end].reshape(-1, 1)))
    window.ents = [
        Span(window, e.start - start, e.end - start, label=e.label, kb_id=e.kb_id)
        for e in islice(ents, bisect_left(ent_starts, start), bisect_left(ent_starts, end))
        if e.end <= end
    ]
    return window


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
        doc_ents = [list(doc.ents) for doc in docs]  # Doc.ents builds its spans anew on every access
        for di, doc in enumerate(docs):
            sentences = list(doc.sents) if len(doc) and doc_ents[di] else []
            starts = [s.start for s in sentences]
            for ei, ent in enumerate(doc_ents[di]):
                # the sentences holding the entity's first and last tokens (as Span.sents, without its doc scan)
                first = max(0, bisect_right(starts, ent.start) - 1 - self.n_sents)
                last = min(len(sentences) - 1, bisect_right(starts, ent.end - 1) - 1 + self.n_sents)
                key = (di, sentences[first].start, sentences[last].end)
                windows.setdefault(key, []).append((di, ei))
        out: List[List[Optional[np.ndarray]]] = [[None] * len(ents) for ents in doc_ents]
        if not windows or not self.incl_context:
            return out
        arrays = {  # per doc with entities: token norms, entities, their starts
            di: (doc.to_array([NORM]), doc_ents[di], [e.start for e in doc_ents[di]])
            for di, doc in enumerate(docs)
            if doc_ents[di]
        }
        window_docs = [window_doc(docs[di], start, end, *arrays[di]) for di, start, end in windows]
        rows = self.encode(window_docs)
        offset = 0
        for wd, members in zip(window_docs, windows.values()):
            encoding = rows[offset]
            offset += len(wd.ents)
            for di, ei in members:
                out[di][ei] = encoding
        return out

    def encode(self, window_docs: List[Doc]) -> np.ndarray:
        """One context encoding per entity of the window docs (the context encoder of the model)."""
        return self.model.ops.to_numpy(self.model.predict(window_docs))

    def score_candidates(self, candidates: list, encoding: Optional[np.ndarray], label: str = "") -> np.ndarray:
        """spaCy's combination of prior and context similarity for each candidate (`label`, the mention's type, is
        not used by this architecture)."""
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
                # a linked span carries its entity's type (a typed detector's guess may differ); NIL keeps the guess
                label = self.entity_types.get(kb_id, ent.label_)
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


# ---- the seed's linker: a learned scorer over context, mention type, entity vector and prior -------------------
UNK_TYPE = "<UNK>"  # type id 0: untyped mentions (MENTION_LABEL, a detector's label the KB has no entity of)
SEED_ARCHITECTURE = "wikiel.SeedLinker.v1"


@registry.architectures(SEED_ARCHITECTURE)
def build_seed_linker(
    tok2vec: Model,
    context_width: int = 128,
    type_width: int = 16,
    hidden_width: int = 64,
    use_types: bool = True,
    type_dropout: float = 0.1,
    interaction: bool = False,
    similarity: bool = False,
) -> Model:
    """The seed's linker model: scores each (mention, candidate) pair from
    [context encoding (`context_width`, the sentence window pooled from `tok2vec`, as spaCy's EntityLinker.v2);
    embedding of the mention's type (`type_width`; the span label, UNK when the label is no KB type);
    the candidate's entity vector from the KB; its prior and log(prior); 1.0 when the candidate's type (the
    component's table) is the mention's type] with a ReLU layer of `hidden_width` and a linear output.
    `use_types` false drops the type embedding and the match feature (the ablation). `type_dropout`: the share of
    training mentions whose type is replaced by UNK, so that untyped mentions (alias detection) are seen in training.
    `interaction` (not in the seed's design) adds the elementwise product of a linear projection of the context
    encoding with the entity vector, so the scorer can weigh their agreement as EntityLinker.v2's cosine does.
    `similarity` (not in the seed's design) adds one feature, the cosine of a learned linear projection of the
    context encoding (to the entity vector's width) with the candidate's entity vector, and an auxiliary training
    loss, 1 - that cosine with the gold entity's vector (EntityLinker.v2's loss), that trains the encoder and the
    projection towards the gold entity's vector besides the softmax over the candidates.

    Input: (docs with ents, mention type ids (one per ent), candidate owner (the index of its ent), candidate
    features [entity vector, prior, log prior, type match]); output: one logit per candidate."""
    encoder = build_nel_encoder(tok2vec, nO=context_width)
    type_embed: Model = Model(
        "seed_type_embed", _type_embed_forward, init=_type_embed_init, dims={"nV": None, "nO": type_width}
    )
    scorer: Model = chain(Relu(nO=hidden_width), Linear(nO=1, nI=hidden_width))
    layers, refs = [encoder, type_embed, scorer], {"encoder": encoder, "type_embed": type_embed, "scorer": scorer}
    if interaction:
        project: Model = Linear(nI=context_width)
        layers.append(project)
        refs["project"] = project
    if similarity:
        sim_project: Model = Linear(nI=context_width)
        layers.append(sim_project)
        refs["sim_project"] = sim_project
    return Model(
        "wikiel_seed_linker",
        _seed_forward,
        init=_seed_init,
        layers=layers,
        refs={**refs, "tok2vec": tok2vec},
        attrs={
            "use_types": use_types,
            "type_dropout": type_dropout,
            "context_width": context_width,
            "similarity": similarity,
        },
    )


def _type_embed_forward(model: Model, ids, is_train: bool):
    table = model.get_param("E")
    out = table[ids]

    def backprop(d_out):
        d_table = np.zeros(table.shape, dtype="float32")
        np.add.at(d_table, ids, d_out)
        model.inc_grad("E", cast(Floats2d, d_table))
        return ids

    return out, backprop


def _type_embed_init(model: Model, X=None, Y=None) -> None:
    n_types, width = model.get_dim("nV"), model.get_dim("nO")
    model.set_param("E", cast(Floats2d, np.random.uniform(-0.1, 0.1, (n_types, width)).astype("float32")))


def _seed_init(model: Model, X=None, Y=None) -> None:
    encoder, type_embed, scorer = model.layers[:3]
    docs, types, owners, features = X
    encoder.initialize(X=docs)
    if not type_embed.has_dim("nV"):
        type_embed.set_dim("nV", 1)
    type_embed.initialize()
    n_vector = features.shape[1] - 3
    width = model.attrs["context_width"] + features.shape[1]
    if not model.attrs["use_types"]:
        width -= 1
    else:
        width += type_embed.get_dim("nO")
    for ref in ("project", "sim_project"):
        if model.has_ref(ref):
            model.get_ref(ref).set_dim("nO", n_vector)
            model.get_ref(ref).initialize()
    if model.has_ref("project"):
        width += n_vector
    if model.has_ref("sim_project"):
        width += 1
    scorer.layers[0].set_dim("nI", width)
    scorer.initialize()


def row_cosines(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Cosine of each row of `a` with the same row of `b` (0 where either is zero), and its backprop to `a`
    (d_cosines -> d_a; `b` is a constant)."""
    a_norm = np.linalg.norm(a, axis=1)
    b_norm = np.linalg.norm(b, axis=1)
    safe_a = np.where(a_norm > 0, a_norm, 1.0)
    denom = safe_a * np.where(b_norm > 0, b_norm, 1.0)
    valid = (a_norm > 0) & (b_norm > 0)
    cos = np.where(valid, (a * b).sum(axis=1) / denom, 0.0).astype("float32")

    def backprop(d_cos: np.ndarray) -> np.ndarray:
        grad = b / denom[:, None] - cos[:, None] * a / (safe_a**2)[:, None]
        return (np.where(valid, d_cos, 0.0)[:, None] * grad).astype("float32")

    return cos, backprop


def seed_head(
    model: Model,
    context,
    types,
    owners,
    features,
    is_train: bool,
    gold_vectors: Optional[np.ndarray] = None,
):
    """Logits of the candidates (column vector) from the context encodings of their mentions, their backprop
    (d_logits -> d_context), and the auxiliary similarity loss: with the `similarity` option and `gold_vectors`
    (the gold entity's vector per mention, a zero row for none), the mean of 1 - cosine(projected context, gold
    vector) over the mentions that have one, whose gradient the backprop adds (else 0.0)."""
    _, type_embed, scorer = model.layers[:3]
    owners = np.asarray(owners, dtype="int64")
    context = np.asarray(context, dtype="float32")
    entity_vectors = features[:, :-3]
    parts = [context[owners]]
    bp_types = None
    if model.attrs["use_types"]:
        embedded, bp_types = type_embed(np.asarray(types, dtype="int64"), is_train)
        parts += [embedded[owners], features]
    else:
        parts.append(features[:, :-1])
    bp_project = None
    project_col = sum(part.shape[1] for part in parts)  # the scorer's input columns of the next part
    if model.has_ref("project"):
        projected, bp_project = model.get_ref("project")(context, is_train)
        parts.append(projected[owners] * entity_vectors)
    sim_projected, bp_sim_project, bp_sims = None, None, None
    sim_col = sum(part.shape[1] for part in parts)
    if model.has_ref("sim_project"):
        sim_projected, bp_sim_project = model.get_ref("sim_project")(context, is_train)
        sims, bp_sims = row_cosines(np.asarray(sim_projected)[owners], entity_vectors)
        parts.append(sims[:, None])
    X = np.hstack(parts).astype("float32")
    logits, bp_scorer = scorer(X, is_train)
    aux_loss, d_aux = 0.0, None
    if sim_projected is not None and gold_vectors is not None:
        has_gold = np.linalg.norm(gold_vectors, axis=1) > 0
        if has_gold.any():
            gold_cos, bp_gold = row_cosines(np.asarray(sim_projected), np.asarray(gold_vectors, dtype="float32"))
            n_gold = int(has_gold.sum())
            aux_loss = float((1.0 - gold_cos[has_gold]).sum()) / n_gold
            d_aux = bp_gold(np.where(has_gold, -1.0 / n_gold, 0.0).astype("float32"))

    def backprop(d_logits):
        dX = bp_scorer(d_logits)
        width, n_vector = context.shape[1], entity_vectors.shape[1]
        d_context = np.zeros(context.shape, dtype="float32")
        np.add.at(d_context, owners, dX[:, :width])
        if bp_types is not None:
            d_types = np.zeros((len(types), type_embed.get_dim("nO")), dtype="float32")
            np.add.at(d_types, owners, dX[:, width : width + type_embed.get_dim("nO")])
            bp_types(d_types)
        if bp_project is not None:
            d_projected = np.zeros((len(context), n_vector), dtype="float32")
            np.add.at(d_projected, owners, dX[:, project_col : project_col + n_vector] * entity_vectors)
            d_context += bp_project(d_projected)
        if bp_sim_project is not None and bp_sims is not None:
            d_sim = np.zeros((len(context), n_vector), dtype="float32")
            np.add.at(d_sim, owners, bp_sims(dX[:, sim_col]))
            if d_aux is not None:
                d_sim += d_aux
            d_context += bp_sim_project(d_sim)
        return d_context

    return logits, backprop, aux_loss


def _seed_forward(model: Model, X, is_train: bool):
    docs, types, owners, features = X
    context, bp_context = model.layers[0](docs, is_train)
    logits, bp_head, _ = seed_head(model, context, types, owners, features, is_train)

    def backprop(d_logits):
        bp_context(bp_head(d_logits))
        return X

    return logits, backprop


def nil_softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities of the candidates of one mention, with a NIL slot of logit 0 in the denominator (so a single
    candidate can still score low, and scores compare across mentions: the NIL threshold applies to them)."""
    top = max(float(logits.max()), 0.0) if len(logits) else 0.0
    e = np.exp(logits - top)
    return e / (e.sum() + np.exp(-top))


class SeedEntityLinker(ScoredEntityLinker):
    """The seed's linker (`wikiel.SeedLinker.v1`): a learned scorer per candidate, trained with a softmax over
    the mention's candidates and a NIL slot (a mention whose gold entity is not a candidate learns NIL).
    `span._.kb_score` is the chosen candidate's probability; the NIL threshold, the entity types of output
    spans and the abbreviation component work as with `wikiel_entity_linker`. The candidate-type table is
    `entity_types` (qid -> type), read at initialize from build-kb's entities.jsonl (`entity_types` path)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cfg.setdefault("types", [UNK_TYPE])
        self._type_ids: Dict[str, int] = {}

    @property
    def types(self) -> List[str]:
        return list(self.cfg["types"])

    def type_id(self, label: str) -> int:
        if len(self._type_ids) != len(self.cfg["types"]):
            self._type_ids = {t: i for i, t in enumerate(self.cfg["types"])}
            self._type_ids[UNK_TYPE] = 0
        return self._type_ids.get(label, 0)

    def encode(self, window_docs: List[Doc]) -> np.ndarray:
        return self.model.ops.to_numpy(self.model.get_ref("encoder").predict(window_docs))

    def features(self, candidates: list, mention_type: int) -> np.ndarray:
        """[entity vector, prior, log prior, type match] of each candidate."""
        n = len(candidates)
        out = np.zeros((n, self.kb.entity_vector_length + 3), dtype="float32")
        if not n:
            return out
        out[:, :-3] = [c.entity_vector for c in candidates]
        priors = np.asarray([c.prior_prob if self.incl_prior else 0.0 for c in candidates], dtype="float32")
        out[:, -3] = priors
        out[:, -2] = np.log(np.maximum(priors, 1e-4))
        if mention_type:
            types = self.entity_types
            out[:, -1] = [self.type_id(types.get(c.entity_, UNK_TYPE)) == mention_type for c in candidates]
        return out

    def _candidates(self, ents: List[Span]) -> List[list]:
        if self.candidates_batch_size > 1:
            found = [list(c) for c in self.get_candidates_batch(self.kb, ents)]
        else:
            found = [list(self.get_candidates(self.kb, ent)) for ent in ents]
        return [sorted(c, key=lambda c: c.entity_) for c in found]

    def _batch(self, mentions: List[Tuple[list, int]]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Type ids, candidate owners and candidate features of (candidates, type id) per mention."""
        types = np.asarray([t for _, t in mentions], dtype="int64")
        owners = np.asarray([i for i, (cands, _) in enumerate(mentions) for _ in cands], dtype="int64")
        width = self.kb.entity_vector_length + 3
        feats = [self.features(cands, t) for cands, t in mentions if cands]
        features = np.vstack(feats) if feats else np.zeros((0, width), dtype="float32")
        return types, owners, features

    def score_candidates(self, candidates: list, encoding: Optional[np.ndarray], label: str = "") -> np.ndarray:
        """The probability of each candidate (softmax with the NIL slot) for a mention of type `label`."""
        if not candidates or encoding is None:
            return np.zeros(len(candidates), dtype="float32")
        types, owners, features = self._batch([(candidates, self.type_id(label))])
        logits = seed_head(self.model, np.asarray(encoding)[None, :], types, owners, features, False)[0]
        return nil_softmax(self.model.ops.to_numpy(logits)[:, 0])

    def predict(  # type: ignore[override]  # (QID, score) pairs, as ScoredEntityLinker
        self, docs: Iterable[Doc]
    ) -> List[Tuple[str, Optional[float]]]:
        self.validate_kb()
        docs = [docs] if isinstance(docs, Doc) else list(docs)
        encodings = [enc for doc_encodings in self.context_encodings(docs) for enc in doc_encodings]
        ents = [ent for doc in docs for ent in doc.ents]
        keep = [i for i, ent in enumerate(ents) if ent.label_ not in self.labels_discard]
        found = dict(zip(keep, self._candidates([ents[i] for i in keep])))
        candidates = [found.get(i, []) for i in range(len(ents))]
        mentions = [(c, self.type_id(ent.label_)) for c, ent in zip(candidates, ents)]
        out: List[Tuple[str, Optional[float]]] = [(NIL, None)] * len(ents)
        if not any(candidates):
            return out
        width = self.model.attrs["context_width"]
        context = np.stack([e if e is not None else np.zeros(width, dtype="float32") for e in encodings])
        types, owners, features = self._batch(mentions)
        logits = self.model.ops.to_numpy(seed_head(self.model, context, types, owners, features, False)[0])[:, 0]
        threshold = self.nil_threshold
        start = 0
        for i, cands in enumerate(candidates):
            if not cands:
                continue
            probs = nil_softmax(logits[start : start + len(cands)])
            start += len(cands)
            best = int(np.argmax(probs))
            score = float(probs[best])
            out[i] = (cands[best].entity_ if threshold is None or score >= threshold else NIL, score)
        return out

    def initialize(  # one more keyword than EntityLinker.initialize: the entity types
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp=None,
        kb_loader=None,
        entity_types=None,
    ) -> None:
        """Load the KB, the candidate-type table (`entity_types`: a path to build-kb's entities.jsonl, {"qid",
        "type"} per line) and the type vocabulary (UNK, then the KB's types), and size the model. (The settings are
        not annotated: spaCy validates them with pydantic, which cannot resolve this module's string annotations.)"""
        validate_get_examples(get_examples, "SeedEntityLinker.initialize")
        if kb_loader is not None:
            self.set_kb(kb_loader)
        self.validate_kb()
        if entity_types is not None:
            with open(entity_types, "rb") as f:
                rows = (srsly.json_loads(line) for line in f if line.strip())
                self.entity_types = {str(r.get("qid", r.get("id"))): str(r["type"]) for r in rows if r.get("type")}
        examples = list(self._ensure_ents(islice(get_examples(), 10)))
        labels = {e.label_ for eg in examples for e in eg.reference.ents} - {MENTION_LABEL, UNK_TYPE, ""}
        kb_types = set(self.entity_types.values()) - {MENTION_LABEL, UNK_TYPE, ""}
        self.cfg["types"] = [UNK_TYPE] + sorted(kb_types or labels)
        self._type_ids = {}
        self.model.get_ref("type_embed").set_dim("nV", len(self.cfg["types"]))
        docs = [eg.predicted for eg in examples]
        if not any(doc.ents for doc in docs):  # the encoder sizes itself on one mention
            docs[0].ents = [Span(docs[0], 0, 1, label=MENTION_LABEL)]
        mentions = [
            (cands, self.type_id(ent.label_))
            for doc in docs
            for ent, cands in zip(doc.ents, self._candidates(list(doc.ents)))
        ]
        self.model.initialize(X=(docs, *self._batch(mentions)))

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Cross-entropy of the softmax over each mention's candidates and the NIL slot (the target: the gold
        entity, or NIL when it is not a candidate); mentions without candidates or gold id add nothing. With the
        `similarity` option, plus the mean 1 - cosine of the projected context encoding with the gold entity's
        vector over the mentions whose gold entity is in the KB (candidate or not)."""
        self.validate_kb()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(self._ensure_ents(examples))
        if not examples:
            return losses
        validate_examples(examples, "SeedEntityLinker.update")
        type_dropout = float(self.model.attrs["type_dropout"])
        similarity = self.model.has_ref("sim_project")
        docs, mentions, targets, golds = [], [], [], []
        for eg in examples:
            kb_ids = eg.get_aligned("ENT_KB_ID", as_string=True)
            doc = eg.predicted
            docs.append(doc)
            ents = list(doc.ents)
            for ent, cands in zip(ents, self._candidates(ents)):
                gold = kb_ids[ent.start]
                if not gold or ent.label_ in self.labels_discard:
                    cands = []
                t = self.type_id(ent.label_)
                if t and type_dropout and np.random.random() < type_dropout:
                    t = 0
                mentions.append((cands, t))
                ids = [c.entity_ for c in cands]
                targets.append(ids.index(gold) if gold in ids else -1)
                golds.append(gold if similarity and gold and ent.label_ not in self.labels_discard else "")
        if not any(cands for cands, _ in mentions):
            return losses
        set_dropout_rate(self.model, drop)
        context, bp_context = self.model.get_ref("encoder").begin_update(docs)
        gold_vectors = self.gold_vectors(golds) if similarity else None
        logits, bp_head, aux_loss = seed_head(
            self.model, self.model.ops.to_numpy(context), *self._batch(mentions), True, gold_vectors
        )
        flat = self.model.ops.to_numpy(logits)[:, 0]
        d_logits = np.zeros_like(flat)
        loss, n, start = 0.0, 0, 0
        for (cands, _), target in zip(mentions, targets):
            if not cands:
                continue
            end = start + len(cands)
            probs = nil_softmax(flat[start:end])
            p_target = probs[target] if target >= 0 else 1.0 - probs.sum()
            loss -= float(np.log(max(p_target, 1e-12)))
            d_logits[start:end] = probs
            if target >= 0:
                d_logits[start + target] -= 1.0
            start = end
            n += 1
        d_context = bp_head(self.model.ops.asarray2f(d_logits[:, None] / n, dtype="float32"))
        bp_context(self.model.ops.asarray2f(d_context))
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss / n + aux_loss
        return losses

    def gold_vectors(self, golds: List[str]) -> np.ndarray:
        """The KB vector of each gold entity id (a zero row for "" or an entity that is not in the KB)."""
        out = np.zeros((len(golds), self.kb.entity_vector_length), dtype="float32")
        for i, qid in enumerate(golds):
            if qid and self.kb.contains_entity(qid):
                out[i] = self.kb.get_vector(qid)
        return out


@Language.factory(
    "wikiel_seed_linker",
    requires=_EL_DEFAULTS.requires,
    assigns=_EL_DEFAULTS.assigns,
    default_config={
        **dict(_EL_DEFAULTS.default_config),
        "model": {**dict(_EL_DEFAULTS.default_config["model"]), "@architectures": SEED_ARCHITECTURE},
    },
    default_score_weights=dict(_EL_DEFAULTS.default_score_weights),
)
def make_seed_entity_linker(
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
) -> SeedEntityLinker:
    return SeedEntityLinker(
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
