"""The verdict grid: layout follows the longer axis, the colour scale resists outliers, numbers stay exact."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from grnbench.plotting import verdict_grid  # noqa: E402


def _paired(datasets, references, diffs=None):
    rows = []
    diffs = iter(diffs) if diffs is not None else None
    for ds in datasets:
        for ref in references:
            d = next(diffs) if diffs is not None else 0.1
            rows.append(dict(dataset=ds, split="all", model="catran", reference=ref, diff=d, ci_low=d - 0.05,
                             ci_high=d + 0.05, verdict="better" if d - 0.05 > 0 else "no difference"))
    return pd.DataFrame(rows)


def _mesh(fig):
    ax = fig.axes[0]
    return ax, ax.collections[0]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_many_datasets_run_down_the_page():
    datasets = [f"ds{i}" for i in range(12)]
    fig = verdict_grid(_paired(datasets, ["pearson", "genie3"]), "auprc_ratio")
    ax, _ = _mesh(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{d} · all" for d in datasets]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["catran − pearson", "catran − genie3"]
    width, height = fig.get_size_inches()
    assert height > width


def test_few_datasets_put_comparisons_on_rows():
    refs = ["pearson", "spearman", "genie3", "grnboost2"]
    fig = verdict_grid(_paired(["a", "b"], refs), "auroc")
    ax, _ = _mesh(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"catran − {r}" for r in refs]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a\nall", "b\nall"]


def test_outlier_saturates_colour_but_keeps_its_number():
    diffs = [0.1 * (i % 3 - 1) for i in range(39)] + [-26.42]
    paired = _paired([f"ds{i}" for i in range(20)], ["pearson", "genie3"], diffs)
    fig = verdict_grid(paired, "auprc_ratio", clip_quantile=0.9)
    ax, mesh = _mesh(fig)
    assert mesh.norm.vmax == pytest.approx(-mesh.norm.vmin)
    assert mesh.norm.vmax < 1.0  # the scale follows the bulk of the differences, not the outlier
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("-26.420") for t in texts)
    assert "clipped" in ax.get_title()


def test_no_clipping_uses_the_largest_difference():
    paired = _paired(["a", "b"], ["pearson"], [0.2, -0.5])
    fig = verdict_grid(paired, "auprc_ratio", clip_quantile=1.0)
    _, mesh = _mesh(fig)
    assert mesh.norm.vmax == pytest.approx(0.5)
    assert "clipped" not in fig.axes[0].get_title()


def test_lower_is_better_flips_the_colour_not_the_number():
    paired = _paired(["a", "b"], ["pearson"], [0.3, -0.3])
    fig = verdict_grid(paired, "mse", maximize=False)
    ax, mesh = _mesh(fig)
    # comparisons (1) < datasets (2): datasets are rows; cell of "a" (diff +0.3) is coloured as a loss
    assert np.asarray(mesh.get_array()).ravel().tolist() == pytest.approx([-0.3, 0.3])
    assert [t.get_text() for t in ax.texts] == ["+0.300\n[+0.250, +0.350] *", "-0.300\n[-0.350, -0.250]"]


def test_large_grids_drop_the_interval_from_the_cell():
    small = verdict_grid(_paired(["a", "b"], ["pearson"]), "auroc")
    assert all("[" in t.get_text() for t in small.axes[0].texts)
    big = verdict_grid(_paired([f"ds{i}" for i in range(40)], ["pearson", "genie3"]), "auroc")
    assert not any("[" in t.get_text() for t in big.axes[0].texts)


def test_bad_input_names_the_missing_column():
    with pytest.raises(ValueError, match="ci_low"):
        verdict_grid(_paired(["a"], ["pearson"]).drop(columns="ci_low"), "auroc")
    with pytest.raises(ValueError, match="clip_quantile"):
        verdict_grid(_paired(["a"], ["pearson"]), "auroc", clip_quantile=0)


def test_no_outlier_no_clipping():
    paired = _paired([f"ds{i}" for i in range(20)], ["pearson"], [0.01 * i for i in range(20)])
    fig = verdict_grid(paired, "auprc_ratio")
    _, mesh = _mesh(fig)
    assert mesh.norm.vmax == pytest.approx(0.19)
    assert "clipped" not in fig.axes[0].get_title()


def test_metric_intervals_draws_the_noise_ceiling_in_its_dataset_panel_only():
    from grnbench.plotting import metric_intervals

    head = pd.DataFrame([{"dataset": d, "split": "s", "model": m, "metric": "pearson_delta", "value": v,
                          "ci_low": v - 0.1, "ci_high": v + 0.1}
                         for d in ("kang", "d4") for m, v in (("ridge", 0.5), ("scgen", 0.3))])
    fig = metric_intervals(head, "pearson_delta", xlim=(-0.5, 1.0), ceilings={"kang": 0.83})
    dashed = [[line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] for ax in fig.axes[:2]]
    assert dashed == [[0.83], []]
    labels = fig.axes[1].get_legend().get_texts()
    assert "noise ceiling" in [t.get_text() for t in labels]


def test_scale_growth_drops_failed_rows_and_draws_forecasts_hollow():
    from grnbench.plotting import scale_growth

    table = pd.DataFrame({
        "model": ["mlr", "mlr", "mlr", "xgbrf", "xgbrf", "lembas"],
        "n_targets": [1000, 4000, 16100, 1000, 16100, 16100],
        "status": ["ok", "ok", "ok", "ok", "ok", "timeout after 60 s"],
        "fit_seconds": [3.0, 12.0, 50.0, 600.0, 9600.0, np.nan],
        "peak_rss_gb": [3.0, 5.0, 11.0, 3.5, 4.0, np.nan],
        "forecast": [False, False, False, False, True, False],
    })
    fig = scale_growth(table, reference={"label": "seed XGBRF", "n_targets": 16100, "low": 1200, "high": 3600})
    ax = fig.axes[0]
    legend = fig.axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["mlr", "xgbrf"]  # the timed-out row is left out
    hollow = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and ln.get_markerfacecolor() == "white"
              and len(ln.get_xdata())]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [16100] and list(hollow[0].get_ydata()) == [9600.0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and fig.axes[1].get_ylim() == (0, 26)
    assert len(ax.collections) == 1  # the reported range, one vertical bar
    plt.close(fig)
