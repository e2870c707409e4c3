"""The tile planner: equal windows that cover the image, enough context at every seam, weights that sum to one."""

import numpy as np
import pytest

from realesrgan.inference.tiling import plan_axis, plan_tiles


@pytest.mark.parametrize(
    'length, tile, context, align',
    [(160, 64, 32, 1), (300, 37, 10, 2), (96, 32, 10, 4), (50, 64, 10, 1), (1, 8, 3, 1), (130, 40, 0, 2)],
)
def test_axis_windows_cover_with_context(length, tile, context, align):
    plan = plan_axis(length, tile, context, align, scale=3)
    starts, size = np.array(plan.starts), plan.size
    assert size == min(length, -(-tile // align) * align + -(-2 * context // align) * align)
    assert starts[0] == 0 and starts[-1] + size == length
    assert np.all(starts % align == 0) and size % align == 0
    steps = np.diff(starts)
    assert np.all(steps > 0) and np.all(steps <= -(-tile // align) * align)
    assert np.all(size - steps >= 2 * context)  # every seam: at least `context` pixels on each side
    # at every output pixel the weights of the windows covering it sum to one
    total = np.zeros(length * 3)
    for start, weights in zip(plan.starts, plan.weights):
        assert weights.shape == (size * 3,) and weights.min() >= 0
        total[start * 3 : (start + size) * 3] += weights
    np.testing.assert_allclose(total, 1, atol=1e-6)


def test_weights_cross_fade_in_the_middle_of_the_overlap():
    plan = plan_axis(128, 32, 32, 1, scale=1)  # windows [0, 96) and [32, 128): seam in the middle, at 64
    assert plan.starts == (0, 32) and plan.size == 96
    first, second = plan.weights
    assert first[:32].min() == 1 and second[-32:].min() == 1  # outside the overlap: one window alone
    assert first[56] > 0.95 and first[71] < 0.05  # the fade is short and centred on the seam
    np.testing.assert_allclose(first[63], 0.5, atol=0.2)
    assert np.all(np.diff(first[32:]) <= 0)


def test_two_dimensional_weights_sum_to_one():
    plan = plan_tiles(70, 90, 24, 8, align=2, scale=2)
    total = np.zeros((140, 180))
    for tile in plan:
        assert (tile.height, tile.width) == (plan.rows.size, plan.cols.size)
        top, left = tile.top * 2, tile.left * 2
        total[top : top + tile.height * 2, left : left + tile.width * 2] += plan.weight(tile)
    np.testing.assert_allclose(total, 1, atol=1e-5)
    assert len(plan) == len(plan.rows.starts) * len(plan.cols.starts) == sum(len(batch) for batch in plan.batches(4))


def test_invalid_plans_are_refused():
    with pytest.raises(ValueError, match='multiple of align'):
        plan_axis(31, 8, 2, align=2)
    with pytest.raises(ValueError, match='tile must be positive'):
        plan_axis(32, 0, 2)
