"""Worker processes stop when the process that started them stops them, whatever signals arrive around it: a SIGTERM
sent to the whole group that merges with the parent's (tests/test_interrupts.py's intermittent hang), a signal while
the workers start. Each case is made certain, not raced: the workers are held (WIKIEL_TEST_HOLD) and stopped
(SIGSTOP) while the signals are sent; a watchdog kills them if they do not end, so that a regression fails with
what each process was doing instead of hanging the suite."""

import array
import bz2
import contextlib
import fcntl
import gzip
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any, ContextManager, Iterator, List

import pytest

from conftest import process_report, wait_for
from wikiel import parallel
from wikiel.parallel import PieceError, WorkerDied, executor
from wikiel.sources import wikidata
from wikiel.sources.wikidata import _decoded, _gzip_decoded
from wikiel.util import TEST_HOLD_ENV

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "sigwaitinfo") or not Path("/proc/self/task").is_dir(),
    reason="Linux: workers take SIGTERM with sigwaitinfo; /proc tells when they are stopped",
)

GUARD = 60  # seconds: only a failure guard against a hang, never what a test waits for


class Stop(BaseException):
    """What the test raises (or its SIGTERM handler) to make the code under test stop its workers: not an Exception,
    as KeyboardInterrupt and util.Terminated are not (Pool() cleans up after an Exception, not after those)."""


def held(hold: Path) -> List[int]:
    return sorted(int(p.name.rsplit("-", 1)[1]) for p in hold.parent.glob(f"{hold.name}.worker-*"))


def stopped(pid: int) -> bool:
    """Whether every thread of `pid` is stopped (SIGSTOP takes effect on each thread on its own)."""
    states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in Path(f"/proc/{pid}/task").iterdir()]
    return all(state in "Tt" for state in states)


def pool_of_two(tmp_path: Path) -> ContextManager[Any]:
    return executor(2)


def decoder(tmp_path: Path) -> ContextManager[Any]:
    """parse-wikidata's decoder process (bz2 input)."""
    path = tmp_path / "dump.json.bz2"
    path.write_bytes(bz2.compress(b'[\n{"id": "Q1"}\n]\n'))
    return _decoded(path, 1)


def decoder_thread(tmp_path: Path) -> ContextManager[Any]:
    """parse-wikidata's gzip decoder thread."""
    path = tmp_path / "dump.json.gz"
    path.write_bytes(gzip.compress(b'[\n{"id": "Q1"}\n]\n'))
    return _gzip_decoded(path, process=False)


def gzip_process(tmp_path: Path) -> ContextManager[Any]:
    """parse-wikidata's gzip decoder process (its shared-memory ring)."""
    path = tmp_path / "dump.json.gz"
    path.write_bytes(gzip.compress(b'[\n{"id": "Q1"}\n]\n'))
    return _gzip_decoded(path, process=True)


def held_decoders(hold: Path) -> List[int]:
    return sorted(int(p.name.rsplit("-", 1)[1]) for p in hold.parent.glob(f"{hold.name}.decoder-*"))


@pytest.mark.parametrize(
    "start, n_workers", [(pool_of_two, 2), (decoder, 1), (gzip_process, 1)], ids=["pool", "decoder", "gzip-process"]
)
def test_workers_stop_when_the_parents_sigterm_merges_into_a_pending_one(start, n_workers, tmp_path, monkeypatch):
    """`timeout` or `kill -- -PGID` sends SIGTERM to the workers too; they leave it to their parent, which then
    terminates them with its own SIGTERM. A worker the CPU has not run meanwhile still has the first one pending,
    and two pending SIGTERMs are one, with the first sender's pid: the worker must obey it all the same, or its
    parent waits for it forever (Pool.terminate(), Process.join())."""
    hold = tmp_path / "hold"
    monkeypatch.setenv(TEST_HOLD_ENV, str(hold))
    real_kill = os.kill
    workers: List[int] = []
    finished = threading.Event()
    killed_by_watchdog: List[str] = []

    def kill(pid: int, signum: int) -> None:
        real_kill(pid, signum)
        if signum == signal.SIGTERM and pid in workers:
            real_kill(pid, signal.SIGCONT)  # both SIGTERMs came while it was stopped: they are one now

    def watchdog() -> None:
        if not finished.wait(GUARD):
            killed_by_watchdog.append(process_report(workers))
            for pid in workers:
                real_kill(pid, signal.SIGKILL)

    with pytest.raises(Stop):
        with start(tmp_path):
            assert wait_for(lambda: len(held(hold)) == n_workers, GUARD), "the workers did not start"
            workers[:] = held(hold)
            for pid in workers:
                real_kill(pid, signal.SIGSTOP)
            assert wait_for(lambda: all(stopped(pid) for pid in workers), GUARD)
            # another process's SIGTERM, as `kill -- -PGID` sends: pending while the workers are stopped
            code = "import os, sys; [os.kill(int(pid), 15) for pid in sys.argv[1:]]"
            subprocess.run([sys.executable, "-c", code, *map(str, workers)], check=True)
            monkeypatch.setattr(os, "kill", kill)
            threading.Thread(target=watchdog, daemon=True).start()
            raise Stop()
    finished.set()
    assert not killed_by_watchdog, f"workers still running {GUARD} s after being terminated:\n{killed_by_watchdog[0]}"


