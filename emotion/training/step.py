"""One optimizer step, shared by both recipes: the CNN's (log-mels) and the Whisper heads' (cached
encoder states), their mixup, and the heads' corpus-adversarial variant (gradient reversal)."""

from __future__ import annotations

import torch

CLIP_NORM = 5.0  # gradients are clipped at this norm in every step


def _update(opt: torch.optim.Optimizer, loss: torch.Tensor, params) -> None:
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
    opt.step()


def train_step(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    targets: torch.Tensor,
    device: str = "cpu",
    bf16: bool = False,
) -> torch.Tensor:
    """One optimizer step on a batch (log-mels for the CNN, encoder states for a head): forward pass
    (under bfloat16 autocast if bf16; weights and optimizer stay float32), backward pass, gradient
    clipping at CLIP_NORM, update. model(x, targets) returns (logits, loss). Returns the loss."""
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
        _, loss = model(x.to(device), targets.to(device))
    _update(opt, loss, model.parameters())
    return loss


def mixup(x: torch.Tensor, labels: torch.Tensor, n_classes: int, lam: float, other: torch.Tensor):
    """Mixup (Zhang et al. 2018), both recipes: each example mixed with example other[i] of the batch
    by weight lam, its one-hot label alike (log-mels for the CNN, cached states for a head).
    Returns (mixed x, soft targets (B, n_classes)); the caller draws lam and other."""
    return lam * x + (1 - lam) * x[other], mix_labels(labels, n_classes, lam, other)


def mix_labels(labels: torch.Tensor, n_classes: int, lam: float, other: torch.Tensor) -> torch.Tensor:
    """The soft targets of mixup: each one-hot label mixed with label other[i] by weight lam (the
    emotions, or with the adversary the corpora: a mixed clip is lam of one corpus)."""
    onehot = torch.nn.functional.one_hot(labels, n_classes).float()
    return lam * onehot + (1 - lam) * onehot[other]


class _Reverse(torch.autograd.Function):
    """Identity forward; the gradient times -scale backward (gradient reversal, Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def adversarial_step(model, critic: torch.nn.Module, opt, x, y, domain, scale: float) -> torch.Tensor:
    """One step of emotion loss plus a corpus classifier's loss on a head's pooled vector through
    gradient reversal: the critic learns to tell the corpora apart, the head learns to make that hard.
    y and domain: indices, or soft targets (mixup). Returns the emotion loss."""
    emb = model.embed(x)
    loss = torch.nn.functional.cross_entropy(model.fc(model.drop(emb)), y, label_smoothing=model.config.label_smoothing)
    adv = torch.nn.functional.cross_entropy(critic(_Reverse.apply(emb, scale)), domain)
    _update(opt, loss + adv, list(model.parameters()) + list(critic.parameters()))
    return loss
