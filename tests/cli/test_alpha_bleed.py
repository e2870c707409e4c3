"""--alpha_bleed: the colour hidden under fully transparent pixels no longer darkens the upscaled edges."""

import cv2
import numpy as np
import pytest
from batch_images import edge_luminance, soft_shape  # benchmarks/ is on pytest's pythonpath
from helpers import WEIGHTS_DIR, official_weights

from realesrgan.cli import image as cli
from realesrgan.inference.alpha_bleed import bleed_alpha
from realesrgan.inference.settings import SettingError, UpscaleSettings

MODEL = 'realesr-animevideov3'


def test_transparent_pixels_take_the_colour_of_the_nearest_visible_one():
    img = np.zeros((5, 9, 4), np.uint8)
    img[2, 1] = (10, 20, 30, 255)
    img[2, 7] = (200, 100, 50, 1)  # barely visible still counts as visible
    out = bleed_alpha(img)
    np.testing.assert_array_equal(out[:, :, 3], img[:, :, 3])
    np.testing.assert_array_equal(out[:, :4, :3], np.broadcast_to((10, 20, 30), (5, 4, 3)))
    np.testing.assert_array_equal(out[:, 5:, :3], np.broadcast_to((200, 100, 50), (5, 4, 3)))
    assert (out[2, 1] == img[2, 1]).all() and (out[2, 7] == img[2, 7]).all()
    assert img[0, 0, :3].tolist() == [0, 0, 0]  # the input is left alone


def test_nothing_to_bleed_returns_the_image_itself():
    opaque = np.full((3, 3, 4), 255, np.uint16)
    assert bleed_alpha(opaque) is opaque
    invisible = np.zeros((3, 3, 4), np.uint8)
    assert bleed_alpha(invisible) is invisible


def test_visible_pixels_are_never_changed():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 65536, (40, 30, 4), dtype=np.uint16)
    img[:, :, 3][rng.random((40, 30)) < 0.7] = 0
    out = bleed_alpha(img)
    visible = img[:, :, 3] > 0
    np.testing.assert_array_equal(out[visible], img[visible])


def test_the_setting_is_checked_and_off_by_default():
    assert UpscaleSettings().alpha_bleed is False
    with pytest.raises(SettingError, match='alpha_bleed must be True or False'):
        UpscaleSettings(alpha_bleed='yes')


@pytest.mark.weights
def test_alpha_bleed_keeps_the_edges_as_bright_as_the_shape(tmp_path):
    """The issue's figure: partly transparent edge pixels within 5% of the shape's luminance with --alpha_bleed."""
    official_weights(MODEL)
    source = tmp_path / 'shape.png'
    cv2.imwrite(str(source), soft_shape())
    figures = {}
    for bleed in (False, True):
        output = tmp_path / f'out_{bleed}'
        args = ['-n', MODEL, '--weights_dir', str(WEIGHTS_DIR), '-i', str(source), '-o', str(output), '--fp32']
        assert cli.main(args + (['--alpha_bleed'] if bleed else [])) == 0
        figures[bleed] = edge_luminance(cv2.imread(str(output / 'shape_out.png'), cv2.IMREAD_UNCHANGED))
    edge, shape = figures[True]
    assert abs(edge - shape) <= 0.05 * shape
    original_edge, original_shape = figures[False]
    assert original_edge < edge and original_edge < original_shape  # the original's edges are darker
