"""Speed table: each neural model's fit time in the full profile, beside the figures its seed reports.

Reads what the full profile measured (``results/full``; nothing is re-fitted):

* per neural model, the full-profile dataset where one fit took longest (the median over seeds
  and split seeds of ``fit_seconds`` in ``metrics.csv``; 2 cores, one fit per Dask worker);
* the CaTran rows of the GRN scaling table (``grn_inference/scaling/scaling.csv``);
* the LEMBAS SHAP explanation time on hHEP (``target_expression/hhep/shap_summary.csv``);
* LEMBAS at the paper's ligand-screen protocol (``benchmarks/results/lembas_cv_speed.csv``).

Each row carries the commit its numbers came from and whether ``grnbench status`` counts that
stage as current; a stale row is a measurement of older code, labelled as such.

    .venv/bin/python benchmarks/speed_table.py --out benchmarks/results/speed.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NEURAL = {"target_expression": ["lembas", "lembas_seed", "mlp"], "edge_classification": ["two_tower"],
          "cell_type_markers": ["selector_mlp"], "grn_inference": ["catran", "catran_interventional"],
          "perturbation_response": ["perturb_transformer"]}
#: What the seed write-ups (../shared/seeds) report about run time.
SEED = {
    "two_tower": ("~4 h per model on CPU (~39K pairs, 5.2M parameters)", "seed 000 (two-tower MLP README)"),
    "xgbrf_seed": ("~20-60 min for 16,100 targets on a multi-core machine", "seed 002 (LEMBAS-RNN benchmark)"),
    "lembas_shap": ("~4 min for 262 samples on 2 GPUs (RTX 5080)", "seed 002 (LEMBAS-RNN benchmark)"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(ROOT / "results/full"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/speed.csv"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from grnbench.results import write_table
    from grnbench.status import profile_status

    res = Path(args.results)
    status = profile_status("full")
    current = {row.stage: row.state == "current" for row in status}
    m = pd.read_csv(res / "metrics.csv", usecols=["task", "dataset", "split", "model", "seed", "split_seed",
                                                  "fit_seconds", "git_sha", "metric"], low_memory=False)
    m = m[m["seed"] >= 0].drop_duplicates(["task", "dataset", "split", "split_seed", "model", "seed"])
    rows = []
    for task, models in NEURAL.items():
        for model in [*models, *(["xgbrf_seed"] if task == "target_expression" else [])]:
            sub = m[(m["task"] == task) & (m["model"] == model)]
            if sub.empty:
                continue
            per = sub.groupby("dataset").agg(fit_seconds=("fit_seconds", "median"), n_fits=("fit_seconds", "size"),
                                             git_sha=("git_sha", lambda s: ",".join(sorted(set(map(str, s))))))
            ds = per["fit_seconds"].idxmax()
            stage = next((s for s in current if s.endswith(f"_fit_{ds}")
                          and s.startswith({"target_expression": "te", "edge_classification": "ec",
                                            "cell_type_markers": "ctm", "grn_inference": "gi",
                                            "perturbation_response": "pr"}[task])), None)
            seed = SEED.get(model, ("", ""))
            rows.append({"task": task, "model": model, "what": "one fit (median over seeds)", "dataset": ds,
                         "seconds": round(float(per.loc[ds, "fit_seconds"]), 1), "n_fits": int(per.loc[ds, "n_fits"]),
                         "git_sha": per.loc[ds, "git_sha"], "stage_current": bool(current.get(stage, False)),
                         "seed_reported": seed[0], "seed_source": seed[1]})
    scaling = pd.read_csv(res / "grn_inference/scaling/scaling.csv")
    for r in scaling[scaling["model"] == "catran"].itertuples():
        rows.append({"task": "grn_inference", "model": "catran", "what": f"one fit, {r.genes} genes x {r.cells} cells",
                     "dataset": "kang_ifnb (scaling)", "seconds": round(float(r.seconds), 1), "n_fits": 1,
                     "git_sha": "", "stage_current": bool(current.get("gi_scaling", False)),
                     "seed_reported": "", "seed_source": ""})
    shap = pd.read_csv(res / "target_expression/hhep/shap_summary.csv")
    for r in shap[shap["model"].isin(["lembas", "lembas_seed"])].itertuples():
        rows.append({"task": "target_expression", "model": r.model,
                     "what": f"SHAP GradientExplainer, {r.n_explained} samples x {r.n_background} background ({r.gene})",
                     "dataset": "hhep", "seconds": round(float(r.explain_seconds), 1), "n_fits": 1, "git_sha": "",
                     "stage_current": bool(current.get("te_shap_hhep", False)),
                     "seed_reported": SEED["lembas_shap"][0], "seed_source": SEED["lembas_shap"][1]})
    cv = pd.read_csv(ROOT / "benchmarks/results/lembas_cv_speed.csv")
    for r in cv.itertuples():
        rows.append({"task": "target_expression", "model": "lembas",
                     "what": f"ligand-screen CV at the paper's protocol, 28 folds x 8,000 epochs, {r.workers} workers "
                             f"(projected from {r.updates} updates at {r.updates_per_second:.0f}/s; {r.implementation})",
                     "dataset": "lembas_ligand_screen", "seconds": round(float(r.projected_cv_hours) * 3600, 0),
                     "n_fits": 28, "git_sha": r.git_sha, "stage_current": False,
                     "seed_reported": "", "seed_source": ""})
    table = pd.DataFrame(rows)
    write_table(table, args.out)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
