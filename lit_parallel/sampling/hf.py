"""The ``hf`` sampler: the project's engine on the model as given (a peft model samples with its live
adapter, so an RL step's update reaches the next rollout with nothing to sync), or with
``sampling.merged_copy`` on a merged decoding copy of it (:mod:`.merged`), refreshed by ``load_adapter``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from lit_parallel.generation import Completion, Request, SamplingSpec, generate
from lit_parallel.sampling.merged import MergedCopy


class HFSampler:
    """``lit_parallel.generation.generate`` behind the sampler interface."""

    backend = "hf"

    def __init__(self, model: torch.nn.Module, tokenizer: object, add_special_tokens: bool) -> None:
        self.model, self.tokenizer, self.add_special_tokens = model, tokenizer, add_special_tokens
        self.copy: MergedCopy | None = None
        """The merged decoding copy, from the first ``generate`` with ``merged_copy`` until ``sleep``."""

    def generate(self, requests: Sequence[Request], spec: SamplingSpec) -> Iterator[tuple[int, Completion]]:
        if spec.merged_copy and self.copy is None:
            self.copy = MergedCopy(self.model)
        model = self.copy.model if spec.merged_copy else self.model
        # eval mode while drawing (no dropout), the caller's mode again after
        training = self.model.training
        self.model.eval()
        try:
            yield from generate(model, self.tokenizer, requests, spec, self.add_special_tokens)
        finally:
            self.model.train(training)

    def load_adapter(self, adapter: torch.nn.Module | str | None) -> None:
        """The model's live adapter needs nothing; a merged copy takes its current weights. Any other
        adapter is refused."""
        if adapter is not None and adapter is not self.model:
            raise ValueError("the hf sampler samples from the model it was given; load the adapter into that model")
        if self.copy is not None:
            self.copy.refresh()

    def sleep(self) -> None:
        """Frees the merged copy, if any, for the update (the next ``generate`` builds it from the policy of
        then); the live weights are the trainer's."""
        self.copy = None

    def wake(self) -> None:
        """Nothing to take back."""

    def close(self) -> None:
        """Frees the merged copy, if any."""
        self.copy = None
