"""Models of the GRN-inference task (ids fixed).

Each factory receives the task's :class:`~.datasets.GRNData` and returns an unfitted edge
scorer whose regulators and targets are the dataset's candidate sources and targets.
"""

from __future__ import annotations

from ...registry import register_model
from .catran import CaTranScorer
from .estimators import ArboretoScorer, CorrelationScorer, KnockoutZScore, RandomEdgeScorer, TFVarianceScorer
from .regdiffusion import REGDIFFUSION_REF, RegDiffusionScorer

TASK = "grn_inference"
CATRAN_REF = ("CaTran (A. Bakulin, OpenReview Wf0QRYUkhwV; CausalBench challenge, Chevalley et al. 2022, "
              "arXiv:2210.17283)")


def _on(data, est):
    return est.set_params(regulators=list(data.regulators), targets=list(data.nodes))


@register_model("catran", task=TASK, is_baseline=False, stochastic=True, ablations={"epochs": (250,)},
                reference=CATRAN_REF,
                description="gene embeddings (d=40) -> attention soft-maxed over incoming edges; masked-by-shuffle "
                            "self-supervision (80%), Huber 0.7/0.3, Lion lr 1e-3 wd 0.05, 25 epochs")
def catran(data):
    return _on(data, CaTranScorer())


@register_model("catran_seed", task=TASK, is_baseline=False, stochastic=True, controls=("catran",),
                reference=CATRAN_REF + "; the write-up's training budget",
                description="catran trained for at least 2,500 Lion steps, the write-up's regime (~200k cells in "
                            "2,048-cell batches: ~100 steps per epoch x 25 epochs); here one epoch is 1-2 steps, "
                            "so this runs ~1,250-2,500 epochs")
def catran_seed(data):
    return _on(data, CaTranScorer(min_steps=2500))


@register_model("catran_interventional", task=TASK, is_baseline=False, stochastic=True, controls=("catran",),
                reference=CATRAN_REF + "; interventional loss of the write-up",
                description="catran + the interventional loss (weight 10) on cells whose perturbed gene is known")
def catran_interventional(data):
    return _on(data, CaTranScorer(interventional=True))


@register_model("regdiffusion", task=TASK, is_baseline=False, stochastic=True, reference=REGDIFFUSION_REF,
                description="published neural comparator: denoising diffusion through a learnable gene x gene adjacency "
                            "(T 5,000, hidden 16-16-16, L1 0.25, adjacency dropout 0.3, batch 128, 1,000 steps; the "
                            "package's defaults); |adjacency| ranks edges")
def regdiffusion(data):
    return _on(data, RegDiffusionScorer())


@register_model("pearson", task=TASK, reference="|Pearson r| (BEELINE's correlation runner; Pratapa et al. 2020)",
                description="absolute Pearson correlation of regulator and target across cells")
def pearson(data):
    return _on(data, CorrelationScorer(method="pearson"))


@register_model("spearman", task=TASK, reference="|Spearman rho| (Spearman 1904)",
                description="absolute Spearman correlation of regulator and target across cells")
def spearman(data):
    return _on(data, CorrelationScorer(method="spearman"))


@register_model("genie3", task=TASK,
                reference="GENIE3 (Huynh-Thu et al. 2010, doi:10.1371/journal.pone.0012776) via arboreto 0.1.6",
                description="random forest per target (1,000 trees, sqrt features), regulator importance; Dask "
                            "LocalCluster of 2 workers")
def genie3(data):
    return _on(data, ArboretoScorer(algorithm="genie3"))


@register_model("grnboost2", task=TASK,
                reference="GRNBoost2 (Moerman et al. 2019, doi:10.1093/bioinformatics/bty916) via arboreto 0.1.6",
                description="stochastic gradient boosting per target with out-of-bag early stopping; Dask "
                            "LocalCluster of 2 workers")
def grnboost2(data):
    return _on(data, ArboretoScorer(algorithm="grnboost2"))


@register_model("knockout_zscore", task=TASK,
                reference="z-score of knockouts (Prill et al. 2010, doi:10.1371/journal.pone.0009202)",
                description="|z| of the target in the regulator's knockout sample (DREAM4 knockouts only)")
def knockout_zscore(data):
    return _on(data, KnockoutZScore())


@register_model("tf_variance", task=TASK, reference="control: regulator variance only",
                description="every edge of a regulator scored by its variance across cells (hub TFs alone)")
def tf_variance(data):
    return _on(data, TFVarianceScorer())


@register_model("random", task=TASK, stochastic=True, chance=True, reference="uniform random scores (control)",
                description="chance level, averaged over seeds (20 in the full study)")
def random(data):
    return _on(data, RandomEdgeScorer(random_state=0))
