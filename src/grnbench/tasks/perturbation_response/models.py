"""Models of the perturbation-response task (ids fixed)."""

from __future__ import annotations

from ...registry import register_model
from .estimators import Additive, KNNResponse, LinearPCA, NoChange, TrainMean
from .scgen import SCGEN_REF, ScGen
from .transformer import PerturbTransformer

TASK = "perturbation_response"
BASELINES = ("no_change", "train_mean", "additive", "ridge", "knn")


@register_model("perturb_transformer", task=TASK, is_baseline=False, stochastic=True, controls=BASELINES,
                reference="Gene Perturbation Correlate Predictor (R. Bradfield; the seed write-up)",
                description="gene embedding x log expression -> self-attention encoder; perturbations as decoder "
                            "queries cross-attending to the encoded state; per-gene read-out of the change")
def perturb_transformer(data):
    return PerturbTransformer()


@register_model("scgen", task=TASK, is_baseline=False, stochastic=True, controls=BASELINES, reference=SCGEN_REF,
                description="published neural comparator: VAE (800-800, latent 100, KL weight 5e-5) on control and "
                            "perturbed cells; prediction = decode(z(control) + mean latent shift); named "
                            "perturbations only (Kang)")
def scgen(data):
    return ScGen()


@register_model("no_change", task=TASK, uses_validation=False,
                reference="'no change' baseline (Ahlmann-Eltze et al. 2025, doi:10.1038/s41592-025-02772-6)",
                description="predict the control (initial state)")
def no_change(data):
    return NoChange()


@register_model("train_mean", task=TASK, uses_validation=False,
                reference="training-mean baseline (Csendes et al. 2025, doi:10.1186/s12864-025-11600-2)",
                description="mean final state of the training examples with the same perturbagen")
def train_mean(data):
    return TrainMean()


@register_model("additive", task=TASK, uses_validation=False,
                reference="additive baseline (Ahlmann-Eltze et al. 2025; scGen's latent arithmetic in gene space)",
                description="control + mean shift seen in other cell types / knockouts / pairs")
def additive(data):
    return Additive()


@register_model("ridge", task=TASK, uses_validation=False,
                reference="linear model on PCA gene embeddings (Ahlmann-Eltze et al. 2025)",
                description="additive + G W z: ridge (lambda 0.1) on 10 PCA gene-embedding dimensions")
def ridge(data):
    return LinearPCA()


@register_model("knn", task=TASK, uses_validation=False,
                reference="k nearest neighbours in the PCA embedding (Sun, Zhu & Chen, ICLR 2026)",
                description="control + mean shift of the 5 nearest training examples")
def knn(data):
    return KNNResponse()
