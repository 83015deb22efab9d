"""Trained linkers side by side on the dev gold mentions of one or more corpora (issue 15: v3 vs the seed's
architecture vs the seed's without the type feature).

For each trained pipeline (a `spacy train` output directory: model-best/ and stats.json): accuracy of its own
prediction on the dev gold spans given untyped (as the evaluate step), the same with the context left out (the prior
alone: the highest-prior candidate, the context ablation; "context gain" is the difference), given the type a typed
`ner` predicts for the span (`--type-model`: the label of the ner's entity on exactly that span, else untyped), and
given the gold type (the gold entity's own type: an upper bound that no detector reaches); training seconds per 1K
training mentions (from the run's stats.json, for its epochs); and inference mentions/s of the linking step alone
(`predict` on gold spans, one process, batches of 64 docs).

One table can cover several corpora (`--corpus NAME=DIR`, an extract-mentions output directory each); a run is then
named `CORPUS:NAME=DIR` (with one corpus the prefix may be left out):

    python -m wikiel compare v3=training/nel seed=training/nel-seed --corpus default=corpus/mentions \\
        [--type-model training/typed-ner/model-best] [--output training/compare.md]
    python -m wikiel compare default:v3=training/nel ncbi:v3=../bio/training/nel \\
        --corpus default=corpus/mentions --corpus ncbi=../bio/corpus/mentions
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from wikiel.corpus.docs import read_docs
from wikiel.evaluation import evaluate
from wikiel.pipeline.components import MENTION_LABEL, as_scored_linker
from wikiel.util import InputError, read_json


def predicted_types(ner: Language, docs: List[Doc]) -> List[Doc]:
    """Copies of `docs` whose spans carry the type the `ner` predicts on exactly that span (else MENTION_LABEL)."""
    out = []
    for ref, pred in zip(docs, ner.pipe((d.text for d in docs), batch_size=64)):
        found = {(e.start_char, e.end_char): e.label_ for e in pred.ents}
        doc = ref.copy()
        doc.ents = [
            Span(doc, e.start, e.end, label=found.get((e.start_char, e.end_char), MENTION_LABEL), kb_id=e.kb_id_)
            for e in ref.ents
        ]
        out.append(doc)
    return out


def type_accuracy(typed: List[Doc], gold: List[Doc]) -> float:
    pairs = [(t.label_, g.label_) for td, gd in zip(typed, gold) for t, g in zip(td.ents, gd.ents)]
    return round(sum(a == b for a, b in pairs) / len(pairs), 4) if pairs else 0.0


def mentions_per_second(nlp: Language, docs: List[Doc], batch: int = 64) -> float:
    """The linking step alone on untyped gold spans: mentions / seconds of the linker's `predict` + annotations."""
    el = as_scored_linker(nlp)
    inputs = [evaluate._predicted_doc(nlp, d) for d in docs]
    n = sum(len(d.ents) for d in inputs)
    started = time.perf_counter()
    for i in range(0, len(inputs), batch):
        part = inputs[i : i + batch]
        el.set_annotations(part, el.predict(part))
    return round(n / (time.perf_counter() - started), 1)


def parse_named(values: List[str], what: str) -> Dict[str, str]:
    """NAME=VALUE pairs (in order; a name given twice is an error)."""
    out: Dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ValueError(f"{what} must be NAME=VALUE, not {value!r}")
        if name in out:
            raise ValueError(f"{what} {name!r} is given twice")
        out[name] = rest
    return out


def assign_runs(runs: Dict[str, str], corpora: List[str]) -> Dict[str, Dict[str, Path]]:
    """Corpus -> run name -> directory from `CORPUS:NAME` keys (a bare NAME belongs to the only corpus)."""
    out: Dict[str, Dict[str, Path]] = {c: {} for c in corpora}
    for key, path in runs.items():
        corpus, sep, name = key.rpartition(":")
        if not sep:
            if len(corpora) != 1:
                raise ValueError(f"run {key!r}: name its corpus as CORPUS:{key}= (corpora: {', '.join(corpora)})")
            corpus, name = corpora[0], key
        if corpus not in out:
            raise ValueError(f"run {key!r}: no --corpus named {corpus!r} (corpora: {', '.join(corpora)})")
        out[corpus][name] = Path(path)
    return out


def assign_type_models(values: List[str], corpora: List[str]) -> Dict[str, Path]:
    """Corpus -> typed ner from `--type-model` values: CORPUS=PATH for one corpus, or a PATH for every corpus not
    given one before it."""
    out: Dict[str, Path] = {}
    for value in values:
        corpus, sep, path = value.partition("=")
        if sep and corpus in corpora:
            out[corpus] = Path(path)
        else:
            out.update({c: Path(value) for c in corpora if c not in out})
    return out


