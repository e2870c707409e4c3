"""Train Real-ESRNet / Real-ESRGAN models with BasicSR's training loop.

Usage, from the repository root::

    python realesrgan/train.py -opt options/train_realesrnet_x4plus.yml [--auto_resume] [--debug]
    torchrun --nproc_per_node=4 realesrgan/train.py -opt options/train_realesrgan_x4plus.yml --launcher pytorch
    # two machines, four processes each (run on both; the endpoint is one of them)
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 --rdzv_id=JOB \
        realesrgan/train.py -opt options/train_realesrgan_x4plus.yml --launcher pytorch

Launchers that pass ``--local_rank N`` or ``--local-rank=N`` (``torch.distributed.launch``) work as well as those that
set ``LOCAL_RANK`` (``torchrun``). The process-group backend is ``dist_params.backend``; nccl on a machine without
CUDA becomes gloo, with a one-line warning.

Importing :mod:`realesrgan` first makes the released BasicSR work on current torch/torchvision and CPU-only
machines and has BasicSR's registries find this package's architectures, datasets, models and metrics
(:func:`realesrgan.compat.install`); then BasicSR's ``train_pipeline``
runs with the repository root as root path (experiments, logs and checkpoints go to ``experiments/<name>``; for an
installed package, ``python -m realesrgan.train``, under the working folder), after the options file was checked
(:mod:`realesrgan.training.run`).

A failure prints one line on stderr (what, where, what to do) instead of a traceback; ``--debug`` (BasicSR's debug
mode) or the environment variable ``REALESRGAN_TRACEBACK=1`` prints the traceback as well. Unknown option keys
are warned about, one line each. Exit status: 0 when training finished; 2 when the run could not start (bad
options or arguments, or data or setup failing before the first training iteration: nothing was trained and the
experiment folder it made is removed); 1 when training stopped later (the experiment folder is kept for
``--auto_resume``); 130 when interrupted.
"""

import os
import sys
import traceback
from typing import Callable, Optional, Sequence

ROOT_PATH = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))

if __name__ == '__main__' and sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    # run as a script: Python put realesrgan/ itself on the path, where data/, models/, utils.py ... would shadow
    # top-level modules; the repository root is what the user means (it holds this realesrgan package)
    sys.path[0] = ROOT_PATH

import realesrgan  # noqa: E402,F401  (the compatibility hook and registries, before BasicSR's training code)

# isort: split
from realesrgan.training.startup import (  # noqa: E402
    EXIT_NOT_STARTED,
    TrainingError,
    startup_problem,
    traceback_requested,
)
from realesrgan.zoo.location import checkout_root  # noqa: E402


def run_training(root_path: str, argv: Sequence[str], warn: Callable[[str], None]) -> None:
    """Train as :func:`realesrgan.training.run.run_training` does, after a missing options file was said at once.

    The training code (torch, BasicSR) loads only when there is an options file to read.

    Raises:
        realesrgan.training.startup.TrainingError: The run could not start, or stopped.
    """
    problem = startup_problem(argv)
    if problem:
        raise TrainingError(problem, EXIT_NOT_STARTED)
    from realesrgan.training.run import run_training as train

    train(root_path, argv, warn)


def main(root_path: Optional[str] = None) -> int:
    """Parse the command line (``-opt``, ``--launcher``, ``--auto_resume``, ...), check the options and train.

    Args:
        root_path: Folder under which ``experiments/`` and ``tb_logger/`` are written; by default the checkout
            the package runs from, or the working folder for an installed package (never site-packages).

    Returns:
        The exit status: 0 trained, 2 could not start, 1 stopped during training, 130 interrupted.
    """
    argv = sys.argv[1:]
    root_path = root_path or checkout_root() or os.getcwd()
    try:
        run_training(root_path, argv, warn=lambda line: print(f'warning: {line}', file=sys.stderr, flush=True))
    except TrainingError as error:
        if traceback_requested(argv):
            traceback.print_exception(type(error), error, error.__traceback__)
        print(f'error: {error}', file=sys.stderr, flush=True)
        return error.exit_status
    except KeyboardInterrupt:
        print('error: interrupted', file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
