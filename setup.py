"""Installs the realesrgan package (``pip install -e .``; ``pip install -e ".[test]"`` for the test suite)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    """Read ``__version__`` from realesrgan/version.py without importing the package."""
    text = (HERE / 'realesrgan' / 'version.py').read_text()
    return re.search(r"^__version__ = '([^']+)'", text, re.M).group(1)


def read_requirements() -> list:
    """Read the runtime requirements, one per line, skipping comments."""
    lines = (HERE / 'requirements.txt').read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


setup(
    name='realesrgan',
    version=read_version(),
    description='Real-ESRGAN: practical blind super-resolution, re-implemented as a BasicSR plugin',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    keywords='computer vision, pytorch, image restoration, super-resolution, esrgan, real-esrgan',
    url='https://github.com/xinntao/Real-ESRGAN',
    packages=find_packages(include=('realesrgan', 'realesrgan.*')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=read_requirements(),
    extras_require={
        # the test suite uses the ncnn runtime as reference, PyAV for video and ONNX Runtime for export checks;
        # ruff lints (CI runs it before the tests); piexif writes camera EXIF with a thumbnail for the metadata tests
        'test': ['pytest', 'ruff', 'ncnn', 'scikit-image', 'av', 'onnx', 'onnxruntime', 'onnxscript', 'piexif'],
        'video': ['av'],
        'export': ['onnx', 'onnxruntime', 'onnxscript'],
        # scripts/make_demo_dataset.py builds the demo training set from scikit-image's sample images
        'demo': ['scikit-image'],
        # --face_enhance
        'face': ['gfpgan'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: BSD License',
        'Operating System :: OS Independent',
    ],
    license='BSD-3-Clause License',
    zip_safe=False,
)
