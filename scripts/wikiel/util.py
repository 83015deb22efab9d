"""Shared helpers: opening (compressed) dumps, atomic outputs, step statistics, title normalisation."""

from __future__ import annotations

import bz2
import contextlib
import ctypes
import errno
import functools
import gzip
import hashlib
import importlib
import inspect
import io
import os
import re
import resource
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, NoReturn, Optional, Tuple, TypeVar, Union, cast

import orjson
import rapidgzip
import spacy
from tqdm import tqdm

try:
    import indexed_bzip2

    HAVE_INDEXED_BZIP2 = True
except ImportError:  # pragma: no cover - the dependency is in requirements.txt
    HAVE_INDEXED_BZIP2 = False

PathLike = Union[str, Path]

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"


class InputError(Exception):
    """Bad input: names the file and, where known, the line or byte offset, and what to do."""

    def __init__(
        self, path: PathLike, message: str, line: Optional[int] = None, offset: Optional[int] = None, hint: str = ""
    ):
        self.path = str(path)
        self.line = line
        self.offset = offset
        self.hint = hint
        where = self.path
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f" (byte {offset})"
        text = f"{where}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickled by its text and attributes, not by the arguments of __init__ (which `args` does not hold): an
        # InputError raised in a worker process reaches the main process intact, whatever the subclass.
        return _restore_error, (type(self), self.args, self.__dict__)


def _restore_error(cls: type, args: Tuple[Any, ...], state: Dict[str, Any]) -> BaseException:
    err = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(state)
    return err


class OutputError(Exception):
    """A step's output would be empty or implausible; the message names the vars to change."""


def compression_of(path: PathLike) -> str:
    """'gz', 'bz2' or 'plain', from the file's magic bytes (not its name)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a directory, expected a dump file")
    if not path.exists():
        raise InputError(path, "does not exist", hint="run the fetch step or check the path vars")
    with open(path, "rb") as f:
        head = f.read(3)
    if head[:2] == GZIP_MAGIC:
        return "gz"
    if head == BZIP2_MAGIC:
        return "bz2"
    return "plain"


class GzipReader(io.RawIOBase):
    """A gzip file decoded by rapidgzip with `threads` threads (1.4x Python's gzip on one thread, and parallel),
    with the integrity checks Python's gzip makes: rapidgzip 0.16 returns the data of a file cut inside its last
    member as if it were whole (measured: half a file read without an error), so at the end of its data the
    compressed position must be the end of the file. Errors are Python gzip's: EOFError for data that ends early,
    gzip.BadGzipFile (an OSError) for corrupt data, so that callers catching those keep working.
    `compressed_offset()` is how far into the file the decoder is."""

    def __init__(self, path: PathLike, threads: int = 1):
        super().__init__()
        self.path = str(path)
        self.size = os.path.getsize(path)
        self.reader = rapidgzip.open(self.path, parallelization=max(1, threads))
        self.cut = False  # the data ends early or cannot be decoded: the error is reported at the end of the file
        self.fd = os.open(self.path, os.O_RDONLY)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        """A descriptor of the file positioned at compressed_offset(): callers that locate errors with
        `os.lseek(stream.fileno(), 0, os.SEEK_CUR)`, as they did with Python's gzip, get the decoder's position."""
        os.lseek(self.fd, self.compressed_offset(), os.SEEK_SET)
        return self.fd

    def compressed_offset(self) -> int:
        if self.cut:
            return self.size
        try:
            return min(self.size, int(self.reader.tell_compressed()) // 8)
        except Exception:  # noqa: BLE001 - after a decoding error the position may be unknown
            return self.size

    def readinto(self, buffer: Any) -> int:
        try:
            n = self.reader.readinto(buffer)
        except (ValueError, RuntimeError) as err:
            if "CRC32" in str(err):
                raise gzip.BadGzipFile(f"corrupt gzip data: {err}") from err
            # data that stops in the middle of a block or is not deflate; where is unknown (threads read ahead)
            self.cut = True
            raise EOFError(f"compressed data ends early or is corrupt ({err})") from err
        if not n and len(buffer) and self.compressed_offset() < self.size:
            stop = self.compressed_offset()
            self.cut = True
            raise EOFError(
                f"compressed data ends early: the last gzip member stops at byte {stop:,} of {self.size:,} "
                "without its end"
            )
        return n

    def close(self) -> None:
        if not self.closed:
            self.reader.close()
            os.close(self.fd)
        super().close()


@contextlib.contextmanager
def open_dump(path: PathLike, threads: int = 1) -> Iterator[IO[bytes]]:
    """Open a plain, gzip or bzip2 file for binary streaming reads: gzip via rapidgzip (GzipReader), bz2 via
    indexed_bzip2, each with `threads` decoding threads."""
    kind = compression_of(path)
    if kind == "plain":
        with open(path, "rb") as plain:
            yield plain
        return
    raw: io.IOBase
    if kind == "gz":
        raw = GzipReader(path, threads)
    elif HAVE_INDEXED_BZIP2:
        raw = indexed_bzip2.open(str(path), parallelization=max(1, threads))
    else:  # pragma: no cover - the dependency is in requirements.txt
        raw = bz2.open(path, "rb")
    try:
        yield io.BufferedReader(cast(Any, raw), buffer_size=1 << 20)
    finally:
        raw.close()


def text_lines(path: PathLike, what: str, hint: str) -> Iterator[Tuple[int, str]]:
    """(line number, line without its line break) of a plain, gzip or bzip2 UTF-8 text file (a BOM dropped);
    InputError naming the file (and line) when it is missing, a directory or not UTF-8. `what` names the expected
    file ("an ontology file"), `hint` the var that points at it."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", hint=hint)
    if not path.is_file():
        raise InputError(path, f"is a directory, expected {what}")
    with open_dump(path) as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as err:
                raise InputError(path, f"is not UTF-8 ({err.reason} at column {err.start + 1})", line=number) from err
            if number == 1:
                line = line.lstrip("\ufeff")
            yield number, line.rstrip("\n").rstrip("\r")


