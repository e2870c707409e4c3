"""The job's warnings: what the workers log reaches the result, each warning once, with a count."""
import logging

import numpy as np
from test_video_io import Resize, make_clip

from realesrgan.video import job, upscale_video


class WarnEveryFrame(Resize):
    """Stand-in that logs the same warning for every frame, as a library it calls might."""

    def upscale(self, image: np.ndarray) -> np.ndarray:
        logging.getLogger('realesrgan.video.standin').warning('stand-in noticed something')
        return super().upscale(image)


def test_warnings_of_the_workers_reach_the_result_once_with_a_count(tmp_path, caplog):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=6, audio=None)
    with caplog.at_level(logging.WARNING, logger='realesrgan.video'):
        result = upscale_video(str(clip), str(tmp_path / 'o.mp4'), WarnEveryFrame(1), devices=['cpu', 'cpu'],
                               segment_length=2)
    assert result.warnings == ('stand-in noticed something (6 times)', )
    assert [r.getMessage() for r in caplog.records] == ['stand-in noticed something']  # logged in the parent, once


def test_many_different_warnings_are_cut_to_a_readable_list():
    warnings = job._Warnings()
    for k in range(30):
        warnings.add(f'frame {k} is odd')
    lines = warnings.lines()
    assert len(lines) == job._MAX_WARNINGS
    assert lines[0] == 'frame 0 is odd' and lines[-1] == '... and 11 more warnings (see the log)'
