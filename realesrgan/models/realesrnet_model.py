"""RealESRNetModel: the first Real-ESRGAN training stage, a PSNR-oriented generator on synthetic pairs.

It trains the generator alone with the pixel (L1) loss on low-quality inputs synthesised on the fly by the
second-order degradation; the result (RealESRNet) initialises the GAN stage. With ``gt_usm`` (default True)
the ground truth is USM-sharpened before it is degraded and used as the target, for crisper outputs.
"""

from typing import Any, Dict

import torch
from basicsr.models.sr_model import SRModel
from basicsr.utils.registry import MODEL_REGISTRY

from realesrgan.models.training_mixin import SyntheticTrainingMixin

__all__ = ['RealESRNetModel']


@MODEL_REGISTRY.register()
class RealESRNetModel(SyntheticTrainingMixin, SRModel):
    """SRModel that synthesises its training pairs with the second-order degradation.

    Config keys beyond SRModel's: ``gt_usm`` (default True), ``high_order_degradation`` (default True),
    ``queue_size`` (default 180), ``gt_size`` and the degradation settings (see
    :class:`~realesrgan.models.degradation_pipeline.DegradationSettings`). With ``high_order_degradation: false`` the
    given LQ/GT pairs are used unchanged.

    Args:
        opt: The parsed training (or test) config.
    """

    @torch.no_grad()
    def feed_data(self, data: Dict[str, Any]) -> None:
        """Take a batch: synthesise the LQ while training, else use the given LQ (and GT, when present).

        Args:
            data: A batch of RealESRGANDataset (``gt``, ``kernel1``, ``kernel2``, ``sinc_kernel``) while
                synthesising; otherwise ``lq`` and optionally ``gt``.
        """
        if self._synthesis_enabled():
            self._require_kernels(data)
            sharpen = self.opt.get('gt_usm', True)
            pair = self.degradation(data['gt'], data['kernel1'], data['kernel2'], data['sinc_kernel'], sharpen=sharpen)
            self.lq, self.gt = pair.lq, pair.gt_usm if sharpen else pair.gt
            self._dequeue_and_enqueue()
            self.lq = self.lq.contiguous()
        else:
            self.lq = data['lq'].to(self.device)
            if 'gt' in data:
                self.gt = data['gt'].to(self.device)
