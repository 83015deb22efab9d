"""Trained linkers side by side on the dev gold mentions (issue 15: v3 vs the seed's architecture vs the seed's
without the type feature).

For each trained pipeline (a `spacy train` output directory: model-best/ and stats.json): accuracy of its own
prediction on the dev gold spans given untyped (as the evaluate step), given the type a typed `ner` predicts for the
span (`--type-model`: the label of the ner's entity on exactly that span, else untyped), and given the gold type
(the gold entity's own type: an upper bound that no detector reaches); training seconds per 1K training mentions (from
the run's stats.json, for its epochs); and inference mentions/s of the linking step alone (`predict` on gold spans,
one process, batches of 64 docs).

    python -m wikiel.evaluation.compare corpus/mentions v3=training/nel seed=training/nel-seed \\
        [--type-model training/typed-ner/model-best] [--output training/compare.md]
"""

from __future__ import annotations

import argparse
import json
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


def compare(
    mentions_dir: Path, runs: Dict[str, Path], type_model: Optional[Path] = None, subdir: str = "model-best"
) -> dict:
    blank = spacy.blank("en")
    dev = read_docs(Path(mentions_dir) / "dev.spacy", blank)
    counts = read_json(Path(mentions_dir) / "stats.json").get("counts", {})
    n_train = counts.get("train", {}).get("mentions")
    typed = None
    out: dict = {"dev_mentions": sum(len(d.ents) for d in dev), "train_mentions": n_train, "runs": {}}
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
        row = {
            "architecture": nlp.config["components"]["entity_linker"]["model"]["@architectures"],
            "use_types": nlp.config["components"]["entity_linker"]["model"].get("use_types"),
            "untyped": evaluate.evaluate_pipeline(nlp, dev)["methods"]["pipeline"]["accuracy"],
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


def markdown(result: dict) -> str:
    predicted = "type_accuracy" in result
    head = ["linker", "gold spans, untyped"]
    head += [f"gold spans, ner-predicted types (type acc. {result['type_accuracy']:.3f})"] if predicted else []
    head += ["gold spans, gold types (upper bound)", "train s / 1K mentions", "inference mentions/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in result["runs"].items():
        cells = [name, f"{r['untyped']:.3f}"]
        cells += [f"{r['predicted_types']:.3f}"] if predicted else []
        cells += [f"{r['gold_types']:.3f}", f"{r['train_seconds_per_1k']}", f"{r['mentions_per_second']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return (
        f"Dev: {result['dev_mentions']} gold mentions; {result['train_mentions']} training mentions.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mentions_dir", type=Path)
    parser.add_argument("runs", nargs="+", help="name=train output directory")
    parser.add_argument("--type-model", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    runs = dict(r.split("=", 1) for r in args.runs)
    result = compare(args.mentions_dir, {k: Path(v) for k, v in runs.items()}, args.type_model)
    text = markdown(result)
    print(text)
    if args.output:
        args.output.write_text(text)
        args.output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
