"""Score gene rankings: keep each ranking's top-k genes and retrain one fixed classifier.

For every split, dataset and ranking (model):

1. candidate genes = the ``n_hvg`` most variable genes on the *training* cells;
2. the ranking is fitted on training cells (validation cells for tuning);
3. for each k in ``ks`` (and all candidates) the same downstream classifier — standardised
   multinomial logistic regression — is trained on the top-k genes of the training cells and
   scored on the test cells (accuracy, balanced accuracy, macro-F1; bootstrap 95% CI over test
   cells; ``k`` recorded in the results table);
4. for rankings that are classifiers themselves (``selector_mlp``, ``linear_svm``) the seed's
   masking curve: the lowest-ranked genes are masked first (set to their training mean), in
   steps of ``group_size``, against random orders averaged over several draws;
5. the overlap of the top genes with a cited PBMC marker list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

from ...metrics import bootstrap_weights_ci, metric_matrix
from ...registry import get_metric, get_model, metric_ids
from ...results import AGGREGATE_SEED, COLUMNS, describe_params, git_sha, headline, validate_results, write_table
from .datasets import CellTypeData
from .markers import marker_overlap
from .splits import make_split

__all__ = ["KS", "MarkerOutput", "run_benchmark", "save_benchmark", "headline", "AGGREGATE_SEED"]

TASK = "cell_type_markers"
KS = (8, 16, 32, 64, 128, 256)
#: Rankings compared with SelectorMLP in the verdict.
LINEAR_AND_MARKERS = ("linear_svm", "logreg_l1", "wilcoxon_markers")


@dataclass
class MarkerOutput:
    """Tables of :func:`run_benchmark` (see :func:`save_benchmark` for the files)."""

    metrics: pd.DataFrame
    masking: pd.DataFrame
    markers: pd.DataFrame
    selected: pd.DataFrame
    dotplot: pd.DataFrame
    paired: pd.DataFrame
    counts: dict


def downstream_classifier():
    """The fixed classifier every ranking is scored with (standardised multinomial logistic regression)."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def candidate_genes(x_train: pd.DataFrame, n_hvg: int) -> list[str]:
    """The ``n_hvg`` genes with the highest variance on the training cells (stable order)."""
    var = x_train.var(axis=0).sort_values(ascending=False, kind="stable")
    var = var[var > 0]
    return list(var.index[:n_hvg])


def _masking(est, ranking, x_test, y_test, train_mean, group_size, rng, n_random):
    rows = []
    g = len(ranking)
    col = {gene: j for j, gene in enumerate(x_test.columns)}
    x_np = x_test.to_numpy(dtype=float)
    fill = train_mean.reindex(x_test.columns).to_numpy(dtype=float)
    steps = list(range(0, g, group_size))
    orders = [("ordered", list(ranking))] + [("random", list(rng.permutation(ranking))) for _ in range(n_random)]
    for kind, order in orders:
        for n_masked in steps:
            idx = [col[gene] for gene in order[g - n_masked:]] if n_masked else []
            xm = x_np.copy()
            xm[:, idx] = fill[idx]
            pred = est.predict(pd.DataFrame(xm, index=x_test.index, columns=x_test.columns))
            correct = pred == y_test
            recall = pd.Series(correct).groupby(y_test).mean()
            rows.append({"order": kind, "n_masked": n_masked, "n_kept": g - n_masked,
                         "accuracy": float(correct.mean()), "balanced_accuracy": float(recall.mean())})
    df = pd.DataFrame(rows)
    return df.groupby(["order", "n_masked", "n_kept"], as_index=False).mean()


def _dotplot(x: pd.DataFrame, labels: np.ndarray, genes: list[str]) -> pd.DataFrame:
    sub = x[genes]
    mean = sub.groupby(labels).mean()
    frac = (sub > 0).groupby(labels).mean()
    out = mean.stack().rename("mean_expression").to_frame().join(frac.stack().rename("fraction_expressing"))
    return out.reset_index(names=["cell_type", "gene"])


