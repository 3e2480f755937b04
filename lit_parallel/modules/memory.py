"""A fit's peak memory, estimated from its shapes: a pure function of the architecture, the model spec
and the work of a step, checked against measured peaks (tests/test_memory.py; benchmarks/memory.py
prints the table, benchmarks/device_check.py the CUDA one).

The static part is the base weights (linear layers quantized as the spec says, the rest in the compute
dtype) and the LoRA adapter in fp32 with AdamW's two moments. On top of it comes the largest of:

- an **update** (a training forward and backward): the activations kept for the backward pass (each
  decoder layer's input under activation checkpointing, plus the one layer being recomputed; every
  layer's own otherwise), the adapter's gradients, and the logits of the trained positions (their fp32
  copy, saved for the backward pass, and a softmax of the same size beside it);
- the **log-probs** of a micro-batch without gradient (RL's old and reference log-probs): their logits;
- a **generation** (rollouts, in-training evaluation): the engine's slot KV cache, each slot as long as
  the longest prompt plus ``max_new_tokens``, and a decoding step's sampling over the vocabulary; with
  ``sampling.merged_copy``, the merged decoding copy's own weights (``lit_parallel.sampling.merged``: the
  sampler frees it before the update).

The bytes are the tensors' own: an allocator holds more (CUDA's caching allocator reserves some
fragments beyond them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lit_parallel.modeling import ModelSpec

GIB = 1024**3
FP32 = 4
ADAPTER_BYTES = FP32 * 3
"""A trained LoRA parameter, its AdamW moments (fp32) between updates; its gradient exists in an update."""
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class Architecture:
    """The shapes of a Llama-family decoder (transformers' ``LlamaConfig`` names in ``of``)."""

    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    tied: bool
    """The output head shares the input embeddings' weights."""

    @classmethod
    def of(cls, config: object) -> Architecture:
        """From a transformers config."""
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(
            vocab=config.vocab_size,
            hidden=config.hidden_size,
            intermediate=config.intermediate_size,
            layers=config.num_hidden_layers,
            heads=config.num_attention_heads,
            kv_heads=getattr(config, "num_key_value_heads", None) or config.num_attention_heads,
            head_dim=head_dim,
            tied=bool(getattr(config, "tie_word_embeddings", False)),
        )

    def linears(self) -> list[tuple[int, int]]:
        """(in, out) of one layer's q, k, v, o, gate, up and down projections."""
        d, f, attention, kv = self.hidden, self.intermediate, self.heads * self.head_dim, self.kv_heads * self.head_dim
        return [(d, attention), (d, kv), (d, kv), (attention, d), (d, f), (d, f), (f, d)]


LLAMA31_8B = Architecture(128256, 4096, 14336, 32, 32, 8, 128, tied=False)
"""meta-llama/Llama-3.1-8B(-Instruct)'s config.json."""


@dataclass(frozen=True)
class Pass:
    """A forward pass over ``rows`` rows of ``tokens`` tokens, with logits at ``logits`` positions in all."""

    rows: int
    tokens: int
    logits: int


@dataclass(frozen=True)
class Generation:
    """A generation: ``slots`` rows decoded together, prompts of up to ``prompt`` tokens, ``new`` tokens drawn,
    from a ``merged`` decoding copy (``sampling.merged_copy``) or the live model."""

    slots: int
    prompt: int
    new: int
    merged: bool = False

    @property
    def capacity(self) -> int:
        """Positions of each slot of the engine's cache."""
        return self.prompt + self.new


@dataclass(frozen=True)
class Work:
    """What a step of a fit runs: a training pass, a pass without gradient, generations."""

    update: Pass | None = None
    logprobs: Pass | None = None
    generations: tuple[Generation, ...] = field(default_factory=tuple)


def weight_bytes(arch: Architecture, spec: ModelSpec) -> float:
    """The base weights: quantized linear layers (nf4: half a byte, a float32 scale per 64; double
    quantization: the scales in 8 bits), everything else in the compute dtype."""
    linear = arch.layers * sum(i * o for i, o in arch.linears())
    per = {"nf4": 0.5 + FP32 / 64, "nf4-double": 0.5 + 1 / 64 + FP32 / 64 / 256, "int8": 1.0}
    quantized = linear * per.get(spec.quantization, BYTES[spec.compute_dtype])
    if spec.quantization == "int8":
        quantized += arch.layers * sum(o for _, o in arch.linears()) * FP32  # a scale per output row
    others = arch.vocab * arch.hidden * (1 if arch.tied else 2) + (2 * arch.layers + 1) * arch.hidden
    return quantized + others * BYTES[spec.compute_dtype]


def adapted(arch: Architecture, spec: ModelSpec) -> list[tuple[int, int]]:
    """(in, out) of one layer's linear layers that LoRA adapts (all, or those in ``lora.target_modules``)."""
    if spec.lora is None:
        return []
    names = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    targets = spec.lora.target_modules
    return [s for n, s in zip(names, arch.linears(), strict=True) if targets == "all-linear" or n in targets]


def lora_parameters(arch: Architecture, spec: ModelSpec) -> int:
    """Trainable LoRA parameters."""
    r = spec.lora.r if spec.lora else 0
    return arch.layers * r * sum(i + o for i, o in adapted(arch, spec))


def layer_activation_bytes(arch: Architecture, spec: ModelSpec, device: str) -> float:
    """Bytes per token that one decoder layer keeps for its backward pass, LoRA (fp32) on all its
    linear layers: the fp32 copies its two RMSNorms save, the queries, the keys and values repeated to
    every head and the attention's output, three MLP intermediates, the rank-r outputs of LoRA's A, and
    each adapter's input: shared when it is already fp32, else an fp32 copy per adapter (peft casts it),
    and with dropout the dropped input and its mask (a bool per element on CUDA, a float on the CPU)."""
    d, f, s = arch.hidden, arch.intermediate, BYTES[spec.compute_dtype]
    attention = arch.heads * arch.head_dim
    r = spec.lora.r if spec.lora else 0
    every = 5 * d + attention + f  # the inputs of q, k, v, gate, up; o; down
    if spec.lora and spec.lora.dropout > 0:
        inputs = (FP32 + (FP32 if device == "cpu" else 1)) * every
    elif s == FP32:
        inputs = FP32 * (2 * d + attention + f)  # the normed inputs, o's and down's: each shared
    else:
        inputs = FP32 * every
    return 2 * d * FP32 + 4 * attention * s + 3 * f * s + inputs + 7 * r * FP32 + arch.heads * FP32


def dequantized_bytes(arch: Architecture, spec: ModelSpec) -> float:
    """A quantized layer's weight, de-quantized into the compute dtype for its matmul (one at a time)."""
    return 0.0 if spec.quantization == "none" else max(i * o for i, o in arch.linears()) * BYTES[spec.compute_dtype]


def merged_copy_bytes(arch: Architecture, spec: ModelSpec) -> float:
    """A merged decoding copy's own weights: each linear layer it replaces (every one of a quantized model,
    else those LoRA adapts) in the compute dtype; the rest of the model is shared with the live one."""
    shapes = arch.linears() if spec.quantization != "none" else adapted(arch, spec)
    return arch.layers * sum(i * o for i, o in shapes) * BYTES[spec.compute_dtype]


def update_bytes(arch: Architecture, spec: ModelSpec, work: Pass, trainable: int, device: str) -> float:
    """A training pass: the adapter's gradients, the 4-D attention mask all layers share, and the larger
    of its two peaks: at the logits (their fp32 copy saved for backward, and a softmax of their size
    beside it), over every layer's kept activations; and at a layer's backward pass (the layer's
    activations, recomputed under checkpointing, and its gradients), over what the other layers keep."""
    tokens = work.rows * work.tokens
    s = BYTES[spec.compute_dtype]
    layer = layer_activation_bytes(arch, spec, device) * tokens
    logits = 2 * FP32 * work.logits * arch.vocab
    # gradients of the hidden states and MLP intermediates, a de-quantized weight
    working = tokens * s * (2 * arch.hidden + 2 * arch.intermediate) + dequantized_bytes(arch, spec)
    if spec.gradient_checkpointing:
        kept = arch.layers * arch.hidden * s * tokens  # each layer's input
        peak = kept + max(logits, layer + working)
    else:
        peak = arch.layers * layer + max(logits, working)
    return peak + tokens * work.tokens * s + trainable * FP32


def logprob_bytes(arch: Architecture, spec: ModelSpec, work: Pass) -> float:
    """A pass without gradient: one layer's intermediates at a time, and the logits (in fp32, and a
    second fp32 tensor of their size: the temperature's quotient, the log-sum-exp's exponentials)."""
    s = BYTES[spec.compute_dtype]
    tokens = work.rows * work.tokens
    working = tokens * s * (4 * arch.hidden + 3 * arch.intermediate) + dequantized_bytes(arch, spec)
    return max(working, 2 * FP32 * work.logits * arch.vocab)


def generation_bytes(arch: Architecture, spec: ModelSpec, work: Generation, device: str) -> float:
    """The slot cache and a decoding step's sampling over the vocabulary (the logits, the softmax and its
    cumulative sum, in fp32). Decoding keeps the keys and values unrepeated: transformers' SDPA groups the
    query heads of a single-token step instead. On the CPU in a 16-bit dtype, torch's matmul of a prompt's
    last position (batch 1) copies the output head's weight. A merged copy adds its weights and de-quantizes
    nothing while decoding (building it takes one layer's weight in fp32 at a time, before the cache)."""
    s = BYTES[spec.compute_dtype]
    cache = 2 * arch.layers * work.slots * arch.kv_heads * arch.head_dim * work.capacity * s
    head_copy = arch.vocab * arch.hidden * s if device == "cpu" and s == 2 else 0
    if work.merged:
        return merged_copy_bytes(arch, spec) + cache + max(3 * FP32 * work.slots * arch.vocab, head_copy)
    return cache + max(3 * FP32 * work.slots * arch.vocab, head_copy, dequantized_bytes(arch, spec))


def estimate(arch: Architecture, spec: ModelSpec, work: Work, device: str = "cuda") -> dict[str, float]:
    """Bytes on a ``device`` type: ``weights``, ``adapter`` (LoRA and AdamW's moments), each phase's own
    (``update``, ``logprobs``, ``generation``), and ``peak``: the static part plus the largest phase."""
    trainable = lora_parameters(arch, spec)
    parts = {"weights": weight_bytes(arch, spec), "adapter": trainable * ADAPTER_BYTES}
    phases = {
        "update": update_bytes(arch, spec, work.update, trainable, device) if work.update else 0.0,
        "logprobs": logprob_bytes(arch, spec, work.logprobs) if work.logprobs else 0.0,
        "generation": max((generation_bytes(arch, spec, g, device) for g in work.generations), default=0.0),
    }
    return parts | phases | {"peak": sum(parts.values()) + max(phases.values())}


def fit_work(module: object, callbacks: list, rows: int, max_length: int, prompt: int) -> Work:
    """What a step of a fit runs on each device, from its module (SFT or RL: ``sampling`` and
    ``algorithm``), its PassAtK callbacks, and its data: ``rows`` (SFT examples or RL prompts per batch
    and device), ``max_length`` (SFT tokens per row) and ``prompt`` (the longest prompt's tokens). SFT's
    logits are counted at every position (its loss computes them at the answer tokens only)."""
    evaluations = tuple(
        Generation(c.sampling.batch_size, prompt, c.sampling.max_new_tokens, c.sampling.merged_copy)
        for c in callbacks
        if hasattr(c, "ks")
    )
    if not hasattr(module, "algo"):
        return Work(update=Pass(rows, max_length, rows * max_length), generations=evaluations)
    sampling, algo = module.sampling, module.algo
    completions = rows * sampling.n
    micro = min(algo.micro_batch_size, completions)
    update = Pass(micro, prompt + sampling.max_new_tokens, micro * sampling.max_new_tokens)
    rollouts = Generation(min(sampling.batch_size, completions), prompt, sampling.max_new_tokens, sampling.merged_copy)
    frozen = update if algo.iterations > 1 or algo.kl_coef else None
    return Work(update=update, logprobs=frozen, generations=(rollouts, *evaluations))


def log_estimate(module: object) -> None:
    """Log, at fit start, the estimate for this fit on each device: its model's architecture (its
    config, not its weights), its data's ``batch_size`` and ``max_length``, its longest evaluation
    prompt (the training prompts' stand-in: the same corpus and rendering). Silent without them."""
    from lightning.pytorch.utilities import rank_zero_info
    from transformers import AutoConfig

    from datamodules.contract import code_data
    from lit_parallel.modeling import resolve_source

    trainer, spec = module.trainer, module.spec
    data = code_data(trainer, type(module).__name__)
    hparams = getattr(trainer.datamodule, "hparams", {})
    if "batch_size" not in hparams:
        return
    config = AutoConfig.from_pretrained(resolve_source(spec.source))
    config.update(spec.tiny or {})
    prompts = [item.prompt for items in data.eval_sets().values() for item in items]
    lengths = [len(ids) for ids in data.tokenizer(prompts)["input_ids"]] if prompts else []  # a fit may evaluate none
    prompt = max(lengths, default=0)
    work = fit_work(module, trainer.callbacks, hparams["batch_size"], hparams.get("max_length", 0), prompt)
    numbers = estimate(Architecture.of(config), spec, work, trainer.strategy.root_device.type)
    rank_zero_info(f"Memory per device (estimated, lit_parallel/modules/memory.py): {describe(numbers)}")


def describe(numbers: dict[str, float]) -> str:
    """One line: each part in GiB."""
    return ", ".join(f"{name} {value / GIB:.2f}" for name, value in numbers.items()) + " (GiB)"


def tensor_bytes(module: object) -> int:
    """Bytes of a model's parameters and buffers, 4-bit weights with their quantization state."""
    import torch

    seen: dict[int, int] = {}

    def add(tensor: object) -> None:
        if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
            storage = tensor.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()

    def add_state(state: object) -> None:
        for value in vars(state).values():
            add(value)
            if hasattr(value, "absmax"):  # the nested state of double quantization
                add_state(value)

    for tensor in [*module.parameters(), *module.buffers()]:
        add(tensor)
        if getattr(tensor, "quant_state", None) is not None:
            add_state(tensor.quant_state)
    return sum(seen.values())


def measured_peak(run: object, device: object) -> int:
    """Peak bytes that ``run()`` allocated beyond what was allocated before it: CUDA's allocator
    statistics, or on the CPU the profiler's record of every allocation (its running total)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    import json
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    with tempfile.NamedTemporaryFile(suffix=".json") as trace:
        prof.export_chrome_trace(trace.name)
        events = json.loads(Path(trace.name).read_text())["traceEvents"]
    cpu = [e["args"] for e in events if e.get("name") == "[memory]" and e["args"].get("Device Type") == 0]
    if not cpu:
        return 0
    # the running total also counts what earlier profiled runs allocated and left alive
    start = cpu[0]["Total Allocated"] - cpu[0]["Bytes"]
    return max(args["Total Allocated"] for args in cpu) - start


def generated(model: object, merged: bool, *args: object) -> list:
    """Every completion of ``generate(model, *args)``, or of a merged copy of ``model`` made first."""
    from lit_parallel.generation import generate
    from lit_parallel.sampling.merged import MergedCopy

    return list(generate(MergedCopy(model).model if merged else model, *args))


def measure(
    spec: ModelSpec, work: Work, device: object, tokenizer: object, prompt: str, model: object = None
) -> dict[str, float]:
    """Bytes measured on ``device`` for ``work`` with ``spec``'s model: ``static`` (weights and adapter),
    and the peak of each phase beyond it, run by the code the modules run: an RL update (log-probs with
    entropies, the clipped loss, backward, AdamW; measured at its second run, after AdamW made its
    moments), a pass without gradient, a generation of ``prompt`` numbered apart for each slot (random
    weights draw no EOS: every row runs to its ``new`` tokens; a merged generation makes its copy in the
    measured run). Shapes come from ``work``; tokens are random. ``model``: the model of ``spec``, loaded
    already (the device check's random 8B)."""
    import torch

    from lit_parallel.generation import Request, SamplingSpec
    from lit_parallel.modeling import load_model
    from lit_parallel.modules.rl_losses import clipped_policy_loss
    from lit_parallel.modules.rollouts import token_logprobs

    model = (model or load_model(spec, device)).train()
    out = {"static": float(tensor_bytes(model))}
    vocab = model.config.vocab_size

    def batch(shape: Pass) -> dict:
        ids = torch.randint(0, vocab, (shape.rows, shape.tokens), device=device)
        mask = torch.ones_like(ids)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": mask.cumsum(-1) - 1,
            "width": shape.logits // shape.rows,
        }

    if work.update:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
        inputs = batch(work.update)

        def update() -> None:
            logp, _ = token_logprobs(model, inputs, 1.0, entropy=True)
            loss, _ = clipped_policy_loss(logp, logp.detach(), torch.ones(logp.shape[0], device=device), 0.2, 0.2)
            loss.mean().backward()
            optimizer.step()
            optimizer.zero_grad()

        update()
        out["update"] = float(measured_peak(update, device))
        del optimizer
    if work.logprobs:
        inputs = batch(work.logprobs)
        with torch.no_grad():
            out["logprobs"] = float(measured_peak(lambda: token_logprobs(model, inputs, 0.7), device))
    model.eval()
    for g in work.generations:
        sampling = SamplingSpec(n=1, temperature=1.0, max_new_tokens=g.new, batch_size=g.slots)
        requests = [Request(f"{i}. {prompt}", seed=i) for i in range(g.slots)]  # each prompt prefilled
        run = partial(generated, model, g.merged, tokenizer, requests, sampling)
        out["generation"] = max(out.get("generation", 0.0), float(measured_peak(run, device)))
    return out