TMP_SUFFIX = ".tmp-wikiel-"
STALE_TMP_RE = re.compile(r"^\..+\.tmp-wikiel-(\d+)$")
STEP_MANIFEST = ".wikiel-step.json"  # in a step's output directory, written last: the step and every file's size/hash
FILES_REGISTRY = ".wikiel-files.json"  # beside single-file outputs (link, fetch): which step wrote which file


def _require_parent_dirs(path: Path) -> None:
    """OutputError when a part of `path`'s parent is a file: its directories cannot be made."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{path}: Not a directory ({parent} is a file: choose another output path)")
            return


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_SUFFIX}{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: PathLike) -> int:
    """Delete `.NAME.tmp-wikiel-PID` leftovers of killed runs (their process is gone) in `directory`; returns how
    many. Only names of this pattern are touched: they are what atomic_path and step_output create."""
    removed = 0
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    for entry in directory.iterdir():
        match = STALE_TMP_RE.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            _remove(entry)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it to `path` only if the block succeeds.

    Works for files and directories: a killed step never leaves an output that looks finished, and the next run
    removes what a killed one left behind. It never deletes a directory standing at `path` (OutputError naming it):
    steps write whole output directories through step_output, which checks what it replaces.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise OutputError(f"{path} exists and is a directory, where a file goes: move it away or choose another path")
    _require_parent_dirs(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = _tmp_name(path)
    _remove(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if path.is_dir() and not path.is_symlink():
        _remove(tmp)
        raise OutputError(f"{path} appeared as a directory while it was written: it was left as it is")
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """open() for writing that renames into place only on success."""
    text_options: Dict[str, Any] = {} if "b" in mode else {"encoding": "utf8"}
    with atomic_path(path) as tmp:
        with open(tmp, mode, **text_options, **kwargs) as f:
            yield f


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# --- a step's outputs as one set -------------------------------------------------------------------------------


COMMIT_HOLD_ENV = "WIKIEL_TEST_HOLD_COMMIT"


def hold_point(point: str) -> None:
    """Fault injection for tests, which wait on files instead of racing a process with sleeps: when the environment
    variable WIKIEL_TEST_HOLD_COMMIT is `POINT=PATH` for this point, create PATH.reached and wait until PATH exists.
    Points: `staged` (a step's outputs are complete in the staging directory, not yet committed) and `committed`
    (swapped in, the old set not yet removed)."""
    wanted, _, path = os.environ.get(COMMIT_HOLD_ENV, "").partition("=")
    if wanted != point or not path:
        return
    wait_for_test(path + ".reached", path)


def wait_for_test(reached: str, release: str, parent: Optional[int] = None) -> None:
    """The one fault-injection wait of the tests (hold_point, TEST_HOLD_ENV): create `reached`, then wait until the
    test creates `release` (at most 10 minutes); with `parent`, exit at once if that process has gone."""
    Path(reached).touch()
    deadline = time.monotonic() + 600
    while not os.path.exists(release) and time.monotonic() < deadline:
        if parent is not None and os.getppid() != parent:
            os._exit(1)
        time.sleep(0.01)


def file_digest(path: PathLike, algorithm: str = "sha256", progress: bool = False) -> str:
    """The hex digest of a file (sha256 ~0.8 GB/s here), read in 1 MB blocks, with a progress bar if `progress`."""
    path = Path(path)
    digest = hashlib.new(algorithm)
    with (
        open(path, "rb") as f,
        tqdm(
            desc=f"{algorithm} {path.name}",
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            mininterval=1.0,
            disable=not progress,
        ) as bar,
    ):
        while block := f.read(1 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _tree_files(root: Path) -> List[str]:
    """Relative paths (POSIX) of every file under `root` (symlinks included, not followed), sorted, without the
    step manifest."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            rel = (base / name).relative_to(root).as_posix()
            if rel != STEP_MANIFEST:
                files.append(rel)
    return sorted(files)


def read_step_manifest(directory: PathLike) -> Optional[Dict[str, Any]]:
    """The step manifest of an output directory, None if it has none; InputError if it is unreadable."""
    path = Path(directory) / STEP_MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise InputError(path, f"is not a valid step manifest ({err})", hint="rerun the step that wrote it") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) or "step" not in manifest:
        raise InputError(path, "is not a valid step manifest", hint="rerun the step that wrote it")
    return manifest


