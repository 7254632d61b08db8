"""GRN inference: unsupervised ranking of regulator -> target edges, scored against a known network.

CaTran (learnable gene embeddings + attention) against correlation, GENIE3, GRNBoost2, a
knockout z-score, a TF-variance control and random scores on BEELINE (real scRNA-seq and
BoolODE), DREAM4 in silico and Sachs 2005 data. See ``api.py`` for the task declaration.
"""

from .datasets import GRNData, prepare

__all__ = ["GRNData", "prepare"]