def run_benchmark(data: CellTypeData, *, models: list[str], splits=("capped",), seeds=(0, 1, 2), random_orders: int = 5,
                  ks=KS, n_hvg: int = 2000, n_boot: int = 1000, boot_seed: int = 0, split_seed: int = 0,
                  group_fraction: float = 0.05, model_params: dict | None = None,
                  paired_ks=(8, 16, 32)) -> MarkerOutput:
    """Fit every ranking on every split and score its top-k genes.

    Parameters
    ----------
    data : CellTypeData
    models : list of str
        Ranking ids (``selector_mlp``, ``linear_svm``, ``logreg_l1``, ``wilcoxon_markers``, ``random``).
    splits : tuple of str
        ``capped`` and, for Kang, ``ood``.
    seeds : tuple of int
        Seeds of ``selector_mlp``.
    random_orders : int
        Number of random gene orders (seeds 0 .. random_orders-1).
    ks : tuple of int
        Numbers of genes kept (plus all candidates).
    n_hvg : int
        Candidate genes (most variable on training cells).
    n_boot, boot_seed, split_seed : int
        Bootstrap and split seeds.
    group_fraction : float
        Masking step as a share of the candidate genes (the seed's ``group_size``).
    model_params : dict, optional
        ``model id -> parameters``.
    paired_ks : tuple of int
        Small k at which SelectorMLP is compared with the best linear/marker ranking and with
        random genes (paired bootstrap), and at which the known-marker overlap is counted.

    Returns
    -------
    MarkerOutput
    """
    funcs = [get_metric(m, TASK) for m in metric_ids(TASK)]
    sha = git_sha()
    model_params = model_params or {}
    rows, masks, marker_rows, selected, dots, paired = [], [], [], [], [], []
    counts = {"dataset": data.dataset, "cells": int(data.adata.n_obs), "genes": int(data.adata.n_vars),
              "classes": int(data.labels.nunique())}
    for split in splits:
        lab = make_split(data.adata.obs, split, dataset=data.dataset, seed=split_seed)
        tr, va, te = ((lab == p).to_numpy() for p in ("train", "val", "test"))
        for part in ("train", "val", "test", "drop"):
            counts[f"{part}_{split}"] = int((lab == part).sum())
        counts[f"dropped_classes_{split}"] = ", ".join(lab.attrs.get("dropped_classes", [])) or "none"
        genes = candidate_genes(data.X(tr), n_hvg)
        counts[f"candidate_genes_{split}"] = len(genes)
        xtr, xva, xte = data.X(tr, genes), data.X(va, genes), data.X(te, genes)
        ytr, yva, yte = data.y(tr), data.y(va), data.y(te)
        enc = LabelEncoder().fit(np.concatenate([ytr, yte]))
        yte_codes = enc.transform(yte)
        train_mean = xtr.mean(axis=0)
        k_list = [k for k in ks if k < len(genes)] + [len(genes)]
        preds: dict[tuple[str, int], list[np.ndarray]] = {}
        for model_id in models:
            spec = get_model(model_id, TASK)
            run_seeds = tuple(range(random_orders)) if model_id == "random" else (seeds if spec.stochastic else (0,))
            for seed in run_seeds:
                est = spec.build(data, **model_params.get(model_id, {}))
                if spec.stochastic:
                    est = clone(est).set_params(random_state=seed)
                t0 = time.perf_counter()
                est.fit(xtr, ytr, validation=(xva, yva))
                fit_s = time.perf_counter() - t0
                ranking = list(est.ranking_)
                params = describe_params(est)
                selected.append(pd.DataFrame({"dataset": data.dataset, "split": split, "model": model_id, "seed": seed,
                                              "rank": np.arange(1, min(50, len(ranking)) + 1), "gene": ranking[:50]}))
                for k in k_list:
                    t0 = time.perf_counter()
                    clf = downstream_classifier().fit(xtr[ranking[:k]], ytr)
                    pred = enc.transform(clf.predict(xte[ranking[:k]]))
                    clf_s = time.perf_counter() - t0
                    preds.setdefault((model_id, k), []).append(pred)
                    ci = bootstrap_weights_ci(metric_matrix([f.func for f in funcs], yte_codes, [pred]), len(yte_codes),
                                              n_resamples=n_boot, seed=boot_seed)
                    for j, f in enumerate(funcs):
                        rows.append((TASK, data.dataset, split, model_id, seed, f.id, ci.value[j], ci.low[j], ci.high[j],
                                     len(yte), fit_s, clf_s, params, sha, k))
                for k in paired_ks:
                    found, present = marker_overlap(ranking, genes, k)
                    marker_rows.append({"dataset": data.dataset, "split": split, "model": model_id, "seed": seed,
                                        "k": k, "markers_found": found, "markers_present": present})
                if hasattr(est, "predict") and model_id in ("selector_mlp", "linear_svm"):
                    group = max(1, int(round(group_fraction * len(genes))))
                    curve = _masking(est, ranking, xte, yte, train_mean, group, np.random.default_rng(seed),
                                     random_orders)
                    masks.append(curve.assign(dataset=data.dataset, split=split, model=model_id, seed=seed))
                if model_id == "selector_mlp" and seed == run_seeds[0]:
                    dots.append(_dotplot(xte, yte, ranking[:16]).assign(dataset=data.dataset, split=split,
                                                                        model=model_id))
            if spec.stochastic and len(run_seeds) > 1:
                for k in k_list:
                    ci = bootstrap_weights_ci(metric_matrix([f.func for f in funcs], yte_codes, preds[(model_id, k)]),
                                              len(yte_codes), n_resamples=n_boot, seed=boot_seed)
                    for j, f in enumerate(funcs):
                        rows.append((TASK, data.dataset, split, model_id, AGGREGATE_SEED, f.id, ci.value[j],
                                     ci.low[j], ci.high[j], len(yte), np.nan, np.nan,
                                     f'{{"seeds": {list(run_seeds)}}}', sha, k))
        paired += _paired(data.dataset, split, funcs, yte_codes, preds, [k for k in paired_ks if k in k_list],
                          models, n_boot, boot_seed)
    metrics = pd.DataFrame(rows, columns=[*COLUMNS, "k"])
    metrics = validate_results(metrics, name=f"{data.dataset} results")
    empty = pd.DataFrame()
    return MarkerOutput(metrics=metrics, masking=pd.concat(masks, ignore_index=True) if masks else empty,
                        markers=pd.DataFrame(marker_rows), selected=pd.concat(selected, ignore_index=True),
                        dotplot=pd.concat(dots, ignore_index=True) if dots else empty,
                        paired=pd.DataFrame(paired, columns=["dataset", "split", "k", "model", "reference", "metric",
                                                             "diff", "ci_low", "ci_high", "n_test", "verdict"]),
                        counts=counts)