def _legacy_step(directory: Path) -> Optional[str]:
    """The step named by stats.json of an output directory written before step manifests existed."""
    try:
        step = read_json(directory / "stats.json").get("step")
    except (OSError, ValueError, AttributeError):
        return None
    return step if isinstance(step, str) else None


def claim_output_dir(path: PathLike, step: str) -> None:
    """OutputError unless `path` is free for `step`'s output directory: absent, empty, or a previous output of the
    same step holding nothing but the files its manifest lists. Nothing a step did not write is ever replaced."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(
            f"{path} exists and is not a directory; {step} writes a directory there: move it away or choose another "
            "output directory"
        )
    if not path.exists() or not any(path.iterdir()):
        return
    manifest = read_step_manifest(path)
    if manifest is None:
        if _legacy_step(path) == step:
            return  # written by this step before manifests existed: its files are all the step's
        raise OutputError(
            f"{path} exists and is not an output of {step} (it has no {STEP_MANIFEST}): it was left as it is; move it "
            "away or choose another output directory"
        )
    if manifest["step"] != step:
        raise OutputError(
            f"{path} is the output of {manifest['step']}, not of {step}: it was left as it is; choose another output "
            "directory"
        )
    foreign = [rel for rel in _tree_files(path) if rel not in manifest["files"]]
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise OutputError(
            f"{path / foreign[0]}{more} is not an output of {step} (not in {path / STEP_MANIFEST}): {step} replaces "
            f"{path} as a whole, so move it away first"
        )


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def step_output(path: PathLike, step: str) -> Iterator[Path]:
    """Yield an empty staging directory for all of `step`'s outputs; on success write the step manifest (every
    file's size and sha256) and swap the staging directory in for `path` in one atomic exchange.

    A kill or an error (a full disk) at any moment leaves either the whole old set or the whole new set under
    `path`, never a mix, and what it leaves behind (`.NAME.tmp-wikiel-PID`) is removed by the next run. `path` must
    be free for the step (claim_output_dir): a user's directory is never replaced.
    """
    path = Path(path)
    _require_parent_dirs(path)
    claim_output_dir(path, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = _tmp_name(path)
    _remove(tmp)
    tmp.mkdir()
    try:
        yield tmp
        files = {
            rel: {"size": (tmp / rel).lstat().st_size, "sha256": file_digest(tmp / rel)} for rel in _tree_files(tmp)
        }
        (tmp / STEP_MANIFEST).write_bytes(
            orjson.dumps({"step": step, "files": files}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        hold_point("staged")
        claim_output_dir(path, step)  # nothing of the user's appeared there meanwhile
        if path.exists():
            if not _exchange(tmp, path):  # elsewhere: two renames, with a moment where `path` is missing
                old = path.with_name(f".{path.name}.old{TMP_SUFFIX}{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, old.with_name(path.name))
                tmp = old
        else:
            os.replace(tmp, path)
        hold_point("committed")
    finally:
        _remove(tmp)


F = TypeVar("F", bound=Callable[..., Any])


def writes_step(step: str, argument: str = "output_dir") -> Callable[[F], F]:
    """Decorator: the function writes `step`'s outputs into the directory passed as `argument`, which it gets as a
    staging directory committed as one set on success (step_output)."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            with step_output(bound.arguments[argument], step) as staging:
                bound.arguments[argument] = staging
                return function(*bound.args, **bound.kwargs)

        return cast(F, wrapper)

    return decorate


