"""Declaration of the ``cell_type_markers`` task for the engine (:mod:`grnbench.engine`).

A model is a gene *ranking* (``fit(X, y, validation)`` sets ``ranking_``). Each split
(:func:`~.splits.make_split`: ``capped``, or ``ood`` with a condition held out) is scored so:

1. candidate genes = the ``n_hvg`` most variable genes on the *training* cells;
2. the ranking is fitted on training cells (validation cells for tuning);
3. for each k in ``ks`` (and all candidates) one fixed downstream classifier — standardised
   multinomial logistic regression — is trained on the top-k genes of the training cells and
   scored on the test cells (the engine's variants, recorded in column ``k``).

Extras (hooks): the top genes (``selected``), overlap with known PBMC markers (``markers``), the
seed's masking curve for rankings that are classifiers (``masking``: lowest-ranked genes set
to their training mean first, against random orders), a dot plot of the top genes of the
non-control rankings (``dotplot``), and the validation score of every grid point of the tuned
rankings (``tuning``, first seed).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

from ...engine import Context, Evaluation, Fold, Task
from .markers import marker_overlap
from .splits import make_split

__all__ = ["CellTypeMarkers", "TASK", "KS", "downstream_classifier", "candidate_genes"]

#: Numbers of genes kept (plus all candidates).
KS = (8, 16, 32, 64, 128, 256)


def downstream_classifier():
    """The fixed classifier every ranking is scored with (standardised multinomial logistic regression)."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def candidate_genes(x_train: pd.DataFrame, n_hvg: int) -> list[str]:
    """The ``n_hvg`` genes with the highest variance on the training cells (stable order).

    Parameters
    ----------
    x_train : pandas.DataFrame, shape (n_cells, n_genes)
        Training cells, log-normalised expression.
    n_hvg : int
        Number of candidates (genes with zero variance are never candidates).
    """
    var = x_train.var(axis=0).sort_values(ascending=False, kind="stable")
    var = var[var > 0]
    return list(var.index[:n_hvg])


def masking_curve(est, ranking, x_test, y_test, train_mean, group_size, rng, n_random) -> pd.DataFrame:
    """The seed's masking evaluation: accuracy while the lowest-ranked genes are masked.

    Parameters
    ----------
    est : fitted classifier with ``predict``
    ranking : list of str
        Genes, most important first.
    x_test : pandas.DataFrame, shape (n_cells, n_genes)
    y_test : ndarray, shape (n_cells,)
    train_mean : pandas.Series
        Value of a masked gene (its training mean).
    group_size : int
        Genes masked per step.
    rng : numpy.random.Generator
        Seeded generator of the random orders.
    n_random : int
        Random orders averaged for the control curve.

    Returns
    -------
    pandas.DataFrame
        ``order`` (ordered/random), ``n_masked``, ``n_kept``, ``accuracy``, ``balanced_accuracy``.
    """
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
    return pd.DataFrame(rows).groupby(["order", "n_masked", "n_kept"], as_index=False).mean()


def _dotplot(x: pd.DataFrame, labels: np.ndarray, genes: list[str]) -> pd.DataFrame:
    sub = x[genes]
    mean = sub.groupby(labels).mean()
    frac = (sub > 0).groupby(labels).mean()
    out = mean.stack().rename("mean_expression").to_frame().join(frac.stack().rename("fraction_expressing"))
    return out.reset_index(names=["cell_type", "gene"])


