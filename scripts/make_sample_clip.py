"""Make a small clip with sound to try the video CLI on: a 2 s pan over inputs/chelsea.jpg, 24 fps, AAC tone.

python scripts/make_sample_clip.py                       # writes videos/sample_clip.mp4 (about 30 KB)
python inference_realesrgan_video.py -i videos/sample_clip.mp4 -o results

The clip goes to videos/ (not kept in the repository), not to inputs/: the image examples run on every file of
inputs/ and would skip a video there with a warning.
"""

import argparse
import os
import sys

import cv2

from realesrgan.video.sample_clip import panning_frames, write_clip

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--photo', default=os.path.join(REPO_ROOT, 'inputs', 'chelsea.jpg'), help='Source photo')
    parser.add_argument('--output', default=os.path.join(REPO_ROOT, 'videos', 'sample_clip.mp4'), help='Clip to write')
    parser.add_argument('--size', default='96x64', help='WIDTHxHEIGHT, even numbers (default: 96x64)')
    parser.add_argument('--frames', type=int, default=48, help='Number of frames at 24 fps (default: 48)')
    args = parser.parse_args()
    photo = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    if photo is None:
        print(f'error: cannot read the photo "{args.photo}"', file=sys.stderr)
        return 2
    try:
        width, height = (int(value) for value in args.size.lower().split('x'))
    except ValueError:
        print(f'error: --size must be WIDTHxHEIGHT, e.g. 96x64 (got {args.size!r})', file=sys.stderr)
        return 2
    if width % 2 or height % 2 or width < 2 or height < 2 or args.frames < 1:
        print('error: --size needs even, positive numbers and --frames at least 1', file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)  # videos/ is not in a fresh clone
    write_clip(args.output, list(panning_frames(photo, (width, height), args.frames)))
    print(
        f'Wrote {args.output} ({os.path.getsize(args.output) // 1024} KB, {args.frames} frames of {width}x{height}, '
        'with sound)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
