"""Where the project, the data mirror, the download cache and the results live.

Environment variables
---------------------
``GRNBENCH_DATA_DIR``
    A local mirror laid out like ``../shared/data`` (``<folder>/<file>`` as in
    ``data/README.md``). If set, every remote file is read from it and a missing file is
    an error (CI sets it, so a missing mirror file fails the run instead of skipping).
``GRNBENCH_CACHE_DIR``
    Download cache (default ``<project>/data/cache``).
``GRNBENCH_ROOT``
    Project root (default: the nearest folder above the working directory that holds
    ``study.yaml``; papermill runs from the root and nbval from ``tests/notebooks``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_dir", "cache_dir", "resolve", "task_dir", "figures_dir", "units_dir", "stamps_dir"]

DATA_DIR_ENV = "GRNBENCH_DATA_DIR"
CACHE_DIR_ENV = "GRNBENCH_CACHE_DIR"
ROOT_ENV = "GRNBENCH_ROOT"


def project_root(start: str | os.PathLike | None = None) -> Path:
    """Return the project root: ``$GRNBENCH_ROOT`` or the nearest parent with ``study.yaml``.

    Parameters
    ----------
    start : path-like, optional
        Folder to search upwards from (default: the working directory).

    Raises
    ------
    FileNotFoundError
        If no folder above ``start`` contains ``study.yaml`` and the env var is unset.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "study.yaml").is_file():
            return folder
    raise FileNotFoundError(
        f"no study.yaml found in {here} or any parent folder; run from the grnbench "
        f"project or set {ROOT_ENV}"
    )


def data_dir() -> Path | None:
    """The mirror folder from ``$GRNBENCH_DATA_DIR`` (resolved), or None if unset."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser().resolve() if env else None


def cache_dir() -> Path:
    """The download cache: ``$GRNBENCH_CACHE_DIR`` or ``<project>/data/cache``.

    Outside a project checkout (no ``study.yaml`` above the working directory) the
    per-user cache of :func:`pooch.os_cache` is used.
    """
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        try:
            path = project_root() / "data" / "cache"
        except FileNotFoundError:
            import pooch

            path = Path(pooch.os_cache("grnbench"))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def resolve(path: str | os.PathLike) -> Path:
    """Resolve ``path`` against the project root unless it is absolute."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


def units_dir(results_dir: str | os.PathLike) -> Path:
    """The unit store of a results folder: ``<results_dir>/units`` (see :mod:`grnbench.units`)."""
    return Path(results_dir) / "units"


def stamps_dir(results_dir: str | os.PathLike) -> Path:
    """The stage stamps of a results folder: ``<results_dir>/.stamps``."""
    return Path(results_dir) / ".stamps"


def task_dir(results_dir: str | os.PathLike, task: str, name: str | None = None) -> Path:
    """Tables of a task in a results folder: ``<results_dir>/<task>[/<name>]`` (resolved).

    ``name`` is a dataset id (one fit stage's tables) or a fixed part (``scaling``). Notebooks,
    reports and the study's declared outputs all use this layout.
    """
    root = resolve(results_dir) / task
    return root / name if name else root


def figures_dir(results_dir: str | os.PathLike) -> Path:
    """Figures of a results folder: ``<results_dir>/figures`` (resolved)."""
    return resolve(results_dir) / "figures"
