"""Task data for ``perturbation_response``: initial states, perturbations and final states.

A **perturbation example** is an initial expression state ``x0`` (genes), a perturbation and the
final state ``y`` (genes). A perturbation has two parts: per-gene sizes ``p`` (genes; the change
applied to each perturbed gene, 0 elsewhere) and an optional named perturbagen ``token`` (e.g.
``"IFNB"``; empty for purely genetic perturbations). Models learn ``(x0, p, token) -> y``.

A **test unit** is what a prediction is scored on: the mean final state of a group of examples
that share a perturbation (a held-out cell type's stimulated cells; one knockout's steady state;
one cell pair), with the mean initial state as its control.

Set-ups (split ids):

* ``heldout_cell_type`` (``kang_ifnb``; the scGen task, Lotfollahi et al. 2019,
  doi:10.1038/s41592-019-0494-8): one fold per cell type. Training examples pair every
  stimulated cell of the *other* cell types with a random control cell of its own type
  (token ``IFNB``); the held-out type's control cells are the test inputs and the mean of its
  stimulated cells the truth. The held-out stimulated cells are never in training (tested).
* ``loko`` (DREAM4 size-100 knockouts): one fold per knockout. Training examples are the
  wildtype -> knockout steady states of the other knockouts (p: the knocked-out gene set to 0,
  size = -wildtype); the test unit is the held-out knockout's steady state from the wildtype.
* ``lopo`` (your data with several genetic perturbations, e.g. a CRISPR screen: ``grnbench run
  --adata ... --perturbation-key COL --control-value VALUE``): one fold per perturbation, whose
  value names the perturbed gene. Training examples pair every cell of the *other* perturbations
  with a random control cell (of its own cell type where a cell-type column is given; p: the
  perturbed gene from its control level to 0, as for a knockout); the test inputs are the
  control cells (of the cell types the held-out perturbation has) with that gene set to 0, and the
  truth is the mean of the held-out perturbation's cells. Unseen perturbations are predicted from
  the gene they hit, so no model sees the held-out perturbation's cells.
* ``cell_pairs`` (``pbmc68k_reduced``, the seed's own set-up): random pairs of *unperturbed*
  cells; the "perturbation" is the second cell's value minus the first's on ``n_perturbed``
  random genes. Cells are split 70/15/15 into training, validation and test, and pairs are
  formed within each part. This measures how well expression of some genes predicts others
  across cells — correlation, not causation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...data import load_dataset
from ...data.validation import expression_frame
from ...errors import DataValidationError, format_names

__all__ = ["PerturbationInput", "PerturbationData", "prepare", "STIM_TOKEN"]

#: Perturbagen token of the Kang IFN-beta stimulation.
STIM_TOKEN = "IFNB"


@dataclass
class PerturbationInput:
    """Inputs of ``n`` perturbation examples (the ``X`` of every model's ``fit``/``predict``).

    Attributes
    ----------
    x0 : ndarray, shape (n, n_genes)
        Initial states (the dataset's scale, e.g. log1p CP10k); NaN marks an unmeasured gene.
    pert : ndarray, shape (n, n_genes)
        Perturbation size per gene (0 = not perturbed).
    token : ndarray of str, shape (n,)
        Named perturbagen per example ("" = none).
    genes : list of str
        Gene names of the columns.
    """

    x0: np.ndarray
    pert: np.ndarray
    token: np.ndarray
    genes: list

    def __post_init__(self):
        self.x0 = np.asarray(self.x0, dtype=np.float64)
        self.pert = np.asarray(self.pert, dtype=np.float64)
        self.token = np.asarray(self.token, dtype=object)
        n, g = self.x0.shape if self.x0.ndim == 2 else (None, None)
        if self.x0.ndim != 2 or self.pert.shape != self.x0.shape or self.token.shape != (n,) or len(self.genes) != g:
            raise DataValidationError(
                f"perturbation input shapes disagree: x0 {self.x0.shape}, pert {self.pert.shape}, token "
                f"{self.token.shape}, {len(self.genes)} gene names")
        if not np.isfinite(self.pert).all():
            raise DataValidationError("perturbation sizes contain NaN or infinite values")

    def __len__(self) -> int:
        return self.x0.shape[0]

    def take(self, idx) -> PerturbationInput:
        """The examples ``idx``."""
        return PerturbationInput(self.x0[idx], self.pert[idx], self.token[idx], self.genes)

    @staticmethod
    def concat(parts: list[PerturbationInput]) -> PerturbationInput:
        """Examples of several inputs (same genes), in order."""
        return PerturbationInput(np.vstack([p.x0 for p in parts]), np.vstack([p.pert for p in parts]),
                                 np.concatenate([p.token for p in parts]), parts[0].genes)


@dataclass
class PerturbationData:
    """One perturbation-response dataset: its expression and how examples are formed.

    Attributes
    ----------
    dataset : str
    setup : str
        The split it supports (``heldout_cell_type``, ``loko``, ``lopo`` or ``cell_pairs``).
    expression : pandas.DataFrame
        Cells (samples) x genes used by the task (the dataset's scale).
    obs : pandas.DataFrame
        Per cell: ``condition`` (``control`` / ``stimulated``) and ``cell_type`` (held-out cell
        type), ``perturbation`` and ``intervention`` (DREAM4), ``perturbation_value`` (``control``
        or the perturbed gene) and ``cell_type`` (``lopo``).
    n_perturbed : int
        Genes perturbed per pair in ``cell_pairs``.
    token : str
        Perturbagen token of the stimulated cells in ``heldout_cell_type`` (Kang: ``IFNB``; your
        data: the perturbation's value).
    """

    dataset: str
    setup: str
    expression: pd.DataFrame
    obs: pd.DataFrame
    n_perturbed: int = 5
    counts: dict = field(default_factory=dict)
    token: str = STIM_TOKEN

    @property
    def genes(self) -> list:
        return list(self.expression.columns)


def _top_variable(x: pd.DataFrame, n: int | None) -> pd.DataFrame:
    if n is None or n >= x.shape[1]:
        return x
    order = x.var(axis=0).sort_values(ascending=False, kind="stable").index[:n]
    return x[[g for g in x.columns if g in set(order)]]


def _own_columns(obs: pd.DataFrame, genes, dataset: str, perturbation_key: str, control: str,
                 cell_type_key: str | None) -> tuple[str, pd.DataFrame, str]:
    """Set-up, canonical obs columns and token for data described by a perturbation column.

    One perturbation value and a cell-type column give ``heldout_cell_type`` (``condition``:
    ``control``/``stimulated``, token = the value); two or more give ``lopo`` (each value must
    name a gene of the data).
    """
    for key, flag in ((perturbation_key, "--perturbation-key"), (cell_type_key, "--cell-type-key")):
        if key is not None and key not in obs.columns:
            raise DataValidationError(f"{dataset}: obs column {key!r} ({flag}) is missing (have "
                                      f"{format_names(list(obs.columns)) or 'none'})")
    pert = obs[perturbation_key].astype(str)
    if pert.isin(["nan", "None", ""]).any():
        first = obs.index[pert.isin(["nan", "None", ""]).to_numpy()][0]
        raise DataValidationError(f"{dataset}: obs column {perturbation_key!r} has missing values, first in cell "
                                  f"{first!r}")
    values = sorted(set(pert) - {str(control)})
    if str(control) not in set(pert):
        raise DataValidationError(f"{dataset}: control value {control!r} (--control-value) does not occur in obs "
                                  f"column {perturbation_key!r}; its values: {format_names(sorted(set(pert)))}")
    if not values:
        raise DataValidationError(f"{dataset}: obs column {perturbation_key!r} holds only the control value "
                                  f"{control!r}: no perturbed cells")
    ctype = obs[cell_type_key].astype(str) if cell_type_key else pd.Series("all", index=obs.index)
    if len(values) == 1:
        if not cell_type_key:
            raise DataValidationError(
                f"{dataset}: one perturbation ({values[0]!r}) and no cell-type column: the held-out-cell-type "
                "split needs --cell-type-key (leave-one-perturbation-out needs two or more perturbations)")
        out = pd.DataFrame({"condition": np.where(pert == str(control), "control", "stimulated"),
                            "cell_type": ctype.to_numpy()}, index=obs.index)
        return "heldout_cell_type", out, values[0]
    absent = [v for v in values if v not in set(genes)]
    if absent:
        raise DataValidationError(
            f"{dataset}: perturbation value(s) {format_names(absent)} of obs column {perturbation_key!r} name no gene "
            "of the data; leave-one-perturbation-out predicts an unseen perturbation from the gene it hits, so each "
            "value must be the perturbed gene's name (as in var_names)")
    out = pd.DataFrame({"perturbation_value": np.where(pert == str(control), "control", pert),
                        "cell_type": ctype.to_numpy()}, index=obs.index)
    return "lopo", out, ""


def prepare(dataset: str, *, n_genes: int | None = 1000, n_perturbed: int = 5, adata=None,
            setup: str | None = None, perturbation_key: str | None = None, control: str | None = None,
            cell_type_key: str | None = None) -> PerturbationData:
    """Load a perturbation-response dataset.

    Parameters
    ----------
    dataset : str
        ``kang_ifnb`` (held-out cell type), ``dream4_100_<k>`` (leave one knockout out),
        ``pbmc68k_reduced`` or any dataset without perturbations (cell pairs).
    n_genes : int or None
        Keep the ``n_genes`` most variable genes (None: all). DREAM4 keeps all 100.
    n_perturbed : int
        Genes perturbed per pair in the ``cell_pairs`` set-up.
    adata : anndata.AnnData, optional
        Use this object instead of loading ``dataset`` (tests).
    setup : str, optional
        Force a set-up (default: from the data: ``condition`` with ``stimulated`` and ``cell_type``
        obs columns -> ``heldout_cell_type``; knockout samples -> ``loko``; else ``cell_pairs``).
    perturbation_key, control, cell_type_key : str, optional
        Your data: the obs column naming each cell's perturbation, its control value and an
        optional cell-type column (default: the card's ``tasks: {perturbation_response: {...}}``
        settings of the same names). One perturbation value -> ``heldout_cell_type``; several
        (each a gene of the data) -> ``lopo``.

    Returns
    -------
    PerturbationData

    Raises
    ------
    grnbench.errors.DataValidationError
        If the expression has NaN/Inf or duplicated genes, a held-out-cell-type dataset lacks the
        ``condition``/``cell_type`` columns or a cell type lacks control or stimulated cells, a
        knockout set-up lacks the wildtype sample or names an absent gene, or a perturbation column
        is missing, lacks its control value or (``lopo``) names a perturbation that is no gene.
    """
    if adata is None:
        from ...registry import get_dataset

        settings = get_dataset(dataset).task_settings("perturbation_response")
        perturbation_key = perturbation_key or settings.get("perturbation_key")
        control = control if control is not None else settings.get("control")
        cell_type_key = cell_type_key or settings.get("cell_type_key")
        adata = load_dataset(dataset)
    x = expression_frame(adata, dataset)
    obs = adata.obs.copy()
    obs.index = x.index
    token = STIM_TOKEN
    if perturbation_key:
        if control is None:
            raise DataValidationError(f"{dataset}: --perturbation-key needs --control-value (the value of "
                                      f"{perturbation_key!r} that marks control cells)")
        setup, obs, own_token = _own_columns(obs, x.columns, dataset, perturbation_key, control, cell_type_key)
        token = own_token or token
    if setup is None:
        if "perturbation" in obs and (obs["perturbation"].astype(str) == "knockout").any():
            setup = "loko"
        elif {"condition", "cell_type"} <= set(obs.columns) and (obs["condition"].astype(str) == "stimulated").any():
            setup = "heldout_cell_type"
        else:
            setup = "cell_pairs"
    if setup == "heldout_cell_type":
        for col in ("condition", "cell_type"):
            if col not in obs:
                raise DataValidationError(f"{dataset}: obs column {col!r} is needed for the held-out cell type set-up")
        tab = pd.crosstab(obs["cell_type"].astype(str), obs["condition"].astype(str))
        for cond in ("control", "stimulated"):
            if cond not in tab.columns:
                raise DataValidationError(f"{dataset}: no {cond!r} cells in obs['condition']")
        lacking = tab.index[(tab["control"] == 0) | (tab["stimulated"] == 0)]
        if len(lacking):
            raise DataValidationError(f"{dataset}: cell type(s) {format_names(lacking)} lack control or stimulated cells")
        x = _top_variable(x, n_genes)
    elif setup == "loko":
        for col in ("perturbation", "intervention"):
            if col not in obs:
                raise DataValidationError(f"{dataset}: obs column {col!r} is needed for the knockout set-up")
        pert = obs["perturbation"].astype(str)
        keep = pert.isin(["wildtype", "knockout"])
        x, obs = x[keep], obs[keep]
        if (obs["perturbation"].astype(str) == "wildtype").sum() != 1:
            raise DataValidationError(f"{dataset}: the knockout set-up needs exactly one wildtype sample")
        ko = obs.loc[obs["perturbation"].astype(str) == "knockout", "intervention"].astype(str)
        absent = sorted(set(ko) - set(x.columns))
        if absent:
            raise DataValidationError(f"{dataset}: knockout(s) of gene(s) {format_names(absent)} absent from the data")
    elif setup == "lopo":
        for col in ("perturbation_value", "cell_type"):
            if col not in obs:
                raise DataValidationError(f"{dataset}: obs column {col!r} is needed for leave-one-perturbation-out")
        hit = set(obs["perturbation_value"].astype(str)) - {"control"}
        keep = set(_top_variable(x, n_genes).columns) | hit  # the perturbed genes always stay
        x = x[[g for g in x.columns if g in keep]]
    elif setup == "cell_pairs":
        x = _top_variable(x, n_genes)
    else:
        raise DataValidationError(f"unknown set-up {setup!r}; known: heldout_cell_type, loko, lopo, cell_pairs")
    data = PerturbationData(dataset=dataset, setup=setup, expression=x, obs=obs, n_perturbed=n_perturbed, token=token)
    data.counts = {"dataset": dataset, "setup": setup, "cells": x.shape[0], "genes": x.shape[1]}
    if setup == "heldout_cell_type":
        data.counts["cell_types"] = int(obs["cell_type"].nunique())
    if setup == "lopo":
        data.counts["perturbations"] = int(obs["perturbation_value"].astype(str).nunique() - 1)
    if setup == "loko":
        data.counts["knockouts"] = int((obs["perturbation"].astype(str) == "knockout").sum())
    return data
