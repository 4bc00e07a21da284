"""The kernel's own exp and log1p (gdfast/_kernels/fastmath.h), which the logistic losses use
instead of libm's, held to libm's (Python's math module calls it) over their whole ranges:
the saturated tails, subnormal results, the boundaries of their range reductions. And the
binary log loss the epoch loop computes with them, against the NumPy twin's, at scores from
0 to far past saturation, on both the four-row and the one-row path."""
import decimal
import math
import pathlib
import re
import struct

import numpy as np
import pytest

from gdfast.linear_model import _engine
from gdfast._slow import linear as _reference

pytestmark = pytest.mark.usefixtures("each_kernel_build")

# Both functions are within about one ulp of the exact value (1.04 and 0.86 ulps measured
# against a long double reference), so within 1 of glibc's nearly correctly rounded exp and
# log1p (the most measured on these arguments, both builds); a libm that is itself an ulp
# off may see 2.
MAX_ULPS = 2.0
TINIEST = 5e-324                          # the smallest subnormal double
ROOT = pathlib.Path(__file__).resolve().parents[2]


def ulp_errors(got, expected):
    """|got - expected| in units of expected's last place (a subnormal's: 2^-1074)."""
    return np.abs(got - expected) / np.spacing(np.abs(expected))


def libm(function, values):
    return np.array([function(v) for v in values])


def exp_arguments():
    rng = np.random.default_rng(0)
    return np.concatenate([
        -rng.uniform(0, 750, 200_000),                        # the whole range, and past it
        -rng.uniform(0, 1, 100_000),
        -10.0 ** rng.uniform(-320, 0, 100_000),               # |x| down to subnormal
        -rng.uniform(708, 745.2, 100_000),                    # subnormal results
        -np.arange(0, 1080) * math.log(2) / 2,                # on and near the reduction's
        np.nextafter(-np.arange(1, 1080) * math.log(2) / 2, 0),   # half-way points
        np.nextafter(-np.arange(1, 1080) * math.log(2) / 2, -np.inf),
        -(np.arange(0, 137_000, 7) + 0.5) * math.log(2) / 128,   # the per-sample exp's
        -np.arange(0, 137_000, 11) * math.log(2) / 128,          # table steps and halves
        [-0.0, 0.0, -TINIEST, -1e-300, -745.13, -745.1332191019411, -745.1332191019412,
         -745.14, -746.0, -800.0, -1e308, -np.finfo(float).max],
    ])


@pytest.mark.parametrize("one_at_a_time", [False, True])    # batched paths, per-sample path
def test_exp_is_within_two_ulps_of_libm_over_its_whole_range(each_kernel_build,
                                                             one_at_a_time):
    x = exp_arguments()
    got = each_kernel_build._exp_nonpositive(x, one_at_a_time)
    expected = libm(math.exp, x)
    errors = ulp_errors(got, expected)
    assert errors.max() <= MAX_ULPS, (x[errors.argmax()], got[errors.argmax()])
    subnormal = (expected > 0) & (expected < np.finfo(float).tiny)
    assert subnormal.sum() > 10_000                         # the test reaches them
    assert np.abs(got - expected)[subnormal].max() <= TINIEST   # one step of 2^-1074
    assert np.all(got >= 0)


def test_per_sample_exp_is_within_one_ulp_of_libm(each_kernel_build):
    """The per-sample path's exp (from a table of 2^(j/128)) is nearly correctly rounded:
    0.51 ulp of the exact value with FMA, 0.76 without, so at most one ulp from libm's."""
    x = exp_arguments()
    got = each_kernel_build._exp_nonpositive(x, True)
    normal = np.abs(x) <= 708.0
    errors = ulp_errors(got[normal], libm(math.exp, x[normal]))
    assert errors.max() <= 1.0, (x[normal][errors.argmax()], got[normal][errors.argmax()])


def test_per_sample_exp_table_holds_two_to_the_j_over_128():
    """exp_table.h, recomputed: each entry is 2^(j/128) rounded to double, its bits less
    j·2^45, and the rounding's relative remainder."""
    header = ROOT / "src" / "gdfast" / "_kernels" / "exp_table.h"
    if not header.exists():
        pytest.skip("needs the source tree")
    text = header.read_text()
    bits_array = re.findall(r"0x([0-9a-f]{16})ULL", text.split("gd_exp_table_tail")[0])
    tail_array = re.findall(r"(-?0x[0-9a-f.]+p[-+]\d+),", text.split("gd_exp_table_tail")[1])
    assert len(bits_array) == len(tail_array) == 128
    with decimal.localcontext() as context:
        context.prec = 60
        ln2 = decimal.Decimal(2).ln()
        for j, (tail, bits) in enumerate(zip(tail_array, bits_array)):
            exact = (ln2 * j / 128).exp()
            rounded = float(exact)
            assert (int(bits, 16) + (j << 45)
                    == struct.unpack("<Q", struct.pack("<d", rounded))[0]), j
            remainder = float((exact - decimal.Decimal(rounded)) / decimal.Decimal(rounded))
            assert float.fromhex(tail) == remainder, j


