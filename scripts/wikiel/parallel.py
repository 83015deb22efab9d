"""One executor for the steps whose work splits into independent pieces: map a module-level function over picklable
pieces of work, in worker processes on this machine or on a Dask cluster, results in the pieces' order, memory
bounded whatever the number of pieces.

    with executor(n_process, scheduler) as ex:
        for result in ex.map_in_order(func, tasks, describe=lambda task: f"{task.path} bytes {task.start:,}-..."):
            ...

- `scheduler` "" (the default): this machine. `n_process` <= 1 runs each piece in this process; more runs them in a
  multiprocessing Pool of `n_process` workers (forked where the platform allows it, so create the executor before
  any thread starts; initializer `util.ignore_interrupts`: Ctrl-C and SIGTERM stop the main process, which
  terminates the workers, and the workers obey that SIGTERM even when one sent to the whole process group came
  just before it, see util.StopFlag). A signal while the pool starts takes effect once it has started
  (util.signals_deferred). Results are waited for in slices of WAIT_SLICE_SECONDS: a signal that another thread
  took is handled then (util.check_signals), and a worker that was killed (out of memory) fails the step with a
  PieceError instead of leaving its piece, and the step, waiting forever.
- `scheduler` a Dask scheduler address (`tcp://host:8786`, or `host:8786`) or the JSON file written by
  `dask scheduler --scheduler-file`: the pieces run on that cluster's workers (`distributed.Client`). The workers
  must have the same wikiel installed (checked when connecting: same version and same source files, else one
  InputError line) and see the input files at the same paths (a shared filesystem): the pieces carry paths, not
  data. A worker runs as many pieces at once as it has threads; the pieces are pure Python, so start the workers
  with one thread each (`dask worker ADDRESS --nworkers N --nthreads 1`).

`Executor.workers` is the number of pieces that run at once (for sizing pieces): `n_process` on this machine, the
cluster's worker threads with a scheduler (`n_process` is then not used); at most `IN_FLIGHT_PER_WORKER` x workers
pieces are submitted and not yet consumed at any time, and `tasks` is pulled lazily, one piece per result consumed.
Connecting waits up to DASK_TIMEOUT_SECONDS for the scheduler and for its first worker.

Errors (the same in this process, a Pool or on Dask): an InputError raised by a piece reaches the caller as it is
(it pickles, with its path, line, offset and hint). Any other exception of a piece (including OSError and a Dask
worker that died running it) becomes a PieceError, an InputError whose "file" is `describe(task)` (e.g.
"dump.xml.bz2 bytes 1,234-5,678"), chained to the original. Leaving `map_in_order` early (an exception, the generator
closed) cancels the pieces in flight: Dask futures are cancelled at once; a local pool's workers are terminated when
the executor exits, which leaves no process behind in either case.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import multiprocessing
import multiprocessing.pool
import os
import signal
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar

import wikiel
from wikiel.util import (
    InputError,
    StopFlag,
    check_signals,
    ignore_interrupts,
    os_error_message,
    signals_deferred,
)

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_WORKER = 2  # pieces submitted but not yet consumed, per worker
WAIT_SLICE_SECONDS = 0.5  # a local pool's result is waited for in slices of this (see _LocalPool._result)
DASK_TIMEOUT_SECONDS = 60  # to connect to a scheduler, and for its first worker (busy machines are slow to answer)
HINT_PIECE = "a worker failed on this part of the input: rerun; if it fails again, report it with this line"
HINT_SCHEDULER = "start one with `dask scheduler`, or fix --scheduler / vars.scheduler (empty = this machine)"


class PieceError(InputError):
    """A piece of work failed with something other than an InputError; its "file" is the piece's description."""


def _piece_error(description: str, err: BaseException) -> PieceError:
    reason = os_error_message(err) if isinstance(err, OSError) else f"{type(err).__name__}: {err}"
    return PieceError(description, f"failed: {reason}", hint=HINT_PIECE)


