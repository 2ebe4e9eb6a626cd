"""When a training or a probe has diverged, and the error that says so.

A diverged optimisation is a failure, never a result: its job fails (so it has no metrics and
tables show it as failed) with the epoch and step where it went wrong, the last finite loss and a
hint. "Diverged" means any of:

- a training loss that is not finite (nan or inf) at any step;
- features fed to a probe, or weights at the end, that are not finite;
- a final training loss (the mean over the last epoch) above `GROWTH` times the initial loss (the
  first step's): cross-entropy starts near ln(classes) at initialisation, and an optimisation
  that ends ten times worse than guessing has blown up (Adam at lr 1e6 ends near 1e12), even if
  it stayed finite. A loss that is merely poor is a result, not a divergence.

The per-step check costs one device copy per step (the loss into a buffer) and one host read per
epoch, so it never forces a GPU-host sync inside an epoch.
"""

from __future__ import annotations

import math

import torch

from dsl.errors import Diverged

__all__ = ["GROWTH", "Diverged", "LossWatch", "check_finite", "check_weights"]

GROWTH = 10.0


def _hint(lr: float | None, lr_field: str) -> str:
    if lr is None:
        return f"lower the learning rate ({lr_field})"
    return f"lower the learning rate ({lr_field} is {lr:g}; try {lr / 10:g})"


class LossWatch:
    """Watches the loss of every step of an optimisation; `end_epoch` raises `Diverged`.

    `what` names the optimisation in messages ("training", "linear probe"); `lr` and `lr_field`
    make the hint (the config field to change).
    """

    def __init__(self, what: str, steps_per_epoch: int, device: torch.device | str, *,
                 lr: float | None = None, lr_field: str = "lr"):
        self.what, self.lr, self.lr_field = what, lr, lr_field
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self._buf = torch.full((self.steps_per_epoch,), math.nan, device=device)
        self._i = 0
        self.step = 0  # steps seen so far, all epochs
        self.initial: float | None = None
        self.last_finite: tuple[int, float] | None = None  # (step, loss), 1-based step

    def record(self, loss: torch.Tensor) -> None:
        """One optimisation step's loss (a scalar tensor on the watch's device)."""
        self._buf[self._i].copy_(loss.detach())
        self._i += 1

    def end_epoch(self, epoch: int) -> float:
        """Check the epoch's steps (`epoch` is 1-based); return its mean loss."""
        losses = self._buf[:self._i].float().cpu().tolist()
        first_step = self.step
        self.step += self._i
        self._i = 0
        if self.initial is None and losses:
            self.initial = losses[0]
        for k, value in enumerate(losses):
            if not math.isfinite(value):
                self._raise_nonfinite(epoch, first_step + k + 1, k + 1, value)
            self.last_finite = (first_step + k + 1, value)
        return sum(losses) / len(losses) if losses else math.nan

    def check_final(self, final_loss: float) -> None:
        """The end-of-run rule: the last epoch's mean loss against `GROWTH` x the initial one."""
        if self.initial is None or not math.isfinite(self.initial) or self.initial <= 0:
            return
        if final_loss > GROWTH * self.initial:
            raise Diverged(
                f"{self.what} diverged: its final training loss {final_loss:.4g} (mean of the "
                f"last epoch) is above {GROWTH:g}x its initial loss {self.initial:.4g}; "
                f"{_hint(self.lr, self.lr_field)}")

    def _raise_nonfinite(self, epoch: int, step: int, in_epoch: int, value: float) -> None:
        last = (f"the last finite loss was {self.last_finite[1]:.4g} at step {self.last_finite[0]}"
                if self.last_finite else "no step had a finite loss")
        raise Diverged(f"{self.what} diverged: the loss became {value} at epoch {epoch}, step "
                       f"{step} (step {in_epoch} of the epoch); {last}; "
                       f"{_hint(self.lr, self.lr_field)}")


def check_finite(what: str, tensor: torch.Tensor, cause: str) -> None:
    """Raise `Diverged` when `tensor` holds a nan or inf; `cause` says where they came from."""
    if tensor.numel() and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise Diverged(f"{what} are not finite ({bad} of {tensor.numel()} values are nan or "
                       f"inf): {cause}")


def check_weights(what: str, model: torch.nn.Module, lr: float | None, lr_field: str) -> None:
    """Raise `Diverged` when any parameter or buffer of `model` is not finite."""
    for name, value in model.state_dict().items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise Diverged(f"{what} diverged: its weights are not finite ({name}); "
                           f"{_hint(lr, lr_field)}")