def test_signal_while_the_pool_starts_leaves_no_worker_running(monkeypatch):
    """A SIGTERM (or Ctrl-C) that comes once the pool's workers have started, before Pool() has returned: the step
    stops, and its workers with it."""
    before = set(multiprocessing.active_children())  # (the session's Dask cluster, if it runs)
    start_workers = parallel._start_workers

    def start_then_signal(*args: Any) -> None:
        start_workers(*args)
        signal.raise_signal(signal.SIGTERM)  # before the executor has returned its pool

    def on_sigterm(signum: int, frame: Any) -> None:
        raise Stop()

    monkeypatch.setattr(parallel, "_start_workers", start_then_signal)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with pytest.raises(Stop), executor(2):
            pass
        left = [p for p in multiprocessing.active_children() if p not in before]
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in set(multiprocessing.active_children()) - before:
            process.kill()
            process.join()
    assert left == [], "workers left running"


def square(x: int) -> int:
    return x * x


def die_on_three(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    return x


class Hung(BaseException):
    """Raised in the main thread by the watchdog of a test whose code under test waits forever."""


def main_thread_watchdog(finished: threading.Event) -> List[bool]:
    """After GUARD seconds without `finished`, interrupt the main thread's wait with SIGUSR1 (raising Hung there,
    or waking it to run the handlers of the signals it had not run); the list returned is not empty then."""
    fired: List[bool] = []

    def watch() -> None:
        if not finished.wait(GUARD):
            fired.append(True)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    threading.Thread(target=watch, daemon=True).start()
    return fired


def raise_hung(signum: int, frame: Any) -> None:
    raise Hung()


@contextlib.contextmanager
def hang_guard(what: str) -> Iterator[None]:
    """The block, interrupted (Hung) if it has not ended after GUARD seconds; then the test fails naming `what`."""
    finished = threading.Event()
    previous = signal.signal(signal.SIGUSR1, raise_hung)
    try:
        fired = main_thread_watchdog(finished)
        yield
    finally:
        finished.set()
        signal.signal(signal.SIGUSR1, previous)
    assert not fired, f"waited {GUARD} s {what}"


def wait_on_pool(tmp_path: Path) -> None:
    with executor(2) as ex:
        list(ex.map_in_order(square, range(4)))


def wait_on_decoder(tmp_path: Path) -> None:
    with decoder(tmp_path) as (stream, _):
        stream.read()


def wait_on_decoder_thread(tmp_path: Path) -> None:
    with decoder_thread(tmp_path) as (stream, _):
        stream.read()


def wait_on_gzip_process(tmp_path: Path) -> None:
    with gzip_process(tmp_path) as (stream, _):
        stream.read()


@pytest.mark.parametrize(
    "wait, n_workers",
    [(wait_on_pool, 2), (wait_on_decoder, 1), (wait_on_decoder_thread, 0), (wait_on_gzip_process, 1)],
    ids=["pool", "decoder", "decoder-thread", "gzip-process"],
)
def test_signal_taken_by_another_thread_still_stops_the_wait_for_workers(wait, n_workers, tmp_path, monkeypatch):
    """Any thread of a process that does not block a signal may take it; one that is not the main thread does not
    wake the main thread from its wait on a result, a pipe or a queue (Ctrl-C in tests/test_interrupts.py hung that
    way). With n_workers 0, the gzip decoder thread is held, and the main thread waits on its queue."""
    hold = tmp_path / "hold"
    monkeypatch.setenv(TEST_HOLD_ENV, str(hold))  # the workers never start a piece
    finished = threading.Event()
    main = threading.main_thread().native_id

    asleep: List[bool] = []

    def main_waits() -> bool:
        """Whether the main thread sleeps (on its wait, or on the GIL this thread holds: so several polls in a row,
        between which this thread lets go of the GIL; a wrong guess can only make this test pass without the fix)."""
        asleep.append(Path(f"/proc/self/task/{main}/stat").read_text().rsplit(")", 1)[1].split()[0] == "S")
        return asleep[-5:] == [True] * 5

    def started() -> bool:
        return len(held(hold)) == n_workers if n_workers else len(held_decoders(hold)) == 1

    def signal_from_another_thread() -> None:
        if wait_for(started, GUARD) and wait_for(main_waits, GUARD):
            signal.raise_signal(signal.SIGTERM)  # raise(): to this thread, whose C handler takes it

    def on_sigterm(signum: int, frame: Any) -> None:
        raise Stop()

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_sigterm)}
    previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, raise_hung)
    try:
        fired = main_thread_watchdog(finished)
        threading.Thread(target=signal_from_another_thread, daemon=True).start()
        with pytest.raises(Stop):
            wait(tmp_path)
    finally:
        finished.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert not fired, f"the main thread waited {GUARD} s with the signal's handler not run"


