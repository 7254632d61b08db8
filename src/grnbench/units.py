"""Units: one fit of one model, and the store that keeps finished ones across runs.

A *unit* is ``dataset x split x split seed x fold x model x seed`` (plus, for an ablation, the
parameter value it changes): build the estimator, fit it on the fold, predict the fold's test
units (and, for a control that can be the best one, its validation units), and extract what the
task's reports need from the fitted estimator (:meth:`grnbench.engine.Task.unit_state`). Its
:class:`UnitResult` holds everything the stage's metrics, paired bootstrap and tables use, so a
finished unit never has to be fitted again.

Keys (:func:`unit_key`) cover exactly what decides a unit's numbers:

* the fold's content (training, validation and test arrays, test ids, fold info): data and split;
* the model id, its parameters (without scheduling ones such as ``n_jobs``) and its seed;
* the code of the estimator's module and the task's declaration (``api``), and everything they
  import inside ``grnbench`` (docstring-free AST, :mod:`grnbench.fingerprint`), except the modules
  that only schedule, store or report (:data:`NOT_IN_KEY`) and the tasks' model declarations
  (:data:`grnbench.tasks.DECLARATIONS`): what a declaration builds is in the key as the estimator's
  parameters, so registering a new model, or editing another model's estimator module, leaves a
  unit's key as it was (:func:`grnbench.engine.key_code`);
* the task options that act inside a unit (:attr:`grnbench.engine.Task.unit_options`) and
  :data:`UNIT_FORMAT`.

They do not cover the scheduler, the number of workers, report or plotting code, or notebook
prose: changing those leaves finished units valid.

The store (:class:`UnitStore`) is a folder ``<results_dir>/units/<task>/<dataset>/<model>/<key>.pkl.gz``;
each file is written atomically (temporary file, then rename), so a run killed at any moment
leaves only whole units behind. Units that took less than :data:`KEEP_SECONDS` to fit go to the
sibling folder ``<results_dir>/units-local/`` instead, which git ignores: they are cheaper to fit
again than to carry in the repository (the full profile's committed units must stay compact).
Both folders are read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KEEP_SECONDS", "UNIT_FORMAT", "NOT_IN_KEY", "SCHEDULING_PARAMS", "UnitResult", "UnitStore", "unit_key", "content_hash",
           "store_size", "stage_plan_path", "record_stage_units"]

#: Units whose fit took at least this many seconds are kept in the committed store; faster ones locally.
KEEP_SECONDS = 30.0
#: Bump when what a unit computes changes in code outside its key (the engine's fit/evaluate steps).
UNIT_FORMAT = 1
#: Modules that schedule, store, fingerprint or report: not part of any unit's key.
NOT_IN_KEY = ("grnbench.engine", "grnbench.compute", "grnbench.units", "grnbench.fingerprint", "grnbench.runner",
              "grnbench.stages", "grnbench.status", "grnbench.book", "grnbench.report", "grnbench.plotting",
              "grnbench.cli", "grnbench.notebook", "grnbench.results")
#: Estimator parameters that change how fast a fit runs, not its numbers.
SCHEDULING_PARAMS = ("n_jobs", "n_workers", "n_threads", "verbose", "progress")


@dataclass
class UnitResult:
    """What one finished unit leaves: predictions, timings and estimator-derived state.

    Attributes
    ----------
    evaluations : list of grnbench.engine.Evaluation
        Test predictions (one per variant, e.g. per number of genes kept).
    val_evaluations : list of grnbench.engine.Evaluation or None
        Validation predictions of a control refitted on training units only (best-control choice).
    fit_seconds, predict_seconds : float
        Wall-clock seconds measured when the unit ran (not part of any comparison of tables).
    seed : int
        Seed id recorded in the results.
    params : str
        JSON of the fitted estimator's parameters (:func:`grnbench.results.describe_params`).
    state : dict
        What the task's hooks need from the fitted estimator (:meth:`Task.unit_state`).
    history : list or None
        ``history_`` of estimators that record a learning curve; ``best_epoch`` its best epoch.
    member_val : list of grnbench.engine.Evaluation or None
        Predictions of the fitted model on the validation units, for a model whose seeds form an
        ensemble (the ensemble is built from its members' stored predictions).
    """

    evaluations: list
    val_evaluations: list | None
    fit_seconds: float
    predict_seconds: float
    seed: int
    params: str
    state: dict = field(default_factory=dict)
    history: Any = None
    best_epoch: Any = None
    member_val: Any = None


def content_hash(obj) -> str:
    """Deterministic hash of arrays, frames and plain containers (``joblib.hash``, md5 hex).

    Dicts and sets are hashed in sorted order, numpy arrays by their bytes, dtype and shape, so
    the same content gives the same hash in any process.
    """
    import joblib

    return joblib.hash(obj)


def unit_key(parts: dict) -> str:
    """sha256 (hex) of a unit's key parts (see the module docstring)."""
    h = hashlib.sha256()
    h.update(f"unit-format-{UNIT_FORMAT}".encode())
    h.update(content_hash(parts).encode())
    return h.hexdigest()


class UnitStore:
    """Finished units on disk, addressed by key.

    Parameters
    ----------
    root : path-like
        Store folder (``<results_dir>/units``); created on first write.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.local = self.root.with_name(self.root.name + "-local")

    def path(self, key: str, label: str, *, local: bool = False) -> Path:
        """File of unit ``key`` under ``label`` (``task/dataset/model``), in the kept or the local folder."""
        return (self.local if local else self.root) / label / f"{key[:32]}.pkl.gz"

    def find(self, key: str, label: str) -> Path | None:
        """The file of a finished unit in either folder, or None."""
        for local in (False, True):
            path = self.path(key, label, local=local)
            if path.is_file():
                return path
        return None

    def get(self, key: str, label: str) -> UnitResult | None:
        """The stored result of a unit, or None if it has not finished (or its file is unreadable).

        An unreadable file (e.g. from an incompatible library version) counts as not finished:
        the unit is fitted again and the file replaced.
        """
        path = self.find(key, label)
        if path is None:
            return None
        try:
            with gzip.open(path, "rb") as fh:
                return pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ModuleNotFoundError, ImportError):
            return None

    def put(self, key: str, label: str, result: UnitResult) -> Path:
        """Write a finished unit atomically (to the local folder if it fit in under :data:`KEEP_SECONDS`)."""
        path = self.path(key, label, local=result.fit_seconds < KEEP_SECONDS)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl.gz")
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600: give the usual permissions (shared clusters)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def store_size(root: str | os.PathLike) -> tuple[int, int]:
    """``(files, bytes)`` of the finished units under one store folder (not its ``-local`` sibling)."""
    files = [p for p in Path(root).rglob("*.pkl.gz") if not p.name.startswith(".tmp-")]
    return len(files), sum(p.stat().st_size for p in files)


def stage_plan_path(units_dir: Path, stage_id: str) -> Path:
    """File listing the units a stage's current run needs: ``<units>/_stages/<stage>.json``."""
    return Path(units_dir) / "_stages" / f"{stage_id}.json"


def record_stage_units(units_dir: Path, stage_id: str, units: list[tuple[str, str]]) -> None:
    """Add ``(label, key)`` pairs to a stage's unit plan (the engine calls it before fitting).

    ``$GRNBENCH_RUN_ID`` (set by the runner for each execution of a stage) identifies the run:
    a new run starts a new plan. :mod:`grnbench.status` counts how many planned units are stored.
    """
    from .results import _atomic_write

    path = stage_plan_path(units_dir, stage_id)
    plan = {}
    if path.is_file():
        try:
            plan = json.loads(path.read_text())
        except json.JSONDecodeError:
            plan = {}
    run_id = os.environ.get("GRNBENCH_RUN_ID", "")
    if plan.get("run") != run_id:
        plan = {"run": run_id, "units": []}
    known = {tuple(u) for u in plan["units"]}
    plan["units"] += [list(u) for u in units if tuple(u) not in known]
    _atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(plan)))
