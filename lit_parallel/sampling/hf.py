"""The ``hf`` sampler: the project's engine on the model as given (a peft model samples with its live
adapter, so an RL step's update reaches the next rollout with nothing to sync)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from lit_parallel.generation import Completion, Request, SamplingSpec, generate


class HFSampler:
    """``lit_parallel.generation.generate`` behind the sampler interface."""

    backend = "hf"

    def __init__(self, model: torch.nn.Module, tokenizer: object, add_special_tokens: bool) -> None:
        self.model, self.tokenizer, self.add_special_tokens = model, tokenizer, add_special_tokens

    def generate(self, requests: Sequence[Request], spec: SamplingSpec) -> Iterator[tuple[int, Completion]]:
        # eval mode while drawing (no dropout), the caller's mode again after
        training = self.model.training
        self.model.eval()
        try:
            yield from generate(self.model, self.tokenizer, requests, spec, self.add_special_tokens)
        finally:
            self.model.train(training)

    def load_adapter(self, adapter: torch.nn.Module | str | None) -> None:
        """Nothing to do for the model sampled from (its adapter is live); any other adapter is refused."""
        if adapter is not None and adapter is not self.model:
            raise ValueError("the hf sampler samples from the model it was given; load the adapter into that model")

    def sleep(self) -> None:
        """Nothing to free: the weights are the trainer's."""

    def wake(self) -> None:
        """Nothing to take back."""

    def close(self) -> None:
        """Nothing held."""
