"""One benchmark engine for every task: dataset x split x model x seed -> tidy results.

A task is a declaration (:class:`Task`, one subclass per task in
``grnbench/tasks/<task>/api.py``): how it turns its data into folds of arrays, how a fitted
estimator's test predictions are read (:meth:`Task.evaluate`), how the registered metrics
score them (:meth:`Task.statistic`), its primary metric, and optional hooks for extras
(per-gene tables, masking curves, ...). Which models run, and which are controls, comes
only from the registry (:func:`grnbench.registry.register_model`) and ``study.yaml``; the
engine never names a model.

:func:`run` executes, for each split and model, ``clone -> set random_state -> fit ->
evaluate -> score`` (stochastic models once per seed), with

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

import json
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

__all__ = ["Task", "Fold", "Evaluation", "Context", "BenchmarkOutput", "run", "save", "verdict", "PAIRED_COLUMNS",
           "FIT_COLUMNS"]

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
    """A fitted estimator on one fold, with its evaluations and timings."""

    estimator: Any
    fold: Fold
    evaluations: list[Evaluation]
    fit_seconds: float
    predict_seconds: float


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

    def on_fit(self, ctx: Context, spec: ModelSpec, seed: int, fits: list[Fit], pooled: dict,
               first_seed: bool) -> None:
        """After one model x seed is fitted and evaluated on every fold of the split.

        ``pooled`` maps each variant to the prediction pooled over folds (aligned with
        ``ctx.y_test`` and ``ctx.test_ids``).
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


def _seed_id(spec: ModelSpec, seed, est) -> int:
    if seed is not None:
        return int(seed)
    return int(est.get_params().get("random_state") or 0)


def _fit_fold(task: Task, ctx: Context, est, fold: Fold) -> Fit:
    t0 = time.perf_counter()
    task.fit(ctx, est, fold)
    fit_s = time.perf_counter() - t0
    evals = task.evaluate(ctx, est, fold)
    return Fit(est, fold, evals, fit_s, float(sum(e.seconds for e in evals)))


def _fit_folds(task, ctx, estimators, folds, n_jobs) -> list[Fit]:
    if n_jobs and n_jobs != 1 and len(folds) > 1:
        from joblib import Parallel, delayed

        light = Context(task=task, data=ctx.data, options=ctx.options, split_seed=ctx.split_seed, seeds=ctx.seeds,
                        split=ctx.split)
        return Parallel(n_jobs=n_jobs)(delayed(_fit_fold)(task, light, e, f) for e, f in zip(estimators, folds))
    return [_fit_fold(task, ctx, e, f) for e, f in zip(estimators, folds)]


