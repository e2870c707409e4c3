"""Image quality metrics, wrapping BasicSR's reference implementations."""

from realesrgan.metrics.psnr import psnr

__all__ = ['psnr']
