"""Declaration of the ``target_expression`` task for the engine (:mod:`grnbench.engine`).

Data: :class:`~.datasets.TargetExpressionData` (TF expression ``X`` -> target expression ``Y``,
log scale, with the prior mask) or, for the LEMBAS ligand screen,
:class:`~.ligand_screen.LigandScreenData` (ligand inputs -> TF activities).

Splits (cells labelled ``train``/``val``/``test`` by :func:`~.splits.make_split`):
``random``, ``ood`` (a held-out stage, condition or cell type from the dataset card), and
``cv28`` (the LEMBAS paper's 28-fold cross-validation of the ligand screen; predictions
pooled over folds). Models fit on ``train`` with ``validation=(X_val, Y_val)`` and predict
``test``; the primary metric is ``r2_flat``.

Extras (hooks): per-gene test R² (``per_gene``), observed vs predicted for chosen genes
(``predictions``), per-sample Pearson r across targets (``per_sample``, ligand screen) and the
forward-pass residuals of recurrent models (``steady_state``).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ...engine import Context, Fold, Task
from ...errors import UnknownIdError
from ...metrics import per_gene_r2
from .splits import make_split

__all__ = ["TargetExpression", "TASK"]


class TargetExpression(Task):
    """TF expression -> target-gene expression (the LEMBAS-RNN benchmark)."""

    id = "target_expression"
    splits = ("random", "ood", "cv28")
    default_splits = ("random", "ood")
    fixed_splits = ("cv28",)
    primary_metric = "r2_flat"
    compare_baselines = True
    #: ``record_genes``: targets whose test predictions are kept ("all" keeps every target);
    #: ``ood``: override of the held-out group ``{"obs_key": ..., "test": [...]}``;
    #: ``cv_folds``: subset of the ligand screen's fold ids; ``per_sample``: Pearson r per test unit;
    #: ``target_chunk``: fit per-target models (registry ``per_target``) in parts of this many
    #: targets, each part its own unit (:meth:`parts`; None: one unit per fit).
    options = {"record_genes": (), "ood": None, "cv_folds": None, "per_sample": False, "target_chunk": None}
    unit_options = ()  # ood and cv_folds act through the folds, target_chunk through the parts; the others only on
    # the pooled predictions

    def parts(self, data, spec, options) -> list | None:
        """Target parts ``(start, stop)`` of ``options["target_chunk"]`` targets for a per-target model.

        A per-target model (registry ``per_target=True``: each target's fit sees only its own
        column) gives the same predictions fitted on all targets at once or in parts, with two
        exceptions: a model tuned on a sample of targets (``xgbrf``) tunes on each part's own
        sample, and the seed's batched XGBRF (``xgbrf_seed``, batches of 1,000 targets) draws its
        trees per batch, so it matches the whole fit only when ``target_chunk`` is a multiple of
        its batch size (as 1,000 is). Other models, the ligand screen and ``target_chunk=None``
        run as one unit.
        """
        chunk = options.get("target_chunk")
        targets = getattr(data, "targets", None)
        if not chunk or not spec.per_target or targets is None or len(targets) <= chunk:
            return None
        if int(chunk) < 1:
            raise UnknownIdError(f"target_chunk must be a positive number of targets; got {chunk!r}")
        n = len(targets)
        return [(start, min(start + int(chunk), n)) for start in range(0, n, int(chunk))]

    def part(self, data, fold: Fold, part) -> tuple:
        """The data (``targets`` and prior mask ``parents``) and fold (``Y`` columns) of targets ``start:stop``."""
        start, stop = part
        sub = copy.copy(data)
        sub.targets = list(data.targets[start:stop])
        sub.parents = data.parents[:, start:stop]
        cols = slice(start, stop)

        def y(frame):
            return None if frame is None else frame.iloc[:, cols]

        return sub, Fold(train=(fold.train[0], y(fold.train[1])),
                         val=None if fold.val is None else (fold.val[0], y(fold.val[1])), x_test=fold.x_test,
                         y_test=fold.y_test[:, cols], test_ids=fold.test_ids, n_train=fold.n_train, info=fold.info,
                         y_val=None if fold.y_val is None else fold.y_val[:, cols])

    def folds(self, ctx: Context, split: str) -> list[Fold]:
        data = ctx.data
        if split == "cv28":
            return self._cv_folds(ctx)
        if not hasattr(data, "adata"):
            raise UnknownIdError(f"{data.dataset}: split {split!r} needs cell annotations; this dataset has only 'cv28'")
        labels = make_split(data.adata.obs, split, dataset=data.dataset, seed=ctx.split_seed,
                            ood=ctx.options["ood"] or getattr(data, "ood", None))
        data.adata.obs[f"split_{split}"] = labels
        train, val, test = ((labels == p).to_numpy() for p in ("train", "val", "test"))
        return [Fold(train=(data.X(train), data.Y(train)), val=(data.X(val), data.Y(val)), x_test=data.X(test),
                     y_test=data.Y(test).to_numpy(dtype=float), test_ids=data.adata.obs_names[test],
                     n_train=int(train.sum()), info={"parts": labels.value_counts().to_dict()},
                     y_val=data.Y(val).to_numpy(dtype=float))]

    def _cv_folds(self, ctx: Context) -> list[Fold]:
        data = ctx.data
        if getattr(data, "folds", None) is None:
            raise UnknownIdError(f"{data.dataset}: split 'cv28' is defined only for the LEMBAS ligand screen")
        ids = sorted(data.folds["fold"].unique())
        chosen = ids if ctx.options["cv_folds"] is None else list(ctx.options["cv_folds"])
        absent = sorted(set(chosen) - set(ids))
        if absent:
            raise UnknownIdError(f"{data.dataset}: fold id(s) {absent} not in the fold table (1..{max(ids)})")
        out = []
        for fold in chosen:
            test = list(data.folds.loc[data.folds["fold"] == fold, "condition"])
            train = [c for c in data.inputs.index if c not in test]
            out.append(Fold(train=(data.inputs.loc[train], data.outputs.loc[train]), val=None,
                            x_test=data.inputs.loc[test], y_test=data.outputs.loc[test].to_numpy(dtype=float),
                            test_ids=pd.Index(test), n_train=len(train), info={"fold": int(fold)}))
        return out

    def fold_counts(self, ctx: Context, split: str, folds: list[Fold]) -> dict:
        if split == "cv28":
            return {"folds": len(folds), "test": sum(len(f.test_ids) for f in folds)}
        parts = folds[0].info["parts"]
        return {p: int(parts.get(p, 0)) for p in ("train", "val", "test")}

    def unit_state(self, ctx, spec, seed, est, fold) -> dict:
        state = getattr(est, "last_forward_", None)
        return {} if state is None else {"last_forward": state}

    def on_fit(self, ctx, spec, seed, fits, pooled, first_seed) -> None:
        data, pred = ctx.data, pooled[None]
        y, cells = ctx.y_test, ctx.test_ids
        targets = list(getattr(data, "targets", None) or data.outputs.columns)
        key = {"dataset": ctx.dataset, "split": ctx.split, "model": spec.id, "seed": seed}
        parents = getattr(data, "parents", None)
        n_par = parents.sum(axis=0) if parents is not None else np.full(len(targets), np.nan)
        ctx.add("per_gene", pd.DataFrame({**key, "gene": targets, "r2": per_gene_r2(y, pred), "n_parents": n_par}))
        record = ctx.options["record_genes"]
        genes = targets if record == "all" else [g for g in record if g in targets]
        for g in genes:
            j = targets.index(g)
            ctx.add("predictions", pd.DataFrame({**key, "cell": cells, "gene": g, "observed": y[:, j],
                                                 "predicted": pred[:, j]}))
        if ctx.options["per_sample"]:
            r = [np.corrcoef(o, p)[0, 1] if np.std(p) > 0 else np.nan for o, p in zip(y, pred)]
            fold_of = np.concatenate([[f.fold.info.get("fold", 0)] * len(f.fold.test_ids) for f in fits])
            ctx.add("per_sample", pd.DataFrame({**key, "sample": cells, "fold": fold_of, "pearson_r": r}))
        states = [f.state["last_forward"] for f in fits if "last_forward" in f.state]
        if states:
            ctx.add("steady_state", pd.DataFrame({**key, "cell": cells,
                                                  "residual": np.concatenate([s["residual"] for s in states]),
                                                  "steps": np.concatenate([np.broadcast_to(s["steps"], np.shape(s["residual"]))
                                                                         for s in states])}))


TASK = TargetExpression()
