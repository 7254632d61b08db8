"""Reproduction of the LEMBAS paper's ligand-screen cross-validation (Nilsson et al. 2022, Fig 6).

Data: 103 macrophage conditions (59 ligands, each with and without LPS, plus controls); inputs
are the ligands present (0/1), outputs 74 TF activities in [0, 1]; the model is the signed
OmniPath signalling network of the paper (ligand -> receptor -> ... -> TF).

Cross-validation as in the paper (``Model/ligandScreenCrossValidation.py``): 28 folds, each
holding out the 3 conditions listed in the authors' ``CVligandScreen/conditions.tsv``
(shipped with grnbench); the 19 remaining conditions (controls, LPS alone, and ligands not in
the fold table) are always in training. The engine runs it as the ``cv28`` split of the
target-expression task (:mod:`.api`): every held-out condition is predicted exactly once;
Pearson r is computed on the pooled held-out predictions (all conditions x TFs) and per
held-out condition (across its 74 TFs, the ``per_sample`` table), next to the paper's r ~ 0.8.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...data import load_dataset
from ...data.validation import dense
from ...errors import DataValidationError

__all__ = ["LigandScreenData", "prepare_ligand_screen", "load_folds", "PAPER_SETTINGS", "PAPER_CV_R", "FOLDS_SOURCE",
           "learning_curve", "plateau_epoch"]

TASK = "target_expression"
DATASET = "lembas_ligand_screen"
SPLIT = "cv28"

#: Where the fold table comes from (MIT); sha256 of the shipped copy.
FOLDS_SOURCE = {
    "url": "https://raw.githubusercontent.com/Lauffenburger-Lab/LEMBAS/9c004c8d9bcf3564d4fafc6f3b1b41e81be92f3b/"
           "Model/CVligandScreen/conditions.tsv",
    "sha256": "8deb96a184aa1147f63b08c2c25f60030415c463e8553bc85b487bc16d860d9c",
}

#: The paper's ligand-screen protocol (``ligandScreenCrossValidation.py``; ``bionetwork.py``): input amplitude 3
#: (frozen), projection amplitude 1.2 with a weights-only projection, spectral target 0.9 (= epsilon 0.9**150 over
#: 150 steps), exp factor 10, leak 0.01, sign factor 0.1, spectral factor 1e-3, L2 1e-6 on weights and biases,
#: input-node bias loss 1e-4, uniform-state loss 1e-5, input noise 1e-3, batch 5, float64, raw [0, 1] outputs,
#: 8,000 epochs of the one-cycle schedule 1e-4 -> 1e-3 (epoch 1,000) -> 1e-5, Adam reset every 200 epochs, adjoint
#: soft-clipped at 5. ``warm_start`` (start each sample's fixed point from its previous steady state) reaches the same
#: fixed point as the paper's start from zero, in fewer iterations.
PAPER_SETTINGS = dict(input_amplitude=3.0, output_amplitude=1.2, max_steps=150, tol=1e-6, target_steps=150,
                      epsilon=0.9**150, exp_factor=10.0, leak=0.01, sign_factor=0.1, spectral_factor=1e-3, l2=1e-6,
                      input_noise=1e-3, batch_size=5, lr=1e-3, lr_start=1e-4, lr_end=1e-5, peak_fraction=1000 / 8000,
                      epochs=8000, adam_reset_epochs=200, uniform_factor=1e-5, input_bias_factor=1e-4, clip=5.0,
                      scale_data=False, output_bias=False, warm_start=True)
#: Pearson r of the paper's ligand-screen cross-validation (Nilsson et al. 2022, Fig 6), for comparison.
PAPER_CV_R = 0.796


@dataclass
class LigandScreenData:
    """Inputs, outputs, network and CV folds of the ligand screen.

    Attributes
    ----------
    inputs : pandas.DataFrame, shape (103, n_ligands)
        Ligand present (0/1) per condition; columns are network nodes (UniProt/ChEBI ids).
    outputs : pandas.DataFrame, shape (103, n_tfs)
        TF activities in [0, 1].
    network : pandas.DataFrame
        Signed edges ``source, target, weight, sign_known``.
    folds : pandas.DataFrame
        ``fold, condition`` (84 rows, 28 folds).
    symbols : dict
        Node id -> gene symbol.
    counts : dict
    """

    inputs: pd.DataFrame
    outputs: pd.DataFrame
    network: pd.DataFrame
    folds: pd.DataFrame
    symbols: dict
    counts: dict
    dataset: str = DATASET


def load_folds() -> pd.DataFrame:
    """The paper's 28 x 3 held-out conditions (``fold, condition``), sha256-checked.

    Raises
    ------
    grnbench.errors.DataValidationError
        If the shipped file was modified.
    """
    import hashlib

    text = importlib.resources.files("grnbench.data").joinpath("lembas_cv_conditions.tsv").read_text()
    if hashlib.sha256(text.encode()).hexdigest() != FOLDS_SOURCE["sha256"]:
        raise DataValidationError("grnbench/data/lembas_cv_conditions.tsv differs from the LEMBAS original "
                                  f"({FOLDS_SOURCE['url']})")
    from io import StringIO

    return pd.read_csv(StringIO(text), sep="\t").rename(columns={"Index": "fold", "Condition": "condition"})


def prepare_ligand_screen() -> LigandScreenData:
    """Load the ligand screen, keep inputs and outputs that are network nodes (as the paper does)."""
    adata = load_dataset(DATASET)
    network = adata.uns["network"]
    nodes = set(network["source"]) | set(network["target"])
    role = adata.var["role"]
    in_codes = [c for c in adata.var_names[role == "input"] if c in nodes]
    out_codes = [c for c in adata.var_names[role == "output"] if c in nodes]
    frame = pd.DataFrame(dense(adata.X), index=adata.obs_names, columns=adata.var_names)
    folds = load_folds()
    unknown = sorted(set(folds["condition"]) - set(frame.index))
    if unknown:
        raise DataValidationError(f"fold table names condition(s) absent from the data: {unknown}")
    counts = {"dataset": DATASET, "conditions": adata.n_obs, "ligand_inputs": len(in_codes), "tf_outputs": len(out_codes),
              "network_nodes": len(nodes), "network_edges": len(network), "folds": int(folds["fold"].nunique()),
              "held_out_conditions": len(folds)}
    return LigandScreenData(inputs=frame[in_codes], outputs=frame[out_codes], network=network, folds=folds,
                            symbols=dict(zip(adata.var_names, adata.var["symbol"])), counts=counts)


def learning_curve(data: LigandScreenData, *, folds=(0, 1, 2), seed: int = 0, every: int = 250, settings=None,
                   n_jobs: int | None = None, scheduler: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out Pearson r along the paper's training schedule on a few CV folds.

    Each fold trains LEMBAS once with ``settings`` (default :data:`PAPER_SETTINGS`: 8,000 epochs)
    and records the predictions of its held-out conditions every ``every`` epochs (they are
    never used for fitting or for choosing parameters inside the fit).

    Parameters
    ----------
    data : LigandScreenData
    folds : sequence of int
        Fold ids of the paper's table.
    seed : int
        Model seed.
    every : int
        Checkpoint interval in epochs.
    settings : dict, optional
        :class:`~.lembas.LembasRegressor` parameters.
    n_jobs : int, optional
        Ignored (older notebooks pass it): each fold is a unit (:func:`grnbench.engine.run_units`) on
        the run's Dask client, kept in the unit store, so a stopped curve resumes with its missing folds.
    scheduler : str, optional
        Where the folds run (:func:`grnbench.compute.get_client`; default ``$GRNBENCH_SCHEDULER``).

    Returns
    -------
    curve : pandas.DataFrame
        ``fold, epoch, pearson_r, mse`` per checkpoint, plus rows with ``fold = -1``: r of the
        pooled held-out conditions of all folds.
    history : pandas.DataFrame
        Per fold and epoch: training loss, spectral radius, learning rate; and the updates per
        second of each fit.
    """
    from ...engine import run_units

    settings = {**PAPER_SETTINGS, **(settings or {})}
    jobs = []
    for fold in folds:
        test = list(data.folds.loc[data.folds["fold"] == fold, "condition"])
        train = [c for c in data.inputs.index if c not in test]
        jobs.append((fold, train, test))
    fits = run_units(_curve_fit, jobs, label=f"target_expression/{DATASET}/learning_curve", scheduler=scheduler,
                     shared={"data": data, "settings": settings, "seed": seed, "every": every})
    rows, hist, pooled = [], [], {}
    for (fold, _, test), (checkpoints, history, ups) in zip(jobs, fits):
        obs = data.outputs.loc[test].to_numpy(dtype=float)
        for epoch, pred in checkpoints.items():
            rows.append({"fold": fold, "epoch": epoch, "pearson_r": float(np.corrcoef(obs.ravel(), pred.ravel())[0, 1]),
                         "mse": float(np.mean((obs - pred) ** 2))})
            pooled.setdefault(epoch, []).append((obs, pred))
        hist.append(history.assign(fold=fold, updates_per_second=ups))
    for epoch, parts in pooled.items():
        obs = np.vstack([o for o, _ in parts])
        pred = np.vstack([p for _, p in parts])
        rows.append({"fold": -1, "epoch": epoch, "pearson_r": float(np.corrcoef(obs.ravel(), pred.ravel())[0, 1]),
                     "mse": float(np.mean((obs - pred) ** 2))})
    return pd.DataFrame(rows).sort_values(["fold", "epoch"]).reset_index(drop=True), pd.concat(hist, ignore_index=True)


def _curve_fit(job, *, data, settings, seed, every):
    from ...compute import pinned_threads
    from .lembas import LembasRegressor

    _, train, test = job
    est = LembasRegressor(network=data.network, random_state=seed, record_every=every, restore_best=False,
                          **settings)
    with pinned_threads():
        est.fit(data.inputs.loc[train], data.outputs.loc[train],
                validation=(data.inputs.loc[test], data.outputs.loc[test]))
    return est.checkpoints_, est.history_, est.updates_per_second_


def plateau_epoch(curve: pd.DataFrame, tolerance: float = 0.01) -> int:
    """The first checkpoint whose pooled held-out r is within ``tolerance`` of the best one.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`learning_curve` (its ``fold = -1`` rows are used).
    tolerance : float
        Allowed shortfall in Pearson r.
    """
    pooled = curve[curve["fold"] == -1].sort_values("epoch")
    if pooled.empty:
        raise DataValidationError("the learning curve has no pooled rows (fold = -1)")
    best = pooled["pearson_r"].max()
    return int(pooled.loc[pooled["pearson_r"] >= best - tolerance, "epoch"].iloc[0])
