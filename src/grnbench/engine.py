"""One benchmark engine for every task: dataset x split x model x seed -> tidy results.

A task is a declaration (:class:`Task`, one subclass per task in
``grnbench/tasks/<task>/api.py``): how it turns its data into folds of arrays, how a fitted
estimator's test predictions are read (:meth:`Task.evaluate`), how the registered metrics
score them (:meth:`Task.statistic`), its primary metric, and optional hooks for extras
(per-gene tables, masking curves, ...). Which models run, and which are controls, comes
only from the registry (:func:`grnbench.registry.register_model`) and ``study.yaml``; the
engine never names a model.

:func:`run` executes, for each split and model, ``clone -> set random_state -> fit ->
evaluate -> score`` (stochastic models once per seed). Each fit is a *unit*
(:mod:`grnbench.units`) that runs on a Dask client (:mod:`grnbench.compute`) and is kept in a
unit store, so a stopped run resumes with the units it had not finished. Tables come with

* bootstrap 95% CIs over test units (:func:`grnbench.metrics.bootstrap_weights_ci`);
* for stochastic models with several seeds a seed-average row (``seed = -1``: the metric
  averaged over seeds, CI over test units);
* paired comparisons: every non-control model (every model if the task says
  ``compare_baselines``) against the best control of the split and against the controls its
  registry entry lists (``controls=``); a paired bootstrap of the metric difference on the same
  resampled test units; :func:`verdict` reads the CI with the metric's direction;
* ensembles built from the fitted seeds of another model (registry ``ensemble_of=``) and
  ablations (registry ``ablations=``);
* a ``fits`` table (fit and predict seconds per fit).

:func:`save` writes every table atomically (``metrics.csv`` in the results schema of
:mod:`grnbench.results`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from .errors import UnknownIdError, format_names
from .metrics import bootstrap_weights_ci, metric_matrix
from .registry import MetricSpec, ModelSpec, get_metric, get_model, metric_ids
from .results import AGGREGATE_SEED, COLUMNS, describe_params, git_sha, validate_results, write_table
from .models.device import resolve_device
from .units import NOT_IN_KEY, SCHEDULING_PARAMS, record_stage_units, unit_key

__all__ = ["Task", "Fold", "Evaluation", "Context", "BenchmarkOutput", "run", "plan_units", "key_code", "run_units", "save", "verdict", "join_parts",
           "PAIRED_COLUMNS", "FIT_COLUMNS", "UNITS_ENV"]

#: Environment variable naming the unit store folder (``grnbench run`` sets ``<results_dir>/units``).
UNITS_ENV = "GRNBENCH_UNITS"
#: Environment variable with the stage id of a runner's kernel (its units are listed under it).
STAGE_ENV = "GRNBENCH_STAGE"

#: Columns of the paired-comparison table (``k`` only for tasks with variants).
PAIRED_COLUMNS = ("dataset", "split", "model", "reference", "metric", "diff", "ci_low", "ci_high", "n_test",
                  "verdict", "best_baseline")
#: Columns of the per-fit timing table.
FIT_COLUMNS = ("dataset", "split", "split_seed", "model", "seed", "fold", "n_train", "n_test", "fit_seconds",
               "predict_seconds")


def verdict(low: float, high: float, maximize: bool) -> str:
    """Read a paired 95% CI of ``model - reference``.

    Parameters
    ----------
    low, high : float
        CI bounds of the difference (model minus reference) of one metric.
    maximize : bool
        True if larger values of the metric are better (AUROC, R²); False for errors (RMSE).

    Returns
    -------
    str
        ``"better"`` or ``"worse"`` when the CI excludes zero (oriented by ``maximize``),
        else ``"no difference"``. NaN bounds give ``"no difference"``.
    """
    if low > 0 or high < 0:
        return "better" if (low > 0) == bool(maximize) else "worse"
    return "no difference"


@dataclass
class Fold:
    """One train/validation/test partition of a split, as the task's arrays.

    Attributes
    ----------
    train, val : tuple
        ``(X, y)`` passed to ``estimator.fit(X, y, validation=val)``; ``val`` may be None.
    x_test : object
        What the task's :meth:`Task.evaluate` predicts on.
    y_test : ndarray
        Truth for the metrics (first axis = test units: cells, pairs, conditions).
    test_ids : pandas.Index
        Names of the test units, aligned with ``y_test``.
    n_train : int
        Training units (for the timing table).
    info : dict
        Task-specific extras (candidate genes, label encoder, ...).
    y_val : ndarray, optional
        Validation truth in the form the metrics take (for choosing the best control).
    """

    train: tuple
    val: tuple | None
    x_test: Any
    y_test: np.ndarray
    test_ids: pd.Index
    n_train: int
    info: dict = field(default_factory=dict)
    y_val: Any = None


@dataclass
class Evaluation:
    """One scored prediction of a fitted estimator on a fold's test units.

    Attributes
    ----------
    prediction : object
        What :meth:`Task.statistic` consumes (an array, or ``(scores, threshold)``).
    seconds : float
        Time to predict (and, for rankings, to retrain the downstream classifier).
    variant : int or None
        Variant of one fit (the number of genes kept, ``k``); None for plain models.
    """

    prediction: Any
    seconds: float
    variant: int | None = None


@dataclass
class Context:
    """What hooks see: the task, data, options, the current split and the growing tables."""

    task: Task
    data: Any
    options: dict
    split_seed: int
    seeds: tuple
    split: str | None = None
    folds: list[Fold] = field(default_factory=list)
    y_test: Any = None
    test_ids: pd.Index | None = None
    counts: dict = field(default_factory=dict)
    tables: dict = field(default_factory=lambda: defaultdict(list))

    @property
    def dataset(self) -> str:
        return self.data.dataset

    def add(self, table: str, rows) -> None:
        """Append rows (a DataFrame or a list of dicts) to the extra table ``table``."""
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        if len(df):
            self.tables[table].append(df)


@dataclass
class Fit:
    """One unit's fit on one fold, as the hooks see it.

    Fitted estimators stay in their unit: ``estimator`` is None here, ``state`` holds what
    :meth:`Task.unit_state` extracted from the fitted estimator, and ``member_val`` the
    predictions on the validation units of a model whose seeds form an ensemble.
    """

    estimator: Any
    fold: Fold
    evaluations: list[Evaluation]
    fit_seconds: float
    predict_seconds: float
    state: dict = field(default_factory=dict)
    history: Any = None
    best_epoch: Any = np.nan
    member_val: Any = None


class Task:
    """Declaration of one benchmark task; subclass it in ``tasks/<task>/api.py``.

    Class attributes
    ----------------
    id : str
        Task id (registry key of its models and metrics).
    splits : tuple of str
        Split ids the task knows.
    default_splits : tuple of str or None
        Splits :func:`run` uses when none are given (default: all of ``splits``).
    fixed_splits : tuple of str
        Splits that do not depend on a seed (a shipped split, a published fold table): run once.
    primary_metric : str
        Metric that picks the best control and heads the verdicts.
    options : dict
        Task-specific run options and their defaults (``run(..., **options)``).
    ci_method : str
        Bootstrap interval method (``"BCa"`` or ``"percentile"``).
    boot_batch : int
        Resamples scored per vectorised batch.
    ci_per_seed : bool
        If False, single-seed rows of a multi-seed model carry the point value only (the CI
        is on the seed-average row).
    compare_baselines : bool
        Also compare every control with the best control (not only the non-control models).
    paired_metrics : tuple of str or None
        Metrics of the paired table (None: all).
    variant_column : str or None
        Results column that records :attr:`Evaluation.variant` (``"k"``).
    unit_options : tuple of str or None
        Task options that act inside a unit (:meth:`evaluate`, :meth:`unit_state`) and so are
        part of its key; None: all options.
    """

    id: str = ""
    splits: tuple[str, ...] = ()
    default_splits: tuple[str, ...] | None = None
    fixed_splits: tuple[str, ...] = ()
    primary_metric: str = ""
    options: dict = {}
    ci_method: str = "BCa"
    boot_batch: int = 200
    ci_per_seed: bool = True
    compare_baselines: bool = False
    paired_metrics: tuple[str, ...] | None = None
    variant_column: str | None = None
    unit_options: tuple[str, ...] | None = None

    # -- data -------------------------------------------------------------------------
    def split_name(self, ctx: Context, split: str) -> str:
        """The id a requested split is recorded under (e.g. ``random`` where no shipped split exists)."""
        return split

    def folds(self, ctx: Context, split: str) -> list[Fold]:  # pragma: no cover - interface
        """The folds of ``split`` for ``ctx.data`` (seeded by ``ctx.split_seed``)."""
        raise NotImplementedError

    def fold_counts(self, ctx: Context, split: str, folds: list[Fold]) -> dict:
        """Counts recorded in ``counts.csv`` for a split (default: none)."""
        return {}

    # -- models -----------------------------------------------------------------------
    def fit(self, ctx: Context, est, fold: Fold) -> None:
        """Fit ``est`` on a fold (default: ``est.fit(X, y, validation=val)``)."""
        x, y = fold.train
        if fold.val is None:
            est.fit(x, y)
        else:
            est.fit(x, y, validation=fold.val)

    def evaluate(self, ctx: Context, est, fold: Fold, x=None) -> list[Evaluation]:
        """Predictions of a fitted estimator on the fold's test units, or on ``x`` (the validation
        units when the best control is chosen); default: ``predict``."""
        t0 = time.perf_counter()
        pred = np.asarray(est.predict(fold.x_test if x is None else x), dtype=float)
        return [Evaluation(pred, time.perf_counter() - t0)]

    def merge(self, train: tuple, val: tuple) -> tuple:
        """Training plus validation units ``(X, y)`` for models that use no validation."""
        return tuple(pd.concat([a, b]) if isinstance(a, (pd.DataFrame, pd.Series)) else np.concatenate([a, b])
                     for a, b in zip(train, val))

    # -- scoring ----------------------------------------------------------------------
    def statistic(self, funcs: Sequence[MetricSpec], y_true, predictions: Sequence) -> Callable:
        """Weighted statistic ``w (b, n) -> (b, n_metrics)``: each metric averaged over ``predictions``.

        ``funcs`` are registered :class:`~grnbench.registry.MetricSpec`; ``predictions`` one
        pooled prediction per seed.
        """
        return metric_matrix([f.func for f in funcs], y_true, predictions)

    def pool(self, parts: Sequence) -> Any:
        """Concatenate per-fold predictions or truths along the test axis."""
        return parts[0] if len(parts) == 1 else np.concatenate([np.asarray(p) for p in parts], axis=0)

    def paired_variants(self, ctx: Context, variants: list) -> list:
        """Variants at which models are compared (default: all)."""
        return variants

    # -- hooks (extras) ---------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        """Before the first split (e.g. label-free gene features)."""

    def on_split(self, ctx: Context) -> None:
        """After a split's folds are made (``ctx.folds``)."""

    def unit_state(self, ctx: Context, spec: ModelSpec, seed: int, est, fold: Fold) -> dict:
        """What :meth:`on_fit` needs from a fitted estimator, extracted inside its unit (default: nothing).

        Runs on the worker right after the fit; the dict is stored with the unit, so it must
        pickle (arrays, frames, lists) and depend only on the unit's key and :attr:`unit_options`.
        """
        return {}

    def parts(self, data, spec: ModelSpec, options: dict) -> list | None:
        """Column parts of one fit that run as separate units (default None: the fit is one unit).

        A task whose outputs are independent columns (one regression per target gene) can split a
        fit of a model that fits each column on its own into parts, e.g. ``[(0, 1000), (1000,
        2000)]``; each part is its own unit (its own key, run and stored on its own), and the
        engine joins the parts' predictions column-wise in this order (:func:`join_parts`)
        before anything is scored. See :meth:`part`.
        """
        return None

    def part(self, data, fold: Fold, part) -> tuple:
        """``(data, fold)`` restricted to one part of :meth:`parts` (the outputs of that part only)."""
        raise NotImplementedError(f"task {self.id!r} declares parts but does not restrict data to one")

    def ensemble(self, ctx: Context, spec: ModelSpec, members: list[Fit], fold: Fold) -> list[Evaluation]:
        """Test predictions of an ensemble (registry ``ensemble_of=``) from its members' stored predictions.

        ``members[i].evaluations`` are member i's test predictions and ``members[i].member_val``
        its predictions on the validation units. The default raises: a task with ensembles says
        how its predictions combine.
        """
        raise NotImplementedError(f"task {self.id!r} does not combine ensemble members ({spec.id!r})")

    def on_fit(self, ctx: Context, spec: ModelSpec, seed: int, fits: list[Fit], pooled: dict,
               first_seed: bool) -> None:
        """After one model x seed is fitted and evaluated on every fold of the split.

        ``pooled`` maps each variant to the prediction pooled over folds (aligned with
        ``ctx.y_test`` and ``ctx.test_ids``); ``fits[k].state`` is the fold's :meth:`unit_state`.
        """


