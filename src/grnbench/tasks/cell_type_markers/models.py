"""Gene rankings of the cell-type-marker task (ids fixed).

Every factory returns an unfitted estimator whose ``fit(X, y, validation=None)`` sets
``ranking_`` (genes, most informative first).
"""

from __future__ import annotations

from .api import KS
from .estimators import LinearRanker, RandomRanker, SelectorMLPClassifier, WilcoxonRanker
from .persist import PERSIST_REF, PersistRanker
from ...registry import register_model

TASK = "cell_type_markers"

#: Validation grid of SelectorMLP: L1 strength and hidden sizes.
SELECTOR_GRID = {"l1": [3e-3, 1e-2, 3e-2], "hidden": [(64,), (256,)]}
#: Tuning criterion of the tuned rankers: validation accuracy with only the top-k genes kept, mean over these k.
TUNE_KS = (8, 16, 32)


@register_model("selector_mlp", task=TASK, is_baseline=False, stochastic=True, controls=("random",),
                reference="SelectorMLP (the seed); cf. Covert et al. 2023, doi:10.1038/s41467-023-37392-1",
                description="MLP with an L1-penalised per-gene selection layer; genes ranked by |weight|; "
                            "L1 strength and hidden sizes tuned on validation accuracy with the top 8/16/32 genes kept")
def selector_mlp(data):
    return SelectorMLPClassifier(param_grid=SELECTOR_GRID, tune_ks=TUNE_KS)


@register_model("persist", task=TASK, is_baseline=False, stochastic=True, controls=("random",),
                reference=PERSIST_REF,
                description="published neural comparator: BinConcrete gates with a searched penalty keep ~500 genes, "
                            "then Concrete selectors pick exactly k genes (nested over the task's k); MLP 128-128, "
                            "Adam 1e-3, batch 64, 250 epochs, temperature 10 -> 0.01")
def persist(data):
    return PersistRanker(ks=KS)


@register_model("wilcoxon_markers", task=TASK, uses_validation=False, is_baseline=True, stochastic=False,
                reference="scanpy rank_genes_groups (Wolf et al. 2018, doi:10.1186/s13059-017-1382-0)",
                description="Wilcoxon marker genes per cell type on training cells, merged round-robin")
def wilcoxon_markers(data):
    return WilcoxonRanker()


@register_model("linear_svm", task=TASK, uses_validation=False, is_baseline=True, stochastic=False,
                reference="the seed's SVM baseline; Abdelaal et al. 2019, doi:10.1186/s13059-019-1795-z",
                description="linear SVM on standardised genes, ranked by max |coefficient| over classes")
def linear_svm(data):
    return LinearRanker(kind="svm", C=1.0)


@register_model("logreg_l1", task=TASK, is_baseline=True, stochastic=False,
                reference="Tibshirani 1996, doi:10.1111/j.2517-6161.1996.tb02080.x; Boiarsky et al. 2023",
                description="L1 logistic regression (one-vs-rest), ranked by max |coefficient|; C tuned on validation "
                            "accuracy with the top 8/16/32 genes kept")
def logreg_l1(data):
    return LinearRanker(kind="logreg_l1", C_grid=(0.01, 0.1, 1.0), tune_ks=TUNE_KS)


@register_model("random", task=TASK, uses_validation=False, is_baseline=True, stochastic=True, chance=True,
                reference="random gene order (control)", description="a random gene order; 5 orders per split")
def random(data):
    return RandomRanker()
