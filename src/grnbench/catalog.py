"""Which modules register the registry's entries: data modules, each task's models and metrics, users' cards.

The registry (:mod:`grnbench.registry`) is a leaf; this module sits above it and is installed
as its loader by the package (``grnbench/__init__.py``). Loading is per task, so a stage's code
dependencies stay within its own task (:func:`grnbench.fingerprint.stage_modules`).
"""

from __future__ import annotations

import importlib

from .errors import UnknownIdError
from .tasks import TASKS

__all__ = ["DATA_MODULES", "ensure_loaded"]

#: Modules whose import registers datasets and priors (always loaded). Task modules are listed
#: in :data:`grnbench.tasks.TASKS` and loaded per task (``<package>.models`` and ``.metrics``).
DATA_MODULES = (
    "grnbench.data.datasets",
    "grnbench.data.beeline",
    "grnbench.data.grn_benchmarks",
    "grnbench.data.priors",
)

_loaded: set = set()


def ensure_loaded(task: str | None = None) -> None:
    """Import the data modules, and the registering modules of ``task`` (all tasks if None, none if "").

    Raises
    ------
    grnbench.errors.UnknownIdError
        For a task id that :data:`grnbench.tasks.TASKS` does not list.
    """
    wanted = ["", *TASKS] if task is None else ["", task] if task else [""]
    for key in wanted:
        if key in _loaded:
            continue
        if key and key not in TASKS:
            raise UnknownIdError(f"unknown task id {key!r}; tasks: {', '.join(TASKS)}")
        _loaded.add(key)
        modules = DATA_MODULES if not key else (f"{TASKS[key]}.models", f"{TASKS[key]}.metrics")
        for module in modules:
            importlib.import_module(module)
        if not key:  # users' cards ($GRNBENCH_CARDS) after the built-in datasets and priors
            from .data.cards import register_env_cards

            register_env_cards()
