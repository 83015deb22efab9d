"""parse-wikipedia: MediaWiki pages-articles XML dump -> clean articles, links, redirects and link counts.

Given the manifest of a custom knowledge graph (fetch --kb custom), converts its annotated mentions instead."""
from pathlib import Path
from typing import Optional

import typer

from wikiel.custom import convert_mentions, inputs_from_manifest, is_custom_manifest
from wikiel.util import InputError, cli_errors, resolve_processes
from wikiel.wikipedia import Settings, dump_from_manifest, index_from_manifest, parse_wikipedia


def main(
    output_dir: Path = typer.Argument(..., help="Directory for articles.jsonl, the .tsv counts and stats.json"),
    dump: Optional[Path] = typer.Option(None, help="pages-articles XML dump (plain, .bz2 or .gz)"),
    index: Optional[Path] = typer.Option(None, help="With --dump: the multistream index (offset:page_id:title) "
                                                    "that lets each worker decompress its own part of the dump"),
    manifest: Optional[Path] = typer.Option(None, help="Fetch manifest whose 'wikipedia' entry names the dump "
                                                       "(and 'wikipedia_index' its index)"),
    lang: str = typer.Option("en", help="Wiki language code (redirect keywords, link trail, namespace aliases)"),
    dev_percent: float = typer.Option(10, min=0, max=100, help="Share of articles (by title hash) put in dev"),
    max_train_articles: int = typer.Option(0, min=0, help="Write at most this many train articles (0 = all)"),
    max_dev_articles: int = typer.Option(0, min=0, help="Write at most this many dev articles (0 = all)"),
    n_process: int = typer.Option(1, help="Worker processes (decompressing too, given an index); 0 = all cores"),
    max_counter_entries: int = typer.Option(2_000_000, min=1, help="Entries of a count or redirect table kept in "
                                                                   "memory; more are spilled to disk"),
    strict: bool = typer.Option(False, help="Custom KB: a span id missing from the entity file is an error"),
) -> None:
    """Parse a Wikipedia dump into clean article text with links, redirects and anchor/link counts."""
    with cli_errors():
        if (dump is None) == (manifest is None):
            raise InputError(dump or manifest or "(none)", "give exactly one of --dump and --manifest")
        if index is not None and manifest is not None:
            raise InputError(index, "--index goes with --dump; the manifest names its own index")
        if manifest is not None and is_custom_manifest(manifest):
            inputs = inputs_from_manifest(manifest)
            stats = convert_mentions(inputs.entities, inputs.mentions, output_dir, inputs.priors, dev_percent,
                                     lang=lang, strict=strict, max_train_articles=max_train_articles,
                                     max_dev_articles=max_dev_articles)
            counts = stats["counts"]
            typer.echo(f"custom KB: {counts['articles']:,} documents ({counts['train_articles']:,} train, "
                       f"{counts['dev_articles']:,} dev), {counts['links']:,} spans in {stats['seconds']}s -> "
                       f"{output_dir}")
            return
        path = dump if dump is not None else dump_from_manifest(manifest)
        if manifest is not None:
            index = index_from_manifest(manifest)
        settings = Settings(lang=lang, dev_percent=dev_percent, max_train_articles=max_train_articles,
                            max_dev_articles=max_dev_articles, n_process=resolve_processes(n_process),
                            max_counter_entries=max_counter_entries)
        stats = parse_wikipedia(path, output_dir, settings, index=index)
        counts = stats["counts"]
        typer.echo(f"{counts['articles']:,} articles ({counts['train_articles']:,} train, "
                   f"{counts['dev_articles']:,} dev), {counts['redirects']:,} redirects, {counts['links']:,} links "
                   f"in {stats['seconds']}s -> {output_dir}")


if __name__ == "__main__":
    typer.run(main)
