"""Installs the realesrgan package and its commands ``realesrgan`` and ``realesrgan-video``.

In a checkout: ``pip install -e .`` (``pip install -e ".[test]"`` for the test suite). A wheel: ``python -m build``
(or ``pip wheel . --no-deps``). The wheel holds the ``realesrgan`` package alone; it reads no file of the repository
(``options/``, ``inputs/``) at run time, and keeps downloaded weights in the user cache (see README, "Installing").
"""

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
    author='the realesrgan authors',
    url='https://github.com/xinntao/Real-ESRGAN',
    license='BSD-3-Clause',
    license_files=['LICENSE'],
    packages=find_packages(include=('realesrgan', 'realesrgan.*')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=read_requirements(),
    entry_points={
        'console_scripts': [
            'realesrgan = realesrgan.cli.image:main',
            'realesrgan-video = realesrgan.cli.video:main',
            'realesrgan-web = realesrgan.web:main',
        ],
    },
    extras_require={
        # the test suite uses the ncnn runtime as reference, PyAV for video and ONNX Runtime for export checks;
        # ruff lints (CI runs it before the tests), build makes the wheel that the packaging tests install; lpips, pyiqa
        # and tensorboard: the metric tests compare with lpips and pyiqa, and read TensorBoard files; spandrel: the
        # community-model tests; piexif writes camera EXIF with a thumbnail for the metadata tests; gradio and
        # playwright: the web page's tests drive it in Debian's chromium (.ci/run installs it) and through gradio_client
        'test': [
            'pytest',
            'ruff',
            'build',
            'ncnn',
            'scikit-image',
            'av',
            'onnx',
            'onnxruntime',
            'onnxscript',
            'lpips',
            'pyiqa',
            'tensorboard',
            'spandrel',
            'piexif',
            'gradio',
            'playwright',
        ],
        'video': ['av'],
        # the local web page (python app.py / realesrgan-web); gradio_client is its API client
        'web': ['gradio', 'gradio_client'],
        # export: ONNX (+ its runtime for the checks) and the ncnn runtime that checks every ncnn export
        'export': ['onnx', 'onnxruntime', 'onnxscript', 'ncnn'],
        # scripts/make_demo_dataset.py builds the demo training set from scikit-image's sample images; the demo
        # configs log to TensorBoard
        'demo': ['scikit-image', 'tensorboard'],
        # LPIPS in scripts/evaluate.py and val.metrics (the backbone weights come from torchvision's downloads)
        'metrics': ['lpips'],
        # any pyiqa metric by name (DISTS, MUSIQ, CLIPIQA, ...; most download their weights on first use)
        'iqa': ['pyiqa'],
        # use_tb_logger in training configs
        'tensorboard': ['tensorboard'],
        # --face_enhance
        'face': ['gfpgan'],
        # community architectures (SwinIR, HAT, DAT, SPAN, Real-CUGAN, OmniSR, ...) through spandrel
        'models': ['spandrel'],
        # --ray: both command lines and the web page on a Ray cluster, or an embedded local Ray (docs/cluster.md)
        'cluster': ['ray[data]'],
    },
    classifiers=[
        'Development Status :: 4 - Beta',
        'Environment :: Console',
        'Environment :: GPU :: NVIDIA CUDA',
        'Intended Audience :: Developers',
        'Intended Audience :: Science/Research',
        'Operating System :: OS Independent',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3 :: Only',
        'Programming Language :: Python :: 3.8',
        'Programming Language :: Python :: 3.9',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Topic :: Multimedia :: Graphics',
        'Topic :: Multimedia :: Video',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
        'Topic :: Scientific/Engineering :: Image Processing',
    ],
    zip_safe=False,
)
