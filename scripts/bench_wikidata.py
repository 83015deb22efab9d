"""Benchmark parse-wikidata on one dump file: decompression MB/s vs parse MB/s for n-process 1 and 2.

    python scripts/bench_wikidata.py DUMP [--n-process 1 --n-process 2] [--lang en]

Throughput is in decompressed MB per second. Each parse runs in a fresh process (scripts/parse_wikidata.py),
so its peak memory is its own.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import typer

from wikiel.util import cli_errors, open_dump, read_json

app = typer.Typer(add_completion=False)
SCRIPT = Path(__file__).resolve().parent / "parse_wikidata.py"


def decompress(path: Path, threads: int = 1) -> tuple:
    """(decompressed bytes, seconds) of reading the whole file in 1 MB chunks."""
    start = time.perf_counter()
    total = 0
    with open_dump(path, threads) as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total, time.perf_counter() - start


def parse(path: Path, n_process: int, lang: str) -> dict:
    """stats.json of one parse-wikidata run in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(SCRIPT), "--dump", str(path), out, "--lang", lang, "--n-process", str(n_process)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return read_json(Path(out) / "stats.json")


@app.command()
def main(dump: Path = typer.Argument(..., help="Wikidata dump file (plain, gz or bz2)"),
         n_process: Optional[List[int]] = typer.Option(None, "--n-process", help="Process counts to measure [1, 2]"),
         lang: str = typer.Option("en", "--lang")) -> None:
    with cli_errors():
        size, seconds = decompress(dump)
        raw_rate = size / 1e6 / seconds
        print(f"{dump}: {dump.stat().st_size / 1e6:,.1f} MB on disk, {size / 1e6:,.1f} MB decompressed")
        print(f"decompress      : {raw_rate:8.1f} MB/s ({seconds:.1f} s)")
        for n in n_process or [1, 2]:
            stats = parse(dump, n, lang)
            counts = stats["counts"]
            rate = size / 1e6 / stats["seconds"]
            print(f"parse n_process={n}: {rate:8.1f} MB/s ({stats['seconds']:.1f} s) = {rate / raw_rate:.2f} x "
                  f"decompression; {counts['kept']:,} kept of {counts['entities']:,} parsed, "
                  f"{counts['prefiltered']:,} lines pre-filtered; peak memory {stats['peak_memory_mb']} MB")


if __name__ == "__main__":
    app()
