"""Upscale a video (or a folder of frames) with Real-ESRGAN, keeping its sound.

    python inference_realesrgan_video.py -i inputs/video.mp4 -n realesr-animevideov3 -s 2

The original's script, flags and defaults; the command line lives in :mod:`realesrgan.cli.video`.
"""

import sys

from realesrgan.cli.video import main

if __name__ == '__main__':
    sys.exit(main())
