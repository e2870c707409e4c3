"""Upscale images with Real-ESRGAN: ``python inference_realesrgan.py -i inputs -o results``.

The original's script, flags and defaults; the command line lives in :mod:`realesrgan.cli.image`.
"""

import sys

from realesrgan.cli.image import main

if __name__ == '__main__':
    sys.exit(main())