@pytest.mark.parametrize("one_at_a_time", [False, True])
def test_exp_saturates_and_passes_nan_as_libm_does(each_kernel_build, one_at_a_time):
    x = np.array([0.0, -0.0, -745.14, -746.0, -1e4, -np.inf, np.nan])
    got = each_kernel_build._exp_nonpositive(x, one_at_a_time)
    assert got[0] == 1.0 and got[1] == 1.0
    assert np.all(got[2:6] == 0.0)                          # below ln(2^-1075): exactly 0
    assert np.isnan(got[6])
    # Where libm's result is 0, so is this one, and where it is not, neither is this one.
    x = np.linspace(-745.2, -745.0, 20_001)
    got = each_kernel_build._exp_nonpositive(x, one_at_a_time)
    expected = libm(math.exp, x)
    assert np.array_equal(got == 0, expected == 0)


def test_exp_rejects_positive_arguments(each_kernel_build):
    with pytest.raises(ValueError, match="at most 0"):
        each_kernel_build._exp_nonpositive(np.array([1.0]))


def log1p_arguments():
    rng = np.random.default_rng(1)
    sqrt2 = math.sqrt(2.0)
    return np.concatenate([
        rng.uniform(0, 1, 300_000),
        10.0 ** rng.uniform(-323, 0, 200_000),               # down to subnormal e
        np.nextafter(sqrt2 - 1, 0) + np.arange(-500, 500) * 2.0 ** -53,  # where u = 1 + e
                                                             # crosses sqrt(2)
        np.nextafter(1.0, 0) - np.arange(1000) * 2.0 ** -53,
        2.0 ** -np.arange(0, 1075.0),
        [0.0, TINIEST, 1e-300, 2.0 ** -53, 2.0 ** -52, 0.5, 1.0],
    ])


def test_log1p_is_within_two_ulps_of_libm_on_zero_to_one(each_kernel_build):
    e = log1p_arguments()
    got = each_kernel_build._log1p_unit(e)
    expected = libm(math.log1p, e)
    errors = ulp_errors(got, expected)
    assert errors.max() <= MAX_ULPS, (e[errors.argmax()], got[errors.argmax()])
    assert each_kernel_build._log1p_unit(np.array([0.0]))[0] == 0.0
    assert np.isnan(each_kernel_build._log1p_unit(np.array([np.nan]))[0])


