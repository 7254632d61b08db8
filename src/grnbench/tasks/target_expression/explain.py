"""SHAP explanations of target-expression models for chosen target genes.

Explainers (Lundberg & Lee 2017, NeurIPS, arXiv:1705.07874; shap >= 0.50):

* linear models (``mlr``, ``ridge``, ``ridge_parents``) — :class:`shap.LinearExplainer`
  (exact, interventional, background = training cells);
* tree ensembles (``xgbrf_seed``, ``xgbrf``) — :class:`shap.TreeExplainer` (exact TreeSHAP;
  Lundberg et al. 2020, doi:10.1038/s42256-019-0138-9);
* torch networks (``mlp``, ``lembas``, ``lembas_seed``) — :class:`shap.GradientExplainer`
  (expected gradients, approximate; LEMBAS gradients come from its implicit adjoint).

Models whose prediction for a target depends only on that target (``per_target`` in the
registry) are refitted on the explained gene alone (on training plus validation cells for
models that use no validation, as in the benchmark), which gives the same model for that
gene as the full benchmark fit (for ``xgbrf`` the hyper-parameters are re-tuned on that
gene). Joint models (``mlp``, LEMBAS) are fitted on all targets and one output is explained.
Cells explained: test cells of the ``random`` split; background: training cells.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...engine import run_units
from ...errors import GrnbenchError, UnknownIdError, format_names
from ...models.trees import BatchedXGBRF
from ...registry import get_model
from .datasets import TargetExpressionData
from .splits import make_split

__all__ = ["ShapOutput", "explain_models", "default_genes"]

TASK = "target_expression"


@dataclass
class ShapOutput:
    """SHAP results.

    Attributes
    ----------
    values : dict
        ``(model, gene) -> (shap_values (n_cells, n_tfs), X_explained DataFrame)``.
    importance : pandas.DataFrame
        ``dataset, model, gene, tf, mean_abs_shap, rank, is_parent`` for every TF.
    summary : pandas.DataFrame
        ``dataset, model, gene, n_parents, top10_nonzero, top10_parent_fraction,
        fit_seconds, explain_seconds, n_explained, n_background, additivity_error``.
    """

    values: dict
    importance: pd.DataFrame
    summary: pd.DataFrame


def default_genes(data: TargetExpressionData, n: int = 2) -> tuple[str, ...]:
    """The card's ``explain_genes`` (ALB and AFP on hHEP, as the LEMBAS-RNN benchmark); else the ``n``
    targets with the highest variance.

    Parameters
    ----------
    data : TargetExpressionData
    n : int
        Number of genes for datasets without declared genes.
    """
    declared = [g for g in data.explain_genes if g in data.targets]
    if declared:
        return tuple(declared)
    var = data.Y().var(axis=0).sort_values(ascending=False, kind="stable")
    return tuple(var.index[:n])


def _explain(est, target: int, x_bg: np.ndarray, x_ex: np.ndarray, seed: int = 0):
    """Return (shap values (n, p), additivity error) for one output."""
    import shap

    if hasattr(est, "coef_") and hasattr(est, "intercept_"):
        coef = np.asarray(est.coef_)[:, target]
        explainer = shap.LinearExplainer((coef, float(est.intercept_[target])), x_bg)
        sv = np.asarray(explainer.shap_values(x_ex))
        base = np.full(len(x_ex), float(np.ravel(explainer.expected_value)[0]))
        pred = est.predict(x_ex)[:, target]
    elif isinstance(est, BatchedXGBRF):
        if len(est.models_) != 1 or est.n_targets_ != 1:
            raise GrnbenchError("tree models are explained after a single-target fit")
        explainer = shap.TreeExplainer(est.models_[0])
        sv = np.asarray(explainer.shap_values(x_ex))
        base = np.full(len(x_ex), float(np.ravel(explainer.expected_value)[0]))
        pred = est.predict(x_ex)[:, 0]
    elif hasattr(est, "torch_model"):  # MLP, LEMBAS: expected gradients through the torch forward pass
        import torch

        module = est.torch_model(target=target)
        explainer = shap.GradientExplainer(module, torch.as_tensor(x_bg, dtype=torch.float32))
        # expected gradients sample background cells and interpolation points: seed them
        sv = np.asarray(explainer.shap_values(torch.as_tensor(x_ex, dtype=torch.float32), rseed=seed))
        sv = sv.reshape(x_ex.shape[0], x_ex.shape[1])
        with torch.no_grad():
            base = np.full(len(x_ex), float(module(torch.as_tensor(x_bg, dtype=torch.float32)).mean()))
        pred = est.predict(x_ex)[:, target]
    else:
        raise GrnbenchError(f"no SHAP explainer for {type(est).__name__}")
    err = float(np.max(np.abs(base + sv.sum(axis=1) - pred)))
    return sv, err


def explain_models(
    data: TargetExpressionData,
    models: list[str],
    genes: tuple[str, ...],
    *,
    split: str = "random",
    split_seed: int = 0,
    seed: int = 0,
    n_explain: int = 100,
    n_background: int = 100,
    top_k: int = 10,
    model_params: dict | None = None,
) -> ShapOutput:
    """Fit each model and compute SHAP values of its prediction for each gene.

    Each model is a unit (:func:`grnbench.engine.run_units`): it runs on the run's Dask client
    with one thread and is kept in the unit store, so a stopped SHAP stage resumes with the models
    it had not explained.

    Parameters
    ----------
    data : TargetExpressionData
    models : list of str
        Model ids (``mean`` is skipped: a constant has no attributions).
    genes : tuple of str
        Targets to explain.
    split : str
        Split whose test cells are explained (training cells form the background).
    split_seed, seed : int
        Seeds of the split and of stochastic models.
    n_explain, n_background : int
        Cells explained and background cells (sampled with ``seed`` when fewer exist).
    top_k : int
        Size of the top list for the prior-parent fraction.
    model_params : dict, optional
        ``model id -> {parameter: value}`` overriding registry defaults.

    Returns
    -------
    ShapOutput

    Raises
    ------
    grnbench.errors.UnknownIdError
        If a gene is not a target of the task data, or a model id is unknown.
    """
    missing = [g for g in genes if g not in data.targets]
    if missing:
        raise UnknownIdError(
            f"{data.dataset}: gene(s) {format_names(missing)} are not targets with a prior parent "
            f"(e.g. targets: {format_names(data.targets[:5])})"
        )
    labels = make_split(data.adata.obs, split, dataset=data.dataset, seed=split_seed, ood=data.ood)
    train, val, test = ((labels == k).to_numpy() for k in ("train", "val", "test"))
    rng = np.random.default_rng(seed)
    Xtr, Ytr, Xval, Yval, Xte = data.X(train), data.Y(train), data.X(val), data.Y(val), data.X(test)
    bg = Xtr.to_numpy()[np.sort(rng.choice(len(Xtr), size=min(n_background, len(Xtr)), replace=False))]
    ex_rows = np.sort(rng.choice(len(Xte), size=min(n_explain, len(Xte)), replace=False))
    x_ex = Xte.iloc[ex_rows]
    model_params = model_params or {}
    todo = [m for m in models if m != "mean"]
    for model_id in todo:
        get_model(model_id, TASK)  # an unknown id fails here, before any fit
    parts = run_units(_explain_model, todo, label=f"{TASK}/{data.dataset}/shap",
                      shared={"data": data, "genes": tuple(genes), "xtr": Xtr, "ytr": Ytr, "xval": Xval, "yval": Yval,
                              "bg": bg, "x_ex": x_ex, "seed": seed, "top_k": top_k, "model_params": model_params})
    values, rows, summary = {}, [], []
    for part_values, part_rows, part_summary in parts:
        values.update(part_values)
        rows += part_rows
        summary += part_summary
    importance = pd.concat(rows, ignore_index=True)[["dataset", "model", "gene", "tf", "mean_abs_shap", "rank", "is_parent"]]
    return ShapOutput(values=values, importance=importance, summary=pd.DataFrame(summary))


def _explain_model(model_id, *, data, genes, xtr, ytr, xval, yval, bg, x_ex, seed, top_k, model_params):
    """One unit of :func:`explain_models`: fit one model and explain its prediction of each gene."""
    from ...compute import pinned_threads

    spec = get_model(model_id, TASK)
    values, rows, summary = {}, [], []
    with pinned_threads():
        joint = None
        if not spec.per_target:
            joint = spec.build(data, **model_params.get(model_id, {}))
            if spec.stochastic:
                joint.set_params(random_state=seed)
            t0 = time.perf_counter()
            joint.fit(xtr, ytr, validation=(xval, yval))
            joint_fit = time.perf_counter() - t0
        for gene in genes:
            j = data.targets.index(gene)
            if joint is None:
                sub = dataclasses.replace(data, targets=[gene], parents=data.parents[:, [j]])
                est = spec.build(sub, **model_params.get(model_id, {}))
                if spec.stochastic:
                    est.set_params(random_state=seed)
                t0 = time.perf_counter()
                if spec.uses_validation:
                    est.fit(xtr, ytr[[gene]], validation=(xval, yval[[gene]]))
                else:  # as in the benchmark: models that tune nothing fit all non-test cells
                    est.fit(pd.concat([xtr, xval]), pd.concat([ytr, yval])[[gene]])
                fit_s, target = time.perf_counter() - t0, 0
            else:
                est, fit_s, target = joint, joint_fit, j
            t0 = time.perf_counter()
            sv, err = _explain(est, target, bg, x_ex.to_numpy(), seed=seed)
            explain_s = time.perf_counter() - t0
            values[(model_id, gene)] = (sv, x_ex)
            imp = pd.DataFrame({"tf": data.tfs, "mean_abs_shap": np.abs(sv).mean(axis=0),
                                "is_parent": data.parents[:, j]})
            imp = imp.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
            imp["rank"] = np.arange(1, len(imp) + 1)
            top = imp[(imp["rank"] <= top_k) & (imp["mean_abs_shap"] > 0)]
            rows.append(imp.assign(dataset=data.dataset, model=model_id, gene=gene))
            summary.append({
                "dataset": data.dataset, "model": model_id, "gene": gene,
                "n_parents": int(data.parents[:, j].sum()),
                "top10_nonzero": int(len(top)),
                "top10_parent_fraction": float(top["is_parent"].mean()) if len(top) else float("nan"),
                "fit_seconds": fit_s, "explain_seconds": explain_s,
                "n_explained": int(len(x_ex)), "n_background": int(len(bg)), "additivity_error": err,
            })
    return values, rows, summary
