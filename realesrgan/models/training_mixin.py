"""What RealESRNetModel and RealESRGANModel share around the synthetic training pairs.

Both models synthesise their low-quality inputs on the fly with :class:`SecondOrderDegradation` while training
(``high_order_degradation``, default on), mix them across batches with the training-pair queue, and must not
synthesise anything during validation, where the given LQ images are used. Both may also use the VGG19
perceptual loss, whose ImageNet weights BasicSR fetches from the network on first use.
"""

import logging
import os
from typing import Any, Dict, Mapping, Optional

import torch
from basicsr.archs import vgg_arch
from basicsr.utils import get_root_logger

from realesrgan.models.degradation_pipeline import DegradationSettings, SecondOrderDegradation
from realesrgan.models.training_pair_queue import TrainingPairQueueMixin
from realesrgan.models.validation_watch import ValidationWatchMixin

__all__ = ['SyntheticTrainingMixin', 'find_vgg19_weights', 'ensure_vgg19_weights']

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 180
KERNEL_KEYS = ('kernel1', 'kernel2', 'sinc_kernel')
VGG19_FILE = 'vgg19-dcbb9e9d.pth'
VGG19_URL = f'https://download.pytorch.org/models/{VGG19_FILE}'


def find_vgg19_weights() -> Optional[str]:
    """Locate the ImageNet VGG19 weights where BasicSR and torchvision look for them.

    Returns:
        The path of ``vgg19-dcbb9e9d.pth`` in BasicSR's ``experiments/pretrained_models`` (relative to the
        working directory) or in torch hub's ``checkpoints`` cache, or None when neither holds it.
    """
    candidates = (vgg_arch.VGG_PRETRAIN_PATH, os.path.join(torch.hub.get_dir(), 'checkpoints', VGG19_FILE))
    return next((path for path in candidates if os.path.isfile(path)), None)


def ensure_vgg19_weights(perceptual_opt: Optional[Mapping[str, Any]]) -> None:
    """Make sure the VGG19 weights of a perceptual loss are on disk before the loss is built.

    When they are missing, one download into torch hub's cache is tried (as torchvision would); if that fails,
    e.g. without network, a clear error says where to put the file instead of failing deep inside torchvision.

    Args:
        perceptual_opt: The ``train.perceptual_opt`` section of a config, or None (nothing to check). Only the
            ``vgg19`` feature extractor is checked; other VGG types are left to BasicSR.
    """
    if not perceptual_opt or perceptual_opt.get('vgg_type', 'vgg19') != 'vgg19' or find_vgg19_weights():
        return
    hub_path = os.path.join(torch.hub.get_dir(), 'checkpoints', VGG19_FILE)
    logger.info('VGG19 weights for the perceptual loss not found; downloading %s to %s', VGG19_URL, hub_path)
    try:
        os.makedirs(os.path.dirname(hub_path), exist_ok=True)
        torch.hub.download_url_to_file(VGG19_URL, hub_path)
    except Exception as error:  # any failure (no network, proxy, disk) gets the same advice
        raise FileNotFoundError(
            f'The perceptual loss needs the ImageNet VGG19 weights {VGG19_FILE}, which are not on this machine and '
            f'could not be downloaded from {VGG19_URL} ({error}). Download that file elsewhere and put it at '
            f'{os.path.abspath(vgg_arch.VGG_PRETRAIN_PATH)} (experiments/pretrained_models/ under the folder you '
            f'start training from) or at {hub_path}.'
        ) from error