def _paired(dataset, split, funcs, y, preds, ks, models, n_boot, boot_seed):
    """SelectorMLP against the best linear/marker ranking and against random, at small k."""
    out = []
    if "selector_mlp" not in models:
        return out
    acc = get_metric("accuracy", TASK).func
    for k in ks:
        refs = [m for m in LINEAR_AND_MARKERS if (m, k) in preds]
        if refs:
            best = max(refs, key=lambda m: np.mean([acc(y, p) for p in preds[(m, k)]]))
            refs = [best]
        if ("random", k) in preds:
            refs.append("random")
        for ref in refs:
            a = metric_matrix([f.func for f in funcs], y, preds[("selector_mlp", k)])
            b = metric_matrix([f.func for f in funcs], y, preds[(ref, k)])
            ci = bootstrap_weights_ci(lambda w, a=a, b=b: a(w) - b(w), len(y), n_resamples=n_boot, seed=boot_seed)
            for j, f in enumerate(funcs):
                lo, hi = ci.low[j], ci.high[j]
                verdict = "better" if lo > 0 else "worse" if hi < 0 else "no difference"
                out.append((dataset, split, k, "selector_mlp", ref, f.id, ci.value[j], lo, hi, len(y), verdict))
    return out


def save_benchmark(out: MarkerOutput, out_dir: str | Path) -> dict[str, Path]:
    """Write ``metrics.csv`` (results schema + ``k``), ``masking.csv``, ``markers.csv``,
    ``selected.csv``, ``dotplot.csv``, ``paired.csv`` and ``counts.csv`` atomically."""
    out_dir = Path(out_dir)
    tables = {"metrics": out.metrics, "masking": out.masking, "markers": out.markers, "selected": out.selected,
              "dotplot": out.dotplot, "paired": out.paired, "counts": pd.DataFrame([out.counts])}
    return {name: write_table(df, out_dir / f"{name}.csv") for name, df in tables.items() if len(df.columns)}
