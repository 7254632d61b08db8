"""The nbval comparison: neural-model rows within the measured tolerance, every other row exact."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nbval_tolerance import ATOL, neural_model_ids, rows_match  # noqa: E402

PATTERN = re.compile(r"(?<![\w])(selector_mlp|two_tower|catran)(?![\w])")

# cells of the committed smoke notebooks as an Intel CPU wrote them and as an AMD EPYC re-executed them
REF = ("<tr>\n      <th>capped</th>\n      <th>selector_mlp</th>\n      <td>0.565 [0.514, 0.644]</td>\n    </tr>"
       "<tr>\n      <th>capped</th>\n      <th>linear_svm</th>\n      <td>0.781 [0.712, 0.833]</td>\n    </tr>")
AMD = REF.replace("0.565 [0.514, 0.644]", "0.562 [0.512, 0.636]")


def test_cross_cpu_drift_of_a_neural_row_passes():
    assert rows_match(REF, AMD, PATTERN)
    assert rows_match("selector_mlp  0.760  0.701", "selector_mlp  0.756  0.701", PATTERN)


def test_control_rows_must_match_exactly():
    assert not rows_match(REF, REF.replace("0.781", "0.782"), PATTERN)
    assert not rows_match("linear_svm  0.760", "linear_svm  0.756", PATTERN)


def test_a_real_regression_of_a_neural_model_fails():
    assert not rows_match(REF, REF.replace("0.565", f"{0.565 - 2 * ATOL:.3f}"), PATTERN)
    assert not rows_match("selector_mlp  0.760", "selector_mlp  0.700", PATTERN)


def test_a_float_sensitive_notebook_tolerates_every_row():
    # the Wilcoxon-marker row (a control) of the cell-type-marker benchmark, Intel vs AMD
    ref = "  wilcoxon_markers  0.617  0.652  0.647 [0.544, 0.720]"
    amd = "  wilcoxon_markers  0.617  0.652  0.644 [0.539, 0.716]"
    assert rows_match(ref, amd, None) and not rows_match(ref, amd, PATTERN)
    assert not rows_match(ref, ref.replace("0.647", "0.600"), None)


def test_words_in_a_neural_row_must_match():
    assert not rows_match("selector_mlp  linear_svm  0.01  better", "selector_mlp  linear_svm  0.01  worse", PATTERN)
    assert not rows_match("a\nselector_mlp 0.5", "a\nselector_mlp 0.5\nextra", PATTERN)


def test_neural_ids_are_the_seed_systems_and_the_mlp_control():
    ids = neural_model_ids()
    assert {"selector_mlp", "two_tower", "catran", "lembas", "perturb_transformer", "mlp"} <= ids
    assert not ids & {"linear_svm", "ridge", "genie3", "random", "mean", "pearson"}