@dataclass
class BenchmarkOutput:
    """Tables of :func:`run`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        Results schema (:data:`grnbench.results.COLUMNS`, plus the task's variant column).
    paired : pandas.DataFrame
        :data:`PAIRED_COLUMNS` (+ variant column): model minus reference, paired bootstrap CI.
    fits : pandas.DataFrame
        :data:`FIT_COLUMNS`: one row per fit.
    tables : dict of str -> pandas.DataFrame
        Task extras written by hooks (``per_gene``, ``masking``, ...) and ``ablation``.
    counts : dict
        Data and split counts.
    """

    metrics: pd.DataFrame
    paired: pd.DataFrame
    fits: pd.DataFrame
    tables: dict
    counts: dict


def _store(units):
    from .units import UnitStore

    if units is None and os.environ.get(UNITS_ENV):
        units = os.environ[UNITS_ENV]
    return units if isinstance(units, UnitStore) or units is None else UnitStore(units)


def _timed_call(item, *, _func, **shared):
    t0 = time.perf_counter()
    out = _func(item, **shared)
    return out, time.perf_counter() - t0


def run_units(func: Callable, items: Sequence, *, label: str, shared: dict | None = None, units=None,
              scheduler: str | None = None, desc: str | None = None) -> list:
    """``[func(item, **shared) for item in items]`` as stored units, for fits outside :func:`run`.

    Each call is a unit (:mod:`grnbench.units`) keyed by ``func``'s name and code (the closure of
    its module without scheduling and report modules), the content of ``item`` and of ``shared``:
    calls already in the store are read back, the others run on the Dask client (longest-first
    order is the caller's item order) and are stored as each finishes. Used by the LEMBAS ligand
    learning curve (one unit per fold) and the SHAP explanations (one unit per model).

    Parameters
    ----------
    func : callable
        Module-level function ``func(item, **shared)``; it should pin its threads
        (:func:`grnbench.compute.pinned_threads`) so that where it runs does not matter.
    items : sequence
        One argument per unit (picklable, hashed by content).
    label : str
        Store folder of these units (``task/dataset/what``).
    shared : dict, optional
        Keyword arguments common to every call (data; hashed by content once).
    units, scheduler
        As in :func:`run`.
    desc : str, optional
        Progress-bar label.

    Returns
    -------
    list
        ``func``'s results, aligned with ``items``.
    """
    from . import compute
    from .units import UnitResult, content_hash

    store, shared = _store(units), dict(shared or {})
    code = key_code(func.__module__)
    base = {"func": f"{func.__module__}.{func.__qualname__}", "code": code, "shared": content_hash(shared)}
    keys = [unit_key({**base, "item": content_hash(item)}) for item in items]
    if store is not None and os.environ.get(STAGE_ENV):
        record_stage_units(store.root, os.environ[STAGE_ENV], [(label, k) for k in keys])
    results, todo, pending = {}, [], set()
    for i, key in enumerate(keys):
        if key in results or key in pending:
            continue
        found = store.get(key, label) if store is not None else None
        if found is not None:
            results[key] = found.state["value"]
        else:
            todo.append(i)
            pending.add(key)

    def keep(j, out):
        value, seconds = out
        results[keys[todo[j]]] = value
        if store is not None:
            store.put(keys[todo[j]], label, UnitResult([], None, seconds, 0.0, 0, "{}", state={"value": value}))

    if todo:
        compute.map_units(_timed_call, [items[i] for i in todo], client=compute.get_client(scheduler),
                          shared={**shared, "_func": func}, priorities=[-i for i in range(len(todo))],
                          on_result=keep, desc=desc or label)
    return [results[k] for k in keys]