class Executor:
    """Runs pieces of work (see the module's docstring). Use `executor()` to make one."""

    workers: int

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.abandoned = False  # a map_in_order left with pieces in flight

    @property
    def in_flight(self) -> int:
        return IN_FLIGHT_PER_WORKER * self.workers

    def map_in_order(
        self, func: Callable[[T], R], tasks: Iterable[T], describe: Callable[[T], str] = str
    ) -> Iterator[R]:
        """func(task) for each task, results in the tasks' order (see the module's docstring)."""
        pending: Deque[Tuple[T, Any]] = collections.deque()
        iterator = iter(tasks)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.in_flight:
                    task = next(iterator, _END)
                    if task is _END:
                        exhausted = True
                    else:
                        pending.append((task, self._submit(func, task)))
                if not pending:
                    return
                task, handle = pending.popleft()
                try:
                    result = self._result(handle)
                except InputError:
                    raise
                except Exception as err:
                    raise _piece_error(describe(task), err) from err
                yield result
        finally:
            if pending:
                self.abandoned = True
                self._cancel([handle for _, handle in pending])

    def _submit(self, func: Callable[[T], R], task: T) -> Any:
        raise NotImplementedError

    def _result(self, handle: Any) -> Any:
        raise NotImplementedError

    def _cancel(self, handles: List[Any]) -> None:
        """Stop the pieces of `handles` (submitted, not consumed) where possible."""


_END: Any = object()


class _InProcess(Executor):
    """Each piece runs in this process when its result is asked for (one piece in flight)."""

    def __init__(self) -> None:
        super().__init__(1)

    @property
    def in_flight(self) -> int:
        return 1

    def _submit(self, func: Callable[[T], R], task: T) -> Any:
        return func, task

    def _result(self, handle: Any) -> Any:
        func, task = handle
        return func(task)


class WorkerDied(RuntimeError):
    """A worker process of a local pool ended while the pool ran (killed: out of memory, `kill -9`)."""


class _LocalPool(Executor):
    def __init__(self, pool: multiprocessing.pool.Pool, workers: int):
        super().__init__(workers)
        self.pool = pool
        self.processes = list(pool._pool)  # type: ignore[attr-defined]  # its workers, to see them end

    def _submit(self, func: Callable[[T], R], task: T) -> Any:
        return self.pool.apply_async(func, (task,))

    def _result(self, handle: Any) -> Any:
        """The piece's result, waited for in slices: a Pool whose worker was killed starts another one, and the
        piece it ran never ends (WorkerDied instead); and a Ctrl-C or SIGTERM taken by another thread of this process
        does not wake this one (util.check_signals)."""
        while not handle.ready():
            handle.wait(WAIT_SLICE_SECONDS)
            check_signals()
            ended = [p.exitcode for p in self.processes if p.exitcode is not None]
            if ended and not handle.ready():
                raise WorkerDied(f"a worker process ended ({exit_reason(ended[0])}) while the pool was running")
        return handle.get()


def exit_reason(exitcode: int) -> str:
    """How a process ended, from its exit code (negative: the signal that killed it)."""
    if exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        oom = " (by the kernel, if the system ran out of memory: use fewer processes, --n-process)"
        return f"killed by {name}" + (oom if -exitcode == signal.SIGKILL else "")
    return f"exit code {exitcode}"


class _Dask(Executor):
    def __init__(self, client: Any, workers: int):
        super().__init__(workers)
        self.client = client

    def _submit(self, func: Callable[[T], R], task: T) -> Any:
        return self.client.submit(func, task, pure=False)

    def _result(self, handle: Any) -> Any:
        return handle.result()

    def _cancel(self, handles: List[Any]) -> None:
        with contextlib.suppress(Exception):  # the connection may be what failed
            self.client.cancel(handles)


