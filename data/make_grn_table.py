"""Regenerate ``src/grnbench/data/grn_benchmark_files.tsv`` from the data mirror's file manifest.

Provenance helper (run by hand, not at runtime): for every file of the GRN-inference benchmarks
that grnbench reads — BEELINE BoolODE synthetic and curated inputs (Murali-group/Beeline @ 900e18d),
DREAM4 in silico size 10 / 100 / 100-multifactorial (Synapse archives as unpacked in
FinAminToastCrunch/OptimalBrainDissection @ 0572f3b; size-10 training data inside the Bioconductor
DREAM4 package's tarball @ d901bd6) and Sachs 2005 (CausalDiscoveryToolbox @ d0bc352) — record
its mirror path, its public URL, the member path for files inside an archive, and its sha256.

    python data/make_grn_table.py ../shared/data/manifest_files.tsv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from grnbench.data.sources import github_raw  # noqa: E402

PREFIXES = ("beeline_inputs/Synthetic/", "beeline_inputs/Simulated/", "dream4/", "sachs2005_cdt/")


def main(manifest: str) -> None:
    rows = []
    with open(manifest, newline="") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            path = rec["path"]
            if not path.startswith(PREFIXES) or "bonus round" in path or "dualknockouts" in path:
                continue
            source, member = rec["source_path"], ""
            if " :: " in source:  # a member of an archive in the repository
                source, member = source.split(" :: ", 1)
            rows.append((path, github_raw(rec["source_repo"], rec["commit"], source), member, rec["sha256"]))
    out = Path(__file__).resolve().parents[1] / "src/grnbench/data/grn_benchmark_files.tsv"
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(("relpath", "url", "member", "sha256"))
        w.writerows(sorted(rows))
    print(f"{len(rows)} files -> {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/manifest_files.tsv")