def test_log1p_rejects_arguments_outside_zero_to_one(each_kernel_build):
    for bad in (-0.5, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            each_kernel_build._log1p_unit(np.array([bad]))


SCORES = np.array([0.0, 1e-300, -1e-300, 1e-9, -1e-9, 0.3, -0.3, 0.881, -0.881, 2.5, -2.5,
                   17.0, -17.0, 36.5, -36.5, 40.0, -40.0, 300.0, -300.0, 709.0, -709.0,
                   720.0, -720.0, 745.5, -745.5, 800.0, -800.0, 1e6, -1e6])


@pytest.mark.parametrize("rows_at_once", [4, 1])              # four-row path, one-row path
def test_binary_log_loss_matches_the_twin_from_zero_to_saturation(rows_at_once):
    """One feature equal to the score and weight 1 with no intercept: each row's loss and
    derivative (the gradient of its weight over its score) are those of the score. The rows
    that fill a group of four score -1e6 with target 0: their loss and derivative are 0
    exactly. Relative 1e-14, or 2 subnormal steps where the twin's value is below those."""
    X = np.repeat(SCORES, 2)[:, None].copy()
    y = np.tile([0.0, 1.0], SCORES.size)
    filler = 2 * (SCORES.size - 1)
    assert X[filler, 0] == -1e6 and y[filler] == 0.0
    weights = np.ones(X.shape[0])
    coef = np.array([1.0, 0.0])
    config = {"loss": "log_loss", "fit_intercept": False}
    losses, gradients = [], []
    for row in range(X.shape[0]):
        rows = np.array([row] + [filler] * (rows_at_once - 1))
        gradient, loss_sum = _engine.batch_gradient("cython", X, y, weights, coef, rows,
                                                    config)
        losses.append(loss_sum)
        gradients.append(gradient[0])
    expected_loss, expected_slope = _reference.log_loss(X[:, 0], y, 0.0)
    np.testing.assert_allclose(losses, expected_loss, rtol=1e-14, atol=2 * TINIEST)
    nonzero = X[:, 0] != 0
    np.testing.assert_allclose(np.array(gradients)[nonzero] / X[nonzero, 0],
                               expected_slope[nonzero], rtol=1e-14, atol=2 * TINIEST)


SMALL_SHIFT = 2.0 ** -7                   # gd_expm1_small's and gd_sigmoid_shifted's range


def shift_arguments():
    rng = np.random.default_rng(2)
    magnitudes = np.concatenate([rng.uniform(0, SMALL_SHIFT, 200_000),
                                 SMALL_SHIFT * 10.0 ** rng.uniform(-320, 0, 100_000),
                                 [0.0, TINIEST, 1e-300, 2.0 ** -60, SMALL_SHIFT,
                                  np.nextafter(SMALL_SHIFT, 0)]])
    return np.concatenate([magnitudes, -magnitudes])


def test_expm1_small_is_within_two_ulps_of_libm_over_its_whole_range(each_kernel_build):
    t = shift_arguments()
    got = each_kernel_build._expm1_small(t)
    expected = libm(math.expm1, t)
    errors = ulp_errors(got, expected)
    assert errors.max() <= MAX_ULPS, (t[errors.argmax()], got[errors.argmax()])
    assert np.isnan(each_kernel_build._expm1_small(np.array([np.nan]))[0])
    with pytest.raises(ValueError, match="2\\^-7"):
        each_kernel_build._expm1_small(np.array([0.01]))


def test_shifted_sigmoid_is_within_four_ulps_from_zero_to_saturation(each_kernel_build):
    """sigmoid(q - t) from exp(-|q|) and t, against the sigmoid of q - t in long double
    (NumPy's extended precision, 64-bit significand), for q over the whole range: the
    saturated tails (results down to subnormal, and 1), both signs, and t from 0 to
    ±2^-7. Four ulps: exp's one, expm1's, the denominator's sum and the division; a
    subnormal result within 2 steps of 2^-1074."""
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("needs x87 extended precision for the reference")
    rng = np.random.default_rng(3)
    q = np.concatenate([rng.uniform(-750, 750, 100_000), rng.uniform(-40, 40, 100_000),
                        rng.uniform(-745.2, -700, 20_000),
                        np.repeat([0.0, -0.0, 1e-300, -1e-300, 36.8, 745.0, 800.0, -744.0,
                                   -800.0, -1e6, 1e6], 2)])
    t = np.resize(shift_arguments(), q.size)
    rng.shuffle(t)
    got = each_kernel_build._sigmoid_shifted(q, t)
    p = q.astype(np.longdouble) - t.astype(np.longdouble)
    e = np.exp(-np.abs(p))
    expected = np.where(p >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float64)
    assert np.all((got >= 0) & (got <= 1))
    normal = expected >= np.finfo(float).tiny
    errors = ulp_errors(got[normal], expected[normal])
    assert errors.max() <= 4.0, (q[normal][errors.argmax()], t[normal][errors.argmax()])
    assert (~normal).sum() > 1000                           # the test reaches them
    assert np.abs(got - expected)[~normal].max() <= 2 * TINIEST
    assert np.all(got[q >= 800] == 1.0)
    assert np.isnan(each_kernel_build._sigmoid_shifted(np.array([np.nan]),
                                                       np.array([0.0]))[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scale", [1.0, 30.0])                # scores near 0; saturated
# with the look-ahead (narrow rows: 12 features, its loop in registers), without
@pytest.mark.parametrize("d", [7, 12, 24])
def test_per_sample_log_loss_with_small_shifts_matches_the_twin(dtype, fit_intercept, scale,
                                                                d):
    """A step small enough that each row's shift s·a·(z·z_previous + 1) stays below 2^-7:
    the one-row path takes its slope from gd_sigmoid_shifted and its loss from
    gd_log_loss_unit_shifted (weight 1), and the epochs still equal the twin's. scale 30
    puts most scores past ±30, where the sigmoid saturates, the initial coef making them."""
    from twin_cases import TOLERANCE
    from helpers import relative_error
    rng = np.random.default_rng(4)
    n = 300
    X = (rng.standard_normal((n, d)) / np.sqrt(d)).astype(dtype)
    y = (rng.uniform(size=n) < 0.5).astype(dtype)
    config = dict(_engine.NEUTRAL_CONFIG, loss="log_loss", optimizer="sgd", batch_size=1,
                  shuffle=False, fit_intercept=fit_intercept, learning_rate=2e-3,
                  unit_weights=True)
    orders = [rng.permutation(n).astype(np.intp) for _ in range(3)]
    start = np.append(scale * rng.standard_normal(d), 0.5 if fit_intercept else 0.0)
    results = []
    for engine in _engine.ENGINES:
        coef = start.astype(dtype)
        state, t, losses = np.zeros((0, d + 1), dtype), 0, []
        scalars = np.ones(_engine.SCALAR_STATE_SIZE)
        for order in orders:
            status, loss_sum, t, _, _ = _engine.run_epoch(
                engine, X, y, np.ones(n, dtype), coef, state, scalars, order.copy(), config,
                t, 0)
            assert status == _engine.STATUS_OK
            losses.append(loss_sum)
        results.append((coef, np.array(losses)))
    (k_coef, k_loss), (r_coef, r_loss) = results
    assert relative_error(k_coef, r_coef) < TOLERANCE[dtype]
    assert relative_error(k_loss, r_loss) < TOLERANCE[dtype]
    assert relative_error(k_coef, start.astype(dtype)) > TOLERANCE[dtype]        # it moved
