"""Task data for ``target_expression``: TF expression -> target-gene expression.

* X = expression of the TFs that are sources in the prior network and present in the data.
* Y = expression of the non-TF genes (genes that are no source anywhere in the prior) with
  at least one prior parent among those TFs.
* ``parents[i, j]`` = True if TF ``i`` -> target ``j`` is a prior edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ...data import load_dataset, load_prior
from ...data.validation import dense
from ...errors import DataValidationError, format_names

__all__ = ["TargetExpressionData", "build_task_data", "prepare"]

log = logging.getLogger(__name__)


@dataclass
class TargetExpressionData:
    """Inputs of the target-expression task for one dataset and prior.

    Attributes
    ----------
    dataset, prior : str
        Dataset and prior ids.
    adata : anndata.AnnData
        Cells x (TFs + targets), dense float32 log-scale ``.X``; ``var['role']`` is
        ``"TF"`` or ``"target"``; ``obs`` keeps the dataset's annotations.
    tfs, targets : list of str
        Input and output genes, in data order.
    parents : ndarray of bool, shape (n_tfs, n_targets)
        Prior mask.
    edges : pandas.DataFrame
        The prior edges kept (``source, target, weight[, sign_known]``), TF -> target.
    network : pandas.DataFrame
        The prior restricted to the modelled genes: TF -> target and TF -> TF edges (the
        graph of network-constrained models such as LEMBAS; TF -> TF edges can form cycles).
    counts : dict
        Cells, genes, TFs, targets and prior edges kept (logged and shown in the book).
    ood : dict, optional
        Held-out group of the ``ood`` split (the card's rule).
    explain_genes : tuple of str
        Targets explained with SHAP (the card's ``explain_genes``).
    """

    dataset: str
    prior: str
    adata: ad.AnnData
    tfs: list[str]
    targets: list[str]
    parents: np.ndarray
    edges: pd.DataFrame
    network: pd.DataFrame = None
    counts: dict = field(default_factory=dict)
    ood: dict | None = None
    explain_genes: tuple = ()

    def X(self, cells=None) -> pd.DataFrame:
        """TF expression (cells x TFs) as a DataFrame; ``cells`` is a boolean mask or names."""
        return self._frame(self.tfs, cells)

    def Y(self, cells=None) -> pd.DataFrame:
        """Target expression (cells x targets) as a DataFrame."""
        return self._frame(self.targets, cells)

    def _frame(self, genes, cells) -> pd.DataFrame:
        sub = self.adata if cells is None else self.adata[cells]
        return pd.DataFrame(dense(sub[:, genes].X), index=sub.obs_names, columns=genes)


def build_task_data(
    adata: ad.AnnData,
    prior: pd.DataFrame,
    *,
    dataset: str,
    prior_id: str,
    max_targets: int | None = None,
    keep_targets: tuple[str, ...] = (),
) -> TargetExpressionData:
    """Select TFs, targets and the prior mask from a dataset and a prior.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes, log-scale ``.X``.
    prior : pandas.DataFrame
        Tidy prior ``source, target, weight``.
    dataset, prior_id : str
        Ids used in messages and provenance.
    max_targets : int, optional
        Keep only this many targets: those in ``keep_targets`` first, then the most
        variable ones (used by the fast smoke profile).
    keep_targets : tuple of str
        Targets to keep whenever they qualify (e.g. the SHAP genes ALB and AFP).

    Returns
    -------
    TargetExpressionData

    Raises
    ------
    grnbench.errors.DataValidationError
        If no prior TF is among the data's genes, or no non-TF gene has a prior parent
        among them (the messages give the counts and example genes).
    """
    genes = pd.Index(adata.var_names.astype(str))
    all_sources = set(prior["source"])
    tfs = [g for g in genes if g in all_sources]
    if not tfs:
        raise DataValidationError(
            f"{dataset}: no TF (source) of prior {prior_id!r} is among the {len(genes)} genes of the data "
            f"(e.g. data genes {format_names(genes[:5])}; prior TFs {format_names(sorted(all_sources)[:5])}). "
            "Are the gene identifiers of the same kind (symbols) and species?"
        )
    tf_set = set(tfs)
    edges = prior[prior["source"].isin(tf_set) & prior["target"].isin(set(genes)) & ~prior["target"].isin(all_sources)]
    with_parent = set(edges["target"])
    targets = [g for g in genes if g in with_parent]
    if not targets:
        raise DataValidationError(
            f"{dataset}: no non-TF gene has a prior parent among the {len(tfs)} TFs of prior {prior_id!r} "
            f"found in the data (e.g. {format_names(tfs[:5])})"
        )
    if max_targets is not None and len(targets) > max_targets:
        var = pd.Series(dense(adata[:, targets].X).var(axis=0), index=targets)
        keep = [g for g in keep_targets if g in with_parent][:max_targets]
        rest = var.drop(keep).sort_values(ascending=False, kind="stable").index[: max_targets - len(keep)]
        chosen = set(keep) | set(rest)
        targets = [g for g in targets if g in chosen]
        edges = edges[edges["target"].isin(chosen)]
    tf_index = {g: i for i, g in enumerate(tfs)}
    tg_index = {g: j for j, g in enumerate(targets)}
    parents = np.zeros((len(tfs), len(targets)), dtype=bool)
    parents[edges["source"].map(tf_index).to_numpy(), edges["target"].map(tg_index).to_numpy()] = True
    sub = adata[:, tfs + targets]
    task = ad.AnnData(
        X=dense(sub.X).astype(np.float32),
        obs=adata.obs.copy(),
        var=pd.DataFrame({"role": ["TF"] * len(tfs) + ["target"] * len(targets)}, index=pd.Index(tfs + targets, name="gene")),
    )
    task.uns["scale"] = adata.uns.get("scale", "")
    task.uns["provenance"] = dict(adata.uns.get("provenance", {}), prior=prior_id)
    network = prior[prior["source"].isin(tf_set) & prior["target"].isin(tf_set | set(targets))].reset_index(drop=True)
    n_par = parents.sum(axis=0)
    counts = {
        "dataset": dataset,
        "prior": prior_id,
        "cells": int(adata.n_obs),
        "genes": int(adata.n_vars),
        "tfs": len(tfs),
        "targets": len(targets),
        "prior_edges": int(len(prior)),
        "prior_edges_kept": int(len(edges)),
        "tf_tf_edges": int(len(network) - len(edges)),
        "median_parents_per_target": float(np.median(n_par)),
        "max_parents_per_target": int(n_par.max()),
    }
    log.info("%(dataset)s + %(prior)s: %(cells)d cells, %(tfs)d TFs, %(targets)d targets, "
             "%(prior_edges_kept)d of %(prior_edges)d prior edges kept", counts)
    return TargetExpressionData(dataset=dataset, prior=prior_id, adata=task, tfs=tfs, targets=targets,
                                parents=parents, edges=edges.reset_index(drop=True), network=network, counts=counts)


def prepare(dataset: str, prior: str | None = None, **kwargs) -> TargetExpressionData:
    """Load a registered dataset and prior and build the task data (settings from the dataset's card).

    Parameters
    ----------
    dataset : str
        Dataset id.
    prior : str, optional
        Prior id (default: the card's ``prior``).
    **kwargs
        Passed to :func:`build_task_data` (``max_targets``; ``keep_targets`` defaults to the
        card's ``explain_genes``).

    Raises
    ------
    grnbench.errors.DataValidationError
        If no prior is given and the card names none.
    """
    from ...registry import get_dataset

    spec = get_dataset(dataset)
    prior = prior or spec.prior
    if not prior:
        raise DataValidationError(f"{dataset}: its card names no prior network (key 'prior'); pass one")
    kwargs.setdefault("keep_targets", spec.explain_genes)
    data = build_task_data(load_dataset(dataset), load_prior(prior), dataset=dataset, prior_id=prior, **kwargs)
    data.ood, data.explain_genes = spec.ood, tuple(spec.explain_genes)
    return data
