"""A short list of canonical PBMC marker genes, for checking what a ranking puts first.

From the Seurat PBMC 3k guided clustering tutorial (Satija lab; Hao et al. 2021,
doi:10.1016/j.cell.2021.04.048) as reused by scanpy's PBMC 3k tutorial (Wolf et al. 2018,
doi:10.1186/s13059-017-1382-0).
"""

from __future__ import annotations

__all__ = ["PBMC_MARKERS", "marker_overlap"]

PBMC_MARKERS = {
    "CD4 T": ["IL7R", "CCR7"],
    "CD14+ monocyte": ["CD14", "LYZ"],
    "B": ["MS4A1", "CD79A"],
    "CD8 T": ["CD8A"],
    "NK": ["GNLY", "NKG7"],
    "FCGR3A+ monocyte": ["FCGR3A", "MS4A7"],
    "dendritic": ["FCER1A", "CST3"],
    "platelet": ["PPBP"],
}


def marker_overlap(ranking, candidates, k: int, markers: dict = PBMC_MARKERS) -> tuple[int, int]:
    """How many markers present among the candidate genes are in the ranking's top ``k``.

    Returns
    -------
    (found, present) : tuple of int
    """
    pool = set(candidates)
    present = {g for genes in markers.values() for g in genes if g in pool}
    return len(present & set(list(ranking)[:k])), len(present)
