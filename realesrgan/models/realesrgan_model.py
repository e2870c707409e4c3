"""RealESRGANModel: the GAN stage of Real-ESRGAN on synthetic (or given) training pairs.

The generator, initialised from RealESRNet, learns with pixel (L1), perceptual (VGG19) and GAN losses against a
U-Net discriminator, on low-quality inputs synthesised on the fly by the second-order degradation. Each loss can
target the plain or the USM-sharpened ground truth (``l1_gt_usm``, ``percep_gt_usm``, ``gan_gt_usm``):
sharpened targets give crisper textures, while the discriminator usually sees the plain GT.
"""

from collections import OrderedDict
from typing import Any, Dict

import torch
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from realesrgan.models.training_mixin import SyntheticTrainingMixin

__all__ = ['RealESRGANModel']


@MODEL_REGISTRY.register()
class RealESRGANModel(SyntheticTrainingMixin, SRGANModel):
    """SRGANModel with synthetic training pairs and per-loss choice of the (USM-sharpened) target.

    Config keys beyond SRGANModel's: ``l1_gt_usm`` (default True), ``percep_gt_usm`` (default True),
    ``gan_gt_usm`` (default False), ``high_order_degradation`` (default True), ``queue_size`` (default 180),
    ``gt_size`` and the degradation settings (see :class:`~realesrgan.models.degradation_pipeline.DegradationSettings`).

    Args:
        opt: The parsed training (or test) config.
    """

    @torch.no_grad()
    def feed_data(self, data: Dict[str, Any]) -> None:
        """Take a batch: synthesise the LQ while training, else use the given LQ (and GT, when present).

        The sharpened GT (``self.gt_usm``) is computed after the queue has swapped the pairs, so that it always
        matches ``self.gt``.

        Args:
            data: A batch of RealESRGANDataset (``gt``, ``kernel1``, ``kernel2``, ``sinc_kernel``) while
                synthesising; otherwise ``lq`` and optionally ``gt``.
        """
        if self._synthesis_enabled():
            self._require_kernels(data)
            pair = self.degradation(data['gt'], data['kernel1'], data['kernel2'], data['sinc_kernel'], sharpen=True)
            self.lq, self.gt = pair.lq, pair.gt
            self._dequeue_and_enqueue()
            self.gt_usm = self.degradation.sharpen(self.gt)
            self.lq = self.lq.contiguous()
        else:
            self.lq = data['lq'].to(self.device)
            if 'gt' in data:
                self.gt = data['gt'].to(self.device)
                if self.is_train:  # the sharpened target only matters to the training losses
                    self.gt_usm = self.degradation.sharpen(self.gt)

    def optimize_parameters(self, current_iter: int) -> None:
        """One training step: a generator update (every ``net_d_iters`` after ``net_d_init_iters``), then a
        discriminator update, then the EMA of the generator.

        Args:
            current_iter: The current iteration (1-based).
        """
        l1_gt = self.gt_usm if self.opt.get('l1_gt_usm', True) else self.gt
        percep_gt = self.gt_usm if self.opt.get('percep_gt_usm', True) else self.gt
        gan_gt = self.gt_usm if self.opt.get('gan_gt_usm', False) else self.gt

        # generator: the discriminator only judges, it is not updated
        for param in self.net_d.parameters():
            param.requires_grad = False
        self.optimizer_g.zero_grad()
        self.output = self.net_g(self.lq)

        loss_dict = OrderedDict()
        if current_iter % self.net_d_iters == 0 and current_iter > self.net_d_init_iters:
            l_g_total = 0
            if self.cri_pix:
                l_g_pix = self.cri_pix(self.output, l1_gt)
                l_g_total += l_g_pix
                loss_dict['l_g_pix'] = l_g_pix
            if self.cri_perceptual:
                l_g_percep, l_g_style = self.cri_perceptual(self.output, percep_gt)
                if l_g_percep is not None:
                    l_g_total += l_g_percep
                    loss_dict['l_g_percep'] = l_g_percep
                if l_g_style is not None:
                    l_g_total += l_g_style
                    loss_dict['l_g_style'] = l_g_style
            fake_g_pred = self.net_d(self.output)
            l_g_gan = self.cri_gan(fake_g_pred, True, is_disc=False)
            l_g_total += l_g_gan
            loss_dict['l_g_gan'] = l_g_gan
            l_g_total.backward()
            self.optimizer_g.step()

        # discriminator: real and fake passes, each with its own backward
        for param in self.net_d.parameters():
            param.requires_grad = True
        self.optimizer_d.zero_grad()
        real_d_pred = self.net_d(gan_gt)
        l_d_real = self.cri_gan(real_d_pred, True, is_disc=True)
        loss_dict['l_d_real'] = l_d_real
        loss_dict['out_d_real'] = torch.mean(real_d_pred.detach())
        l_d_real.backward()
        fake_d_pred = self.net_d(self.output.detach().clone())
        l_d_fake = self.cri_gan(fake_d_pred, False, is_disc=True)
        loss_dict['l_d_fake'] = l_d_fake
        loss_dict['out_d_fake'] = torch.mean(fake_d_pred.detach())
        l_d_fake.backward()
        self.optimizer_d.step()

        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

        self.log_dict = self.reduce_loss_dict(loss_dict)