def _seed_id(spec: ModelSpec, seed, est) -> int:
    if seed is not None:
        return int(seed)
    return int(est.get_params().get("random_state") or 0)


def _check_options(task: Task, options: dict) -> dict:
    unknown = sorted(set(options) - set(task.options))
    if unknown:
        raise UnknownIdError(f"task {task.id!r}: unknown option(s) {format_names(unknown)}; "
                             f"known: {format_names(sorted(task.options)) or 'none'}")
    return {**task.options, **options}


@dataclass
class _Plan:
    """One split x split seed: its folds, pooled test truth and what runs on it."""

    split: str
    split_seed: int
    first: bool
    folds: list
    y_test: Any
    test_ids: pd.Index
    has_val: bool
    fold_hashes: list


@dataclass
class _Job:
    """One unit to run (picklable: workers get it with the shared task, data and folds)."""

    plan: int
    model: str
    seed: Any
    fold: int
    split: str
    split_seed: int
    selection: bool = False
    ablation: tuple | None = None
    ensemble_member: bool = False
    key: str = ""
    label: str = ""
    part: tuple | None = None


def run(
    task: Task,
    data,
    *,
    models: Sequence[str],
    splits: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    split_seeds: Sequence[int] = (0,),
    n_boot: int = 1000,
    boot_seed: int = 0,
    model_params: dict | None = None,
    model_seeds: dict | None = None,
    ablation_seeds: Sequence[int] = (),
    units=None,
    scheduler: str | None = None,
    n_jobs: int | None = None,
    **options,
) -> BenchmarkOutput:
    """Fit, evaluate and compare every model on every split of one dataset.

    Every fit is a *unit* (:mod:`grnbench.units`): ``split x split seed x fold x model x seed``
    (and each ablation refit). The units of the whole call are submitted together, longest
    first, to the Dask client of :func:`grnbench.compute.get_client`; finished units are written
    to the unit store as they arrive, and units already in the store are not fitted again. The
    tables are then assembled in a fixed order, so they do not depend on which worker ran what
    or in which order units finished.

    Parameters
    ----------
    task : Task
        The task declaration.
    data : object
        The task's data for one dataset (``data.dataset`` is its id).
    models : sequence of str
        Registered model ids of the task, in display order.
    splits : sequence of str, optional
        Split ids (default: ``task.default_splits``).
    seeds : sequence of int
        Seeds of stochastic models (deterministic models run once).
    split_seeds : sequence of int
        Seeds of the splits: every split is drawn (and every model refitted) once per split seed;
        splits the task declares fixed (a shipped split, a published fold table) run once. The
        first split seed is the headline; the others measure the spread over splits.
    n_boot, boot_seed : int
        Bootstrap resamples over test units and their seed.
    model_params : dict, optional
        ``model id -> {parameter: value}`` overriding registry defaults (recorded in ``params``).
    model_seeds : dict, optional
        ``model id -> seeds`` overriding ``seeds`` for that model (e.g. more random orders).
    ablation_seeds : sequence of int
        Seeds of the ablation refits of models whose registry entry declares ``ablations``.
    units : path-like or grnbench.units.UnitStore, optional
        The unit store (default ``$GRNBENCH_UNITS``, which ``grnbench run`` sets to
        ``<results_dir>/units``; unset: nothing is stored or reused).
    scheduler : str, optional
        ``"local"``, ``"inprocess"`` or ``tcp://HOST:PORT`` (default ``$GRNBENCH_SCHEDULER``,
        else a ``LocalCluster`` sized to the machine); see :mod:`grnbench.compute`.
    n_jobs : int, optional
        Ignored (kept so that older notebooks still run): parallelism comes from the scheduler.
    **options
        Task options (see ``task.options``).

    Returns
    -------
    BenchmarkOutput

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unknown model, split or option.

    Notes
    -----
    Models whose registry entry says ``uses_validation=False`` (nothing is tuned or stopped
    early) are fitted on all non-test units (training plus validation). The best control of a
    split is chosen on the validation units (such models are refitted on the training units for
    that choice), never on the test units; splits without validation units compare every model
    with every control.
    """
    from . import compute

    funcs = [get_metric(m, task.id) for m in metric_ids(task.id)]
    store = _store(units)
    ctx, specs, plans, jobs, options = _prepare(task, data, models=models, splits=splits, seeds=seeds,
                                                split_seeds=split_seeds, model_params=model_params,
                                                model_seeds=model_seeds, ablation_seeds=ablation_seeds,
                                                options=options)
    model_params, model_seeds, split_seeds = model_params or {}, model_seeds or {}, tuple(split_seeds) or (0,)
    out = _Collector(task=task, data=data, funcs=funcs, sha=git_sha(), n_boot=n_boot, boot_seed=boot_seed)
    if store is not None and os.environ.get(STAGE_ENV):
        record_stage_units(store.root, os.environ[STAGE_ENV], [(j.label, j.key) for j in jobs])
    results = _results_by_job(jobs, _execute(task, data, options, plans, jobs, model_params, store, scheduler,
                                             compute))
    for i, plan in enumerate(plans):
        ctx.split, ctx.split_seed, ctx.folds = plan.split, plan.split_seed, plan.folds
        ctx.y_test, ctx.test_ids = plan.y_test, plan.test_ids
        _assemble_split(task, ctx, out, specs, i, plan, results, model_params, model_seeds, ablation_seeds)
    vcol = task.variant_column
    metrics = pd.DataFrame(out.rows, columns=list(COLUMNS) + ([vcol] if vcol else []) + ["split_seed"])
    metrics = validate_results(metrics, name=f"{data.dataset} results")
    pcols = list(PAIRED_COLUMNS) + ["split_seed"]
    if vcol:
        pcols.insert(2, vcol)
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in ctx.tables.items() if parts}
    return BenchmarkOutput(metrics=metrics, paired=pd.DataFrame(out.paired, columns=pcols),
                           fits=pd.DataFrame(out.fits, columns=list(FIT_COLUMNS)), tables=tables, counts=ctx.counts)