@contextlib.contextmanager
def executor(n_process: int, scheduler: str = "") -> Iterator[Executor]:
    """An Executor: this machine's processes (`scheduler` "") or a Dask cluster (see the module's docstring)."""
    if scheduler.strip():
        with _dask_executor(scheduler.strip()) as dask_executor:
            yield dask_executor
        return
    if n_process <= 1:
        yield _InProcess()
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    stop = StopFlag(context)
    pool: Optional[multiprocessing.pool.Pool] = None
    try:
        with signals_deferred():  # a signal within Pool() would leave its workers running, with no pool to stop
            pool = context.Pool(n_process, initializer=ignore_interrupts, initargs=(stop,))
        local = _LocalPool(pool, n_process)
        yield local
    except BaseException:
        if pool is not None:
            stop.set()  # before the SIGTERMs of terminate(): see StopFlag
            pool.terminate()
        raise
    else:
        if local.abandoned:
            stop.set()
            pool.terminate()
        else:
            pool.close()
    finally:
        if pool is not None:
            pool.join()


# --- Dask --------------------------------------------------------------------------------------------------------


def _scheduler_target(scheduler: str) -> Dict[str, str]:
    """Client keyword arguments for a scheduler address or scheduler file."""
    if "://" in scheduler:
        return {"address": scheduler}
    path = Path(scheduler)
    if path.is_file() or path.suffix == ".json":
        if not path.is_file():
            raise InputError(path, "scheduler file not found", hint=HINT_SCHEDULER)
        return {"scheduler_file": str(path)}
    host, _, port = scheduler.rpartition(":")
    if host and port.isdigit():
        return {"address": f"tcp://{scheduler}"}
    raise InputError(
        scheduler,
        "is neither a Dask scheduler address (tcp://host:8786) nor a scheduler JSON file",
        hint=HINT_SCHEDULER,
    )


def code_fingerprint() -> Tuple[str, str]:
    """(wikiel's version, SHA-256 of its .py source files): what a Dask worker must have the same of."""
    root = Path(wikiel.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return wikiel.__version__, digest.hexdigest()[:16]


@contextlib.contextmanager
def _dask_executor(scheduler: str) -> Iterator[Executor]:
    target = _scheduler_target(scheduler)
    import distributed  # noqa: PLC0415 - only here: importing it takes a second

    try:
        client = distributed.Client(
            **target, timeout=DASK_TIMEOUT_SECONDS, set_as_default=False, direct_to_workers=False
        )
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(
            scheduler,
            f"cannot connect to the Dask scheduler within {DASK_TIMEOUT_SECONDS} s ({err})",
            hint=HINT_SCHEDULER,
        ) from err
    try:
        workers = _check_workers(client, scheduler)
        yield _Dask(client, workers)
    finally:
        client.close()


def _check_workers(client: Any, scheduler: str) -> int:
    """The number of worker threads, once the workers have shown they run the same wikiel as this process."""
    try:
        client.wait_for_workers(1, timeout=DASK_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as err:
        raise InputError(
            scheduler,
            f"the Dask scheduler has no workers after {DASK_TIMEOUT_SECONDS} s",
            hint="start some with `dask worker ADDRESS --nworkers N --nthreads 1` on machines that see the dumps",
        ) from err
    mine = code_fingerprint()
    try:
        theirs = client.run(code_fingerprint)
    except Exception as err:
        raise InputError(
            scheduler,
            f"a Dask worker cannot run wikiel ({type(err).__name__}: {err})",
            hint="install this wikiel (same version and source) where the workers run",
        ) from err
    different = sorted(address for address, fingerprint in theirs.items() if tuple(fingerprint) != mine)
    if different:
        version, digest = theirs[different[0]]
        raise InputError(
            scheduler,
            f"{len(different)} of {len(theirs)} Dask workers (e.g. {different[0]}) run wikiel {version} with sources "
            f"{digest}, this process runs {mine[0]} with sources {mine[1]}",
            hint="install this wikiel (same version and source) where the workers run, and restart them",
        )
    return sum(client.nthreads().values())


def describe_range(path: os.PathLike | str, start: int, end: int) -> str:
    """How a piece of a file is named in errors: "dump.xml.bz2 bytes 1,234-5,678"."""
    return f"{path} bytes {start:,}-{end:,}"
