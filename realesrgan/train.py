"""Train Real-ESRNet / Real-ESRGAN models with BasicSR's training loop.

Usage, from the repository root::

    python realesrgan/train.py -opt options/train_realesrnet_x4plus.yml [--auto_resume] [--debug]
    torchrun --nproc_per_node=4 realesrgan/train.py -opt options/train_realesrgan_x4plus.yml --launcher pytorch

Importing :mod:`realesrgan` first makes the released BasicSR work on current torch/torchvision and CPU-only
machines and registers this package's architectures, datasets and models; then BasicSR's ``train_pipeline``
runs with the repository root as root path (experiments, logs and checkpoints go to ``experiments/<name>``).
"""
import os
import sys

ROOT_PATH = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))

if __name__ == '__main__' and sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    # run as a script: Python put realesrgan/ itself on the path, where data/, models/, utils.py ... would shadow
    # top-level modules; the repository root is what the user means (it holds this realesrgan package)
    sys.path[0] = ROOT_PATH

import realesrgan  # noqa: E402,F401  (compatibility layer and registries, before BasicSR's training code)

# isort: split
from basicsr.train import train_pipeline  # noqa: E402


def main(root_path: str = ROOT_PATH) -> None:
    """Parse the command line (``-opt``, ``--launcher``, ``--auto_resume``, ...) and train.

    Args:
        root_path: Folder under which ``experiments/`` and ``tb_logger/`` are written; the repository root by
            default.
    """
    train_pipeline(root_path)


if __name__ == '__main__':
    main()