class CellTypeMarkers(Task):
    """Which genes separate cell types? Gene rankings scored by one fixed classifier on their top-k genes."""

    id = "cell_type_markers"
    splits = ("capped", "ood")
    default_splits = ("capped",)
    primary_metric = "accuracy"
    variant_column = "k"
    #: ``ks``: genes kept; ``n_hvg``: candidate genes; ``paired_ks``: k at which rankings are compared
    #: (and known markers counted); ``random_orders``, ``group_fraction``: the masking curve.
    options = {"ks": KS, "n_hvg": 2000, "paired_ks": (8, 16, 32), "random_orders": 5, "group_fraction": 0.05}
    unit_options = ("random_orders", "group_fraction")  # the masking curve; ks and n_hvg act through the folds

    def folds(self, ctx: Context, split: str) -> list[Fold]:
        data = ctx.data
        lab = make_split(data.adata.obs, split, dataset=data.dataset, seed=ctx.split_seed, caps=data.caps,
                         ood=data.ood)
        tr, va, te = ((lab == p).to_numpy() for p in ("train", "val", "test"))
        genes = candidate_genes(data.X(tr), ctx.options["n_hvg"])
        xtr, xva, xte = data.X(tr, genes), data.X(va, genes), data.X(te, genes)
        ytr, yva, yte = data.y(tr), data.y(va), data.y(te)
        enc = LabelEncoder().fit(np.concatenate([ytr, yva, yte]))
        ks = ctx.options["ks"]
        info = {"genes": genes, "encoder": enc, "labels": yte, "train_mean": xtr.mean(axis=0),
                "k_list": [k for k in ks if k < len(genes)] + [len(genes)],
                "parts": {p: int((lab == p).sum()) for p in ("train", "val", "test", "drop")},
                "dropped_classes": ", ".join(lab.attrs.get("dropped_classes", [])) or "none"}
        return [Fold(train=(xtr, ytr), val=(xva, yva), x_test=xte, y_test=enc.transform(yte),
                     test_ids=xte.index, n_train=len(ytr), info=info, y_val=enc.transform(yva))]

    def fold_counts(self, ctx, split, folds) -> dict:
        info = folds[0].info
        return {**info["parts"], "dropped_classes": info["dropped_classes"], "candidate_genes": len(info["genes"])}

    def evaluate(self, ctx, est, fold, x=None) -> list[Evaluation]:
        ranking = list(est.ranking_)
        (xtr, ytr), enc = fold.train, fold.info["encoder"]
        xte = fold.x_test if x is None else x
        out = []
        for k in fold.info["k_list"]:
            t0 = time.perf_counter()
            clf = downstream_classifier().fit(xtr[ranking[:k]], ytr)
            pred = enc.transform(clf.predict(xte[ranking[:k]]))
            out.append(Evaluation(pred, time.perf_counter() - t0, variant=k))
        return out

    def paired_variants(self, ctx, variants) -> list:
        return [k for k in ctx.options["paired_ks"] if k in variants]

    def unit_state(self, ctx, spec, seed, est, fold) -> dict:
        ranking, genes = list(est.ranking_), fold.info["genes"]
        state = {"ranking": ranking, "tuning": getattr(est, "tuning_", None), "masking": None}
        if hasattr(est, "predict"):
            group = max(1, int(round(ctx.options["group_fraction"] * len(genes))))
            state["masking"] = masking_curve(est, ranking, fold.x_test, fold.info["labels"], fold.info["train_mean"],
                                             group, np.random.default_rng(seed), ctx.options["random_orders"])
        return state

    def on_fit(self, ctx, spec, seed, fits, pooled, first_seed) -> None:
        state, fold = fits[0].state, fits[0].fold
        ranking, genes = state["ranking"], fold.info["genes"]
        key = {"dataset": ctx.dataset, "split": ctx.split, "model": spec.id, "seed": seed}
        ctx.add("selected", pd.DataFrame({**key, "rank": np.arange(1, min(50, len(ranking)) + 1),
                                          "gene": ranking[:50]}))
        for k in ctx.options["paired_ks"]:
            found, present = marker_overlap(ranking, genes, k)
            ctx.add("markers", [{**key, "k": k, "markers_found": found, "markers_present": present}])
        labels = fold.info["labels"]
        if state["masking"] is not None:
            ctx.add("masking", state["masking"].assign(dataset=ctx.dataset, split=ctx.split, model=spec.id, seed=seed))
        if first_seed and state["tuning"]:  # validation score of every grid point
            grid = pd.DataFrame(state["tuning"]).map(lambda v: str(tuple(v)) if isinstance(v, (list, tuple)) else v)
            ctx.add("tuning", grid.assign(**key))
        if not spec.is_baseline and first_seed:
            dots = _dotplot(fold.x_test, labels, ranking[:16])
            ctx.add("dotplot", dots.assign(dataset=ctx.dataset, split=ctx.split, model=spec.id))


TASK = CellTypeMarkers()
