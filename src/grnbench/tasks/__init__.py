"""Benchmark tasks: one package per task, each declaring itself in ``api.py``.

A task package holds what is specific to it: ``api.py`` (the :class:`grnbench.engine.Task`
declaration: data adapter, splits, evaluation, primary metric, hooks), ``models.py`` and
``metrics.py`` (registry entries), and its data, split and report modules. Adding a task means
adding its package and one line to :data:`TASKS`.
"""

from __future__ import annotations

import importlib

__all__ = ["TASKS", "DECLARATIONS", "get_task", "split_ids"]

#: Task id -> package (an explicit list; the registry imports ``<package>.models`` and ``.metrics``).
TASKS = {
    "target_expression": "grnbench.tasks.target_expression",
    "edge_classification": "grnbench.tasks.edge_classification",
    "cell_type_markers": "grnbench.tasks.cell_type_markers",
    "grn_inference": "grnbench.tasks.grn_inference",
    "perturbation_response": "grnbench.tasks.perturbation_response",
}
#: The tasks' model declarations (registry entries that build estimators): not part of unit keys
#: (:func:`grnbench.engine.key_code`).
DECLARATIONS = tuple(f"{package}.models" for package in TASKS.values())


def get_task(id: str):
    """The :class:`grnbench.engine.Task` declared by task ``id`` (``<package>.api.TASK``).

    Raises
    ------
    grnbench.errors.UnknownIdError
        For a task id not in :data:`TASKS`.
    """
    from ..errors import UnknownIdError

    if id not in TASKS:
        raise UnknownIdError(f"unknown task id {id!r}; tasks: {', '.join(TASKS)}")
    return importlib.import_module(f"{TASKS[id]}.api").TASK


def split_ids(task: str) -> list[str]:
    """Split ids declared by ``task``'s :class:`~grnbench.engine.Task`."""
    return list(get_task(task).splits)
