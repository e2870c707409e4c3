"""Frames per second of inference_realesrgan_video's pipeline with 1 and with 2 worker processes.

    python benchmarks/video_fps.py [--frames 48] [--size 320x180] [--model realesr-animevideov3]

Makes a clip (a pan over scikit-image's ``chelsea`` photo, 24 fps, with an AAC track), starts the worker
process server and loads the weights once with a two-frame job (so neither run pays for that), then upscales the
clip x4 with one worker and with two, end to end (decode, upscale, encode, join, audio), and prints both frame
rates and their ratio. Both runs use the same default segments, so their outputs are identical files.
"""

import argparse
import os
import sys
import tempfile
import time

import cv2
from skimage import data

from realesrgan.app.model_choice import choose_model
from realesrgan.app.upscaler import UpscalerRecipe
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.video import upscale_video
from realesrgan.video.sample_clip import panning_frames, write_clip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, default=48)
    parser.add_argument('--size', type=str, default='320x180', help='WIDTHxHEIGHT of the input clip')
    parser.add_argument('--model', type=str, default='realesr-animevideov3')
    parser.add_argument(
        '--weights_dir',
        type=str,
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split('x'))
    photo = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)

    recipe = UpscalerRecipe(choose_model(args.model, weights_dir=args.weights_dir), UpscaleSettings(outscale=4))
    with tempfile.TemporaryDirectory() as folder:
        clip = os.path.join(folder, 'clip.mp4')
        write_clip(clip, list(panning_frames(photo, size, args.frames)))
        warmup = os.path.join(folder, 'warmup.mp4')
        write_clip(warmup, list(panning_frames(photo, (32, 32), 2)))
        upscale_video(warmup, os.path.join(folder, 'warmup_out.mp4'), recipe, devices=['cpu', 'cpu'])

        rates = {}
        outputs = {}
        for workers in (1, 2):
            outputs[workers] = os.path.join(folder, f'out_{workers}.mp4')
            start = time.perf_counter()
            result = upscale_video(clip, outputs[workers], recipe, devices=['cpu'] * workers)
            seconds = time.perf_counter() - start
            rates[workers] = result.num_frames / seconds
            print(
                f'{workers} worker(s): {result.num_frames} frames {size[0]}x{size[1]} -> x4 in {seconds:.1f} s = '
                f'{rates[workers]:.2f} fps ({result.num_segments} segments)'
            )
        identical = open(outputs[1], 'rb').read() == open(outputs[2], 'rb').read()
    print(
        f'ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x; outputs identical: {identical}; '
        f'{os.cpu_count()} CPU cores, model {args.model}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
