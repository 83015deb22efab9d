"""update-kb: put a rebuilt KB into a trained linker without retraining.

The linker's model encodes the context of a mention; the KB holds each entity's description vector, made from word
vectors. A KB rebuilt from a newer dump, or with extra entities, can replace the old one as long as its entity vectors
come from the SAME word vectors (build-kb with `--vars.vectors` pointing at a copy of the old `corpus/kb/vectors`, or
the same installed pipeline): the model has learnt to compare its encodings with vectors of that space. What must be
retrained when:

- new or changed entities, aliases, priors (newer dump, extra entities): nothing, update the KB (this step) and
  re-run build-linker (mention detection follows the new aliases);
- different word vectors (floret retrained on new text, another pipeline's vectors, another `vector_dim`): the model
  (`train`), since its encodings no longer match the entity vectors;
- another language, tokenizer or pipeline config: everything from build-kb on.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.kb import InMemoryLookupKB

from wikiel.kb.tables import read_kb_entities
from wikiel.pipeline.components import as_scored_linker
from wikiel.util import InputError, StepStats, require_inputs, writes_step


@writes_step("update-kb")
def update_kb(model_dir: Path, kb_dir: Path, output_dir: Path) -> dict:
    """Write `output_dir`: the pipeline of `model_dir` with the KB (and entity types) of `kb_dir`."""
    model_dir, kb_dir, output_dir = Path(model_dir), Path(kb_dir), Path(output_dir)
    require_inputs(
        {
            "train:model": model_dir / "meta.json",
            "build-kb:kb": kb_dir / "kb",
            "build-kb:entities": kb_dir / "entities.jsonl",
        }
    )
    stats = StepStats("update-kb")
    nlp = spacy.load(model_dir)
    el = as_scored_linker(nlp)
    new_kb = InMemoryLookupKB(nlp.vocab, entity_vector_length=1)
    new_kb.from_disk(kb_dir / "kb")
    if new_kb.entity_vector_length != el.kb.entity_vector_length:
        raise InputError(
            kb_dir / "kb",
            f"entity vectors of length {new_kb.entity_vector_length}, the linker was "
            f"trained with {el.kb.entity_vector_length}",
            hint="build the KB with the vectors the linker was trained with, or retrain",
        )
    old = {"entities": el.kb.get_size_entities(), "aliases": el.kb.get_size_aliases()}
    old_ids = set(el.kb.get_entity_strings())
    el.set_kb(lambda vocab: new_kb)
    el.entity_types = {qid: r["type"] for qid, r in read_kb_entities(kb_dir / "entities.jsonl").items()}
    new_ids = set(new_kb.get_entity_strings())
    stats["before"] = old
    stats["after"] = {"entities": new_kb.get_size_entities(), "aliases": new_kb.get_size_aliases()}
    stats["entities_added"] = len(new_ids - old_ids)
    stats["entities_removed"] = len(old_ids - new_ids)
    nlp.to_disk(output_dir)
    return stats.write(output_dir / "update-kb.stats.json")
