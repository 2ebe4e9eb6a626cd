"""The architectures the spec language names, built from a model config: each arch's record in
dsl.archs says which callable of this package builds it.

Every model exposes `features(x)` (the penultimate representation, [N, feature_dim]) and `head`
(the linear classifier on it), so probes can swap or bypass the head without knowing the arch.
Models take normalised float images; `engine.device.normalise` makes them from uint8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from dsl.archs import ARCHES
from dsl.errors import DslError, did_you_mean
from dsl.kinds import load

BUILDERS: dict[str, Callable[[int, float], nn.Module]] = {
    a.name: load(a.builder) for a in ARCHES.values()}

CHECKPOINT = "model.pt"


def build(model_config: Mapping[str, Any]) -> nn.Module:
    """`{"arch": "resnet18", "width": 1.0, "num_classes": 30}` -> an untrained model.

    Initialisation uses torch's global generator; callers that need a seeded init wrap this in
    `seeded(seed)` so the job's seed alone fixes the weights.
    """
    arch = model_config["arch"]
    if arch not in BUILDERS:
        raise DslError(f"unknown arch '{arch}'; " + (did_you_mean(arch, BUILDERS) or
                                                     f"known: {', '.join(BUILDERS)}"))
    return BUILDERS[arch](int(model_config["num_classes"]), float(model_config["width"]))


def seeded_build(model_config: Mapping[str, Any], seed: int) -> nn.Module:
    """`build` with the init drawn from `seed`, leaving the caller's global RNG state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(model_config)


def load_trained(model_input, device: str | torch.device = "cpu") -> nn.Module:
    """The trained model of a finished `train` job (an `engine.jobs.Input`), in eval mode.

    The architecture comes from the train job's own config, so a probe can never pair weights with
    a different network. weights_only=True: a checkpoint is data and must not run code on load.
    """
    if model_input.kind != "train":
        raise DslError(f"expected a train job as model input, got a '{model_input.kind}' job")
    model = build(model_input.config["model"])
    state = torch.load(Path(model_input.path) / CHECKPOINT, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:  # another network than today's code builds for this config
        # torch's message is a heading, then one line per problem: quote the first problem
        first = (str(err).strip().splitlines()[1:] or [str(err)])[0].strip()
        arch = model_input.config["model"]["arch"]
        raise DslError(
            f"the checkpoint of {model_input.id} does not fit the {arch} today's code builds "
            f"({first}): it was trained by other code; train it again with "
            f"`dsl run SPEC --rerun stale` (or `--rerun {model_input.id}`)") from None
    from engine.device import prepare  # channels_last, as training used
    return prepare(model, device).eval()


def load_frozen(model_input, device: str | torch.device = "cpu") -> nn.Module:
    """`load_trained` for a job that only runs the model forward (features, sensitivity,
    accuracy): its batch norms folded into their convolutions (engine.models.fold)."""
    from engine.device import prepare
    from engine.models.fold import fold_batchnorm

    return prepare(fold_batchnorm(load_trained(model_input, device)), device)
