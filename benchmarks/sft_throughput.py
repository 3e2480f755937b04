"""SFT throughput of our Lightning fit against TRL's SFTTrainer, and the memory nf4 + LoRA saves.

What is compared
----------------
1. Tokens/s, per quantization setting (``--quantization nf4 none``: nf4 + LoRA, fp32 + LoRA):

   - data: the tiny config's Parallel-SFT mixture of the bundled corpus (python, lua, ruby; single and
     translation examples), tokenized by our DataModule with completion-only labels. TRL gets exactly
     these rows (``input_ids`` and ``labels``, -100 on the prompt) as a pre-tokenized
     ``datasets.Dataset``, in the order our sampler trains on them, read sequentially: every step of
     both sees the same examples (the first ``--steps x --batch-size`` of the epoch).
   - model: a random model of SmolLM2's architecture (``--model tiny``: the tiny config's, 2 layers of
     64; ``--model small``: 4 layers of 256, where the step is more compute-bound), the same LoRA
     (r 8, alpha 16, dropout 0 so that both compute the same loss, all linear layers), built once per
     side by ``lit_parallel.modeling.load_model`` from the same seed: bitwise the same start.
   - optimisation: AdamW, lr ``--lr``, cosine to 10% without warmup (the same schedule on both),
     gradient clipping at 1.0 (TRL's default), fp32 compute, ``--steps`` optimizer steps of
     ``--batch-size`` examples.
   - ours: ``lightning.Trainer.fit`` of ``SFTModule`` + ``ParallelMixtureDataModule`` with packing on,
     as the configs run it (rows of up to ``--max-length`` tokens, block-causal masks), logging every
     step to TensorBoard as the configs do.
   - TRL: ``SFTTrainer`` with its defaults for this setting: no packing and no padding-free (both need
     FlashAttention to keep packed examples apart, which CPU lacks: with SDPA they would attend across
     examples), so each batch is padded to its longest example; its fused, chunked LM-head loss; for a
     4-bit base, its LoRA weights in bf16 (its QLoRA default). Gradient checkpointing off on both
     (TRL's default is on; ours is off in the configs), no progress bars, no checkpoints, bf16 off.

   Timed: the training loop of each (Lightning ``on_train_start`` to ``on_train_end``, TRL
   ``on_train_begin`` to ``on_train_end``): batches, steps, logging; not the model loading. Tokens
   are the real (non-padding) tokens of the examples trained on, the same on both sides (TRL's own
   ``num_tokens`` count is checked against ours). The per-step losses of both are printed and
   compared: they agree when the largest relative difference is under ``--tolerance``.

2. Memory (``--memory``, on by default): resident memory of one training step (forward, backward,
   AdamW) of the packaged SmolLM2-135M-Instruct, nf4 + LoRA against fp32 + LoRA (r 16, the demo
   config's), on 1 example and on 4 examples packed into rows of at most 512 tokens (the demo config's
   batch). Each (setting, batch) runs in a fresh subprocess, which reports its resident set after
   loading (after ``malloc_trim``, so that the fp32 weights nf4 quantization read and freed do not
   count), the peak of the step alone (VmHWM of ``/proc/self/status``, reset through
   ``/proc/self/clear_refs`` after loading) and the process peak (``getrusage``, loading included).

The last line is ``ratio: X``: our tokens/s over TRL's, over all settings (higher is better).

Run: ``python3 benchmarks/sft_throughput.py [--model tiny|small] [--steps N] [--no-memory]`` (about 15 minutes on
2 shared cores, 6 of them for the throughput part).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from resource import RUSAGE_SELF, getrusage

import lightning as L
import torch

from datamodules import ParallelMixtureDataModule
from datamodules.mixture import MixtureConfig
from datamodules.parallel_mixture import ResumableSampler
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model
from lit_parallel.modules.optim import OptimizerSpec
from lit_parallel.modules.sft import SFTModule, answer_loss

SEED = 0
HEADS = {"num_attention_heads": 4, "num_key_value_heads": 2}
MODELS = {
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, **HEADS},
    "small": {"hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 4, **HEADS},
    "smollm2": {
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "initializer_range": 0.02,  # 0.3, the small ones' spread, makes 30 layers' losses explode
    },
}
"""Random models of SmolLM2's architecture; ``tiny`` is configs/tiny/sft.yaml's, ``smollm2`` has the
shapes of SmolLM2-135M itself (the model the demo trains), so its arithmetic is the real one."""
MIXTURE = {"languages": {"python": 0.5, "lua": 0.25, "ruby": 0.25}, "formats": {"single": 0.5, "translation": 0.5}}


@dataclass
class Run:
    """What one side did: real tokens trained on, wall and CPU seconds of its training loop, loss of each step."""

    tokens: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Tokens per CPU second of this process (all its threads): less swayed by other processes' load."""
        return self.tokens / self.cpu_seconds


