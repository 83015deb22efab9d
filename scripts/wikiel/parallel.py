"""One executor for the steps whose work splits into independent pieces: map a module-level function over picklable
pieces of work, in worker processes on this machine or on a Dask cluster, results in the pieces' order, memory
bounded whatever the number of pieces.

    with executor(n_process, scheduler) as ex:
        for result in ex.map_in_order(func, tasks, describe=lambda task: f"{task.path} bytes {task.start:,}-..."):
            ...

- `scheduler` "" (the default): this machine. `n_process` <= 1 runs each piece in this process; more runs them in
  `n_process` worker processes, each with a pipe of its own for its pieces and one for its results (`_LocalPool`;
  not multiprocessing.Pool, whose terminate() can hang, see there), forked where the platform allows it (so create
  the executor before any thread starts). Each worker first runs `util.ignore_interrupts`: Ctrl-C and SIGTERM stop
  the main process, which terminates the workers, and the workers obey that SIGTERM even when one sent to the whole
  process group came just before it (util.StopFlag). A signal while the workers start takes effect once they have
  started (util.signals_deferred). Pieces are sent and results waited for in slices of WAIT_SLICE_SECONDS: a signal
  that another thread took is handled then (util.check_signals), and a worker that was killed (out of memory) fails
  the step with a PieceError instead of leaving its piece, and the step, waiting forever.
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

Errors (the same in this process, the local workers or on Dask): an InputError raised by a piece reaches the caller
as it is (it pickles, with its path, line, offset and hint). Any other exception of a piece (including OSError and a
Dask worker that died running it) becomes a PieceError, an InputError whose "file" is `describe(task)` (e.g.
"dump.xml.bz2 bytes 1,234-5,678"), chained to the original. Leaving `map_in_order` early (an exception, the generator
closed) cancels the pieces in flight: Dask futures are cancelled at once; the local workers are terminated when
the executor exits, which leaves no process behind in either case.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import select
import signal
import struct
from multiprocessing import reduction
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


class _Handle:
    """A piece submitted to a _LocalPool: its result (or exception) once a worker has sent it back."""

    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = False
        self.ok = False
        self.value: Any = None


class _Slot:
    """A worker process and this process's ends of its two pipes: pieces to it (written here without blocking, see
    `_LocalPool._send`), results from it."""

    def __init__(self, process: Any, tasks: Any, results: Any):
        self.process = process
        self.tasks = tasks
        self.results = results
        self.handle: Optional[_Handle] = None  # the piece it runs
        os.set_blocking(tasks.fileno(), False)


_FRAME = struct.Struct("<Q")  # a piece on a task pipe: its pickle's length, then the pickle


def _read_exactly(fd: int, n: int) -> Optional[bytes]:
    """`n` bytes from a blocking file descriptor; None at its end."""
    parts = []
    while n:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _serve(tasks: Any, results: Any, others: List[Any], stop: StopFlag) -> None:
    """A local pool's worker: pieces (func, task) from its task pipe, (True, result) or (False, exception) back on
    its result pipe, until None or the task pipe's end (the main process has gone). `others`: the main process's ends
    of the pipes of the workers started before it (inherited by fork), closed here."""
    for other in others:
        other.close()
    ignore_interrupts(stop)
    while True:
        header = _read_exactly(tasks.fileno(), _FRAME.size)
        data = _read_exactly(tasks.fileno(), _FRAME.unpack(header)[0]) if header else None
        if data is None:
            return
        message = pickle.loads(data)
        if message is None:
            return
        func, task = message
        try:
            reply = (True, func(task))
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the main process, which raises it
            reply = (False, err)
        try:
            results.send(reply)
        except Exception as err:  # noqa: BLE001 - the result or its exception does not pickle (nothing was sent)
            what = "result" if reply[0] else "error"
            results.send((False, RuntimeError(f"the piece's {what} cannot be sent back: {err}")))


def _start_workers(context: Any, n_process: int, stop: StopFlag, slots: List[_Slot]) -> None:
    """Start the workers, each with two pipes of its own, appending them to `slots` as they start."""
    for number in range(n_process):
        their_tasks, our_tasks = context.Pipe(duplex=False)
        our_results, their_results = context.Pipe(duplex=False)
        others = [conn for slot in slots for conn in (slot.tasks, slot.results)]
        process = context.Process(
            target=_serve,
            args=(their_tasks, their_results, others, stop),
            name=f"wikiel worker {number + 1}",
            daemon=True,
        )
        process.start()
        their_tasks.close()  # the worker's ends, so that its death is the end of its result pipe here
        their_results.close()
        slots.append(_Slot(process, our_tasks, our_results))


class _LocalPool(Executor):
    """n_process worker processes, each with a pipe of its own for its pieces and one for its results, written and
    read by this process's main thread alone: one writer and one reader per pipe, so that a worker may be killed at
    any point (terminate(), the kernel's out-of-memory killer) without leaving a lock held. multiprocessing.Pool's
    workers share two queues and their locks, and Pool.terminate() can wait forever on a lock that a worker it
    killed held (CPython issues 96995 and 73945; reproduced here once in ~170 abandoned maps with 1 MB results).
    The main thread never blocks on a worker for long: pieces are written without blocking, in slices between
    which signals are handled (util.check_signals), as are the waits for results."""

    def __init__(self, slots: List[_Slot], workers: int):
        super().__init__(workers)  # (the slots fill as the workers start)
        self.slots = slots
        self.queue: Deque[Tuple[_Handle, Callable[[Any], Any], Any]] = collections.deque()  # not yet sent

    def _submit(self, func: Callable[[T], R], task: T) -> Any:
        handle = _Handle()
        self.queue.append((handle, func, task))
        self._dispatch()
        return handle

    def _dispatch(self) -> None:
        """Send queued pieces to the idle workers."""
        for slot in self.slots:
            if not self.queue:
                return
            if slot.handle is None:
                handle, func, task = self.queue.popleft()
                self._send(slot, (func, task))
                slot.handle = handle

    def _send(self, slot: _Slot, message: Any) -> None:
        """Write a message to a worker's task pipe, in what the pipe takes at a time (a worker that reads nothing,
        such as a held one in the tests, does not make this thread deaf to signals)."""
        data = reduction.ForkingPickler.dumps(message)
        view = memoryview(b"".join((_FRAME.pack(len(data)), data)))
        fd = slot.tasks.fileno()
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                pass
            if view:
                select.select([], [fd], [], WAIT_SLICE_SECONDS)
                check_signals()
                if slot.process.exitcode is not None:
                    raise WorkerDied(f"a worker process ended ({exit_reason(slot.process.exitcode)})")

    def _result(self, handle: Any) -> Any:
        """The piece's result, waited for in slices (a Ctrl-C or SIGTERM taken by another thread of this process does
        not wake this one: util.check_signals); WorkerDied if a worker ends meanwhile (its piece never ends)."""
        while not handle.done:
            self._dispatch()
            busy = [slot for slot in self.slots if slot.handle is not None]
            waited = [slot.results for slot in busy] + [slot.process.sentinel for slot in self.slots]
            ready = multiprocessing.connection.wait(waited, WAIT_SLICE_SECONDS)
            check_signals()
            for slot in busy:
                if slot.results in ready:
                    try:
                        ok, value = slot.results.recv()
                    except (EOFError, OSError):
                        slot.process.join()  # it has closed its end: it has ended
                        break
                    assert slot.handle is not None
                    slot.handle.ok, slot.handle.value, slot.handle.done = ok, value, True
                    slot.handle = None
            ended = [slot.process.exitcode for slot in self.slots if slot.process.exitcode is not None]
            if ended and not handle.done:
                raise WorkerDied(f"a worker process ended ({exit_reason(ended[0])}) while the pool was running")
        if not handle.ok:
            raise handle.value
        return handle.value

    def _cancel(self, handles: List[Any]) -> None:
        cancelled = set(map(id, handles))
        self.queue = collections.deque(item for item in self.queue if id(item[0]) not in cancelled)

    def close(self) -> None:
        """Tell the workers there is no more work and wait for them to end."""
        for slot in self.slots:
            with contextlib.suppress(OSError, WorkerDied):
                self._send(slot, None)
        for slot in self.slots:
            slot.process.join()

    def terminate(self) -> None:
        """Stop the workers now (SIGTERM, which they obey: see util.StopFlag) and wait for them to end."""
        for slot in self.slots:
            if slot.process.exitcode is None:
                slot.process.terminate()
        for slot in self.slots:
            slot.process.join()


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
    slots: List[_Slot] = []
    local = _LocalPool(slots, n_process)
    try:
        with signals_deferred():  # a signal while they start would leave workers running, with no pool to stop
            _start_workers(context, n_process, stop, slots)
        yield local
    except BaseException:
        stop.set()  # before the SIGTERMs of terminate(): see StopFlag
        local.terminate()
        raise
    else:
        if local.abandoned:
            stop.set()
            local.terminate()
        else:
            local.close()
    finally:
        for slot in slots:
            slot.tasks.close()
            slot.results.close()


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
