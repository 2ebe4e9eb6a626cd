"""Where tensors live and how images become network inputs, one place for CPU and GPU.

Datasets stay uint8 (4x smaller than float) and are converted per batch *on the device*: on a GPU
the whole split is resident, so a training step never waits for a host-to-device copy or a
DataLoader worker. On CPU the same calls run unchanged, without bf16.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn


def resolve(device: str | torch.device) -> torch.device:
    """The device to run on; "cuda" without a GPU falls back to CPU instead of failing."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device


def is_cuda(device: torch.device) -> bool:
    return torch.device(device).type == "cuda"


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A numpy array (possibly memory-mapped) as a tensor on `device`, dtype kept (uint8 stays uint8)."""
    t = torch.from_numpy(np.ascontiguousarray(array))
    return t.to(device, non_blocking=False)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N,3,H,W] -> float in [-1, 1]: (x/255 - 0.5)/0.5, the paper's normalisation.

    channels_last everywhere: cuDNN's fastest bf16 convolution kernels want NHWC, and so do
    oneDNN's on CPU (2-core EPYC, one thread, the laptop profile's networks at batch 32:
    training 1.2-1.65x and inference 1.65-2x as fast as NCHW for small_cnn, VGG-11,
    ResNet-18/50 and DenseNet-121; the ViT unchanged; benchmarks/cpu_layout.py).
    """
    x = images.float().mul_(2.0 / 255.0).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last)


def autocast(device: torch.device):
    """bf16 autocast on GPU (tensor cores, no loss scaling needed); nothing on CPU, where bf16
    convolutions are slower than float32 on most machines."""
    if is_cuda(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` on `device`, its weights channels_last to match `normalise`'s inputs."""
    return model.to(device).to(memory_format=torch.channels_last)


def batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


# Inference batches on a CPU: 64 images of 32x32 (fewer of larger images). At 1,024 a small
# network's activations are tens of MiB each, and in a worker that has run other jobs glibc
# often serves them as fresh mappings the kernel zero-fills page by page (~50k page faults per
# 1,000 images); none stays in cache either. 64 was never slower, up to 1.65x faster a job (the
# small ViT), 1.24x over invariance_transfer's 10,260 sensitivity jobs, and a laptop training
# (its evaluations) 1.13x (benchmarks/cpu_inference_batch.py, README).
CPU_BATCH_PIXELS = 64 * 32 * 32


def inference_batch(images: torch.Tensor, device: torch.device, batch_size: int) -> int:
    """The batch `map_batches` uses: `batch_size` on a GPU, at most CPU_BATCH_PIXELS worth of
    images on a CPU."""
    if torch.device(device).type != "cpu" or images.dim() != 4:
        return batch_size
    pixels = max(1, int(images.shape[-1]) * int(images.shape[-2]))
    return max(1, min(batch_size, CPU_BATCH_PIXELS // pixels))


@torch.no_grad()
def map_batches(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                device: torch.device, batch_size: int = 1024) -> torch.Tensor:
    """fn(normalised batch) over uint8 `images` (on any device), concatenated as float32 on `device`.

    Used for features, logits and sensitivity pairs: inference only, so no gradients and bf16 on GPU.
    `batch_size` is the GPU's; a CPU runs smaller batches (`inference_batch`).
    """
    out = []
    batch_size = inference_batch(images, device, batch_size)
    # An empty split still goes through fn once, so the result keeps its trailing shape [0, D].
    for s in batches(images.shape[0], batch_size) if images.shape[0] else [slice(0, 0)]:
        x = normalise(images[s].to(device, non_blocking=True))
        with autocast(device):
            out.append(fn(x).float())
    return torch.cat(out)