class Stopwatch:
    """Wall clock and this process's CPU time, from ``start`` to ``stop`` into a Run."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self, run: Run) -> None:
        run.seconds = time.perf_counter() - self.wall
        run.cpu_seconds = time.process_time() - self.cpu


def model_spec(size: str, quantization: str, lora: LoRASpec) -> ModelSpec:
    tiny = {"initializer_range": 0.3, **MODELS[size]}
    return ModelSpec(source=PACKAGED, tiny=tiny, quantization=quantization, lora=lora)


def seeded_model(spec: ModelSpec) -> torch.nn.Module:
    """The model of ``spec`` with LoRA weights drawn from SEED: both sides start bitwise equal."""
    torch.manual_seed(SEED)
    return load_model(spec).train()


def datamodule(batch_size: int, max_length: int, examples: int) -> ParallelMixtureDataModule:
    """The tiny config's mixture, tokenized and packed by our DataModule."""
    mixture = MixtureConfig("python", num_examples=examples, seed=SEED, **MIXTURE)
    dm = ParallelMixtureDataModule(mixture=mixture, max_length=max_length, packing=True, batch_size=batch_size)
    dm.setup("fit")
    return dm


class LoopClock(L.Callback):
    """Times Lightning's training loop and records each step's loss and real tokens."""

    def __init__(self, run: Run) -> None:
        self.run, self.watch = run, Stopwatch()

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.watch.start()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs, batch, batch_idx) -> None:
        self.run.losses.append(float(outputs["loss"]))
        self.run.tokens += int((batch["segment_ids"] >= 0).sum())

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.watch.stop(self.run)


def run_ours(spec: ModelSpec, dm: ParallelMixtureDataModule, args: argparse.Namespace, out: Path) -> Run:
    """``Trainer.fit`` of SFTModule on the packed DataModule, as ``lit-parallel fit`` runs it."""
    from lightning.pytorch.loggers import TensorBoardLogger

    run = Run()
    module = SFTModule(spec, OptimizerSpec(lr=args.lr, warmup_steps=0), adapter_dir=str(out / "adapters"))
    module.model = seeded_model(spec)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=args.steps,
        limit_val_batches=0,
        log_every_n_steps=1,
        gradient_clip_val=1.0,
        logger=TensorBoardLogger(out, name="ours"),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[LoopClock(run)],
    )
    trainer.fit(module, datamodule=dm)
    return run


def trained_order(dm: ParallelMixtureDataModule) -> list[dict]:
    """The rows of the first epoch in the order our sampler hands them to training."""
    return [dm.train_rows[i] for i in ResumableSampler(dm.train_rows, 1, 0, seed=SEED)]


