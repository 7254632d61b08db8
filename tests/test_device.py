"""``device`` on every torch estimator: "auto" is the CPU here, results on the CPU are unchanged."""

import numpy as np
import pandas as pd
import pytest
import torch

from grnbench.errors import DataValidationError
from grnbench.models.device import resolve_device
from grnbench.models.mlp import MLPRegressor
from grnbench.tasks.cell_type_markers.estimators import SelectorMLPClassifier
from grnbench.tasks.cell_type_markers.persist import PersistRanker
from grnbench.tasks.edge_classification.estimators import TwoTowerClassifier
from grnbench.tasks.edge_classification.genelink import GENELinkClassifier
from grnbench.tasks.grn_inference.catran import CaTranScorer
from grnbench.tasks.grn_inference.regdiffusion import RegDiffusionScorer
from grnbench.tasks.perturbation_response.scgen import ScGen
from grnbench.tasks.perturbation_response.transformer import PerturbTransformer

TORCH_ESTIMATORS = [MLPRegressor, SelectorMLPClassifier, PersistRanker, TwoTowerClassifier, GENELinkClassifier, CaTranScorer,
                    RegDiffusionScorer, PerturbTransformer, ScGen]
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour on a machine without CUDA")


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS, ids=lambda c: c.__name__)
def test_every_torch_estimator_takes_device_auto(cls):
    assert cls().get_params()["device"] == "auto"


@no_gpu
def test_auto_is_the_cpu_without_a_gpu_and_cuda_is_a_clear_error():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DataValidationError, match="no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.parametrize("bad", ["tpu", "gpu0", 3])
def test_unknown_device_names_the_value(bad):
    with pytest.raises(DataValidationError, match="device must be"):
        resolve_device(bad)


@no_gpu
def test_mlp_on_auto_equals_cpu_and_records_where_it_trained():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(60, 4)), columns=[f"tf{i}" for i in range(4)])
    y = pd.DataFrame(x.to_numpy() @ rng.normal(size=(4, 3)), columns=["a", "b", "c"])
    fits = [MLPRegressor(hidden=(8,), max_epochs=5, device=d, progress=False).fit(x, y) for d in ("auto", "cpu")]
    assert [f.device_ for f in fits] == ["cpu", "cpu"]
    np.testing.assert_array_equal(fits[0].predict(x), fits[1].predict(x))
    with pytest.raises(DataValidationError, match="device must be"):
        MLPRegressor(max_epochs=1, device="tpu").fit(x, y)
