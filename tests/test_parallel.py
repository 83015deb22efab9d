"""wikiel.parallel: results in order, bounded pieces in flight, errors of one piece, early exit; on this machine and on
a Dask cluster of worker processes (one LocalCluster for the module)."""

from __future__ import annotations

import os
import sys
from typing import Iterator, List

import cloudpickle
import pytest

import wikiel
from wikiel import parallel
from wikiel.parallel import PieceError, executor
from wikiel.util import InputError

# The Dask workers get these functions by value (they cannot import the test module).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square(i: int) -> int:
    return i * i


def pid_of(i: int) -> int:
    return os.getpid()


def fail_on_three(i: int) -> int:
    if i == 3:
        raise InputError("dump.xml", "bad page", offset=1234, hint="fix it")
    return i


def bug_on_three(i: int) -> int:
    if i == 3:
        raise ZeroDivisionError("a bug")
    return i


def describe(i: int) -> str:
    return f"dump.xml bytes {i * 10:,}-{i * 10 + 10:,}"


class Counted:
    """Tasks 0..n-1, counting how many were pulled."""

    def __init__(self, n: int):
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.pulled += 1
            yield i


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(params=["in-process", "pool", "dask"])
def where(request: pytest.FixtureRequest) -> tuple:
    """(n_process, scheduler) of the three kinds of executor."""
    if request.param == "dask":
        return 2, request.getfixturevalue("cluster")
    return (1 if request.param == "in-process" else 2), ""


def test_results_in_order_with_bounded_pieces_in_flight(where: tuple) -> None:
    tasks = Counted(40)
    seen: List[int] = []
    with executor(*where) as ex:
        limit = parallel.IN_FLIGHT_PER_WORKER * ex.workers
        for result in ex.map_in_order(square, tasks):
            assert tasks.pulled - len(seen) <= limit  # pulled lazily, never more than the bound ahead
            seen.append(result)
    assert seen == [i * i for i in range(40)]


def test_input_error_of_a_piece_comes_back_as_it_is(where: tuple) -> None:
    with executor(*where) as ex, pytest.raises(InputError) as caught:
        list(ex.map_in_order(fail_on_three, range(10), describe))
    err = caught.value
    assert type(err) is InputError
    assert str(err) == "dump.xml (byte 1234): bad page (fix it)"
    assert (err.path, err.offset, err.hint) == ("dump.xml", 1234, "fix it")


def test_other_error_of_a_piece_names_the_piece(where: tuple) -> None:
    with executor(*where) as ex, pytest.raises(PieceError) as caught:
        list(ex.map_in_order(bug_on_three, range(10), describe))
    assert str(caught.value).startswith("dump.xml bytes 30-40: failed: ZeroDivisionError: a bug (")
    assert caught.value.path == "dump.xml bytes 30-40"


def test_leaving_early_pulls_no_more_and_leaves_no_process() -> None:
    tasks = Counted(10_000)
    with executor(2) as ex:
        results = ex.map_in_order(pid_of, tasks)
        pids = {next(results) for _ in range(3)}
        results.close()
        assert tasks.pulled <= 3 + parallel.IN_FLIGHT_PER_WORKER * ex.workers
    assert pids and os.getpid() not in pids
    assert not any(alive(pid) for pid in pids)


def test_leaving_early_cancels_dask_pieces(cluster: str) -> None:
    tasks = Counted(10_000)
    with executor(2, cluster) as ex:
        results = ex.map_in_order(square, tasks)
        assert [next(results) for _ in range(3)] == [0, 1, 4]
        results.close()
        assert tasks.pulled <= 3 + parallel.IN_FLIGHT_PER_WORKER * ex.workers
        client = ex.client  # type: ignore[attr-defined]
        assert not [future for future in client.futures.values() if future.status == "pending"]


def test_dask_pieces_run_on_the_workers(cluster: str) -> None:
    with executor(1, cluster) as ex:
        assert ex.workers == 3  # the cluster's threads, not n_process
        pids = set(ex.map_in_order(pid_of, range(8)))
    assert os.getpid() not in pids


def test_dask_workers_with_another_wikiel_are_refused(cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wikiel, "__version__", "0.0.0-other")  # this process only; the workers keep theirs
    with pytest.raises(InputError, match=r"3 of 3 Dask workers .* run wikiel .*this process runs 0.0.0-other"):
        with executor(2, cluster):
            pass


@pytest.mark.parametrize(
    "scheduler, message",
    [
        ("no-such-scheduler.json", "no-such-scheduler.json: scheduler file not found"),
        ("not a scheduler", "not a scheduler: is neither a Dask scheduler address"),
        ("tcp://127.0.0.1:9", "tcp://127.0.0.1:9: cannot connect to the Dask scheduler"),
    ],
)
def test_bad_scheduler_is_one_input_error(scheduler: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "DASK_TIMEOUT_SECONDS", 1)  # nothing listens on the discard port
    with pytest.raises(InputError) as caught:
        with executor(2, scheduler):
            pass
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