def run_trl(spec: ModelSpec, dm: ParallelMixtureDataModule, args: argparse.Namespace, out: Path) -> Run:
    """TRL's SFTTrainer on the same rows, model, LoRA, batch size, schedule and steps."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    run, watch = Run(), Stopwatch()

    class Clock(TrainerCallback):
        def on_train_begin(self, *_, **__) -> None:
            watch.start()

        def on_train_end(self, *_, **__) -> None:
            watch.stop(run)

    rows = [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in trained_order(dm)]
    assert len(rows) >= args.steps * args.batch_size, "fewer rows than steps take: a second epoch would differ"
    config = SFTConfig(
        output_dir=str(out / "trl"),
        per_device_train_batch_size=args.batch_size,
        max_steps=args.steps,
        learning_rate=args.lr,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": OptimizerSpec.min_lr_ratio},
        max_grad_norm=1.0,
        max_length=args.max_length,
        train_sampling_strategy="sequential",  # the order is already our sampler's
        gradient_checkpointing=False,
        bf16=False,
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=SEED,
    )
    trainer = SFTTrainer(
        model=seeded_model(spec),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=dm.tokenizer,
        callbacks=[Clock()],
    )
    trainer.train()
    steps = [entry for entry in trainer.state.log_history if "loss" in entry]
    run.losses = [entry["loss"] for entry in steps]
    run.tokens = int(steps[-1]["num_tokens"])
    return run


def limit_rate(spec: ModelSpec, rows: int) -> float:
    """Trained tokens/s this machine's matmuls allow for the unquantized ``spec``: 4 x (linear weights)
    FLOPs a token (forward, and the backward's input gradients; a frozen base needs no weight gradients,
    and LoRA's own are under 1% here), at the GFLOP/s of the model's linear layers on ``rows`` rows."""
    from generation import matmul_limit  # benchmarks/generation.py, beside this script

    model = seeded_model(spec)
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return matmul_limit(model, rows)[1] * 1e9 / (4 * weights)


def compare(quantization: str, ours: Run, trl: Run, tolerance: float) -> bool:
    """Print both sides' throughput and losses; True when the losses agree within ``tolerance``."""
    print(f"\n== {quantization} + LoRA ==")
    print(f"{'side':<5} {'tokens':>7} {'loop s':>7} {'tokens/s':>9} {'CPU s':>7} {'tokens/CPU s':>13}  losses per step")
    for name, run in (("ours", ours), ("TRL", trl)):
        losses = " ".join(f"{x:.4f}" for x in run.losses)
        print(
            f"{name:<5} {run.tokens:>7} {run.seconds:>7.2f} {run.rate:>9.1f} {run.cpu_seconds:>7.2f} "
            f"{run.cpu_rate:>13.1f}  {losses}"
        )
    worst = max(abs(a - b) / abs(b) for a, b in zip(ours.losses, trl.losses, strict=True))
    agree = worst <= tolerance and ours.tokens == trl.tokens
    print(
        f"largest relative loss difference {worst:.2e} (tolerance {tolerance:g}); same tokens: "
        f"{ours.tokens == trl.tokens}; {'agree' if agree else 'DISAGREE'}; ratio {ours.rate / trl.rate:.2f}"
    )
    return agree


# ----------------------------------------------------------------------------------------------
# Memory


def proc_status_kib(field_name: str) -> int:
    """A field (kB) of /proc/self/status: VmRSS resident now, VmHWM the peak since the last reset."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise KeyError(field_name)


def memory_child(quantization: str, examples: int) -> None:
    """One training step of SmolLM2-135M (``quantization`` + LoRA) on ``examples`` examples packed into rows
    of at most 512 tokens, in this fresh process; prints its resident memory as JSON."""
    spec = ModelSpec(quantization=quantization, lora=LoRASpec(r=16, alpha=32, dropout=0.0))
    model = load_model(spec).train()
    batch = next(iter(datamodule(batch_size=examples, max_length=512, examples=examples).train_dataloader()))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    # Quantizing frees the fp32 weights it read, but glibc keeps the pages until asked to return them.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    loaded = proc_status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: from here on, the peak of the step alone
    answer_loss(model, batch, torch.float32).backward()
    optimizer.step()
    peaks = {"tokens": int((batch["segment_ids"] >= 0).sum()), "loaded_kib": loaded}
    peaks |= {"step_peak_kib": proc_status_kib("VmHWM"), "process_peak_kib": getrusage(RUSAGE_SELF).ru_maxrss}
    print(json.dumps(peaks))


def bench_memory() -> None:
    """Resident memory of nf4 + LoRA and fp32 + LoRA training steps, each in a fresh subprocess."""
    print("\n== memory: a training step of SmolLM2-135M-Instruct + LoRA r 16 (MB of resident memory) ==")
    print(f"{'examples':>8} {'tokens':>7} {'setting':<12} {'after load':>11} {'step peak':>10} {'process peak':>13}")
    for examples in (1, 4):
        peaks = {}
        for quantization in ("nf4", "none"):
            child = [sys.executable, __file__, "--memory-child", quantization, str(examples)]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            p = peaks[quantization] = json.loads(done.stdout.strip().splitlines()[-1])
            name = "nf4 + LoRA" if quantization == "nf4" else "fp32 + LoRA"
            print(
                f"{examples:>8} {p['tokens']:>7} {name:<12} {p['loaded_kib'] / 1024:>11.0f} "
                f"{p['step_peak_kib'] / 1024:>10.0f} {p['process_peak_kib'] / 1024:>13.0f}"
            )
        ratios = {key: peaks["nf4"][key] / peaks["none"][key] for key in ("loaded_kib", "step_peak_kib")}
        print(
            f"{examples:>8} nf4 / fp32: after load {ratios['loaded_kib']:.2f}, step peak {ratios['step_peak_kib']:.2f}"
        )


# ----------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny", help="size of the random SmolLM2 model")
    parser.add_argument("--quantization", nargs="+", choices=["nf4", "none"], default=["nf4", "none"])
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps of each side")
    parser.add_argument("--batch-size", type=int, default=4, help="examples per step")
    parser.add_argument("--max-length", type=int, default=320, help="tokens per example (and per packed row)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--tolerance", type=float, default=1e-2, help="largest relative loss difference")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory comparison")
    parser.add_argument("--memory-child", nargs=2, metavar=("QUANTIZATION", "EXAMPLES"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, load average {load}")
    print(f"model {args.model} {MODELS[args.model]}, {args.steps} steps of {args.batch_size} examples, lr {args.lr:g}")
    # Twice the examples the steps take: some prompts exceed max_length and are dropped, and neither side
    # may reach a second epoch, whose order would differ (our sampler reshuffles, TRL's reads in order).
    dm = datamodule(args.batch_size, args.max_length, 2 * args.steps * args.batch_size)
    lora = LoRASpec(r=8, alpha=16, dropout=0.0)
    totals = {"ours": Run(), "TRL": Run()}
    # Every setting computes in the same dtype, so one limit, timed before the runs, serves them all.
    limit = limit_rate(model_spec(args.model, "none", lora), args.batch_size * args.max_length)
    with tempfile.TemporaryDirectory(prefix="lp-bench-sft-") as tmp:
        for i, quantization in enumerate(args.quantization):
            spec = model_spec(args.model, quantization, lora)
            sides = {"ours": run_ours, "TRL": run_trl}
            # Alternate which side goes first, so that load drifting in from elsewhere weighs on both.
            runs = {name: sides[name](spec, dm, args, Path(tmp)) for name in sorted(sides, reverse=i % 2 == 1)}
            compare(quantization, runs["ours"], runs["TRL"], args.tolerance)
            fractions = ", ".join(f"{name} {run.rate / limit:.2f}" for name, run in runs.items())
            print(f"matmul limit {limit:.1f} trained tokens/s; of it: {fractions}")
            for name, run in runs.items():
                totals[name].tokens += run.tokens
                totals[name].seconds += run.seconds
                totals[name].cpu_seconds += run.cpu_seconds
    if args.memory:
        bench_memory()
    print(f"\nload average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ours, trl = totals["ours"], totals["TRL"]
    print(f"all settings: ours {ours.rate:.1f} tokens/s, TRL {trl.rate:.1f} tokens/s (wall clock)")
    cpu_ratio = ours.cpu_rate / trl.cpu_rate
    print(f"all settings: ours {ours.cpu_rate:.1f}, TRL {trl.cpu_rate:.1f} tokens per CPU second ({cpu_ratio:.2f})")
    print(f"ratio: {ours.rate / trl.rate:.2f}")


if __name__ == "__main__":
    main()
