"""Run the target-expression benchmark for one dataset: every model x split x seed.

For each split the models are fitted on ``train`` cells (``val`` cells go to models that
tune or stop early) and scored on ``test`` cells with bootstrap 95% CIs over test cells.
Stochastic models run once per seed; deterministic ones once. Each model is then compared
with the best baseline of that split by a paired bootstrap of the metric difference (same
resampled cells for both models): a model "beats" another only when that CI excludes 0.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from tqdm.auto import tqdm

from ...metrics import bootstrap_weights_ci, metric_matrix, per_gene_r2
from ...models.base import show_progress
from ...registry import get_metric, get_model, metric_ids
from ...results import AGGREGATE_SEED, COLUMNS, describe_params, git_sha, headline, validate_results, write_table
from .datasets import TargetExpressionData
from .splits import SPLITS, make_split

__all__ = ["BenchmarkOutput", "run_benchmark", "save_benchmark", "headline", "AGGREGATE_SEED"]

log = logging.getLogger(__name__)
TASK = "target_expression"

#: Controls each model is also compared with (paired), besides the best baseline: the
#: network-constrained RNN against the linear model on the same parents and the seed's MLR.
EXTRA_COMPARISONS = {"lembas": ("ridge_parents", "mlr"), "lembas_seed": ("ridge_parents", "mlr")}


@dataclass
class BenchmarkOutput:
    """Tables produced by :func:`run_benchmark`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        Results schema (:data:`grnbench.results.COLUMNS`); per seed, plus ``seed = -1``
        rows (mean over seeds, CI over test cells) for stochastic models.
    per_gene : pandas.DataFrame
        ``dataset, split, model, seed, gene, r2, n_parents``: per-gene test R².
    predictions : pandas.DataFrame
        ``dataset, split, model, seed, cell, gene, observed, predicted`` for the recorded genes.
    paired : pandas.DataFrame
        ``dataset, split, model, reference, metric, diff, ci_low, ci_high, n_test, verdict,
        best_baseline``: model minus reference, paired bootstrap CI; the reference is the
        best baseline of the split (``best_baseline`` True) or a control listed in
        :data:`EXTRA_COMPARISONS`; ``verdict`` is ``better``, ``worse`` or ``no difference``
        (CI contains 0), oriented by the metric's direction.
    counts : dict
        Task data counts (cells, TFs, targets, prior edges kept) and cells per split part
        (``train_random``, ``val_random``, ``test_random``, ``train_ood``, ...).
    steady_state : pandas.DataFrame
        ``dataset, split, model, seed, cell, residual, steps`` for recurrent models (max
        |Δh| of the last forward iteration on each test cell, and iterations used).
    """

    metrics: pd.DataFrame
    per_gene: pd.DataFrame
    predictions: pd.DataFrame
    paired: pd.DataFrame
    counts: dict
    steady_state: pd.DataFrame = None


def _fit_predict(est, Xtr, Ytr, Xval, Yval, Xte):
    t0 = time.perf_counter()
    est.fit(Xtr, Ytr, validation=(Xval, Yval))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = np.asarray(est.predict(Xte), dtype=float)
    return pred, fit_s, time.perf_counter() - t0


def run_benchmark(
    data: TargetExpressionData,
    *,
    models: list[str],
    splits: tuple[str, ...] = SPLITS,
    seeds: tuple[int, ...] = (0, 1, 2),
    n_boot: int = 1000,
    boot_seed: int = 0,
    split_seed: int = 0,
    record_genes: tuple[str, ...] = (),
    ood: dict | None = None,
    model_params: dict | None = None,
    progress: bool | None = None,
) -> BenchmarkOutput:
    """Fit and score every model on every split of one dataset.

    Parameters
    ----------
    data : TargetExpressionData
        Task data (TFs, targets, prior mask).
    models : list of str
        Registered model ids of the task.
    splits : tuple of str
        Split ids (``random``, ``ood``).
    seeds : tuple of int
        Seeds for stochastic models (deterministic models run once).
    n_boot : int
        Bootstrap resamples for CIs.
    boot_seed : int
        Seed of the bootstrap resampling.
    split_seed : int
        Seed of the cell split.
    record_genes : tuple of str
        Targets whose test predictions are kept (observed vs predicted plots).
    ood : dict, optional
        Held-out group of the ``ood`` split (default per dataset).
    model_params : dict, optional
        ``model id -> {parameter: value}`` overriding registry defaults (e.g. shorter
        training in the smoke profile); recorded in the ``params`` column.
    progress : bool, optional
        Show a tqdm bar over fits.

    Returns
    -------
    BenchmarkOutput

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unknown model or split id.
    """
    specs = [get_model(m, TASK) for m in models]
    funcs = [get_metric(m, TASK) for m in metric_ids(TASK)]
    sha = git_sha()
    rows, gene_rows, pred_rows, paired_rows, state_rows = [], [], [], [], []
    model_params = model_params or {}
    n_par = data.parents.sum(axis=0)
    recorded = [g for g in record_genes if g in data.targets]
    rec_idx = [data.targets.index(g) for g in recorded]
    jobs = [(s, spec) for s in splits for spec in specs]
    bar = tqdm(jobs, desc=f"{data.dataset} fits", disable=not show_progress(progress), leave=False)
    preds: dict[tuple[str, str], list[np.ndarray]] = {}
    tests: dict[str, tuple[np.ndarray, pd.Index]] = {}
    counts = dict(data.counts)
    for split, spec in bar:
        if split not in tests:
            labels = make_split(data.adata.obs, split, dataset=data.dataset, seed=split_seed, ood=ood)
            data.adata.obs[f"split_{split}"] = labels
            for part, n in labels.value_counts().items():
                counts[f"{part}_{split}"] = int(n)
        labels = data.adata.obs[f"split_{split}"]
        train, val, test = (labels == "train").to_numpy(), (labels == "val").to_numpy(), (labels == "test").to_numpy()
        Xtr, Ytr, Xval, Yval, Xte = data.X(train), data.Y(train), data.X(val), data.Y(val), data.X(test)
        Yte = data.Y(test).to_numpy(dtype=float)
        tests[split] = (Yte, data.adata.obs_names[test])
        run_seeds = seeds if spec.stochastic else (None,)
        for seed in run_seeds:
            bar.set_postfix(split=split, model=spec.id, seed=seed)
            est = spec.build(data, **model_params.get(spec.id, {}))
            if seed is not None:
                est = clone(est).set_params(random_state=seed)
            pred, fit_s, pred_s = _fit_predict(est, Xtr, Ytr, Xval, Yval, Xte)
            preds.setdefault((split, spec.id), []).append(pred)
            seed_id = int(seed) if seed is not None else int(est.get_params().get("random_state") or 0)
            ci = bootstrap_weights_ci(metric_matrix([f.func for f in funcs], Yte, [pred]), len(Yte),
                                      n_resamples=n_boot, seed=boot_seed)
            params = describe_params(est)
            for k, f in enumerate(funcs):
                rows.append((TASK, data.dataset, split, spec.id, seed_id, f.id, ci.value[k], ci.low[k], ci.high[k],
                             len(Yte), fit_s, pred_s, params, sha))
            r2g = per_gene_r2(Yte, pred)
            gene_rows.append(pd.DataFrame({"dataset": data.dataset, "split": split, "model": spec.id, "seed": seed_id,
                                           "gene": data.targets, "r2": r2g, "n_parents": n_par}))
            if hasattr(est, "last_forward_"):
                state_rows.append(pd.DataFrame({"dataset": data.dataset, "split": split, "model": spec.id,
                                                "seed": seed_id, "cell": tests[split][1],
                                                "residual": est.last_forward_["residual"],
                                                "steps": est.last_forward_["steps"]}))
            for g, j in zip(recorded, rec_idx):
                pred_rows.append(pd.DataFrame({"dataset": data.dataset, "split": split, "model": spec.id,
                                               "seed": seed_id, "cell": tests[split][1], "gene": g,
                                               "observed": Yte[:, j], "predicted": pred[:, j]}))
            log.info("%s %s %s seed=%s: r2_flat=%.3f fit %.1fs", data.dataset, split, spec.id, seed_id,
                     ci.value[0], fit_s)
        if spec.stochastic and len(run_seeds) > 1:
            ci = bootstrap_weights_ci(metric_matrix([f.func for f in funcs], Yte, preds[(split, spec.id)]), len(Yte),
                                      n_resamples=n_boot, seed=boot_seed)
            timing = [r for r in rows if r[1] == data.dataset and r[2] == split and r[3] == spec.id]
            fit_mean = float(np.mean([r[10] for r in timing]))
            pred_mean = float(np.mean([r[11] for r in timing]))
            for k, f in enumerate(funcs):
                rows.append((TASK, data.dataset, split, spec.id, AGGREGATE_SEED, f.id, ci.value[k], ci.low[k],
                             ci.high[k], len(Yte), fit_mean, pred_mean, f'{{"seeds": {list(seeds)}}}', sha))
    metrics = validate_results(pd.DataFrame(rows, columns=list(COLUMNS)), name=f"{data.dataset} results")
    for split in splits:
        paired_rows.extend(_paired(data.dataset, split, specs, funcs, tests[split][0], preds, metrics, n_boot, boot_seed))
    return BenchmarkOutput(
        metrics=metrics,
        per_gene=pd.concat(gene_rows, ignore_index=True),
        predictions=pd.concat(pred_rows, ignore_index=True) if pred_rows else pd.DataFrame(
            columns=["dataset", "split", "model", "seed", "cell", "gene", "observed", "predicted"]),
        paired=pd.DataFrame(paired_rows, columns=["dataset", "split", "model", "reference", "metric", "diff",
                                                  "ci_low", "ci_high", "n_test", "verdict", "best_baseline"]),
        counts=counts,
        steady_state=pd.concat(state_rows, ignore_index=True) if state_rows else pd.DataFrame(
            columns=["dataset", "split", "model", "seed", "cell", "residual", "steps"]),
    )


def _paired(dataset, split, specs, funcs, Yte, preds, metrics, n_boot, boot_seed):
    head = headline(metrics[(metrics["split"] == split) & (metrics["metric"] == "r2_flat")])
    baselines = [s.id for s in specs if s.is_baseline]
    if not baselines:
        return []
    scores = head.set_index("model")["value"]
    best = max(baselines, key=lambda m: scores[m])
    out = []
    for spec in specs:
        refs = [best, *EXTRA_COMPARISONS.get(spec.id, ())]
        for reference in dict.fromkeys(r for r in refs if r != spec.id and (split, r) in preds):
            stat_a = metric_matrix([f.func for f in funcs], Yte, preds[(split, spec.id)])
            stat_b = metric_matrix([f.func for f in funcs], Yte, preds[(split, reference)])

            def diff(w, stat_a=stat_a, stat_b=stat_b):
                return stat_a(w) - stat_b(w)

            ci = bootstrap_weights_ci(diff, len(Yte), n_resamples=n_boot, seed=boot_seed)
            for k, f in enumerate(funcs):
                lo, hi = ci.low[k], ci.high[k]
                if lo > 0 or hi < 0:
                    verdict = "better" if (lo > 0) == f.maximize else "worse"
                else:
                    verdict = "no difference"
                out.append((dataset, split, spec.id, reference, f.id, ci.value[k], lo, hi, len(Yte), verdict,
                            reference == best))
    return out


def save_benchmark(out: BenchmarkOutput, out_dir: str | Path) -> dict[str, Path]:
    """Write the tables of one dataset atomically into ``out_dir``.

    Files: ``metrics.csv`` (results schema), ``per_gene.csv``, ``predictions.csv``,
    ``paired.csv``, ``counts.csv`` and, for recurrent models, ``steady_state.csv``.

    Returns
    -------
    dict
        Table name -> written path.
    """
    out_dir = Path(out_dir)
    written = {
        "metrics": write_table(out.metrics, out_dir / "metrics.csv"),
        "per_gene": write_table(out.per_gene, out_dir / "per_gene.csv", float_format="%.5g"),
        "predictions": write_table(out.predictions, out_dir / "predictions.csv", float_format="%.5g"),
        "paired": write_table(out.paired, out_dir / "paired.csv"),
        "counts": write_table(pd.DataFrame([out.counts]), out_dir / "counts.csv"),
    }
    if out.steady_state is not None and len(out.steady_state):
        written["steady_state"] = write_table(out.steady_state, out_dir / "steady_state.csv")
    return written