def _prepare(task, data, *, models, splits, seeds, split_seeds, model_params, model_seeds, ablation_seeds,
             options):
    """Check ids and options, make every split's folds and every unit's job (with its key)."""
    options = _check_options(task, options)
    specs = [get_model(m, task.id) for m in models]
    splits = tuple(splits) if splits is not None else (task.default_splits or task.splits)
    unknown = [s for s in splits if s not in task.splits]
    if unknown:
        raise UnknownIdError(f"task {task.id!r}: unknown split id(s) {format_names(unknown)}; "
                             f"known: {format_names(task.splits)}")
    model_params, model_seeds = model_params or {}, model_seeds or {}
    extra = sorted(set(model_params) - set(models))
    if extra:
        raise UnknownIdError(f"model_params names model(s) {format_names(extra)} that are not in models "
                             f"({format_names(models)})")
    split_seeds = tuple(split_seeds) or (0,)
    ctx = Context(task=task, data=data, options=options, split_seed=split_seeds[0], seeds=tuple(seeds))
    ctx.counts.update(getattr(data, "counts", {}) or {})
    task.on_start(ctx)
    plans = _plans(task, ctx, splits, split_seeds)
    jobs = _jobs(task, data, options, specs, plans, model_params, model_seeds, tuple(seeds), tuple(ablation_seeds))
    return ctx, specs, plans, jobs, options


