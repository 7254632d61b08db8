"""Fit time of one perturb_transformer fold on the Kang held-out-cell-type split (a benchmark).

Issue 13's budget is a neural fit of at most 5 minutes per fold on 2 cores. The full-profile stage
fits 7 folds x 5 seeds two folds at a time; this script times single folds with nothing else
running, with the study's settings (one torch thread) and with both cores.

Usage (needs the data mirror)::

    GRNBENCH_DATA_DIR=../shared/data python benchmarks/perturb_fold_time.py [--folds 0] [--threads 1 2]

Writes ``benchmarks/results/perturb_fold_time.csv``: fold (held-out cell type), threads, training
examples, genes, epochs run, best epoch, fit seconds, seconds per epoch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from grnbench.results import write_table
from grnbench.tasks.perturbation_response import prepare
from grnbench.tasks.perturbation_response.splits import make_folds
from grnbench.tasks.perturbation_response.transformer import PerturbTransformer

OUT = Path(__file__).parent / "results" / "perturb_fold_time.csv"


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, nargs="+", default=[0], help="fold indices (one per cell type)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch threads to time")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    data = prepare("kang_ifnb", n_genes=500)  # the fit notebook's n_genes (500 most variable genes)
    folds = make_folds(data, "heldout_cell_type")
    rows = []
    for k in args.folds:
        fold = folds[k]
        x, y = fold.train
        for threads in args.threads:
            est = PerturbTransformer(n_threads=threads, random_state=args.seed, progress=False)
            t0 = time.perf_counter()
            est.fit(x, y)
            sec = time.perf_counter() - t0
            epochs = len(est.history_)
            rows.append({"fold": k, "held_out": ",".join(map(str, fold.units)), "threads": threads,
                         "train_examples": len(x), "genes": y.shape[1], "epochs_run": epochs,
                         "best_epoch": est.best_epoch_, "fit_seconds": round(sec, 1),
                         "seconds_per_epoch": round(sec / max(epochs, 1), 2)})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    write_table(table, OUT)
    return table


if __name__ == "__main__":
    main()
