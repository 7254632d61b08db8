"""Regenerate ``src/grnbench/data/beeline_genelink_files.tsv`` from the data mirror's MANIFEST.md.

Provenance helper (run by hand, not at runtime): for every file of the BEELINE / GENELink
edge-classification benchmark that grnbench reads, record its mirror path, its public URL
(GENELink @ 4eb816a or bridge-grn @ 27d21d9, as listed in the manifest) and its sha256. The
loaders check each file against this table.

    python data/make_beeline_table.py ../shared/data/MANIFEST.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from grnbench.data.sources import github_raw  # noqa: E402

GENELINK = ("zpliulab/GENELink", "4eb816af27f5fe0cb26f9230286401801b251129")
BRIDGE = ("haohaostats/bridge-grn", "27d21d94f6f96f5d2a8a7b41d392cb12410e46ea")
ROW = re.compile(r"^\| `(beeline_genelink/[^`]+)` \| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|")


def main(manifest: str) -> None:
    rows = []
    for line in Path(manifest).read_text().splitlines():
        m = ROW.match(line)
        if not m:
            continue
        relpath, source, _size, sha = m.groups()
        repo = BRIDGE if source.startswith("data/") else GENELINK
        rows.append(f"{relpath}\t{github_raw(*repo, source)}\t{sha}")
    out = Path(__file__).resolve().parents[1] / "src/grnbench/data/beeline_genelink_files.tsv"
    out.write_text("relpath\turl\tsha256\n" + "\n".join(sorted(rows)) + "\n")
    print(f"{len(rows)} files -> {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/MANIFEST.md")