def test_killed_worker_fails_the_step_instead_of_hanging():
    """The piece a killed worker was running never ends: the wait for it must not either."""
    with hang_guard("for the piece of the killed worker"):
        with executor(2) as ex, pytest.raises(PieceError) as caught:
            list(ex.map_in_order(die_on_three, range(8), lambda task: f"piece {task}"))
    message = str(caught.value)
    assert message.startswith("piece ") and "a worker process ended (killed by SIGKILL" in message, message


def test_decoder_thread_stops_when_the_step_stops(tmp_path, monkeypatch):
    """Leaving the decoder early (an error, Ctrl-C) while its thread is held, or waits for room in a full queue: the
    thread ends and the file is closed."""
    hold = tmp_path / "hold"
    monkeypatch.setenv(TEST_HOLD_ENV, str(hold))
    with pytest.raises(Stop), decoder_thread(tmp_path):
        assert wait_for(lambda: len(held_decoders(hold)) == 1, GUARD)
        raise Stop()
    monkeypatch.delenv(TEST_HOLD_ENV)
    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(b"x" * (64 << 20)))  # 64 chunks: more than the queue holds
    decoders: List[Any] = []
    real = wikidata._GzipDecoder.__init__

    def remember(self: Any, path: Path) -> None:
        real(self, path)
        decoders.append(self)

    monkeypatch.setattr(wikidata._GzipDecoder, "__init__", remember)
    with pytest.raises(Stop), _gzip_decoded(path, process=False) as (stream, _):
        stream.read1()
        assert wait_for(decoders[0].queue.full, GUARD)
        raise Stop()
    assert not decoders[0].thread.is_alive() and decoders[0].raw.closed
    assert not [t for t in threading.enumerate() if t.name.startswith("gzip decoder")]


def test_failing_piece_stops_the_decoder_thread(tmp_path):
    """A piece that fails to decode (corrupt deflate data) ends the thread; its error comes after the data before
    it, with the compressed offset, and the reader ends there."""
    good = gzip.compress(b"[\n" + b'{"id": "Q1"},\n' * 200_000)
    bad = bytearray(gzip.compress(b'{"id": "Q2"},\n' * 100_000 + b"]\n"))
    bad[len(bad) // 2 : len(bad) // 2 + 64] = bytes(64)  # corrupt deflate data in the second member
    path = tmp_path / "bad.json.gz"
    path.write_bytes(good + bytes(bad))
    taken = 0
    with pytest.raises(OSError) as caught, _gzip_decoded(path, process=False) as (stream, position):
        while chunk := stream.read1():
            taken += len(chunk)
    assert taken >= len(b"[\n" + b'{"id": "Q1"},\n' * 200_000)
    assert len(good) < caught.value.compressed_offset <= path.stat().st_size  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name.startswith("gzip decoder")]


