"""The training-pair queue: mixes synthesised pairs across batches, whose images share some random choices."""

import torch

__all__ = ['TrainingPairQueueMixin']


class TrainingPairQueueMixin:
    """Training-pair pool for BasicSR models that keep their batch in ``self.lq`` / ``self.gt``.

    All images of a synthesised batch share some random choices (resize type, noise type), so consecutive
    batches look alike. The pool keeps the last ``queue_size`` pairs; once full, each new batch goes into the pool
    and a random batch of earlier pairs comes out in its place. Each process (rank) has its own pool.

    Models set ``self.queue_size`` (a multiple of the batch size) and call :meth:`_dequeue_and_enqueue` after
    synthesising a batch. The pool lives in ``queue_lr``, ``queue_gt`` and ``queue_ptr``, as in the original.
    """

    queue_size: int
    lq: torch.Tensor
    gt: torch.Tensor

    @torch.no_grad()
    def _dequeue_and_enqueue(self) -> None:
        """Put the current batch into the pool and, once the pool is full, swap it for random earlier pairs."""
        batch = self.lq.size(0)
        if not hasattr(self, 'queue_lr'):
            if self.queue_size % batch != 0:
                raise ValueError(
                    f'queue_size ({self.queue_size}) must be divisible by the batch size ({batch}); '
                    'change queue_size or batch_size_per_gpu in the training config.'
                )
            self.queue_lr = self.lq.new_zeros((self.queue_size, *self.lq.shape[1:]))
            self.queue_gt = self.gt.new_zeros((self.queue_size, *self.gt.shape[1:]))
            self.queue_ptr = 0
        if self.queue_ptr == self.queue_size:
            order = torch.randperm(self.queue_size)
            self.queue_lr = self.queue_lr[order]
            self.queue_gt = self.queue_gt[order]
            lq_dequeue = self.queue_lr[:batch].clone()
            gt_dequeue = self.queue_gt[:batch].clone()
            self.queue_lr[:batch] = self.lq
            self.queue_gt[:batch] = self.gt
            self.lq, self.gt = lq_dequeue, gt_dequeue
        else:
            self.queue_lr[self.queue_ptr : self.queue_ptr + batch] = self.lq
            self.queue_gt[self.queue_ptr : self.queue_ptr + batch] = self.gt
            self.queue_ptr += batch
