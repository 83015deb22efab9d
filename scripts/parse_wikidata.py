"""parse-wikidata: Wikidata entity dump(s) -> entities.jsonl, subclass_of.tsv, stats.json in OUTPUT_DIR.

Given the manifest of a custom knowledge graph (fetch --kb custom), converts its entity file instead."""
from pathlib import Path
from typing import List, Optional

import typer

from wikiel.custom import convert_entities, inputs_from_manifest, is_custom_manifest
from wikiel.fetch import manifest_paths, read_manifest
from wikiel.util import cli_errors, fail, resolve_processes
from wikiel.wikidata import parse_wikidata

app = typer.Typer(add_completion=False)


@app.command()
def main(
    output_dir: Path = typer.Argument(..., help="Directory for entities.jsonl, subclass_of.tsv, stats.json"),
    dump: Optional[List[Path]] = typer.Option(None, "--dump", help="Wikidata entity dump (repeatable)"),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Manifest written by fetch_dumps.py"),
    lang: str = typer.Option("en", "--lang", help="Keep items with a <lang>wiki sitelink"),
    n_process: int = typer.Option(1, "--n-process", help="Processes (main reads, the others parse); 0 = all cores"),
    max_bad_lines: int = typer.Option(1000, "--max-bad-lines", min=0, help="Malformed lines to skip before failing"),
) -> None:
    """Keep the Wikidata items with a <lang>wiki sitelink, with label, description, aliases and P31 types."""
    with cli_errors():
        if bool(dump) == bool(manifest):
            fail("give either --dump PATH (repeatable) or --manifest PATH")
        if manifest is not None and is_custom_manifest(manifest):
            stats = convert_entities(inputs_from_manifest(manifest).entities, output_dir)
            print(f"custom KB: {stats['counts']['entities']:,} entities in {stats['seconds']} s -> {output_dir}")
            return
        inputs = list(dump) if dump else manifest_paths(read_manifest(manifest), "wikidata")
        stats = parse_wikidata(inputs, output_dir, lang=lang, n_process=resolve_processes(n_process), max_bad_lines=max_bad_lines)
        counts = stats["counts"]
        print(f"{counts['kept']:,} items kept of {counts['entities']:,} entities parsed "
              f"({counts['prefiltered']:,} lines pre-filtered, {counts['bad_lines']:,} bad) "
              f"in {stats['seconds']} s -> {output_dir}")


if __name__ == "__main__":
    app()
