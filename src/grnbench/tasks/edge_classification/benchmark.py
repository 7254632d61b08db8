"""Fit every edge model on every split of one dataset, score test pairs, compare with the controls.

For each split: models fit on training pairs and use validation pairs for early stopping and
for the decision threshold (the one maximising validation F1); test pairs are scored once.
Bootstrap 95% CIs resample test pairs. ``two_tower`` runs with several seeds (its headline row,
``seed = -1``, averages the metric over seeds and carries the CI; single-seed rows carry the
point value only); ``two_tower_ensemble`` averages the
probabilities of those same fitted seeds (no refit). Paired bootstraps compare the two-tower
rows with ``degree`` and ``pair_xgb``; an ablation refits the two-tower with only embeddings or
only expression profiles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from ...metrics import bootstrap_weights_ci
from ...metrics.binary import RankedScores
from ...models.edges import TwoTowerEnsemble
from ...registry import get_metric, get_model, metric_ids
from ...results import AGGREGATE_SEED, COLUMNS, describe_params, git_sha, headline, validate_results, write_table
from .datasets import EdgeData, gene_profiles
from .metrics import THRESHOLD_METRICS
from .splits import make_split, split_summary

__all__ = ["EdgeOutput", "run_benchmark", "save_benchmark", "headline", "tune_two_tower", "AGGREGATE_SEED", "CONTROLS",
           "TUNING_GRID"]

TASK = "edge_classification"
#: The controls every two-tower row is compared with (paired bootstrap).
CONTROLS = ("degree", "pair_xgb")
PAIR = ["tf", "target"]
#: Percentile intervals: BCa's jackknife needs one statistic per left-out pair, O(n²) for 10⁵ test pairs.
CI_METHOD = "percentile"
#: Resamples per vectorised batch (small batches reuse memory; measured faster than 200 on 10⁵ pairs).
BOOT_BATCH = 10


@dataclass
class EdgeOutput:
    """Tables of :func:`run_benchmark` (see :func:`save_benchmark` for the files)."""

    metrics: pd.DataFrame
    splits: pd.DataFrame
    paired: pd.DataFrame
    per_tf: pd.DataFrame
    ablation: pd.DataFrame
    timing: pd.DataFrame
    counts: dict


def _statistic(funcs, y, scores, thresholds):
    """Weighted statistic: every metric averaged over several (score, threshold) predictions.

    Ranking metrics come from one :class:`~grnbench.metrics.binary.RankedScores` per score
    vector (sorted once, not per resample); threshold metrics from the registered functions.
    """
    ranked = [RankedScores(y, s) for s in scores]
    labels = [(s >= t).astype(float) for s, t in zip(scores, thresholds)]

    def stat(w):
        w = np.atleast_2d(w)
        rank_vals = [r.metrics(w) for r in ranked]
        cols = []
        for f in funcs:
            if f.id in THRESHOLD_METRICS:
                vals = [np.atleast_1d(f.func(y, p, weights=w)) for p in labels]
            else:
                vals = [v[f.id] for v in rank_vals]
            cols.append(np.mean(vals, axis=0))
        return np.column_stack(cols)

    return stat


def _per_tf_auroc(pairs: pd.DataFrame, score: np.ndarray, model: str) -> pd.DataFrame:
    from ...metrics.binary import auroc

    rows = []
    for tf, idx in pairs.groupby("tf", sort=False).indices.items():
        y = pairs["label"].to_numpy()[idx]
        if 0 < y.sum() < len(y):
            rows.append({"tf": tf, "model": model, "n_pairs": len(idx), "positives": int(y.sum()),
                         "auroc": auroc(y, score[idx])})
    return pd.DataFrame(rows)


def run_benchmark(data: EdgeData, *, models: list[str], splits=("reference", "heldout_tf", "heldout_target"),
                  seeds=(0, 1, 2, 3, 4), n_boot: int = 1000, boot_seed: int = 0, split_seed: int = 0,
                  ablation_seeds=(0, 1, 2), model_params: dict | None = None) -> EdgeOutput:
    """Run the edge-classification benchmark on one dataset.

    Parameters
    ----------
    data : EdgeData
    models : list of str
        Model ids (``two_tower``, ``two_tower_ensemble``, ``degree``, ``pair_logreg``, ``pair_xgb``, ``random``).
    splits : tuple of str
        Split ids; ``reference`` is replaced by ``random`` for datasets without a shipped split.
    seeds : tuple of int
        Seeds of ``two_tower`` (its ensemble averages these).
    n_boot, boot_seed, split_seed : int
        Bootstrap resamples over test pairs, bootstrap seed, split seed.
    ablation_seeds : tuple of int
        Seeds of the ablation refits (``embedding`` only, ``expression`` only); empty to skip.
    model_params : dict, optional
        ``model id -> parameters``.

    Returns
    -------
    EdgeOutput
    """
    funcs = [get_metric(m, TASK) for m in metric_ids(TASK)]
    sha = git_sha()
    model_params = model_params or {}
    t0 = time.perf_counter()
    data.gene_features = gene_profiles(data.expression, seed=0)
    counts = {**data.counts, "gene_feature_seconds": round(time.perf_counter() - t0, 2),
              "gene_features": data.gene_features.shape[1]}
    rows, split_rows, paired, per_tf, ablation, timing = [], [], [], [], [], []
    for split in splits:
        if split == "reference" and data.reference is None:
            split = "random"
        pairs = make_split(data, split, seed=split_seed)
        split_rows.append(split_summary(pairs).reset_index().assign(dataset=data.dataset, split=split))
        tr, va, te = (pairs[pairs["part"] == p] for p in ("train", "val", "test"))
        xtr, ytr = tr[PAIR], tr["label"].to_numpy()
        validation = (va[PAIR], va["label"].to_numpy())
        xte, yte = te[PAIR], te["label"].to_numpy()
        preds: dict[str, tuple[list, list]] = {}
        members = []

        def record(model_id, seed, fit_s, scores, thresholds, predict_s, params, with_ci=True):
            stat = _statistic(funcs, yte, scores, thresholds)
            if with_ci:
                ci = bootstrap_weights_ci(stat, len(yte), n_resamples=n_boot, seed=boot_seed, method=CI_METHOD,
                                          batch=BOOT_BATCH)
                value, low, high = ci.value, ci.low, ci.high
            else:  # a single seed of a multi-seed model: the point value (its CI is on the seed-average row)
                value = stat(np.ones((1, len(yte))))[0]
                low = high = np.full(len(funcs), np.nan)
            for j, f in enumerate(funcs):
                rows.append((TASK, data.dataset, split, model_id, seed, f.id, value[j], low[j], high[j],
                             len(yte), fit_s, predict_s, params, sha))

        def fit_score(est):
            t = time.perf_counter()
            est.fit(xtr, ytr, validation=validation)
            fit_s = time.perf_counter() - t
            t = time.perf_counter()
            s = est.predict_proba(xte)[:, 1]
            pred_s = time.perf_counter() - t
            timing.append({"dataset": data.dataset, "split": split, "model": model_id, "seed": est.random_state,
                           "train_pairs": len(ytr), "fit_seconds": fit_s, "test_pairs": len(yte),
                           "seconds_per_1000_pairs": 1000 * pred_s / len(yte)})
            return s, fit_s, pred_s

        for model_id in models:
            spec = get_model(model_id, TASK)
            if model_id == "two_tower_ensemble" and len(members) == len(seeds) >= 2:
                ens = TwoTowerEnsemble.from_members(members, validation=validation)
                t = time.perf_counter()
                s = ens.predict_proba(xte)[:, 1]
                pred_s = time.perf_counter() - t
                fit_s = float(sum(r["fit_seconds"] for r in timing if r["split"] == split and r["model"] == "two_tower"))
                timing.append({"dataset": data.dataset, "split": split, "model": model_id, "seed": 0,
                               "train_pairs": len(ytr), "fit_seconds": fit_s, "test_pairs": len(yte),
                               "seconds_per_1000_pairs": 1000 * pred_s / len(yte)})
                record(model_id, 0, fit_s, [s], [ens.threshold_], pred_s, f'{{"members": {list(seeds)}}}')
                preds[model_id] = ([s], [ens.threshold_])
                per_tf.append(_per_tf_auroc(te, s, model_id).assign(dataset=data.dataset, split=split))
                continue
            run_seeds = seeds if spec.stochastic else (0,)
            scores, thresholds = [], []
            for seed in run_seeds:
                est = spec.build(data, **model_params.get(model_id, {}))
                est = clone(est).set_params(random_state=seed) if spec.stochastic else est
                s, fit_s, pred_s = fit_score(est)
                record(model_id, seed, fit_s, [s], [est.threshold_], pred_s, describe_params(est),
                       with_ci=len(run_seeds) == 1)
                scores.append(s)
                thresholds.append(est.threshold_)
                if model_id == "two_tower":
                    members.append(est)
                if seed == run_seeds[0]:
                    per_tf.append(_per_tf_auroc(te, s, model_id).assign(dataset=data.dataset, split=split))
            if len(run_seeds) > 1:
                record(model_id, AGGREGATE_SEED, np.nan, scores, thresholds, np.nan, f'{{"seeds": {list(run_seeds)}}}')
            preds[model_id] = (scores, thresholds)
        for inputs in ("embedding", "expression") if ablation_seeds and "two_tower" in models else ():
            for seed in ablation_seeds:
                model_id = f"two_tower[{inputs}]"
                est = get_model("two_tower", TASK).build(data, **model_params.get("two_tower", {}))
                est = clone(est).set_params(random_state=seed, inputs=inputs)
                s, fit_s, _ = fit_score(est)
                ablation.append(_ablation_row(data.dataset, split, inputs, seed, yte, s, est.threshold_, fit_s))
        if ablation_seeds and "two_tower" in preds:
            for seed, s, t in zip(seeds, *preds["two_tower"]):
                if seed in ablation_seeds:
                    ablation.append(_ablation_row(data.dataset, split, "both", seed, yte, s, t, np.nan))
        paired += _paired(data.dataset, split, funcs, yte, preds, n_boot, boot_seed)
    metrics = validate_results(pd.DataFrame(rows, columns=list(COLUMNS)), name=f"{data.dataset} results")
    return EdgeOutput(metrics=metrics, splits=pd.concat(split_rows, ignore_index=True),
                      paired=pd.DataFrame(paired, columns=["dataset", "split", "model", "reference", "metric", "diff",
                                                           "ci_low", "ci_high", "n_test", "verdict"]),
                      per_tf=pd.concat(per_tf, ignore_index=True) if per_tf else pd.DataFrame(),
                      ablation=pd.DataFrame(ablation), timing=pd.DataFrame(timing), counts=counts)


def _ablation_row(dataset, split, inputs, seed, y, s, threshold, fit_s):
    from ...metrics.binary import auprc_ratio, auroc, f1

    return {"dataset": dataset, "split": split, "inputs": inputs, "seed": seed, "auroc": auroc(y, s),
            "auprc_ratio": auprc_ratio(y, s), "f1": f1(y, (s >= threshold).astype(float)), "fit_seconds": fit_s}


def _paired(dataset, split, funcs, y, preds, n_boot, boot_seed):
    """Two-tower rows against the controls (and the ensemble against the seed average), AUROC and AUPRC."""
    keep = [f for f in funcs if f.id in ("auroc", "auprc")]
    out = []
    comparisons = [(m, c) for m in ("two_tower", "two_tower_ensemble") for c in CONTROLS if m in preds and c in preds]
    if "two_tower" in preds and "two_tower_ensemble" in preds:
        comparisons.append(("two_tower_ensemble", "two_tower"))
    for model, ref in comparisons:
        a = _statistic(keep, y, *preds[model])
        b = _statistic(keep, y, *preds[ref])
        ci = bootstrap_weights_ci(lambda w, a=a, b=b: a(w) - b(w), len(y), n_resamples=n_boot, seed=boot_seed,
                                  method=CI_METHOD, batch=BOOT_BATCH)
        for j, f in enumerate(keep):
            lo, hi = ci.low[j], ci.high[j]
            verdict = "better" if lo > 0 else "worse" if hi < 0 else "no difference"
            out.append((dataset, split, model, ref, f.id, ci.value[j], lo, hi, len(y), verdict))
    return out


def save_benchmark(out: EdgeOutput, out_dir: str | Path) -> dict[str, Path]:
    """Write ``metrics.csv`` (results schema), ``splits.csv``, ``paired.csv``, ``per_tf.csv``,
    ``ablation.csv``, ``timing.csv`` and ``counts.csv`` atomically."""
    out_dir = Path(out_dir)
    tables = {"metrics": out.metrics, "splits": out.splits, "paired": out.paired, "per_tf": out.per_tf,
              "ablation": out.ablation, "timing": out.timing, "counts": pd.DataFrame([out.counts])}
    return {name: write_table(df, out_dir / f"{name}.csv") for name, df in tables.items() if len(df.columns)}


#: Validation grid of the two-tower search: embedding dimension, learning rate, depth (hidden layers), tau.
TUNING_GRID = {"emb_dim": [32, 128], "lr": [1e-3, 3e-3], "hidden": [(256,), (256, 128)], "tau": [0.05, 0.2]}


def tune_two_tower(data: EdgeData, *, split: str = "reference", grid: dict | None = None, seed: int = 0,
                   split_seed: int = 0) -> pd.DataFrame:
    """Grid search of the two-tower hyper-parameters scored on validation pairs only (AUPRC).

    Parameters
    ----------
    data : EdgeData
    split : str
        Split whose training pairs fit and whose validation pairs score (``random`` if no shipped split).
    grid : dict, optional
        Parameter lists (default :data:`TUNING_GRID`).
    seed, split_seed : int

    Returns
    -------
    pandas.DataFrame
        One row per combination: the parameters, ``val_auprc``, ``val_auroc``, ``best_epoch``,
        ``fit_seconds``; sorted by ``val_auprc`` (best first). Test pairs are never scored.
    """
    import itertools

    from ...metrics.binary import auprc, auroc

    if data.gene_features is None:
        data.gene_features = gene_profiles(data.expression, seed=0)
    if split == "reference" and data.reference is None:
        split = "random"
    pairs = make_split(data, split, seed=split_seed)
    tr, va = pairs[pairs["part"] == "train"], pairs[pairs["part"] == "val"]
    grid = grid or TUNING_GRID
    names = sorted(grid)
    rows = []
    for values in itertools.product(*(grid[k] for k in names)):
        params = dict(zip(names, values))
        est = get_model("two_tower", TASK).build(data, **params)
        est.set_params(random_state=seed)
        t = time.perf_counter()
        est.fit(tr[PAIR], tr["label"].to_numpy(), validation=(va[PAIR], va["label"].to_numpy()))
        fit_s = time.perf_counter() - t
        s = est.predict_proba(va[PAIR])[:, 1]
        rows.append({**{k: str(v) if isinstance(v, tuple) else v for k, v in params.items()}, "split": split,
                     "val_auprc": auprc(va["label"].to_numpy(), s), "val_auroc": auroc(va["label"].to_numpy(), s),
                     "best_epoch": est.best_epoch_, "fit_seconds": fit_s})
    return pd.DataFrame(rows).sort_values("val_auprc", ascending=False, kind="stable").reset_index(drop=True)
