"""Benchmark: wikitext cleaner throughput (MB of UTF-8 wikitext per CPU second, one core) and the whole
parse-wikipedia stage on a dump (default: the real enwiki excerpt in ../shared/data). CPU time is reported
because wall time swings with whatever else runs on the machine.

    python scripts/bench_wikitext.py [DUMP] [--seconds 5]
"""
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

from wikiel.util import open_dump
from wikiel.wikipedia import DumpReader, Page, Settings, parse_wikipedia
from wikiel.wikitext import NamespaceInfo, parse_wikitext

DEFAULT_DUMP = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wikipedia"
                / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


def main(dump: Optional[Path] = typer.Argument(None, help="pages-articles dump (default: the enwiki excerpt)"),
         seconds: float = typer.Option(5.0, help="Minimum time to spend on the cleaner benchmark")) -> None:
    dump = dump or DEFAULT_DUMP
    with open_dump(dump) as stream:
        items = list(DumpReader(stream, dump))
    namespaces = NamespaceInfo.from_siteinfo(items[0].namespaces)
    texts = [p.text for p in items if isinstance(p, Page) and p.ns == 0 and p.redirect is None and p.text]
    n_bytes = sum(len(t.encode("utf8")) for t in texts)

    rounds, start, wall = 0, time.process_time(), time.perf_counter()
    while rounds == 0 or time.process_time() - start < seconds:
        for text in texts:
            parse_wikitext(text, namespaces)
        rounds += 1
    cpu, wall = time.process_time() - start, time.perf_counter() - wall
    mb = rounds * n_bytes / 1e6
    typer.echo(f"cleaner: {len(texts)} articles, {n_bytes / 1e6:.1f} MB x {rounds} rounds: "
               f"{mb / cpu:.1f} MB/s of wikitext per CPU second ({mb / wall:.1f} MB/s wall)")

    with tempfile.TemporaryDirectory() as out:
        start = time.process_time()
        stats = parse_wikipedia(dump, out, Settings(), progress=False)
        cpu = time.process_time() - start
    mb = stats["counts"]["bytes_read"] / 1e6
    typer.echo(f"stage:   {mb:.1f} MB of XML (decompressed) in {cpu:.2f} CPU s: {mb / cpu:.1f} MB/s "
               f"({stats['seconds']} s wall), including decompression, XML parsing and writing")


if __name__ == "__main__":
    typer.run(main)