def plan_units(task: Task, data, *, models: Sequence[str], splits: Sequence[str] | None = None,
               seeds: Sequence[int] = (0, 1, 2), split_seeds: Sequence[int] = (0,), model_params: dict | None = None,
               model_seeds: dict | None = None, ablation_seeds: Sequence[int] = (), n_boot: int = 1000,
               boot_seed: int = 0, units=None, scheduler: str | None = None, n_jobs: int | None = None,
               **options) -> list[tuple[str, str]]:
    """The units :func:`run` would need for the same arguments, without fitting anything.

    Makes the folds and keys exactly as :func:`run` does (same arguments, same checks); nothing
    is fitted, stored or read.

    Returns
    -------
    list of (str, str)
        ``(label, key)`` per unit, in :func:`run`'s order; ``label`` is ``task/dataset/model``,
        the unit store's folder (:class:`grnbench.units.UnitStore`).

    Raises
    ------
    grnbench.errors.UnknownIdError
        As :func:`run`.
    """
    jobs = _prepare(task, data, models=models, splits=splits, seeds=seeds, split_seeds=split_seeds,
                    model_params=model_params, model_seeds=model_seeds, ablation_seeds=ablation_seeds,
                    options=options)[3]
    return [(j.label, j.key) for j in jobs]


def _plans(task: Task, ctx: Context, splits, split_seeds) -> list[_Plan]:
    """The folds of every split x split seed (made here, in order; ``on_split`` of each first seed)."""
    from .units import content_hash

    plans = []
    for requested in splits:
        split = task.split_name(ctx, requested)
        for split_seed in (split_seeds[:1] if split in task.fixed_splits else split_seeds):
            first = split_seed == split_seeds[0]
            ctx.split, ctx.split_seed = split, split_seed
            ctx.folds = folds = task.folds(ctx, split)
            if first:
                for key, value in task.fold_counts(ctx, split, folds).items():
                    ctx.counts[f"{key}_{split}"] = value
                task.on_split(ctx)
            y_test = task.pool([f.y_test for f in folds])
            test_ids = pd.Index(np.concatenate([np.asarray(f.test_ids) for f in folds]))
            has_val = len(folds) == 1 and folds[0].val is not None and folds[0].y_val is not None
            hashes = [content_hash((f.train, f.val, f.x_test, f.y_test, list(map(str, f.test_ids)), f.n_train, f.info))
                      for f in folds]
            plans.append(_Plan(split, split_seed, first, folds, y_test, test_ids, has_val, hashes))
    return plans


def _run_seeds(spec: ModelSpec, specs, plan: _Plan, model_seeds: dict, seeds: tuple) -> tuple:
    """Seeds a model runs with on a plan; ``()`` for an ensemble built from already fitted members."""
    if _is_ensemble(spec, specs, plan, model_seeds, seeds):
        return ()
    return (None,) if not spec.stochastic else tuple(model_seeds.get(spec.id, seeds))


def _is_ensemble(spec, specs, plan, model_seeds, seeds) -> bool:
    if not spec.ensemble_of or len(plan.folds) != 1:
        return False
    ids = [s.id for s in specs]
    if spec.ensemble_of not in ids or ids.index(spec.ensemble_of) > ids.index(spec.id):
        return False
    member = specs[ids.index(spec.ensemble_of)]
    n = len(tuple(model_seeds.get(member.id, seeds))) if member.stochastic else 1
    return n >= 2


def _jobs(task, data, options, specs, plans, model_params, model_seeds, seeds, ablation_seeds) -> list[_Job]:
    """Every unit of the call, with its key."""
    members = {s.ensemble_of for s in specs if s.ensemble_of}
    jobs = []
    for i, plan in enumerate(plans):
        for spec in specs:
            for seed in _run_seeds(spec, specs, plan, model_seeds, seeds):
                for k in range(len(plan.folds)):
                    jobs.append(_Job(plan=i, model=spec.id, seed=seed, fold=k, split=plan.split,
                                     split_seed=plan.split_seed,
                                     selection=plan.has_val and spec.is_baseline and not spec.chance,
                                     ensemble_member=spec.id in members and len(plan.folds) == 1))
        if plan.first and ablation_seeds and len(plan.folds) == 1:
            for spec in specs:
                if not spec.ablations:
                    continue
                for param, values in spec.ablations.items():
                    for value in values:
                        for seed in ablation_seeds:
                            jobs.append(_Job(plan=i, model=spec.id, seed=seed, fold=0, split=plan.split,
                                             split_seed=plan.split_seed, ablation=(param, value)))
    parted = []
    for job in jobs:
        spec = get_model(job.model, task.id)
        parts = None if job.ablation else task.parts(data, spec, options)
        if parts and not job.ensemble_member:
            parted += [dataclasses.replace(job, part=tuple(p)) for p in parts]
        else:
            parted.append(job)
    jobs = parted
    for job in jobs:
        spec = get_model(job.model, task.id)
        est = _build(spec, data, model_params, job.seed)
        if job.ablation:
            est = clone(est).set_params(**{job.ablation[0]: job.ablation[1]})
        params = {k: v for k, v in est.get_params(deep=False).items() if k not in SCHEDULING_PARAMS}
        if "device" in params:  # where "auto" runs on this machine: a GPU fit is not a CPU fit's unit
            params["device"] = resolve_device(params["device"]).type
        job.label = f"{task.id}/{data.dataset}/{spec.id}"
        content = {
            "task": task.id, "model": spec.id, "params": params, "seed": job.seed,
            "fold": plans[job.plan].fold_hashes[job.fold],
            "fit_on": "train" if job.ablation or spec.uses_validation else "train+val",
            "selection": job.selection, "ablation": job.ablation,
            "options": {k: options.get(k) for k in (task.unit_options if task.unit_options is not None
                                                    else sorted(options))},
            "code": _unit_code(task, type(est).__module__),
        }
        if job.part is not None:  # only parted units carry it: whole fits keep their keys
            content["part"] = list(job.part)
        job.key = unit_key(content)
    return jobs


_CODE_CACHE: dict = {}


def _unit_code(task: Task, *modules: str) -> str:
    """Hash of the code that decides a unit's numbers (see :mod:`grnbench.units`)."""
    return key_code(type(task).__module__, *modules)