def compare_corpus(
    mentions_dir: Path, runs: Dict[str, Path], type_model: Optional[Path] = None, subdir: str = "model-best"
) -> dict:
    """The rows of one corpus (see the module docstring)."""
    blank = spacy.blank("en")
    dev = read_docs(Path(mentions_dir) / "dev.spacy", blank)
    counts = read_json(Path(mentions_dir) / "stats.json").get("counts", {})
    n_train = counts.get("train", {}).get("mentions")
    typed = None
    out: dict = {
        "mentions_dir": str(mentions_dir),
        "dev_mentions": sum(len(d.ents) for d in dev),
        "train_mentions": n_train,
        "runs": {},
    }
    if type_model is not None:
        typed = predicted_types(spacy.load(type_model), dev)
        out["type_accuracy"] = type_accuracy(typed, dev)
    for name, run in runs.items():
        run = Path(run)
        if not (run / subdir / "config.cfg").is_file():
            raise InputError(run / subdir, "is not a trained pipeline", hint="pass a train step's output directory")
        nlp = spacy.load(run / subdir)
        stats = read_json(run / "stats.json")
        epochs = stats.get("counts", {}).get("overrides", {}).get("training.max_epochs")
        model = nlp.config["components"]["entity_linker"]["model"]
        methods = evaluate.evaluate_pipeline(nlp, dev)["methods"]
        untyped, prior = methods["pipeline"]["accuracy"], methods["prior"]["accuracy"]
        row = {
            "architecture": model["@architectures"],
            "use_types": model.get("use_types"),
            "similarity": model.get("similarity"),
            "untyped": untyped,
            "prior_only": prior,
            "context_gain": round(untyped - prior, 4),
            "gold_types": evaluate.summarize(evaluate.score_mentions(nlp, dev, mention_types="gold"))["methods"][
                "pipeline"
            ]["accuracy"],
            "train_seconds": stats.get("seconds"),
            "epochs": epochs,
            "train_seconds_per_1k": round(1000 * stats["seconds"] / n_train, 2)
            if n_train and stats.get("seconds")
            else None,
            "mentions_per_second": mentions_per_second(nlp, dev),
        }
        if typed is not None:
            summary = evaluate.summarize(evaluate.score_mentions(nlp, typed, mention_types="gold"))
            row["predicted_types"] = summary["methods"]["pipeline"]["accuracy"]
        out["runs"][name] = row
        print(name, json.dumps(row), flush=True)
    return out


def compare(
    corpora: Dict[str, Path],
    runs: Dict[str, Dict[str, Path]],
    type_models: Optional[Dict[str, Path]] = None,
    subdir: str = "model-best",
) -> dict:
    """Corpus name -> `compare_corpus` of its runs (`runs`: corpus -> run name -> directory; `type_models`:
    corpus -> typed ner, optional per corpus)."""
    type_models = type_models or {}
    return {
        "corpora": {
            name: compare_corpus(path, runs.get(name, {}), type_models.get(name), subdir)
            for name, path in corpora.items()
        }
    }


def _cell(value, fmt: str = "{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)


def markdown(result: dict) -> str:
    """One table over every corpus (a corpus column when there are several); a column only when some row has it."""
    corpora = result["corpora"]
    several = len(corpora) > 1
    rows = [(c, name, r) for c, part in corpora.items() for name, r in part["runs"].items()]
    predicted = any("predicted_types" in r for _, _, r in rows)
    head = (["corpus"] if several else []) + ["linker", "gold spans, untyped", "prior only (no context)"]
    head += ["context gain"] + (["gold spans, ner-predicted types"] if predicted else [])
    head += ["gold spans, gold types (upper bound)", "train s / 1K mentions", "inference mentions/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for corpus, name, r in rows:
        cells = ([corpus] if several else []) + [name, _cell(r["untyped"]), _cell(r["prior_only"])]
        cells += [_cell(r["context_gain"], "{:+.3f}")]
        cells += [_cell(r.get("predicted_types"))] if predicted else []
        cells += [
            _cell(r["gold_types"]),
            _cell(r["train_seconds_per_1k"], "{}"),
            _cell(r["mentions_per_second"], "{:.0f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for name, part in corpora.items():
        note = f"{name}: " if several else "Dev: "
        note += f"{part['dev_mentions']} gold mentions; {part['train_mentions']} training mentions"
        if "type_accuracy" in part:
            note += f"; ner type accuracy on the dev spans {part['type_accuracy']:.3f}"
        notes.append(note + ".")
    return "\n".join(notes) + "\n\n" + "\n".join(lines) + "\n"


def write_outputs(result: dict, output: Optional[Path]) -> str:
    """The Markdown table (and, with `output`, it and the JSON beside it written)."""
    text = markdown(result)
    if output is not None:
        output.write_text(text)
        output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    return text


if __name__ == "__main__":  # the same as `python -m wikiel compare ...`
    from wikiel.cli import app

    app(["compare", *sys.argv[1:]])
