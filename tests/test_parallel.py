"""parallel_map: results in order, the user's joblib backend honoured, no worker left behind."""

from __future__ import annotations

import multiprocessing
import os

from joblib import parallel_config

from steerstats._parallel import parallel_map


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_in_process_for_one_job():
    out = list(parallel_map(_square_and_pid, range(5), 1))
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]
    assert {pid for _, pid in out} == {os.getpid()}


def test_loky_workers_do_not_outlive_the_call():
    out = list(parallel_map(_square_and_pid, range(6), 2))
    assert [v for v, _ in out] == [x * x for x in range(6)]
    assert {pid for _, pid in out} != {os.getpid()}  # ran in worker processes
    assert multiprocessing.active_children() == []


def test_the_users_joblib_backend_is_used():
    with parallel_config(backend="threading"):
        out = list(parallel_map(_square_and_pid, range(6), 2))
    assert [v for v, _ in out] == [x * x for x in range(6)]
    assert {pid for _, pid in out} == {os.getpid()}  # threads: no process was started