_verified: Dict[Tuple[str, float], bool] = {}


def verify_step_output(directory: PathLike) -> None:
    """InputError naming the file and the step to rerun when a file listed in `directory`'s step manifest is
    missing or differs in size or sha256 (edited, or mixed with another run's outputs). Directories without a
    manifest (a user's own pipeline, outputs of an older version) are taken as they are."""
    directory = Path(directory)
    manifest = read_step_manifest(directory)
    if manifest is None:
        return
    key = (str(directory.resolve()), (directory / STEP_MANIFEST).stat().st_mtime)
    if key in _verified:
        return
    hint = f"rerun the {manifest['step']} step"
    for rel, entry in sorted(manifest["files"].items()):
        path = directory / rel
        if not path.exists() and not path.is_symlink():
            raise InputError(path, f"is missing from the outputs of {manifest['step']}", hint=hint)
        size = path.lstat().st_size
        if size != entry["size"]:
            raise InputError(
                path, f"changed since {manifest['step']} wrote it ({size:,} bytes, not {entry['size']:,})", hint=hint
            )
        if file_digest(path) != entry["sha256"]:
            raise InputError(path, f"changed since {manifest['step']} wrote it (its sha256 differs)", hint=hint)
    _verified[key] = True


def _output_root(path: Path) -> Optional[Path]:
    """The step output directory `path` is (or is inside of, up to two levels down), if any."""
    for candidate in [path, *list(path.parents)[:3]]:
        if (candidate / STEP_MANIFEST).is_file():
            return candidate
    return None


def claim_output_file(path: PathLike, step: str) -> None:
    """OutputError unless `path` is free for a single-file output of `step`: absent, or a file this step wrote
    before (registered in FILES_REGISTRY beside it) and unchanged since."""
    path = Path(path)
    if path.is_symlink() or not path.exists():
        if path.is_symlink():
            raise OutputError(f"{path} is a symbolic link: {step} does not write through links; choose another path")
        return
    if path.is_dir():
        raise OutputError(
            f"{path} exists and is a directory, where {step} writes a file: it was left as it is; choose another "
            "output path"
        )
    entry = _registry(path.parent).get(path.name)
    if not entry or entry.get("step") != step:
        raise OutputError(
            f"{path} exists and was not written by {step}: it was left as it is; move it away or choose another "
            "output path"
        )
    if entry.get("size") != path.stat().st_size or entry.get("sha256") != file_digest(path):
        raise OutputError(
            f"{path} was written by {step} but changed since: it was left as it is; move it away to write it again"
        )


def _registry(directory: Path) -> Dict[str, Any]:
    try:
        data = orjson.loads((directory / FILES_REGISTRY).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def output_file(path: PathLike, step: str, mode: str = "w") -> Iterator[IO]:
    """Write a single-file output (outside a step directory) atomically, refusing to replace anything `step` did not
    write (claim_output_file), and register it in the directory's FILES_REGISTRY."""
    path = Path(path)
    claim_output_file(path, step)
    with atomic_open(path, mode) as f:
        yield f
    registry = _registry(path.parent)
    registry[path.name] = {"step": step, "size": path.stat().st_size, "sha256": file_digest(path)}
    write_json(path.parent / FILES_REGISTRY, registry)


def peak_memory_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss it does not inherit the high-water mark of
    the process that exec'd us) and of its largest finished child (worker processes), in MB."""
    own_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            own_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        pass
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own_kb, children_kb) / 1024, 1)