def key_code(*modules: str) -> str:
    """sha256 of the code of ``modules`` and what they import, as a unit key counts it.

    Leaves out the modules that only schedule, store or report (:data:`grnbench.units.NOT_IN_KEY`)
    and the tasks' model declarations (:data:`grnbench.tasks.DECLARATIONS`) unless named in
    ``modules``: a declaration builds an estimator, and what it builds is in the key as the
    estimator's parameters, so registering a new model does not re-key the finished units of the
    others.
    """
    from .fingerprint import code_hash, module_closure
    from .tasks import DECLARATIONS

    start = tuple(sorted(set(modules)))
    if start not in _CODE_CACHE:
        exclude = set(NOT_IN_KEY) | (set(DECLARATIONS) - set(start))
        _CODE_CACHE[start] = code_hash(module_closure(start, exclude=exclude))
    return _CODE_CACHE[start]


def _execute(task, data, options, plans, jobs, model_params, store, scheduler, compute) -> dict:
    """Results of every job: from the store where finished, else run (and stored as each finishes)."""
    results, todo = {}, []
    for job in jobs:
        found = store.get(job.key, job.label) if store is not None else None
        if found is not None and (found.member_val is not None or not job.ensemble_member):
            results[job.key] = found
        elif job.key not in {j.key for j in todo}:
            todo.append(job)
    if not todo:
        return results
    known = defaultdict(list)
    for job in jobs:
        if job.key in results:
            known[job.model].append(results[job.key].fit_seconds)

    def priority(job):
        spec = get_model(job.model, task.id)
        if known[job.model]:
            return float(np.mean(known[job.model]))
        return 1000.0 if not spec.is_baseline else 0.0 if spec.chance else 10.0

    def keep(i, result):
        results[todo[i].key] = result
        if store is not None:
            store.put(todo[i].key, todo[i].label, result)

    client = compute.get_client(scheduler)
    folds = {i: p.folds for i, p in enumerate(plans) if any(j.plan == i for j in todo)}
    compute.map_units(_run_unit, todo, client=client,
                      shared={"task": task, "data": data, "options": options, "folds": folds,
                              "model_params": model_params},
                      priorities=[priority(j) for j in todo], on_result=keep,
                      desc=f"{task.id}/{data.dataset}")
    return results


def _results_by_job(jobs, by_key: dict) -> dict:
    grouped: dict = {}
    for j in jobs:
        grouped.setdefault((j.plan, j.model, j.seed, j.fold, j.ablation), []).append(by_key[j.key])
    return {k: v[0] if len(v) == 1 else join_parts(v) for k, v in grouped.items()}


def join_parts(results: list):
    """One unit result from the results of a fit's column parts (:meth:`Task.parts`), in part order.

    Predictions (test, validation and ensemble-member) are concatenated along axis 1 (columns);
    fit and predict seconds are summed; ``params`` is the parts' common description, or
    ``{"parts": [...]}`` listing each part's where they differ (a model tuned per part);
    ``state`` is kept only when every part has the same keys of arrays (concatenated along the
    last axis), else empty; ``history`` and ``best_epoch`` are the first part's.

    Parameters
    ----------
    results : list of grnbench.units.UnitResult
        One per part, in part order; each evaluation's ``prediction`` is an array of shape
        (n_test, n_part_columns).

    Returns
    -------
    grnbench.units.UnitResult
    """
    from .units import UnitResult

    def cat(evals_by_part):
        if evals_by_part[0] is None:
            return None
        return [Evaluation(np.concatenate([np.asarray(p[i].prediction) for p in evals_by_part], axis=1),
                           float(sum(p[i].seconds for p in evals_by_part)), evals_by_part[0][i].variant)
                for i in range(len(evals_by_part[0]))]

    first = results[0]
    params = [r.params for r in results]
    states = [r.state or {} for r in results]
    state = {}
    if states[0] and all(set(st) == set(states[0]) for st in states):
        try:
            state = {k: np.concatenate([np.asarray(st[k]) for st in states], axis=-1) for k in states[0]}
        except (ValueError, TypeError):
            state = {}
    return UnitResult(evaluations=cat([r.evaluations for r in results]),
                      val_evaluations=cat([r.val_evaluations for r in results]),
                      fit_seconds=float(sum(r.fit_seconds for r in results)),
                      predict_seconds=float(sum(r.predict_seconds for r in results)), seed=first.seed,
                      params=params[0] if all(p == params[0] for p in params) else
                      json.dumps({"parts": [json.loads(p) if isinstance(p, str) else p for p in params]}),
                      state=state, history=first.history, best_epoch=first.best_epoch,
                      member_val=cat([r.member_val for r in results]))


def _run_unit(job: _Job, *, task, data, options, folds, model_params):
    """Fit and evaluate one unit (runs on a worker, or here in process)."""
    from .compute import pinned_threads
    from .units import UnitResult

    spec = get_model(job.model, task.id)
    fold = folds[job.plan][job.fold]
    if job.part is not None:
        data, fold = task.part(data, fold, job.part)
    ctx = Context(task=task, data=data, options=options, split_seed=job.split_seed, seeds=(), split=job.split)
    with pinned_threads():
        est = _build(spec, data, model_params, job.seed)
        if job.ablation:
            est = clone(est).set_params(random_state=job.seed, **{job.ablation[0]: job.ablation[1]})
        fit_fold = fold if job.ablation else _merge(task, fold, spec)
        t0 = time.perf_counter()
        task.fit(ctx, est, fit_fold)
        fit_s = time.perf_counter() - t0
        evals = task.evaluate(ctx, est, fit_fold)
        val_evals = None
        if job.selection:
            selector = est
            if not spec.uses_validation:  # fitted on train + val: refit on train for an honest validation score
                selector = _build(spec, data, model_params, job.seed)
                task.fit(ctx, selector, Fold(train=fold.train, val=None, x_test=None, y_test=None, test_ids=None,
                                             n_train=fold.n_train, info=fold.info))
            val_evals = task.evaluate(ctx, selector, fold, x=fold.val[0])
        member_val = task.evaluate(ctx, est, fold, x=fold.val[0]) if job.ensemble_member else None
        seed_id = _seed_id(spec, job.seed, est)
        state = {} if job.ablation else task.unit_state(ctx, spec, seed_id, est, fold)
    hist = getattr(est, "history_", None)
    return UnitResult(evaluations=evals, val_evaluations=val_evals, fit_seconds=fit_s,
                      predict_seconds=float(sum(e.seconds for e in evals)), seed=seed_id,
                      params=describe_params(est), state=state,
                      history=None if hist is None else copy.deepcopy(hist),
                      best_epoch=getattr(est, "best_epoch_", np.nan), member_val=member_val)