# --- the gzip decoder process ----------------------------------------------------------------------------------


def shm_entries() -> List[str]:
    shm = Path("/dev/shm")
    return sorted(p.name for p in shm.iterdir()) if shm.is_dir() else []


def made(monkeypatch: Any, cls: type) -> List[Any]:
    """The decoders of class `cls` made from now on."""
    instances: List[Any] = []
    real = cls.__init__

    def remember(self: Any, path: Path) -> None:
        real(self, path)
        instances.append(self)

    monkeypatch.setattr(cls, "__init__", remember)
    return instances


def assert_cleaned_up(decoder: Any, shm_before: List[str]) -> None:
    """The decoder process has ended and been reaped, its pipes are closed, its ring unmapped, nothing left in
    /dev/shm (the ring is an anonymous mapping: it never has a name there)."""
    assert decoder.process.exitcode is not None and decoder.process not in multiprocessing.active_children()
    assert decoder.filled == decoder.freed == -1 and not decoder.theirs
    assert decoder.ring.closed and decoder.raw.closed
    assert shm_entries() == shm_before


def ring_full(decoder: Any) -> bool:
    """Whether the decoder process has filled every slot of its ring (their records wait in the pipe): it can only
    wait for a free one."""
    pending = array.array("i", [0])
    fcntl.ioctl(decoder.filled, termios.FIONREAD, pending)
    return pending[0] == wikidata.DECODED_RING_SLOTS * wikidata._RECORD.size