class StepStats:
    """Counts, seconds and peak memory of one step, written as JSON beside its outputs."""

    def __init__(self, step: str):
        self.step = step
        self.start = time.perf_counter()
        self.counts: Dict[str, Any] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        self.counts[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.counts[key]

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def as_dict(self) -> Dict[str, Any]:
        return {
            "step": self.step,
            "seconds": round(time.perf_counter() - self.start, 2),
            "peak_memory_mb": peak_memory_mb(),
            "counts": self.counts,
        }

    def write(self, path: PathLike) -> Dict[str, Any]:
        data = self.as_dict()
        write_json(path, data)
        return data


def write_json(path: PathLike, data: Any, step: str = "") -> None:
    """Write JSON atomically, with sorted keys and indentation, so diffs stay readable; with `step`, as that step's
    single-file output (output_file: it never replaces a file the step did not write)."""
    with output_file(path, step, "wb") if step else atomic_open(path, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY))
        f.write(b"\n")


def read_json(path: PathLike) -> Any:
    return orjson.loads(Path(path).read_bytes())


def normalize_title(title: str, first_letter_case: bool = True) -> str:
    """MediaWiki page title normalisation: underscores to spaces, whitespace folded, section dropped,
    first letter upper-cased on wikis whose `<case>` is `first-letter`."""
    title = title.split("#", 1)[0].replace("_", " ")
    title = " ".join(title.split())
    if title.startswith(":"):
        title = title[1:].lstrip()
    if first_letter_case and title:
        title = title[0].upper() + title[1:]
    return title


def require_inputs(paths: Dict[str, PathLike]) -> None:
    """InputError for the first missing input, naming the step that writes it (`paths`: step -> path), or for an
    input whose step output directory no longer matches its manifest (verify_step_output)."""
    for step, path in paths.items():
        if not Path(path).exists():
            raise InputError(path, "does not exist", hint=f"run the {step.split(':')[0]} step first")
    for path in paths.values():
        root = _output_root(Path(path))
        if root is not None:
            verify_step_output(root)


def load_pipeline(name_or_path: PathLike, hint: str = "") -> spacy.Language:
    """spacy.load of an installed package or a pipeline directory; InputError naming the path when it is neither
    (missing, a file, a directory without config.cfg) instead of spaCy's traceback."""
    path = Path(name_or_path)
    if not path.exists():
        if spacy.util.is_package(str(name_or_path)):
            return spacy.load(str(name_or_path))
        raise InputError(path, "no such pipeline directory or installed package", hint=hint)
    if not path.is_dir() or not (path / "config.cfg").is_file():
        raise InputError(path, "is not a spaCy pipeline directory (no config.cfg in it)", hint=hint)
    return spacy.load(path)


def resolve_processes(n_process: int) -> int:
    """Number of processes to use: `n_process`, or every core when it is 0 (or negative)."""
    return n_process if n_process > 0 else (os.cpu_count() or 1)


def require_spacy_lang(lang: str) -> None:
    """Fail with one line naming the var when spaCy has no language class for `lang`."""
    try:
        spacy.util.get_lang_class(lang)
    except ImportError:
        fail(f"spaCy has no language {lang!r} (--lang / vars.lang): use an ISO code spaCy supports, e.g. en, de, fr")


# --- signals, worker processes and the one place where exceptions become error lines -------------------------

TEST_HOLD_ENV = "WIKIEL_TEST_HOLD"
"""Fault injection for the tests (never set it otherwise): with WIKIEL_TEST_HOLD=<path>, each worker process of the
parse steps, once started, creates `<path>.worker-<pid>` and then waits until `<path>` exists (so do parse-wikidata's
decoder processes; its gzip decoder thread, with one process, likewise creates `<path>.decoder-<pid>`, and stops
waiting when the step stops it). A test thus knows
that the step is running with its workers up, and that it cannot finish before the test signals it
(tests/test_interrupts.py)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received by a command (see cli_errors): it stops the step as Ctrl-C does, cleaning up on the way."""


_sigterm_owner = [0]  # the pid of the process whose cli_errors() installed _on_sigterm


def _on_sigterm(signum: int, frame: Any) -> None:
    if os.getpid() != _sigterm_owner[0]:  # a worker forked from that process, signalled before its initializer ran
        os._exit(128 + signum)
    raise Terminated()


