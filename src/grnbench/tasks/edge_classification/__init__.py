"""Task ``edge_classification``: is TF -> target a regulatory edge? Supervised link prediction with leakage-aware splits."""

from . import metrics, models
from .datasets import EdgeData, gene_profiles, prepare
from .splits import SPLITS, make_split, split_summary

TASK = "edge_classification"

__all__ = ["TASK", "metrics", "models", "EdgeData", "gene_profiles", "prepare", "SPLITS", "make_split", "split_summary"]