def big_gzip(tmp_path: Path) -> Path:
    """A gz file of 64 MB of data: more than the ring holds (the decoder waits for free slots)."""
    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(b"[\n" + b'{"id": "Q1"},\n' * ((64 << 20) // 14) + b"]\n"))
    return path


def test_gzip_process_gives_the_threads_data_and_positions(tmp_path):
    """Chunk by chunk, the decoder process gives the data the thread gives, with the same compressed positions."""
    path = big_gzip(tmp_path)
    taken = {}
    for process in (False, True):
        chunks = []
        with _gzip_decoded(path, process) as (stream, position):
            while chunk := stream.read1():
                chunks.append((len(chunk), position()))
            taken[process] = chunks
    assert taken[True] == taken[False]
    assert sum(size for size, _ in taken[True]) == len(gzip.decompress(path.read_bytes()))


def test_gzip_process_stops_when_the_step_stops(tmp_path, monkeypatch):
    """Leaving the decoder early (an error, Ctrl-C) while its process is held, or waits for a free slot of a full
    ring: the process ends, its pipes are closed and its ring unmapped."""
    shm_before = shm_entries()
    decoders = made(monkeypatch, wikidata._GzipProcess)
    hold = tmp_path / "hold"
    monkeypatch.setenv(TEST_HOLD_ENV, str(hold))
    with pytest.raises(Stop), gzip_process(tmp_path):
        assert wait_for(lambda: len(held(hold)) == 1, GUARD)
        assert held(hold) == [decoders[0].process.pid]
        raise Stop()
    assert_cleaned_up(decoders[0], shm_before)
    monkeypatch.delenv(TEST_HOLD_ENV)
    with pytest.raises(Stop), _gzip_decoded(big_gzip(tmp_path), process=True) as (stream, _):
        stream.read1()
        assert wait_for(lambda: ring_full(decoders[1]), GUARD)
        raise Stop()
    assert_cleaned_up(decoders[1], shm_before)


@pytest.mark.parametrize("damage", ["cut", "corrupt", "crc"])
def test_gzip_process_errors_come_after_the_data_before_them(tmp_path, damage):
    """A gz file cut inside a member, with corrupt deflate data, or with a wrong CRC: the decoder process's error
    (EOFError or an OSError, with the compressed offset) is raised once the data before it has been taken, as the
    thread raises it, and the process ends."""
    good = gzip.compress(b"[\n" + b'{"id": "Q1"},\n' * 200_000)
    bad = bytearray(gzip.compress(b'{"id": "Q2"},\n' * 100_000 + b"]\n"))
    if damage == "cut":
        bad = bad[: len(bad) // 2]
    elif damage == "corrupt":
        bad[len(bad) // 2 : len(bad) // 2 + 64] = bytes(64)
    else:
        bad[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / f"{damage}.json.gz"
    path.write_bytes(good + bytes(bad))
    found = {}
    for process in (False, True):
        taken = 0
        with pytest.raises((EOFError, OSError)) as caught, _gzip_decoded(path, process) as (stream, _):
            while chunk := stream.read1():
                taken += len(chunk)
        found[process] = (type(caught.value), str(caught.value), caught.value.compressed_offset, taken)  # type: ignore[union-attr]
    assert found[True] == found[False]
    error, _, offset, taken = found[True]
    assert error is (EOFError if damage == "cut" else gzip.BadGzipFile)
    assert taken >= len(b"[\n" + b'{"id": "Q1"},\n' * 200_000)
    assert len(good) < offset <= path.stat().st_size


def test_killed_gzip_process_is_an_error_not_the_end_of_the_data(tmp_path, monkeypatch):
    """A decoder process killed mid-file (`kill -9`, the out-of-memory killer): the reader gets WorkerDied once it
    has taken what the decoder sent, never a silent end of the data, and does not wait for it."""
    decoders = made(monkeypatch, wikidata._GzipProcess)
    with hang_guard("for the killed decoder"):
        with pytest.raises(WorkerDied, match=r"stopped before the end of the data \(killed by SIGKILL"):
            with _gzip_decoded(big_gzip(tmp_path), process=True) as (stream, _):
                stream.read1()  # the decoder cannot have finished: the ring holds 16 of its 64 chunks
                os.kill(decoders[0].process.pid, signal.SIGKILL)
                while stream.read1():
                    pass
    assert decoders[0].process.exitcode == -signal.SIGKILL


def test_gzip_process_that_does_not_start_falls_back_to_the_thread(tmp_path, monkeypatch):
    """A decoder process that cannot start (a limit on processes): the thread decodes instead."""
    decoders = made(monkeypatch, wikidata._GzipProcess)

    def no_fork(self: Any) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    threads = made(monkeypatch, wikidata._GzipDecoder)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_fork)
    with gzip_process(tmp_path) as (stream, _):
        assert stream.read() == b'[\n{"id": "Q1"}\n]\n'
    assert decoders[0].ring.closed and decoders[0].filled == -1
    assert len(threads) == 1 and not threads[0].thread.is_alive()


def die_while_sending_a_big_result(x: int) -> Any:
    """Piece 1: a 64 MB result, and a thread that kills its worker once the result pipe holds part of it (the main
    process reads nothing meanwhile: its test asks for no result), i.e. mid-message, as a kill at any moment may."""
    if x != 1:
        return x
    import fcntl
    import inspect
    import struct
    import termios

    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    results = frame.f_back.f_locals["results"]  # the worker's end of its result pipe (parallel._serve)

    def pipe_holds() -> int:
        return struct.unpack("i", fcntl.ioctl(results.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]

    def kill_mid_message() -> None:
        wait_for(lambda: pipe_holds() >= 32768, GUARD)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=kill_mid_message, daemon=True).start()
    return b"x" * (64 << 20)


def test_worker_killed_mid_result_leaves_no_lock_and_no_hang(tmp_path):
    """multiprocessing.Pool's workers share a result queue and its lock: one killed while writing a result left the
    lock held, and Pool.terminate() then waited on it forever (seen once in ~170 abandoned maps under load). Each
    local worker has pipes of its own: leaving the map after such a kill stops the workers and returns; waiting on
    the killed worker's piece gives the PieceError of a killed worker."""
    with hang_guard("on the pool of a worker killed mid-result"):
        with pytest.raises(Stop), executor(2) as ex:
            results = ex.map_in_order(die_while_sending_a_big_result, range(2), lambda task: f"piece {task}")
            assert next(results) == 0
            workers = [p.pid for p in multiprocessing.active_children() if p.name.startswith("wikiel worker")]
            assert len(workers) == 2 and wait_for(lambda: any(map(ended, workers)), GUARD)
            raise Stop()
        with executor(2) as ex, pytest.raises(PieceError) as caught:
            list(ex.map_in_order(die_while_sending_a_big_result, range(2), lambda task: f"piece {task}"))
    assert "a worker process ended (killed by SIGKILL" in str(caught.value), caught.value


def ended(pid: int) -> bool:
    """Whether `pid` has ended (a zombie not yet reaped counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True