@dataclass
class _Collector:
    """Rows of the results, paired and fits tables, and what scoring needs."""

    task: Task
    data: Any
    funcs: list
    sha: str
    n_boot: int
    boot_seed: int
    rows: list = field(default_factory=list)
    paired: list = field(default_factory=list)
    fits: list = field(default_factory=list)

    def record(self, ctx, model_id, seed_id, fit_s, pred_s, params, variant, predictions, with_ci):
        task, y_test = self.task, ctx.y_test
        n_test = len(y_test)
        stat = task.statistic(self.funcs, y_test, predictions)
        if with_ci:
            ci = bootstrap_weights_ci(stat, n_test, n_resamples=self.n_boot, seed=self.boot_seed,
                                      method=task.ci_method, batch=task.boot_batch)
            value, low, high = ci.value, ci.low, ci.high
        else:
            value = np.asarray(stat(np.ones((1, n_test))), dtype=float).reshape(1, -1)[0]
            low = high = np.full(len(self.funcs), np.nan)
        for j, f in enumerate(self.funcs):
            row = [task.id, self.data.dataset, ctx.split, model_id, seed_id, f.id, value[j], low[j], high[j], n_test,
                   fit_s, pred_s, params, self.sha]
            self.rows.append(row + ([variant] if task.variant_column else []) + [ctx.split_seed])


def _merge(task, fold: Fold, spec: ModelSpec) -> Fold:
    """The fold a model is fitted on: training plus validation units if it uses no validation."""
    if spec.uses_validation or fold.val is None:
        return fold
    merged = task.merge(fold.train, fold.val)
    return Fold(train=merged, val=None, x_test=fold.x_test, y_test=fold.y_test, test_ids=fold.test_ids,
                n_train=fold.n_train + len(fold.val[0]), info=fold.info, y_val=fold.y_val)


def _assemble_split(task, ctx, out, specs, plan_index, plan, results, model_params, model_seeds,
                    ablation_seeds) -> None:
    """Every model x seed on one split (one split seed), from unit results; appends to ``out`` and ``ctx.tables``."""
    data, folds = ctx.data, plan.folds
    has_val = plan.has_val
    preds: dict[tuple[str, Any], list] = {}
    val_preds: dict[tuple[str, Any], list] = {}
    fitted: dict[str, list[Fit]] = {}
    variants: list = []
    for spec in specs:
        run_seeds = _run_seeds(spec, specs, plan, model_seeds, ctx.seeds)
        ensemble = run_seeds == ()
        run_seeds = (None,) if ensemble else run_seeds
        multi = len(run_seeds) > 1
        timings = []
        for i, seed in enumerate(run_seeds):
            if ensemble:
                members = fitted[spec.ensemble_of]
                t0 = time.perf_counter()
                evals = task.ensemble(ctx, spec, members, folds[0])
                build_s = time.perf_counter() - t0
                fits = [Fit(None, folds[0], evals, float(sum(m.fit_seconds for m in members)) + build_s, build_s)]
                seed_id, params = 0, json.dumps({"members": [m.seed for m in members]})
            else:
                units = [results[(plan_index, spec.id, seed, k, None)] for k in range(len(folds))]
                fits = [Fit(None, _merge(task, fold, spec), u.evaluations, u.fit_seconds, u.predict_seconds,
                            state=u.state, history=u.history, best_epoch=u.best_epoch, member_val=u.member_val)
                        for u, fold in zip(units, folds)]
                seed_id, params = units[0].seed, units[0].params
                if units[0].val_evaluations is not None:
                    for ev in units[0].val_evaluations:
                        val_preds.setdefault((spec.id, ev.variant), []).append(ev.prediction)
            fit_s = float(sum(f.fit_seconds for f in fits))
            pred_s = float(sum(f.predict_seconds for f in fits))
            timings.append((fit_s, pred_s))
            for k, fit in enumerate(fits):
                out.fits.append((data.dataset, plan.split, plan.split_seed, spec.id, seed_id, k, fit.fold.n_train,
                                 len(fit.fold.y_test), fit.fit_seconds, fit.predict_seconds))
            by_variant: dict[Any, list] = {}
            for fit in fits:
                for ev in fit.evaluations:
                    by_variant.setdefault(ev.variant, []).append(ev)
            pooled = {}
            for variant, evs in by_variant.items():
                if variant not in variants:
                    variants.append(variant)
                pooled[variant] = pred = task.pool([e.prediction for e in evs])
                preds.setdefault((spec.id, variant), []).append(pred)
                seconds = float(sum(e.seconds for e in evs))
                out.record(ctx, spec.id, seed_id, fit_s, seconds, params, variant, [pred],
                           with_ci=task.ci_per_seed or not multi)
            if len(folds) == 1:
                fits[0].seed = seed_id
                fitted.setdefault(spec.id, []).append(fits[0])
            _learning_curves(ctx, spec, seed_id, fits)
            task.on_fit(ctx, spec, seed_id, fits, pooled, first_seed=(i == 0))
        if multi:
            fit_mean = float(np.mean([t[0] for t in timings]))
            pred_mean = float(np.mean([t[1] for t in timings]))
            for variant in [v for v in variants if (spec.id, v) in preds]:
                out.record(ctx, spec.id, AGGREGATE_SEED, fit_mean, pred_mean, json.dumps({"seeds": list(run_seeds)}),
                           variant, preds[(spec.id, variant)], with_ci=True)
    selection = (folds[0].y_val, val_preds) if has_val else None
    out.paired += _paired(task, ctx, specs, out.funcs, preds, selection, task.paired_variants(ctx, variants),
                          out.n_boot, out.boot_seed)
    if plan.first:
        ctx.add("ablation", _ablations(task, ctx, specs, out.funcs, fitted, ablation_seeds, plan_index, results,
                                           model_params))


