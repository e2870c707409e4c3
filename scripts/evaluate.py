"""Measure super-resolution quality (PSNR, SSIM, NIQE, LPIPS, pyiqa metrics); see README (Evaluating).

    python scripts/evaluate.py --sr results --gt datasets/val/gt --metrics psnr ssim --crop_border 4
    python scripts/evaluate.py --lq datasets/val/lq --gt datasets/val/gt -n RealESRGAN_x4plus realesr-animevideov3

The command line is realesrgan/cli/evaluate.py; the work is done by realesrgan/evaluation/.
"""

import sys

import realesrgan  # noqa: F401  (BasicSR compatibility first)

# isort: split
from realesrgan.cli.evaluate import main

if __name__ == '__main__':
    sys.exit(main())
