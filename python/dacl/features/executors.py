"""Where ``dacl preprocess`` computes its shards: this process, local processes, or a Dask cluster.

:func:`open_executor` turns the run options ``executor``, ``scheduler`` and ``workers`` of
:class:`~dacl.features.build.BuildOptions` into a :class:`concurrent.futures.Executor` (or ``None``: this
process) for :func:`dacl.features.build.build`, and settles the threads each task gives the native code:
``--threads`` when given, else the cores of one worker slot (a node's cores divided by the tasks it runs at
once), never all cores of a node per worker (Dask sets ``OMP_NUM_THREADS=1`` in its workers, but nothing sizes
rayon's pool, which by default takes every core).

``processes``: a ``ProcessPoolExecutor`` of ``--workers`` processes (spawned: no thread of the driver is
forked). ``dask``: ``--scheduler ADDRESS`` connects to a running ``dask.distributed`` scheduler, else a
``LocalCluster`` of ``--workers`` processes with one thread each is started and closed with the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from dacl.features.build import BuildOptions


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def open_executor(options: BuildOptions) -> Iterator[tuple[Executor | None, BuildOptions]]:
    """The executor the options name (``None`` for ``local``) and the options with ``num_threads`` settled to the
    threads per task; what it started (processes, a local cluster, a client) is closed on exit."""
    if options.executor == "local":
        yield None, options
        return
    if options.executor == "processes":
        workers = options.workers or available_cores()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool, _with_threads(options, max(1, available_cores() // workers))
        return
    with _dask_client(options) as client:
        yield client.get_executor(), _with_threads(options, _cores_per_slot(client))


def _with_threads(options: BuildOptions, default: int) -> BuildOptions:
    return options if options.num_threads is not None else replace(options, num_threads=default)


@contextlib.contextmanager
def _dask_client(options: BuildOptions) -> Iterator[Any]:
    """A client of the scheduler at ``options.scheduler``, or of a local cluster started for the run."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--executor dask needs dask.distributed: pip install 'dacl[dask]'") from None
    if options.scheduler is not None:
        with Client(options.scheduler) as client:
            yield client
        return
    workers = options.workers or available_cores()
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _cores_per_slot(client: Any) -> int:
    """The fewest cores one running task gets on any node: a node's cores over the threads of its workers."""
    cores = client.run(available_cores)  # worker address -> its cores
    slots: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for address, info in client.scheduler_info()["workers"].items():
        host = info.get("host", address)
        slots[host] = slots.get(host, 0) + int(info["nthreads"])
        host_cores[host] = cores.get(address, 1)
    if not slots:
        raise ValueError("the Dask scheduler has no workers; start some with `dask worker ADDRESS`")
    return max(1, min(host_cores[h] // slots[h] for h in slots))
