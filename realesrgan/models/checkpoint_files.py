"""Checkpoints and training states written whole or not at all: BasicSR's two savers, through a temporary file.

BasicSR's ``save_network`` and ``save_training_state`` call ``torch.save`` on the final path: a run killed while it
saves (or a disk that fills up) leaves an empty or truncated ``models/net_g_<iter>.pth`` or
``training_states/<iter>.state`` under the final name, and ``--auto_resume`` then fails on it. These do the same
writes through :func:`realesrgan.fileio.atomic.atomic_output` (flushed to the disk before the rename): the final name
only ever holds a complete file. Like BasicSR, a save that fails three times is warned about and training goes on.
"""

import logging
import os
import time
from typing import Any, Dict, List, Union

import torch
from basicsr.utils.dist_util import master_only

from realesrgan.fileio.atomic import atomic_output

__all__ = ['WholeCheckpointsMixin', 'save_whole']

logger = logging.getLogger('basicsr')
_TRIES = 3


def save_whole(content: Any, path: str) -> bool:
    """``torch.save`` to a temporary file beside ``path``, renamed into place once complete.

    Args:
        content: What to save.
        path: The final file.

    Returns:
        Whether it was saved; after three failed tries a warning names the file and the error.
    """
    for attempt in range(1, _TRIES + 1):
        try:
            with atomic_output(path, durable=True) as temporary:
                torch.save(content, temporary)
            return True
        except (OSError, RuntimeError) as error:
            if attempt == _TRIES:
                logger.warning(f'Could not save {path} ({error}); training goes on without it.')
            else:
                time.sleep(1)
    return False


class WholeCheckpointsMixin:
    """``save_network`` and ``save_training_state`` of BasicSR's ``BaseModel``, written atomically.

    Same files, same layout (``{param_key: state dict}`` on the CPU, without DDP's ``module.`` prefix; the state's
    ``epoch``, ``iter``, ``optimizers`` and ``schedulers``), on the first process only.
    """

    opt: Dict[str, Any]
    optimizers: List[torch.optim.Optimizer]
    schedulers: List[Any]

    @master_only
    def save_network(
        self,
        net: Union[torch.nn.Module, List[torch.nn.Module]],
        net_label: str,
        current_iter: Union[int, str],
        param_key: Union[str, List[str]] = 'params',
    ) -> None:
        """Save networks as ``models/<net_label>_<current_iter>.pth`` (``latest`` for -1).

        Args:
            net: The network, or several saved together.
            net_label: The file name's prefix (``net_g``, ``net_d``).
            current_iter: The iteration, -1 for ``latest``, or a label such as ``best``.
            param_key: The key of each network in the file.
        """
        nets = net if isinstance(net, list) else [net]
        keys = param_key if isinstance(param_key, list) else [param_key]
        if len(nets) != len(keys):
            raise ValueError(f'save_network got {len(nets)} networks and {len(keys)} param_key values')
        checkpoint = {}
        for one, key in zip(nets, keys):
            state = self.get_bare_model(one).state_dict()  # type: ignore[attr-defined]
            checkpoint[key] = {
                name[7:] if name.startswith('module.') else name: value.cpu() for name, value in state.items()
            }
        label = 'latest' if current_iter == -1 else current_iter
        save_whole(checkpoint, os.path.join(self.opt['path']['models'], f'{net_label}_{label}.pth'))

    @master_only
    def save_training_state(self, epoch: int, current_iter: int) -> None:
        """Save what resuming needs as ``training_states/<current_iter>.state`` (nothing for -1, the final save).

        Args:
            epoch: The current epoch.
            current_iter: The current iteration.
        """
        if current_iter == -1:
            return
        state = {
            'epoch': epoch,
            'iter': current_iter,
            'optimizers': [optimizer.state_dict() for optimizer in self.optimizers],
            'schedulers': [scheduler.state_dict() for scheduler in self.schedulers],
        }
        save_whole(state, os.path.join(self.opt['path']['training_states'], f'{current_iter}.state'))