class SyntheticTrainingMixin(TrainingPairQueueMixin, ValidationWatchMixin):
    """Degradation pipeline, training-pair queue and synthesis-free validation for BasicSR SR models.

    Options read from the top level of the config: ``high_order_degradation`` (default True: synthesise the LQ
    while training; False: train on given LQ/GT pairs), ``queue_size`` (default 180, a multiple of the batch
    size), ``scale``, ``gt_size`` and the degradation keys of :class:`DegradationSettings`.
    """

    opt: Dict[str, Any]
    is_train: bool
    device: torch.device

    def __init__(self, opt: Dict[str, Any]) -> None:
        """Read the degradation settings (before the networks are built, so that a bad option fails fast), build
        the model (the BasicSR class that follows this mixin), then the pipeline on the model's device.

        Args:
            opt: The parsed training (or test) config.
        """
        settings = DegradationSettings.from_options(opt)
        self.trained_iter: Optional[int] = None  # the last training iteration started (see validation)
        self._validated = set()  # (dataset name, iteration) pairs validated
        super().__init__(opt)
        self.degradation = SecondOrderDegradation(settings, self.device)
        self.queue_size = int(self.opt.get('queue_size', DEFAULT_QUEUE_SIZE))
        if self.queue_size <= 0:
            raise ValueError(f'queue_size must be positive, got {self.queue_size}.')

    def init_training_settings(self) -> None:
        """The BasicSR model's training setup, after making sure a perceptual loss can find its VGG19 weights."""
        ensure_vgg19_weights(self.opt['train'].get('perceptual_opt'))
        super().init_training_settings()

    def _synthesis_enabled(self) -> bool:
        """Whether ``feed_data`` synthesises the LQ: only while training with ``high_order_degradation`` on."""
        return self.is_train and self.opt.get('high_order_degradation', True)

    @staticmethod
    def _require_kernels(data: Mapping[str, Any]) -> None:
        """Fail clearly when a batch without blur kernels reaches the synthesis (e.g. a paired dataset)."""
        missing = [key for key in ('gt', *KERNEL_KEYS) if key not in data]
        if missing:
            raise KeyError(
                f'high_order_degradation is on, but the training batch has no {", ".join(missing)}. '
                'Use RealESRGANDataset (which draws the kernels), or set high_order_degradation: false to '
                'train on given LQ/GT pairs.'
            )

    def print_network(self, net: torch.nn.Module) -> None:
        """Log a network's class and parameter count; its layer-by-layer structure only at debug level.

        BasicSR logs the whole structure at info level: for RRDBNet (23 blocks) and the U-Net discriminator that
        is most of a training log. ``--debug`` still writes it to the log file.

        Args:
            net: The network, possibly wrapped in (Distributed)DataParallel.
        """
        bare = self.get_bare_model(net)
        wrapper = f'{type(net).__name__} - ' if bare is not net else ''
        params = sum(param.numel() for param in bare.parameters())
        logger = get_root_logger()
        logger.info(
            f'Network: {wrapper}{type(bare).__name__}, with parameters: {params:,d} (structure in the log '
            'file with --debug)'
        )
        logger.debug(f'Structure of {type(bare).__name__}:\n{bare}')

    def update_learning_rate(self, current_iter: int, warmup_iter: int = -1) -> None:
        """BasicSR's learning-rate update, which its loop calls at the start of every training iteration: the
        model notes the iteration, so that validation can name the iteration the weights come from.

        Args:
            current_iter: The iteration about to be trained (1-based).
            warmup_iter: Warm-up iterations (-1: none).
        """
        super().update_learning_rate(current_iter, warmup_iter=warmup_iter)
        self.trained_iter = current_iter

    def resume_training(self, resume_state: Dict[str, Any]) -> None:
        """BasicSR's resume (optimizers, schedulers), noting the iteration the weights come from.

        Args:
            resume_state: The loaded training state.
        """
        super().resume_training(resume_state)
        self.trained_iter = int(resume_state['iter'])

    def validation(self, dataloader: Any, current_iter: int, tb_logger: Any, save_img: bool = False) -> None:
        """Validate, reported at the iteration the weights come from, and not twice for the same weights.

        BasicSR's loop counts one iteration past ``total_iter`` per remaining epoch before it stops, and then
        validates once more: the log said "Best: ... @ 62 iter" after ``total_iter: 60``, repeating the
        validation at 60. Here the iteration is that of the last trained step, and a validation already done
        for these weights on this dataset is not repeated.

        Args:
            dataloader: Validation data loader.
            current_iter: The iteration BasicSR passes.
            tb_logger: Tensorboard logger, or None.
            save_img: Whether to save the output images.
        """
        if isinstance(current_iter, int) and self.trained_iter is not None:
            current_iter = min(current_iter, self.trained_iter)
        key = (getattr(dataloader.dataset, 'opt', {}).get('name'), current_iter)
        if key in self._validated:
            get_root_logger().info(f'Validation {key[0]} of iteration {current_iter} already done; not repeated.')
            return
        self._validated.add(key)
        super().validation(dataloader, current_iter, tb_logger, save_img)

    def nondist_validation(self, dataloader: Any, current_iter: int, tb_logger: Any, save_img: bool) -> None:
        """Validate on the given LQ images: synthesis is off during validation, then back as it was found.

        Args:
            dataloader: Validation data loader (LQ/GT pairs, e.g. PairedImageDataset).
            current_iter: Current training iteration.
            tb_logger: Tensorboard logger, or None.
            save_img: Whether to save the output images.
        """
        was_training = self.is_train
        self.is_train = False
        try:
            super().nondist_validation(dataloader, current_iter, tb_logger, save_img)
        finally:
            self.is_train = was_training
