"""Declaration of the ``edge_classification`` task for the engine (:mod:`grnbench.engine`).

A model scores TF -> target *pair tables* (``tf, target``; labels 0/1). Splits
(:func:`~.splits.make_split`): ``reference`` (the shipped GENELink/bridge-grn split; ``random``
re-implements its protocol where nothing is shipped), ``heldout_tf``, ``heldout_target`` and
``c3`` (neither the TF nor the target of a test pair is in any training pair).
Models fit on training pairs, use validation pairs for early stopping and for the decision
threshold (maximum validation F1), and score the test pairs once. Ranking metrics score the
probabilities, threshold metrics the 0/1 predictions at that threshold. Bootstrap CIs resample
test pairs with percentile intervals (BCa's jackknife is O(n²) for 10⁵ pairs); a stochastic
model's single-seed rows carry the point value (the CI is on the seed-average row).

Extras (hooks): label-free gene features (before the first split), the pairs and positive rate
of every part (``splits``), and the per-TF AUROC of each model's first seed (``per_tf``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...engine import Context, Evaluation, Fold, Task
from ...metrics.binary import RankedScores, auroc, best_f1_threshold
from .datasets import gene_profiles
from .metrics import THRESHOLD_METRICS
from .estimators import check_pairs
from .splits import make_split, split_summary

__all__ = ["EdgeClassification", "TASK", "PAIR"]

PAIR = ["tf", "target"]


def pair_statistic(funcs, y, scores, thresholds):
    """Weighted statistic: every metric averaged over several (score, threshold) predictions.

    Ranking metrics come from one :class:`~grnbench.metrics.binary.RankedScores` per score
    vector (sorted once, not per resample); threshold metrics from the registered functions.

    Parameters
    ----------
    funcs : sequence of MetricSpec
    y : ndarray, shape (n_pairs,)
        0/1 labels.
    scores : sequence of ndarray, shape (n_pairs,)
        Probabilities of one model (one per seed).
    thresholds : sequence of float
        The decision threshold of each score vector.

    Returns
    -------
    callable
        ``statistic(weights (b, n_pairs)) -> (b, len(funcs))``.
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


class EdgeClassification(Task):
    """Is TF -> target a regulatory edge? Supervised link prediction with leakage-aware splits."""

    id = "edge_classification"
    splits = ("reference", "random", "heldout_tf", "heldout_target", "c3")
    default_splits = ("reference", "heldout_tf", "heldout_target", "c3")
    fixed_splits = ("reference",)
    primary_metric = "auroc"
    ci_method = "percentile"
    boot_batch = 10  # resamples per vectorised batch: small batches reuse memory (measured faster on 10⁵ pairs)
    ci_per_seed = False
    paired_metrics = ("auroc", "auprc")
    options = {}
    unit_options = ()

    def on_start(self, ctx: Context) -> None:
        t0 = time.perf_counter()
        if ctx.data.gene_features is None:
            ctx.data.gene_features = gene_profiles(ctx.data.expression, seed=0)
        ctx.counts["gene_feature_seconds"] = round(time.perf_counter() - t0, 2)
        ctx.counts["gene_features"] = ctx.data.gene_features.shape[1]

    def folds(self, ctx: Context, split: str) -> list[Fold]:
        pairs = make_split(ctx.data, split, seed=ctx.split_seed)
        tr, va, te = (pairs[pairs["part"] == p] for p in ("train", "val", "test"))
        return [Fold(train=(tr[PAIR], tr["label"].to_numpy()), val=(va[PAIR], va["label"].to_numpy()),
                     x_test=te[PAIR], y_test=te["label"].to_numpy(), test_ids=pd.Index(te["tf"] + "->" + te["target"]),
                     n_train=len(tr), info={"pairs": pairs, "test": te}, y_val=va["label"].to_numpy())]

    def split_name(self, ctx: Context, split: str) -> str:
        return "random" if split == "reference" and ctx.data.reference is None else split

    def on_split(self, ctx: Context) -> None:
        summary = split_summary(ctx.folds[0].info["pairs"]).reset_index()
        ctx.add("splits", summary.assign(dataset=ctx.dataset, split=ctx.split))

    def evaluate(self, ctx, est, fold, x=None) -> list[Evaluation]:
        t0 = time.perf_counter()
        s = est.predict_proba(fold.x_test if x is None else x)[:, 1]
        return [Evaluation((s, float(est.threshold_)), time.perf_counter() - t0)]

    def statistic(self, funcs, y_true, predictions):
        return pair_statistic(funcs, y_true, [p[0] for p in predictions], [p[1] for p in predictions])

    def ensemble(self, ctx, spec, members, fold) -> list[Evaluation]:
        """Mean member probability; threshold at the best F1 of that mean on the validation pairs.

        The same numbers as :meth:`TwoTowerEnsemble.from_members` (``predict_proba`` is the mean of
        the members'), from the members' stored test and validation scores.
        """
        test = np.mean([m.evaluations[0].prediction[0] for m in members], axis=0)
        val = np.mean([m.member_val[0].prediction[0] for m in members], axis=0)
        _, yv = check_pairs(fold.val[0], fold.val[1], name="validation pairs")
        return [Evaluation((test, float(best_f1_threshold(yv, val))), 0.0)]

    def on_fit(self, ctx, spec, seed, fits, pooled, first_seed) -> None:
        if not first_seed:
            return
        te, (score, _) = fits[0].fold.info["test"], pooled[None]
        rows = []
        for tf, idx in te.groupby("tf", sort=False).indices.items():
            y = te["label"].to_numpy()[idx]
            if 0 < y.sum() < len(y):
                rows.append({"tf": tf, "model": spec.id, "n_pairs": len(idx), "positives": int(y.sum()),
                             "auroc": auroc(y, score[idx])})
        ctx.add("per_tf", pd.DataFrame(rows).assign(dataset=ctx.dataset, split=ctx.split))


TASK = EdgeClassification()
