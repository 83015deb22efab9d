"""train: `spacy train` on the mention corpus with the KB and vectors from build-kb."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

import spacy
from spacy.cli.train import train

from wikiel import defaults
from wikiel.corpus.docs import read_docs
from wikiel.pipeline import candidates, components  # noqa: F401  (the factory and candidate generators of the config)
from wikiel.util import InputError, StepStats, read_json, require_inputs, step_output


def eval_frequency_for(train_path: Path, words_per_step: int = 1000, evals_per_epoch: int = 2) -> int:
    """Steps between dev evaluations: about twice per epoch (the config's batches hold ~500-2000 words), so that
    model-best is chosen among trained checkpoints on small corpora too, and large ones are not slowed by evals."""
    n_words = sum(len(doc) for doc in read_docs(train_path, spacy.blank("xx")))
    return int(min(1000, max(20, n_words // words_per_step // evals_per_epoch)))


def require_config(config: Path) -> None:
    if not Path(config).is_file():
        raise InputError(config, "does not exist or is not a file", hint="check vars.config / vars.ner_config")


def train_pipeline(
    config: Path,
    output_dir: Path,
    train_path: Path,
    dev_path: Path,
    kb_dir: Path,
    vectors: Optional[str],
    lang: str = defaults.LANG,
    max_epochs: int = defaults.MAX_EPOCHS,
    seed: int = defaults.SEED,
    overrides: Optional[Dict[str, Any]] = None,
    quiet: bool = False,
) -> dict:
    """Train into `output_dir` (model-best/, model-last/ and stats.json); the directory appears only when done.

    The config holds the model and optimiser; this sets what depends on the run: the paths, the language, whether
    the tok2vec uses the vectors, the epochs, the seed and the evaluation frequency (about twice per epoch).
    `overrides` (config keys) come last."""
    output_dir = Path(output_dir)
    require_config(config)
    require_inputs(
        {
            "extract-mentions:train": train_path,
            "extract-mentions:dev": dev_path,
            "build-kb:kb": Path(kb_dir) / "kb",
            "build-kb:entities": Path(kb_dir) / "entities.jsonl",
        }
    )
    stats = StepStats("train")
    settings: Dict[str, Any] = {
        "paths.train": str(train_path),
        "paths.dev": str(dev_path),
        "paths.kb": str(Path(kb_dir) / "kb"),
        "paths.vectors": vectors,
        "paths.entity_types": str(Path(kb_dir) / "entities.jsonl"),  # the seed's candidate types (nel-seed.cfg)
        "nlp.lang": lang,
        "components.entity_linker.model.tok2vec.pretrained_vectors": vectors is not None,
    }
    settings["training.eval_frequency"] = eval_frequency_for(train_path)
    settings["training.max_epochs"] = max_epochs
    settings["system.seed"] = seed
    settings.update(overrides or {})
    return run_spacy_train(config, output_dir, settings, stats, quiet)


def run_spacy_train(
    config: Path, output_dir: Path, settings: Dict[str, Any], stats: StepStats, quiet: bool = False
) -> dict:
    """`spacy train` with `settings` as config overrides into `output_dir` (swapped in only when complete), with
    the best dev scores and the non-path settings in its stats.json; `quiet` hides spaCy's training log."""
    require_config(config)
    level = logging.getLogger("spacy").level
    if quiet:
        logging.getLogger("spacy").setLevel(logging.WARNING)
    try:
        with step_output(Path(output_dir), stats.step) as tmp:
            train(config, tmp, use_gpu=-1, overrides=settings)
            meta = read_json(tmp / "model-best" / "meta.json")
            stats["best_dev_scores"] = meta.get("performance", {})
            stats["overrides"] = {k: v for k, v in settings.items() if not k.startswith("paths.")}
            result = stats.write(tmp / "stats.json")
    finally:
        logging.getLogger("spacy").setLevel(level)
    return result
