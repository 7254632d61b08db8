"""Two-tower hyper-parameter search on validation pairs (the edge-classification tuning notebook)."""

from __future__ import annotations

import itertools
import time

import pandas as pd

from ...metrics.binary import auprc, auroc
from ...registry import get_model
from .api import PAIR
from .datasets import EdgeData, gene_profiles
from .splits import make_split

__all__ = ["TUNING_GRID", "tune_two_tower"]

TASK = "edge_classification"

#: Validation grid of the two-tower search: embedding dimension, learning rate, depth (hidden layers), tau.
TUNING_GRID = {"emb_dim": [32, 128], "lr": [1e-3, 3e-3], "hidden": [(256,), (256, 128)], "tau": [0.05, 0.2]}


def tune_two_tower(data: EdgeData, *, split: str = "reference", grid: dict | None = None, seed: int = 0,
                   split_seed: int = 0) -> pd.DataFrame:
    """Grid search of the two-tower hyper-parameters scored on validation pairs only (AUPRC).

    Parameters
    ----------
    data : EdgeData
    split : str
        Split whose training pairs fit and whose validation pairs score (``random`` if no shipped split).
    grid : dict, optional
        Parameter lists (default :data:`TUNING_GRID`).
    seed, split_seed : int

    Returns
    -------
    pandas.DataFrame
        One row per combination: the parameters, ``val_auprc``, ``val_auroc``, ``best_epoch``,
        ``fit_seconds``; sorted by ``val_auprc`` (best first). Test pairs are never scored.
    """
    if data.gene_features is None:
        data.gene_features = gene_profiles(data.expression, seed=0)
    if split == "reference" and data.reference is None:
        split = "random"
    pairs = make_split(data, split, seed=split_seed)
    tr, va = pairs[pairs["part"] == "train"], pairs[pairs["part"] == "val"]
    grid = grid or TUNING_GRID
    names = sorted(grid)
    rows = []
    for values in itertools.product(*(grid[k] for k in names)):
        params = dict(zip(names, values))
        est = get_model("two_tower", TASK).build(data, **params)
        est.set_params(random_state=seed)
        t = time.perf_counter()
        est.fit(tr[PAIR], tr["label"].to_numpy(), validation=(va[PAIR], va["label"].to_numpy()))
        fit_s = time.perf_counter() - t
        s = est.predict_proba(va[PAIR])[:, 1]
        rows.append({**{k: str(v) if isinstance(v, tuple) else v for k, v in params.items()}, "split": split,
                     "val_auprc": auprc(va["label"].to_numpy(), s), "val_auroc": auroc(va["label"].to_numpy(), s),
                     "best_epoch": est.best_epoch_, "fit_seconds": fit_s})
    return pd.DataFrame(rows).sort_values("val_auprc", ascending=False, kind="stable").reset_index(drop=True)
