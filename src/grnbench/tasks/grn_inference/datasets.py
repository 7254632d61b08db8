"""Task data for ``grn_inference``: expression, candidate regulator -> target edges and their truth.

Candidate edges follow BEELINE's EarlyPrecision rules (``BLEval/computeEarlyPrec.py``):

* **real data** (``tf_edges``, the default: BEELINE scRNA-seq sets and the embedded pbmc68k set):
  regulators are the genes that are a source in the ground truth (the TFs it covers), nodes are
  the genes that appear in the ground truth, candidates are every regulator -> node pair except
  self-pairs. TFs the ground truth does not cover have unknown, not negative, edges.
* **synthetic data** (``uns['tf_edges'] = False``: BoolODE, DREAM4, Sachs): every ordered pair of
  distinct genes of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ...data import load_dataset, load_prior
from ...data.validation import expression_frame
from ...errors import DataValidationError, format_names

__all__ = ["GRNData", "EdgeTruth", "prepare", "candidate_edges"]


@dataclass
class EdgeTruth:
    """The truth of a list of candidate edges, resampled by target gene.

    ``len()`` is the number of target genes (the bootstrap unit), not of edges.

    Attributes
    ----------
    labels : ndarray of int, shape (n_edges,)
        1 if the candidate edge is in the ground truth.
    unit : ndarray of int, shape (n_edges,)
        Index of each edge's target in ``targets``.
    targets : list of str
        Target genes (bootstrap units).
    k : int
        The ``k`` of ``precision_at_k``.
    """

    labels: np.ndarray
    unit: np.ndarray
    targets: list
    k: int

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class GRNData:
    """One GRN-inference dataset.

    Attributes
    ----------
    dataset : str
    expression : pandas.DataFrame
        Cells (or samples) x genes, the dataset's scale (``scale``).
    truth : pandas.DataFrame
        Ground-truth edges ``source, target`` among the dataset's genes (self-loops removed).
    regulators : list of str
        Candidate sources.
    nodes : list of str
        Candidate targets.
    candidates : pandas.DataFrame
        ``source, target, label`` for every candidate edge (regulator -> node, no self-pairs).
    tf_edges : bool
        True for BEELINE's real-data candidates (TF -> gene), False for all ordered pairs.
    interventions : pandas.Series
        Per cell, the gene it perturbs (empty string where none is known).
    perturbation : pandas.Series
        Per cell, the kind of sample (``observational``, ``wildtype``, ``knockout``, ...).
    scale : str
    top_k : int
        Upper bound of the ``k`` of ``precision_at_k``.
    """

    dataset: str
    expression: pd.DataFrame
    truth: pd.DataFrame
    regulators: list
    nodes: list
    candidates: pd.DataFrame
    tf_edges: bool
    interventions: pd.Series
    perturbation: pd.Series
    scale: str = ""
    top_k: int = 100
    counts: dict = field(default_factory=dict)

    @property
    def density(self) -> float:
        """True edges / candidate edges: the AUPRC of a random ranking and the EPR denominator."""
        return float(self.candidates["label"].mean())


def candidate_edges(truth: pd.DataFrame, genes, tf_edges: bool) -> tuple[list, list, pd.DataFrame]:
    """Regulators, nodes and the labelled candidate edges (see the module notes).

    Parameters
    ----------
    truth : pandas.DataFrame
        ``source, target`` edges among ``genes``.
    genes : sequence of str
        Genes of the expression matrix (the candidate set for ``tf_edges=False``).
    tf_edges : bool

    Returns
    -------
    regulators, nodes : list of str
    candidates : pandas.DataFrame
        ``source, target, label``, ordered by target then source.
    """
    genes = list(genes)
    if tf_edges:
        in_truth = set(truth["source"]) | set(truth["target"])
        regulators = [g for g in genes if g in set(truth["source"])]
        nodes = [g for g in genes if g in in_truth]
    else:
        regulators = nodes = genes
    src = np.tile(np.asarray(regulators, dtype=object), len(nodes))
    tgt = np.repeat(np.asarray(nodes, dtype=object), len(regulators))
    keep = src != tgt
    cand = pd.DataFrame({"source": src[keep], "target": tgt[keep]})
    true = pd.MultiIndex.from_frame(truth[["source", "target"]])
    cand["label"] = pd.MultiIndex.from_frame(cand[["source", "target"]]).isin(true).astype(np.int8)
    return regulators, nodes, cand


def prepare(dataset: str, adata: ad.AnnData | None = None, prior: str | None = None, top_k: int = 100,
            max_targets: int | None = None, seed: int = 0) -> GRNData:
    """Load a GRN-inference dataset.

    Parameters
    ----------
    dataset : str
        A dataset with a ground truth (``uns['edges']``: BEELINE ids such as ``mesc_500_specific``,
        ``boolode_*``, ``dream4_*``, ``sachs2005``), or one whose card names a prior network
        (``pbmc68k_reduced``: the prior's edges among its genes are the ground truth).
    adata : anndata.AnnData, optional
        Use this object instead of loading ``dataset`` (tests, own data).
    prior : str, optional
        Network used as ground truth when there is no ``uns['edges']`` (default: the card's
        ``tasks: {grn_inference: {reference: ...}}`` network, e.g. your ``--truth`` file, else its
        ``prior``).
    top_k : int
        Upper bound of the ``k`` of ``precision_at_k`` (:func:`grnbench.metrics.network.top_k_size`).
    max_targets : int, optional
        Keep only this many candidate targets (a seeded random sample; fast test runs).
    seed : int
        Seed of that sample.

    Returns
    -------
    GRNData

    Raises
    ------
    grnbench.errors.DataValidationError
        If the ground truth names genes absent from the expression matrix, no regulator (TF) of
        the ground truth is among the genes, the truth has no edge among the candidates,
        expression has NaN/Inf, genes are duplicated, or ``obs['intervention']`` names a gene
        absent from the data.
    """
    if adata is None:
        from ...registry import get_dataset

        spec = get_dataset(dataset)
        prior = prior or spec.task_settings("grn_inference").get("reference") or spec.prior
        adata = load_dataset(dataset)
    x = expression_frame(adata, dataset)
    genes = x.columns
    tf_edges = bool(adata.uns.get("tf_edges", True))
    if "edges" in adata.uns:
        truth = pd.DataFrame(adata.uns["edges"]).rename(columns={"tf": "source"})
        for col in ("source", "target"):
            if col not in truth.columns:
                raise DataValidationError(f"{dataset}: ground truth lacks column {col!r} (have {list(truth.columns)})")
        truth = truth[["source", "target"]].astype(str)
        absent = sorted((set(truth["source"]) | set(truth["target"])) - set(genes))
        if absent:
            raise DataValidationError(f"{dataset}: ground-truth gene(s) {format_names(absent)} are absent from the "
                                      "expression matrix")
        where = "its ground truth"
    else:
        if not prior:
            raise DataValidationError(f"{dataset}: no ground-truth edges (uns['edges']) and no prior network to use "
                                      "as ground truth (key 'prior' of its card)")
        net = load_prior(prior)
        truth = net.loc[net["source"].isin(genes) & net["target"].isin(genes), ["source", "target"]].astype(str)
        where = f"prior {prior!r}"
        if truth.empty:
            tfs = sorted(set(net["source"]))
            raise DataValidationError(f"{dataset}: none of the {len(tfs)} TFs of {where} (e.g. "
                                      f"{format_names(tfs[:5])}) regulates a gene of the data (no TF in data)")
    truth = truth[truth["source"] != truth["target"]].drop_duplicates().reset_index(drop=True)
    if truth.empty:
        raise DataValidationError(f"{dataset}: {where} has no edge between two distinct genes of the data")
    regulators, nodes, cand = candidate_edges(truth, genes, tf_edges)
    if max_targets is not None and len(nodes) > max_targets:
        keep = set(np.random.default_rng(seed).choice(np.asarray(nodes, dtype=object), max_targets, replace=False))
        nodes = [g for g in nodes if g in keep]
        cand = cand[cand["target"].isin(keep)].reset_index(drop=True)
        if not cand["label"].any():
            raise DataValidationError(f"{dataset}: no true edge among the {max_targets} sampled targets (seed {seed})")
    if not regulators:
        raise DataValidationError(f"{dataset}: no regulator (TF) of {where} is among the {len(genes)} genes of the data")
    obs = adata.obs
    interventions = pd.Series(obs["intervention"].astype(str).to_numpy() if "intervention" in obs else "",
                              index=x.index, name="intervention").replace("nan", "")
    unknown = sorted(set(interventions[interventions != ""]) - set(genes))
    if unknown:
        raise DataValidationError(f"{dataset}: obs['intervention'] names gene(s) {format_names(unknown)} absent from "
                                  "the expression matrix")
    perturbation = pd.Series(obs["perturbation"].astype(str).to_numpy() if "perturbation" in obs else "observational",
                             index=x.index, name="perturbation")
    data = GRNData(dataset=dataset, expression=x, truth=truth, regulators=regulators, nodes=nodes, candidates=cand,
                   tf_edges=tf_edges, interventions=interventions, perturbation=perturbation,
                   scale=str(adata.uns.get("scale", "")), top_k=top_k)
    data.counts = {"dataset": dataset, "cells": x.shape[0], "genes": x.shape[1], "regulators": len(regulators),
                   "targets": len(nodes), "candidate_edges": len(cand), "true_edges": int(cand["label"].sum()),
                   "density": round(data.density, 6), "tf_edges": tf_edges,
                   "perturbed_cells": int((interventions != "").sum())}
    return data
