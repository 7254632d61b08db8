"""Where fits run: one Dask client per run, single-thread workers, pinned BLAS/torch threads.

Every fit of a stage is a *unit* (:mod:`grnbench.units`); the engine submits a stage's units
to a Dask ``distributed`` client and gathers them as they finish. The client comes from

``GRNBENCH_SCHEDULER`` (or the ``scheduler`` argument of :func:`get_client`)
    unset or ``local``
        a ``LocalCluster`` sized to the machine (one single-thread worker process per usable
        core), started once per Python process and reused by every stage and model;
    ``tcp://HOST:PORT``
        an existing scheduler (``dask scheduler`` + ``dask worker``, or ``dask-jobqueue`` on a
        cluster, see the README);
    ``inprocess``
        no Dask: units run one after the other in this process (what tests and debugging use).

``grnbench run`` starts one ``LocalCluster`` for the whole run and passes its address to the
papermill kernels through ``GRNBENCH_SCHEDULER``, so the notebooks of a run share it.

Numbers do not depend on where a unit runs: every unit runs with one torch thread and one
BLAS/OpenMP thread (:func:`pinned_threads`), seeds come from the unit, and workers get the
same ``ATEN_CPU_CAPABILITY`` as the process that starts them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence

__all__ = ["SCHEDULER_ENV", "INPROCESS", "get_client", "local_cluster", "close_local_cluster", "pinned_threads",
           "worker_env", "map_units", "nested_map", "usable_cores"]

SCHEDULER_ENV = "GRNBENCH_SCHEDULER"
INPROCESS = "inprocess"
#: Environment every worker gets: one BLAS/OpenMP thread, the caller's torch CPU kernel set.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_LOCAL = {"cluster": None, "client": None}


def usable_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def worker_env() -> dict:
    """Environment variables a worker process needs for numbers identical to an in-process run."""
    env = {v: "1" for v in _THREAD_VARS}
    env["ATEN_CPU_CAPABILITY"] = os.environ.get("ATEN_CPU_CAPABILITY", "default")
    env["GRNBENCH_PROGRESS"] = "0"
    return env


def local_cluster(n_workers: int | None = None):
    """The process-wide ``LocalCluster`` client (started on first use, then reused).

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default :func:`usable_cores`), one thread each.

    Returns
    -------
    distributed.Client
    """
    from dask.distributed import Client, LocalCluster

    if _LOCAL["client"] is None:
        import logging

        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker",
                     "distributed.core", "distributed.http.proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)  # no start/stop chatter in notebook outputs
        env = worker_env()
        cluster = LocalCluster(n_workers=int(n_workers or usable_cores()), threads_per_worker=1, processes=True,
                               dashboard_address=":0", env=env, silence_logs=40)
        _LOCAL["cluster"], _LOCAL["client"] = cluster, Client(cluster)
    return _LOCAL["client"]


def close_local_cluster() -> None:
    """Shut down the process-wide ``LocalCluster`` if one was started."""
    client, cluster = _LOCAL["client"], _LOCAL["cluster"]
    _LOCAL["client"] = _LOCAL["cluster"] = None
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


def get_client(scheduler: str | None = None):
    """The Dask client units run on, or None to run them in this process.

    Parameters
    ----------
    scheduler : str, optional
        ``"local"``, ``"inprocess"`` or a scheduler address ``tcp://HOST:PORT``; default
        ``$GRNBENCH_SCHEDULER``, else ``"local"``.

    Returns
    -------
    distributed.Client or None

    Raises
    ------
    ValueError
        For a setting that is none of these.
    OSError
        If the scheduler at the address cannot be reached (Dask's error, with the address).
    """
    setting = (scheduler or os.environ.get(SCHEDULER_ENV) or "local").strip()
    if setting == INPROCESS:
        return None
    if setting == "local":
        return local_cluster()
    if "://" not in setting:
        raise ValueError(f"{SCHEDULER_ENV}={setting!r}: expected 'local', 'inprocess' or a scheduler address "
                         f"such as tcp://HOST:8786")
    from dask.distributed import Client

    try:
        return Client(setting, timeout="30s")
    except OSError as exc:
        raise OSError(f"cannot reach the Dask scheduler at {setting}: {exc}") from exc


@contextlib.contextmanager
def pinned_threads() -> Iterator[None]:
    """Run a block with one torch thread and one BLAS/OpenMP thread, then restore both."""
    from threadpoolctl import threadpool_limits

    from .models.base import torch_threads

    with torch_threads(1), threadpool_limits(limits=1):
        yield


def _progress(total: int, desc: str):
    from .models.base import show_progress

    if not (show_progress(None) and sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="unit")


def map_units(func: Callable, items: Sequence, *, client=None, shared: dict | None = None,
              priorities: Sequence[float] | None = None, on_result: Callable | None = None,
              desc: str = "units") -> list:
    """``[func(item, **shared) for item in items]`` on the client, longest-first, results in order.

    Parameters
    ----------
    func : callable
        A module-level function (workers import it by name).
    items : sequence
        One argument per call.
    client : distributed.Client, optional
        None runs every call here, in order.
    shared : dict, optional
        Keyword arguments common to every call (scattered to the cluster once).
    priorities : sequence of float, optional
        Larger runs earlier (e.g. the expected seconds of a unit); default: submission order.
    on_result : callable, optional
        ``on_result(index, result)`` as each call finishes (e.g. persist it at once).
    desc : str
        Progress-bar label (shown only when stderr is a terminal and progress is on).

    Returns
    -------
    list
        Results aligned with ``items``. The first failing call's exception is raised.
    """
    shared = dict(shared or {})
    out: list = [None] * len(items)
    bar = _progress(len(items), desc) if items else None
    try:
        if client is None:
            order = sorted(range(len(items)), key=lambda i: -(priorities[i] if priorities is not None else 0.0))
            for i in order:
                out[i] = func(items[i], **shared)
                if on_result is not None:
                    on_result(i, out[i])
                if bar is not None:
                    bar.update()
            return out
        from dask.distributed import as_completed

        scattered = _scatter(client, shared)
        futures = {}
        for i, item in enumerate(items):
            prio = 0 if priorities is None else int(round(priorities[i]))
            fut = client.submit(func, item, **scattered, pure=False, priority=prio)
            futures[fut] = i
        try:
            for fut in as_completed(list(futures)):
                i = futures[fut]
                out[i] = fut.result()
                if on_result is not None:
                    on_result(i, out[i])
                if bar is not None:
                    bar.update()
        finally:
            client.cancel(list(futures))
        return out
    finally:
        if bar is not None:
            bar.close()


def nested_map(func: Callable, *iterables, shared: dict | None = None) -> list:
    """Map ``func`` over many small calls from inside a unit, on the run's cluster when there is one.

    Inside a Dask worker the calls go to the same cluster through ``worker_client`` (the unit's
    worker thread secedes while it waits); in a process with a started client they go to that
    client; otherwise they run here in order. Used by arboreto's per-target regressions, so
    GENIE3 and GRNBoost2 share the run's workers instead of starting a cluster of their own.

    Parameters
    ----------
    func : callable
        Module-level function ``func(*args, **shared)``.
    *iterables
        Argument lists, zipped.
    shared : dict, optional
        Keyword arguments common to every call (broadcast once on a cluster).

    Returns
    -------
    list
        Results in input order.
    """
    shared = dict(shared or {})
    args = list(zip(*iterables))
    try:
        from distributed import get_worker, worker_client

        get_worker()
        in_worker = True
    except (ImportError, ValueError):
        in_worker = False
    if in_worker:
        with worker_client() as client:
            return _client_map(client, func, args, shared)
    client = _LOCAL["client"] or _default_client()
    if client is not None:
        return _client_map(client, func, args, shared)
    return [func(*a, **shared) for a in args]


def _default_client():
    setting = os.environ.get(SCHEDULER_ENV, "")
    if "://" in setting:
        return get_client(setting)
    return None


def _scatter(client, shared: dict) -> dict:
    # a list or dict given to scatter is scattered element-wise: wrap each value to send it whole
    return {k: client.scatter([v], broadcast=True, hash=False)[0] for k, v in shared.items()}


def _client_map(client, func, args, shared) -> list:
    scattered = _scatter(client, shared)
    futures = [client.submit(func, *a, **scattered, pure=False) for a in args]
    return client.gather(futures)