class StopFlag:
    """Set by a process just before it terminates the workers it started (Process.terminate()),
    shared with them (pass it to `ignore_interrupts`): a worker then obeys any SIGTERM. Its sender is not enough:
    standard signals do not queue, so when a SIGTERM sent to the whole group (`timeout`, `kill -- -PGID`) is still
    pending in a worker that the CPU has not run yet, the parent's SIGTERM merges into it and arrives with the other
    sender's pid; a worker that ignored it would never end, and the parent would wait for it forever."""

    def __init__(self, context: Any) -> None:
        self.value = context.RawValue(ctypes.c_bool, False)  # no lock: one byte, set once, read by the workers

    def set(self) -> None:
        self.value.value = True

    def is_set(self) -> bool:
        return bool(self.value.value)


SIGTERM_THREAD = "sigterm"  # a pool worker's thread that takes its SIGTERMs (and never writes anything)


@contextlib.contextmanager
def silenced_stderr() -> Iterator[bool]:
    """File descriptor 2 on /dev/null within the block, for a library that writes warnings of its own there, if no
    other thread of this process could write there meanwhile (the only others are a pool worker's SIGTERM_THREAD);
    yields whether it did (else stderr is left as it is)."""
    current = threading.current_thread()
    if any(t is not current and t.name != SIGTERM_THREAD for t in threading.enumerate()):
        yield False
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield True
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def ignore_interrupts(stop: Optional[StopFlag] = None) -> None:
    """What a worker process runs first: the main process alone stops the step. Workers ignore Ctrl-C (the main
    process gets it and terminates them) and obey SIGTERM only from the main process (which Process.terminate()
    sends), or once `stop` is set: one sent to the whole process group or cgroup (`timeout`, `kill -- -PGID`,
    systemd) reaches the main process too, which then stops the workers in order. They exit without a traceback.
    Then the test hold (TEST_HOLD_ENV), when set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # ignored; blocked if started in signals_deferred()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the main process's handler, inherited by fork
    if hasattr(signal, "sigwaitinfo"):  # Linux (elsewhere, SIGTERM kills a worker at once)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        threading.Thread(target=_obey_sigterm_from, args=(os.getppid(), stop), name=SIGTERM_THREAD, daemon=True).start()
    else:  # the mask of a process started within signals_deferred()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    hold = os.environ.get(TEST_HOLD_ENV)
    if hold:  # a held worker reads no queue: it notices that the main process has gone by its parent pid
        wait_for_test(f"{hold}.worker-{os.getpid()}", hold, parent=os.getppid())


def _obey_sigterm_from(parent: int, stop: Optional[StopFlag]) -> None:
    """A worker's thread taking its (blocked) SIGTERMs: exit quietly when the parent sent it, is stopping its
    workers (a SIGTERM of the parent's may have merged into one sent by another process) or has gone."""
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent or (stop is not None and stop.is_set()) or os.getppid() != parent:
            os._exit(128 + signal.SIGTERM)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def check_signals() -> None:
    """Run now, in the main thread, the Python handlers of the signals received (Ctrl-C: KeyboardInterrupt; SIGTERM
    under cli_errors: Terminated). A signal that the kernel gives to another thread of the process (any thread that
    does not block it may take it) does not wake the main thread from a wait on a lock or an event: its handler would
    only run once the wait ends. A wait on other processes' progress waits in slices, calling this in between.
    (signal.pthread_sigmask runs the pending handlers; an empty SIG_BLOCK changes nothing.)"""
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, ())


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM received while the block runs take effect (their handlers run) when it ends. For starting
    worker processes: a start cut by KeyboardInterrupt after some workers have started would return no handle to
    stop them, and leave them running. The processes forked meanwhile start with both signals
    blocked (their initializer, ignore_interrupts, sets what they do about them) and exit on SIGTERM until then.
    Only in the main thread (where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    me = os.getpid()
    received: List[int] = []

    def defer(signum: int, frame: Any) -> None:
        if os.getpid() != me:  # a forked worker, signalled before its initializer ran
            if signum == signal.SIGTERM:
                os._exit(128 + signum)
            return
        received.append(signum)

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum, handler in previous.items():
        if handler not in (signal.SIG_IGN, None):  # ignored stays ignored (a background job's Ctrl-C)
            signal.signal(signum, defer)
    # Blocked too: the threads started in the block inherit the mask, and leave these signals to the
    # main thread, which a signal then wakes from its waits.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal that came meanwhile is handled here
        for number in dict.fromkeys(received):
            signal.raise_signal(number)  # its handler runs now, in this thread


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line and exit non-zero (used by the CLIs). The line starts a line of its own: a signal
    that stops a step while a progress bar is being created (after its first drawing, before its `with` could close
    it) leaves the bar's line without an end. Such a bar is half-built (closing it may fail), so its line is ended
    instead: a bar that may have drawn (it has its printer) and was not closed (not disabled)."""
    if any(hasattr(bar, "sp") and not getattr(bar, "disable", True) for bar in list(getattr(tqdm, "_instances", ()))):
        print(file=sys.stderr)
    print(f"ERROR: {message}", file=sys.stderr)
    raise SystemExit(code)


EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a command stopped by Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a command killed by SIGTERM

# What to do about an OSError, by errno (the message names the path and the system's reason).
OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write the outputs to another disk, then rerun",
    errno.EDQUOT: "the disk quota is exceeded: free some space or write the outputs elsewhere, then rerun",
    errno.EFBIG: "a file size limit (ulimit -f) or the filesystem's largest file is exceeded: raise the limit or "
    "write the outputs to another filesystem",
    errno.EROFS: "the filesystem is read-only: write the outputs to a writable directory",
    errno.EACCES: "check the permissions of the path or choose another one",
    errno.EPERM: "check the permissions of the path or choose another one",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another path",
    errno.EISDIR: "a directory stands where a file is expected: choose another path",
    errno.ENOENT: "check the path",
    errno.EIO: "the disk or the network filesystem failed: check it, then rerun",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) or use fewer processes",
    errno.ENOMEM: "out of memory: use fewer processes (--n-process) or a machine with more memory",
}
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def _command_outputs() -> List[str]:
    """The output paths of the running command (its parameters named output*), from the current click context
    (recent typer versions carry their own copy of click, typer._click; older ones use click)."""
    for module in ("typer._click.globals", "click"):
        try:
            context = importlib.import_module(module).get_current_context(silent=True)
        except (ImportError, AttributeError):
            continue
        if context is not None:
            found: List[str] = []
            for name, value in context.params.items():
                if name.startswith("output") and value is not None:
                    found.extend(map(str, value) if isinstance(value, (list, tuple)) else [str(value)])
            return found
    return []


def os_error_message(err: OSError) -> str:
    """One line for an OSError: the path(s), the system's reason and what to do. An error without a path (a failed
    write() on an open file) names the command's outputs when it is one that only writes can cause (disk full)."""
    reason = err.strerror or str(err) or type(err).__name__
    if err.filename is not None:
        where = os.fsdecode(err.filename)
        if err.filename2 is not None:
            where += f" -> {os.fsdecode(err.filename2)}"
    elif err.errno in WRITE_ERRNOS and _command_outputs():
        where = f"writing {', '.join(_command_outputs())}"
    else:
        where = ""
    text = f"{where}: {reason}" if where else reason
    hint = OS_ERROR_HINTS.get(err.errno) if err.errno is not None else None
    return f"{text} ({hint})" if hint else text


def _quiet(unraisable: Any) -> None:
    """sys.unraisablehook once a step is stopped: objects the signal cut off mid-construction (a progress bar) fail
    in __del__ on the way out, and Python would print a traceback for each ("Exception ignored in ...")."""


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """The one place where the CLI turns exceptions into one clear line and a non-zero exit instead of a traceback:
    InputError/OutputError (exit 1), OSError such as a full disk or a permission error (exit 1, naming the path),
    Ctrl-C (`ERROR: interrupted`, exit 130) and SIGTERM (`ERROR: terminated`, exit 143). While the block runs,
    SIGTERM raises Terminated in the main process, so that the step cleans up (temporary outputs removed, worker
    processes terminated) as on Ctrl-C. Errors raised in worker processes reach here through the pools."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        _sigterm_owner[0] = os.getpid()
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except (InputError, OutputError) as err:
        fail(str(err))
    except OSError as err:
        fail(os_error_message(err))
    except Terminated:
        sys.unraisablehook = _quiet
        fail("terminated", EXIT_TERMINATED)
    except KeyboardInterrupt:
        sys.unraisablehook = _quiet
        fail("interrupted", EXIT_INTERRUPTED)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
