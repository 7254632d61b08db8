"""Folds of the perturbation-response set-ups (see :mod:`.datasets`).

Each fold is a :class:`PerturbationFold`: training examples (and validation examples for
``cell_pairs``), the test inputs with the unit each belongs to, and per test unit the observed
mean final state, the mean initial state (the control) and two DE rankings of the genes
(:func:`grnbench.metrics.perturbation.de_score`): one from the held-out unit's own cells, one from
the training cells only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import UnknownIdError
from ...metrics.perturbation import de_score
from .datasets import PerturbationData, PerturbationInput

__all__ = ["SPLITS", "PerturbationFold", "make_folds"]

#: Split id -> the data set-up it needs.
SPLITS = {"heldout_cell_type": "heldout_cell_type", "loko": "loko", "lopo": "lopo", "cell_pairs": "cell_pairs"}


@dataclass
class PerturbationFold:
    """One fold.

    Attributes
    ----------
    train : tuple (PerturbationInput, ndarray (n, n_genes))
    val : tuple or None
    x_test : PerturbationInput
        Test inputs (several examples per unit for a held-out cell type).
    unit : ndarray of int, shape (n_test_examples,)
        Test unit of each test example.
    units : list of str
        Unit names.
    truth : ndarray, shape (n_units, 4, n_genes)
        ``[:, 0]`` observed mean final state, ``[:, 1]`` mean initial state (control), ``[:, 2]``
        the held-out unit's DE score per gene (its perturbed vs control cells), ``[:, 3]`` the
        training DE score (training perturbed vs control cells; the same for every unit of a fold).
    train_cells : set of str
        Cells (samples) whose final state is a training target (for leakage checks).
    replicates : tuple of two ndarrays or None
        The held-out unit's perturbed cells (n_perturbed, n_genes) and control cells
        (n_control, n_genes), for the split-half noise ceiling; None where a unit is one sample
        (a knockout profile, a cell pair).
    """

    train: tuple
    val: tuple | None
    x_test: PerturbationInput
    unit: np.ndarray
    units: list
    truth: np.ndarray
    train_cells: set
    replicates: tuple | None = None


def _heldout_cell_type(data: PerturbationData, seed: int) -> list[PerturbationFold]:
    x, obs, genes = data.expression.to_numpy(), data.obs, data.genes
    cond = obs["condition"].astype(str).to_numpy()
    ctype = obs["cell_type"].astype(str).to_numpy()
    names = data.expression.index.to_numpy()
    types = sorted(set(ctype))
    folds = []
    for t_i, held in enumerate(types):
        rng = np.random.default_rng([seed, t_i])
        x0, y, used, train_ctrl = [], [], set(), []
        for t in types:
            if t == held:
                continue
            stim = np.flatnonzero((ctype == t) & (cond == "stimulated"))
            ctrl = np.flatnonzero((ctype == t) & (cond == "control"))
            partner = rng.choice(ctrl, size=len(stim), replace=True)
            x0.append(x[partner])
            y.append(x[stim])
            train_ctrl.append(x[ctrl])
            used |= set(names[stim])
        x0, y = np.vstack(x0), np.vstack(y)
        train_de = de_score(y, np.vstack(train_ctrl))
        train = (PerturbationInput(x0, np.zeros_like(x0), np.full(len(x0), data.token, dtype=object), genes), y)
        ctrl = np.flatnonzero((ctype == held) & (cond == "control"))
        stim = np.flatnonzero((ctype == held) & (cond == "stimulated"))
        test = PerturbationInput(x[ctrl], np.zeros((len(ctrl), x.shape[1])),
                                 np.full(len(ctrl), data.token, dtype=object), genes)
        truth = np.stack([x[stim].mean(axis=0), x[ctrl].mean(axis=0), de_score(x[stim], x[ctrl]), train_de])[None]
        folds.append(PerturbationFold(train=train, val=None, x_test=test, unit=np.zeros(len(ctrl), dtype=int),
                                      units=[held], truth=truth, train_cells=used, replicates=(x[stim], x[ctrl])))
    return folds


def _loko(data: PerturbationData, seed: int) -> list[PerturbationFold]:
    x, obs, genes = data.expression, data.obs, data.genes
    kind = obs["perturbation"].astype(str)
    wt = x[kind == "wildtype"].to_numpy()[0]
    ko = x[kind == "knockout"]
    ko_gene = obs.loc[ko.index, "intervention"].astype(str).to_numpy()
    col = {g: i for i, g in enumerate(genes)}

    def example(rows):
        p = np.zeros((len(rows), len(genes)))
        for r, g in enumerate(ko_gene[rows]):
            p[r, col[g]] = -wt[col[g]]  # knocked out: the gene goes from its wildtype level to 0
        return PerturbationInput(np.tile(wt, (len(rows), 1)), p, np.full(len(rows), "", dtype=object), genes)

    y_all = ko.to_numpy()
    folds = []
    for i in range(len(ko)):
        rest = np.delete(np.arange(len(ko)), i)
        truth = np.stack([y_all[i], wt, de_score(y_all[i], wt), de_score(y_all[rest], wt)])[None]
        folds.append(PerturbationFold(train=(example(rest), y_all[rest]), val=None, x_test=example(np.array([i])),
                                      unit=np.zeros(1, dtype=int), units=[f"KO_{ko_gene[i]}"],
                                      truth=truth, train_cells=set(ko.index[rest])))
    return folds


def _lopo(data: PerturbationData, seed: int) -> list[PerturbationFold]:
    x, obs, genes = data.expression.to_numpy(), data.obs, data.genes
    value = obs["perturbation_value"].astype(str).to_numpy()
    ctype = obs["cell_type"].astype(str).to_numpy()
    names = data.expression.index.to_numpy()
    col = {g: i for i, g in enumerate(genes)}
    perts = sorted(set(value) - {"control"})
    control = value == "control"

    def knock(x0: np.ndarray, gene: str) -> PerturbationInput:
        p = np.zeros_like(x0)
        p[:, col[gene]] = -x0[:, col[gene]]  # knocked out / down: the gene goes from its control level to 0
        return PerturbationInput(x0, p, np.full(len(x0), "", dtype=object), genes)

    folds = []
    for i, held in enumerate(perts):
        rng = np.random.default_rng([seed, i])
        parts_x, parts_y, used = [], [], set()
        for other in perts:
            if other == held:
                continue
            for t in sorted(set(ctype[value == other])):
                cells = np.flatnonzero((value == other) & (ctype == t))
                ctrl = np.flatnonzero(control & (ctype == t))
                if not len(ctrl):  # a cell type without controls cannot be paired
                    continue
                parts_x.append(knock(x[rng.choice(ctrl, size=len(cells), replace=True)], other))
                parts_y.append(x[cells])
                used |= set(names[cells])
        y = np.vstack(parts_y)
        types = set(ctype[value == held])
        ctrl = np.flatnonzero(control & np.isin(ctype, sorted(types)))
        cells = np.flatnonzero(value == held)
        train_de = de_score(y, x[control])
        truth = np.stack([x[cells].mean(axis=0), x[ctrl].mean(axis=0), de_score(x[cells], x[ctrl]), train_de])[None]
        folds.append(PerturbationFold(train=(PerturbationInput.concat(parts_x), y), val=None,
                                      x_test=knock(x[ctrl], held), unit=np.zeros(len(ctrl), dtype=int),
                                      units=[held], truth=truth, train_cells=used, replicates=(x[cells], x[ctrl])))
    return folds


def _pairs(x: np.ndarray, idx: np.ndarray, n_perturbed: int, rng, genes):
    partner = idx[(np.arange(len(idx)) + 1 + rng.integers(0, len(idx) - 1, size=len(idx))) % len(idx)]
    x0, y = x[idx], x[partner]
    p = np.zeros_like(x0)
    for r in range(len(idx)):
        chosen = rng.choice(x.shape[1], size=n_perturbed, replace=False)
        p[r, chosen] = y[r, chosen] - x0[r, chosen]
    return PerturbationInput(x0, p, np.full(len(idx), "", dtype=object), genes), y


def _cell_pairs(data: PerturbationData, seed: int) -> list[PerturbationFold]:
    x, genes = data.expression.to_numpy(), data.genes
    rng = np.random.default_rng(seed)
    perm = rng.permutation(x.shape[0])
    n_tr, n_va = int(0.7 * len(perm)), int(0.15 * len(perm))
    parts = {"train": perm[:n_tr], "val": perm[n_tr:n_tr + n_va], "test": perm[n_tr + n_va:]}
    made = {k: _pairs(x, v, data.n_perturbed, rng, genes) for k, v in parts.items()}
    test_x, test_y = made["test"]
    names = data.expression.index.to_numpy()
    train_x, train_y = made["train"]
    truth = np.stack([test_y, test_x.x0, np.abs(test_y - test_x.x0),
                      np.broadcast_to(de_score(train_y, train_x.x0), test_y.shape)], axis=1)
    return [PerturbationFold(train=made["train"], val=made["val"], x_test=test_x, unit=np.arange(len(test_x)),
                             units=[f"pair_{names[c]}" for c in parts["test"]],
                             truth=truth, train_cells=set(names[parts["train"]]))]


def make_folds(data: PerturbationData, split: str, seed: int = 0) -> list[PerturbationFold]:
    """The folds of ``split`` for ``data`` (seeded where random).

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unknown split, or a split the dataset's set-up does not support.
    """
    if split not in SPLITS:
        raise UnknownIdError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if SPLITS[split] != data.setup:
        raise UnknownIdError(f"{data.dataset}: split {split!r} needs the {SPLITS[split]!r} set-up; this dataset has "
                             f"{data.setup!r}")
    return {"heldout_cell_type": _heldout_cell_type, "loko": _loko, "lopo": _lopo,
            "cell_pairs": _cell_pairs}[split](data, seed)


def fold_table(folds: list[PerturbationFold]) -> pd.DataFrame:
    """Training examples and test inputs of every fold (for the notebook)."""
    return pd.DataFrame([{"unit": f.units[0] if len(f.units) == 1 else f"{len(f.units)} units",
                          "train_examples": len(f.train[0]), "val_examples": len(f.val[0]) if f.val else 0,
                          "test_inputs": len(f.x_test)} for f in folds])