def _check_options(task: Task, options: dict) -> dict:
    unknown = sorted(set(options) - set(task.options))
    if unknown:
        raise UnknownIdError(f"task {task.id!r}: unknown option(s) {format_names(unknown)}; "
                             f"known: {format_names(sorted(task.options)) or 'none'}")
    return {**task.options, **options}


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
    n_jobs: int = 1,
    **options,
) -> BenchmarkOutput:
    """Fit, evaluate and compare every model on every split of one dataset.

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
    n_jobs : int
        Folds fitted in parallel (joblib) for multi-fold splits.
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
    options = _check_options(task, options)
    specs = [get_model(m, task.id) for m in models]
    funcs = [get_metric(m, task.id) for m in metric_ids(task.id)]
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
    out = _Collector(task=task, data=data, funcs=funcs, sha=git_sha(), n_boot=n_boot, boot_seed=boot_seed)
    task.on_start(ctx)
    for requested in splits:
        split = task.split_name(ctx, requested)
        for split_seed in (split_seeds[:1] if split in task.fixed_splits else split_seeds):
            ctx.split, ctx.split_seed = split, split_seed
            _run_split(task, ctx, out, specs, model_params, model_seeds, ablation_seeds, n_jobs,
                       first=split_seed == split_seeds[0])
    vcol = task.variant_column
    metrics = pd.DataFrame(out.rows, columns=list(COLUMNS) + ([vcol] if vcol else []) + ["split_seed"])
    metrics = validate_results(metrics, name=f"{data.dataset} results")
    pcols = list(PAIRED_COLUMNS) + ["split_seed"]
    if vcol:
        pcols.insert(2, vcol)
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in ctx.tables.items() if parts}
    return BenchmarkOutput(metrics=metrics, paired=pd.DataFrame(out.paired, columns=pcols),
                           fits=pd.DataFrame(out.fits, columns=list(FIT_COLUMNS)), tables=tables, counts=ctx.counts)


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


def _run_split(task, ctx, out, specs, model_params, model_seeds, ablation_seeds, n_jobs, first) -> None:
    """Every model x seed on one split (one split seed); appends to ``out`` and ``ctx.tables``."""
    data, split = ctx.data, ctx.split
    ctx.folds = folds = task.folds(ctx, split)
    if first:
        for key, value in task.fold_counts(ctx, split, folds).items():
            ctx.counts[f"{key}_{split}"] = value
        task.on_split(ctx)
    ctx.y_test = task.pool([f.y_test for f in folds])
    ctx.test_ids = pd.Index(np.concatenate([np.asarray(f.test_ids) for f in folds]))
    has_val = len(folds) == 1 and folds[0].val is not None and folds[0].y_val is not None
    preds: dict[tuple[str, Any], list] = {}
    val_preds: dict[tuple[str, Any], list] = {}
    fitted: dict[str, list[Fit]] = {}
    variants: list = []
    for spec in specs:
        members = fitted.get(spec.ensemble_of or "", [])
        ensemble = bool(spec.ensemble_of) and len(members) >= 2 and len(folds) == 1
        run_seeds = (None,) if ensemble or not spec.stochastic else tuple(model_seeds.get(spec.id, ctx.seeds))
        multi = len(run_seeds) > 1
        timings = []
        for i, seed in enumerate(run_seeds):
            if ensemble:
                est = spec.build(data, **model_params.get(spec.id, {}))
                t0 = time.perf_counter()
                est = type(est).from_members([m.estimator for m in members], validation=folds[0].val)
                build_s = time.perf_counter() - t0
                evals = task.evaluate(ctx, est, folds[0])
                fits = [Fit(est, folds[0], evals, float(sum(m.fit_seconds for m in members)) + build_s,
                            float(sum(e.seconds for e in evals)))]
                seed_id, params = 0, json.dumps({"members": [m.seed for m in members]})
            else:
                ests = [_build(spec, data, model_params, seed) for _ in folds]
                fits = _fit_folds(task, ctx, ests, [_merge(task, f, spec) for f in folds], n_jobs)
                seed_id, params = _seed_id(spec, seed, fits[0].estimator), describe_params(fits[0].estimator)
            if has_val and spec.is_baseline and not spec.chance:
                selector = fits[0].estimator
                if not spec.uses_validation:  # fitted on train + val: refit on train for an honest validation score
                    selector = _build(spec, data, model_params, seed)
                    task.fit(ctx, selector, Fold(train=folds[0].train, val=None, x_test=None, y_test=None,
                                                 test_ids=None, n_train=folds[0].n_train, info=folds[0].info))
                for ev in task.evaluate(ctx, selector, folds[0], x=folds[0].val[0]):
                    val_preds.setdefault((spec.id, ev.variant), []).append(ev.prediction)
            fit_s = float(sum(f.fit_seconds for f in fits))
            pred_s = float(sum(f.predict_seconds for f in fits))
            timings.append((fit_s, pred_s))
            for k, fit in enumerate(fits):
                out.fits.append((data.dataset, split, ctx.split_seed, spec.id, seed_id, k, fit.fold.n_train,
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
    if first:
        ctx.add("ablation", _ablations(task, ctx, specs, out.funcs, fitted, ablation_seeds, model_params))


def _build(spec: ModelSpec, data, model_params: dict, seed):
    est = spec.build(data, **model_params.get(spec.id, {}))
    return clone(est).set_params(random_state=seed) if seed is not None else est


def _learning_curves(ctx: Context, spec: ModelSpec, seed: int, fits: list[Fit]) -> None:
    """Training and validation loss per epoch of estimators that keep a ``history_``."""
    for k, fit in enumerate(fits):
        hist = getattr(fit.estimator, "history_", None)
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
                                                   best_epoch=getattr(fit.estimator, "best_epoch_", np.nan)))


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


def _ablations(task, ctx, specs, funcs, fitted, seeds, model_params) -> list[dict]:
    """Refit models that declare ``ablations`` with each alternative parameter value (point metrics)."""
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
                    est = spec.build(ctx.data, **model_params.get(spec.id, {}))
                    est = clone(est).set_params(random_state=seed, **{param: value})
                    fit = _fit_fold(task, ctx, est, fold)
                    rows.append(_ablation_row(task, ctx, funcs, fold, spec.id, param, value, seed, fit.evaluations,
                                              fit.fit_seconds))
            for fit in fitted[spec.id]:
                if fit.seed in seeds:
                    value = fit.estimator.get_params()[param]
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
