"""Split invariants of the target-expression task."""

import numpy as np
import pandas as pd
import pytest

from grnbench.registry import get_dataset
from grnbench.tasks.target_expression import make_split

OBS = pd.DataFrame({"stage": np.repeat(["ipsc", "de", "he1", "mh1", "mh2"], [40, 30, 30, 20, 25])},
                   index=[f"c{i}" for i in range(145)])


def test_random_split_fractions_and_determinism():
    a = make_split(OBS, "random", seed=3)
    b = make_split(OBS, "random", seed=3)
    c = make_split(OBS, "random", seed=4)
    pd.testing.assert_series_equal(a, b)
    assert not a.equals(c)
    counts = a.value_counts()
    assert counts["test"] == round(0.2 * 145)
    assert counts["val"] == round(0.15 * (145 - counts["test"]))
    assert counts.sum() == 145  # every cell in exactly one part


def test_ood_split_holds_out_exactly_the_declared_stages():
    lab = make_split(OBS, "ood", dataset="hhep", seed=0, ood=get_dataset("hhep").ood)
    held = OBS["stage"].isin(["mh1", "mh2"])
    assert (lab[held] == "test").all()
    assert (lab[~held] != "test").all()  # validation comes from the training stages only
    assert (lab[~held] == "val").sum() == round(0.15 * (~held).sum())


@pytest.mark.parametrize("dataset,obs_key,values", [("kang_ifnb", "condition", ["stimulated"]),
                                                    ("pbmc68k_reduced", "cell_type", ["CD14+ Monocyte"]),
                                                    ("hhep", "stage", ["mh1", "mh2"])])
def test_card_ood_groups(dataset, obs_key, values):
    """The held-out group of the ood split comes from the dataset's card."""
    obs = pd.DataFrame({obs_key: ["a"] * 10 + values * 5})
    lab = make_split(obs, "ood", dataset=dataset, ood=get_dataset(dataset).ood)
    held = obs[obs_key].isin(values)
    assert (lab[held] == "test").all() and (lab[~held] != "test").all()


def test_ood_without_a_rule_is_an_error():
    with pytest.raises(Exception, match="no held-out group declared for dataset 'x'"):
        make_split(OBS, "ood", dataset="x")
