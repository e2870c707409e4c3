"""run_image_job's progress callbacks (what the web page shows), and a cancel raised from them."""

import os

import cv2
import numpy as np
import pytest
import torch

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.batch.job import ImageJob
from realesrgan.batch.run import run_image_job
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.zoo import save_checkpoint


class Stop(BaseException):
    """What a caller raises to stop a job (the web page's JobCancelled is one)."""


@pytest.fixture
def job(tmp_path) -> ImageJob:
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval().state_dict(), checkpoint, 'params')
    (tmp_path / 'in').mkdir()
    for name, size in (('a.png', 12), ('b.png', 8)):
        pixels = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
        assert cv2.imwrite(str(tmp_path / 'in' / name), pixels)
    settings = UpscaleSettings(tile=4, tile_pad=1, tile_blend=0, device='cpu', precision='fp32')
    return ImageJob(input=str(tmp_path / 'in'), output=str(tmp_path / 'out'), model_path=checkpoint, settings=settings)


def test_images_and_tiles_are_reported_in_order(job):
    images, tiles = [], []
    summary = run_image_job(
        job,
        log=lambda line: None,
        progress=False,
        on_image=lambda *a: images.append(a),
        on_tile=lambda *a: tiles.append(a),
    )
    assert summary.ok and len(summary.written) == 2
    assert images == [(0, 2), (1, 2), (2, 2)]
    runs = [[]]  # the reports of each image: tiles done counts up to the tiles in all, then starts again
    for done, total in tiles:
        if runs[-1] and done <= runs[-1][-1][0]:
            runs.append([])
        runs[-1].append((done, total))
    assert len(runs) == 2 and len(runs[0]) > len(runs[1]) > 1  # the 12 px image has more tiles of 4 than the 8 px one
    for run in runs:
        assert [done for done, _ in run] == list(range(1, run[0][1] + 1)) and {total for _, total in run} == {len(run)}


def test_an_exception_from_a_callback_stops_the_job_after_the_tile(job):
    def stop_on_the_second_image(done: int, total: int) -> None:
        if done == 1:
            raise Stop()

    with pytest.raises(Stop):
        run_image_job(job, log=lambda line: None, progress=False, on_image=stop_on_the_second_image)
    written = os.listdir(job.output)
    assert written == ['a_out.png']  # the first image was finished and written whole; nothing half-written