def _build(spec: ModelSpec, data, model_params: dict, seed):
    est = spec.build(data, **model_params.get(spec.id, {}))
    return clone(est).set_params(random_state=seed) if seed is not None else est


def _learning_curves(ctx: Context, spec: ModelSpec, seed: int, fits: list[Fit]) -> None:
    """Training and validation loss per epoch of estimators that keep a ``history_``."""
    for k, fit in enumerate(fits):
        hist = fit.history
        if hist is None or not len(hist):
            continue
        df = pd.DataFrame(hist)
        if list(df.columns) == [0, 1]:  # (train, val) tuples
            df.columns = ["train_loss", "val_loss"]
        df = df.rename(columns={"fit_loss": "train_loss"})
        if "epoch" not in df.columns:
            df["epoch"] = np.arange(len(df))
        keep = [c for c in ("epoch", "train_loss", "val_loss") if c in df.columns]
        ctx.add("learning_curves", df[keep].assign(dataset=ctx.dataset, split=ctx.split, split_seed=ctx.split_seed,
                                                   model=spec.id, seed=seed, fold=k,
                                                   best_epoch=fit.best_epoch))


def _best_control(task, specs, funcs, selection, variant):
    """The control with the best seed-mean primary metric on the validation units.

    ``selection`` is ``(y_val, validation predictions)``; chance-level controls are never the best.
    Returns None without validation units (then every model is compared with every control).
    """
    if selection is None:
        return None
    y_val, val_preds = selection
    primary = next(f for f in funcs if f.id == task.primary_metric)
    candidates = [s.id for s in specs if s.is_baseline and not s.chance and (s.id, variant) in val_preds]
    if not candidates:
        return None
    ones = np.ones((1, len(y_val)))
    scores = {m: float(np.asarray(task.statistic([primary], y_val, val_preds[(m, variant)])(ones)).ravel()[0])
              for m in candidates}
    return (max if primary.maximize else min)(candidates, key=lambda m: scores[m])


def _paired(task: Task, ctx: Context, specs, funcs, preds, selection, variants, n_boot, boot_seed) -> list[tuple]:
    keep = [f for f in funcs if task.paired_metrics is None or f.id in task.paired_metrics]
    y_test = ctx.y_test
    n = len(y_test)
    out = []
    for variant in variants:
        best = _best_control(task, specs, funcs, selection, variant)
        controls = [s.id for s in specs if s.is_baseline and not s.chance]
        for spec in specs:
            if (spec.id, variant) not in preds or (spec.is_baseline and not task.compare_baselines):
                continue
            refs = ([best] if best else [] if selection else controls) + list(spec.controls)
            for ref in dict.fromkeys(r for r in refs if r != spec.id and (r, variant) in preds):
                a = task.statistic(keep, y_test, preds[(spec.id, variant)])
                b = task.statistic(keep, y_test, preds[(ref, variant)])
                ci = bootstrap_weights_ci(lambda w, a=a, b=b: a(w) - b(w), n, n_resamples=n_boot, seed=boot_seed,
                                          method=task.ci_method, batch=task.boot_batch)
                for j, f in enumerate(keep):
                    row = [ctx.dataset, ctx.split, spec.id, ref, f.id, ci.value[j], ci.low[j], ci.high[j], n,
                           verdict(ci.low[j], ci.high[j], f.maximize), ref == best, ctx.split_seed]
                    if task.variant_column:
                        row.insert(2, variant)
                    out.append(tuple(row))
    return out


def _ablations(task, ctx, specs, funcs, fitted, seeds, plan_index, results, model_params) -> list[dict]:
    """Rows of the refits of models that declare ``ablations``, one per alternative value and seed (point metrics)."""
    rows = []
    if not seeds:
        return rows
    for spec in specs:
        if not spec.ablations or spec.id not in fitted or len(ctx.folds) != 1:
            continue
        fold = ctx.folds[0]
        for param, values in spec.ablations.items():
            for value in values:
                for seed in seeds:
                    unit = results[(plan_index, spec.id, seed, 0, (param, value))]
                    rows.append(_ablation_row(task, ctx, funcs, fold, spec.id, param, value, seed, unit.evaluations,
                                              unit.fit_seconds))
            for fit in fitted[spec.id]:
                if fit.seed in seeds:
                    value = _build(spec, ctx.data, model_params, fit.seed).get_params()[param]
                    rows.append(_ablation_row(task, ctx, funcs, fold, spec.id, param, value, fit.seed,
                                              fit.evaluations, np.nan))
    return rows


def _ablation_row(task, ctx, funcs, fold, model, param, value, seed, evaluations, fit_s) -> dict:
    stat = task.statistic(funcs, fold.y_test, [evaluations[0].prediction])
    vals = np.asarray(stat(np.ones((1, len(fold.y_test)))), dtype=float).reshape(1, -1)[0]
    return {"dataset": ctx.dataset, "split": ctx.split, "split_seed": ctx.split_seed, "model": model, param: value,
            "seed": seed, **{f.id: v for f, v in zip(funcs, vals)}, "fit_seconds": fit_s}


def save(out: BenchmarkOutput, out_dir: str | Path, *, float_formats: dict | None = None) -> dict[str, Path]:
    """Write every table of :func:`run` atomically into ``out_dir``.

    Files: ``metrics.csv`` (results schema), ``paired.csv``, ``fits.csv``, ``counts.csv``
    and one ``<name>.csv`` per extra table.

    Parameters
    ----------
    out : BenchmarkOutput
    out_dir : path-like
    float_formats : dict, optional
        ``table name -> CSV float format`` (default ``%.6g``).

    Returns
    -------
    dict
        Table name -> written path.
    """
    out_dir = Path(out_dir)
    float_formats = float_formats or {}
    tables = {"metrics": out.metrics, "paired": out.paired, "fits": out.fits, "counts": pd.DataFrame([out.counts]),
              **out.tables}
    written = {}
    for name, df in tables.items():
        if not len(df.columns):
            continue
        written[name] = write_table(df, out_dir / f"{name}.csv", float_format=float_formats.get(name, "%.6g"))
    return written
