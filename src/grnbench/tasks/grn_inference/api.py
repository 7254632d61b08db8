"""Declaration of the ``grn_inference`` task for the engine (:mod:`grnbench.engine`).

Unsupervised: every model is fitted on all cells of a dataset (no labels; split ``all``) and
scores the candidate regulator -> target edges (:mod:`.datasets`); the scores are compared with
the ground-truth network. The bootstrap resamples **target genes** (all candidate edges of a
drawn target, as often as it is drawn), so the CIs reflect how much the scores depend on which
genes happen to be in the network; percentile intervals. Without validation units every
non-control model is compared (paired bootstrap) with every control, and
``catran_interventional`` also with ``catran``.

Extras (hooks): the ``export_k`` highest-scoring edges of each model's first seed
(``top_edges``: source, target, score, rank, in_truth), as the CaTran paper exports its graph.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...engine import Context, Evaluation, Fold, Task
from ...metrics.network import EdgeRanking, top_k_size
from .datasets import EdgeTruth

__all__ = ["GRNInference", "TASK"]


class GRNInference(Task):
    """Which regulator -> target edges does a model rank first, and are they in the known network?"""

    id = "grn_inference"
    splits = ("all",)
    fixed_splits = ("all",)
    primary_metric = "auprc_ratio"
    ci_method = "percentile"
    boot_batch = 50
    ci_per_seed = False
    options = {"export_k": 1000}
    unit_options = ("export_k",)

    def folds(self, ctx: Context, split: str) -> list[Fold]:
        data = ctx.data
        cand = data.candidates
        unit = pd.Index(data.nodes).get_indexer(cand["target"])
        truth = EdgeTruth(labels=cand["label"].to_numpy(), unit=unit, targets=list(data.nodes),
                          k=top_k_size(len(cand), data.top_k))
        return [Fold(train=(data.expression, None), val=None, x_test=cand[["source", "target"]], y_test=truth,
                     test_ids=pd.Index(data.nodes, name="target"), n_train=data.expression.shape[0])]

    def fit(self, ctx: Context, est, fold: Fold) -> None:
        est.fit(fold.train[0], interventions=ctx.data.interventions.to_numpy(),
                perturbation=ctx.data.perturbation.to_numpy())

    def evaluate(self, ctx, est, fold, x=None) -> list[Evaluation]:
        t0 = time.perf_counter()
        s = np.asarray(est.predict(fold.x_test if x is None else x), dtype=float)
        return [Evaluation(s, time.perf_counter() - t0)]

    def pool(self, parts):
        return parts[0]

    def statistic(self, funcs, y_true: EdgeTruth, predictions):
        rankings = [EdgeRanking(y_true.labels, p, y_true.unit, y_true.k) for p in predictions]

        def stat(w):
            vals = [r.metrics(w) for r in rankings]
            return np.column_stack([np.mean([v[f.id] for v in vals], axis=0) for f in funcs])

        return stat

    def unit_state(self, ctx, spec, seed, est, fold) -> dict:
        return {"top_edges": est.edges(int(ctx.options["export_k"]))}

    def on_fit(self, ctx, spec, seed, fits, pooled, first_seed) -> None:
        if not first_seed:
            return
        top = fits[0].state["top_edges"]
        truth = pd.MultiIndex.from_frame(ctx.data.truth[["source", "target"]])
        top = top.assign(rank=np.arange(1, len(top) + 1),
                         in_truth=pd.MultiIndex.from_frame(top[["source", "target"]]).isin(truth).astype(int))
        ctx.add("top_edges", top.assign(dataset=ctx.dataset, model=spec.id, seed=seed))


TASK = GRNInference()
