"""The memory model (``lit_parallel/modules/memory.py``) against measured peaks, and its figures for the
GPU configs.

``--measure``: SmolLM2-135M (the packaged model, its 30 layers) on the CPU, each phase of a step run by
the code the modules run (``memory.measure``: the profiler's record of every allocation), beside the
model's estimate for the CPU. Settings: SFT as the demo configs train (bf16 weights, checkpointing, LoRA
dropout), RL as the tiny configs (nf4, fp32, no checkpointing), and the 8B configs' recipe at SmolLM2's
size (nf4-double, bf16, checkpointing).

``--configs``: the estimate for each ``configs/llama31_8b`` config at Llama-3.1-8B's shapes, per device
(prompts of ``--prompt`` tokens; ``translate.yaml``'s of ``--translate-prompt``), against the card.

The last line, ``ratio: X``, is the largest estimate / measured ratio over the measured phases.
"""

from __future__ import annotations

# isort: off
import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch's import)

# isort: on
import argparse
from pathlib import Path

import yaml

from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_tokenizer, resolve_source
from lit_parallel.modules.memory import (
    GIB,
    LLAMA31_8B,
    Architecture,
    Generation,
    Pass,
    Work,
    estimate,
    fit_work,
    lora_parameters,
    measure,
)

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write a program that reads n and prints the n-th Fibonacci number.\n" * 6
SETTINGS = {
    "SFT, demo recipe (none, bf16, checkpointing, dropout 0.05)": (
        ModelSpec(quantization="none", compute_dtype="bfloat16", gradient_checkpointing=True, lora=LoRASpec(r=16)),
        lambda p: Work(update=Pass(4, 512, 4 * 170), generations=(Generation(16, p, 96),)),
    ),
    "RL, tiny recipe (nf4, fp32, no checkpointing)": (
        ModelSpec(quantization="nf4", lora=LoRASpec(r=8, dropout=0.0)),
        lambda p: Work(
            update=Pass(8, 320, 8 * 64), logprobs=Pass(8, 320, 8 * 64), generations=(Generation(16, p, 64),)
        ),
    ),
    "RL, 8B recipe (nf4-double, bf16, checkpointing)": (
        ModelSpec(
            quantization="nf4-double",
            compute_dtype="bfloat16",
            gradient_checkpointing=True,
            lora=LoRASpec(r=16, dropout=0.0),
        ),
        lambda p: Work(
            update=Pass(8, 448, 8 * 192), logprobs=Pass(8, 448, 8 * 192), generations=(Generation(32, p, 192),)
        ),
    ),
}
CONFIGS = {
    "parallel_sft.yaml": ["parallel_sft.yaml"],
    "grpo.yaml": ["grpo.yaml"],
    "parallel_sft_24gb.yaml": ["parallel_sft.yaml", "parallel_sft_24gb.yaml"],
    "grpo_24gb.yaml": ["grpo.yaml", "grpo_24gb.yaml"],
}


def measured_table() -> float:
    """Prints estimate and measurement per phase; returns the largest ratio."""
    from transformers import AutoConfig

    tokenizer = load_tokenizer(PACKAGED)
    arch = Architecture.of(AutoConfig.from_pretrained(resolve_source(PACKAGED)))
    prompt = len(tokenizer(PROMPT)["input_ids"])
    print("| setting | phase | estimate MiB | measured MiB | ratio |\n|---|---|---:|---:|---:|")
    worst = 0.0
    for name, (spec, work_of) in SETTINGS.items():
        work = work_of(prompt)
        measured = measure(spec, work, "cpu", tokenizer, PROMPT)
        estimated = estimate(arch, spec, work, device="cpu")
        estimated["static"] = estimated["weights"] + lora_parameters(arch, spec) * 4  # AdamW's moments come later
        for phase in ("static", "update", "logprobs", "generation"):
            if phase in measured:
                ratio = estimated[phase] / measured[phase]
                worst = max(worst, ratio, 1 / ratio)
                mib = f"{estimated[phase] / 2**20:.1f} | {measured[phase] / 2**20:.1f}"
                print(f"| {name} | {phase} | {mib} | {ratio:.2f} |")
    return worst


def config_figures(prompt: int, translate_prompt: int) -> None:
    """The 8B configs' estimates (GiB), built as fit builds them (nothing loaded)."""
    from lit_parallel.commands.lightning import build_lightning_cli

    folder = ROOT / "configs" / "llama31_8b"
    print("| config | weights | adapter | update | logprobs | generation | peak | card |\n|---|" + "---:|" * 7)
    for name, files in CONFIGS.items():
        args = [a for f in files for a in ("--config", str(folder / f))]
        cli = build_lightning_cli([*args, "--trainer.accelerator=cpu", "--trainer.logger=false"], run=False)
        hparams = cli.datamodule.hparams
        work = fit_work(cli.model, cli.trainer.callbacks, hparams.batch_size, hparams.max_length, prompt)
        row(name, estimate(LLAMA31_8B, cli.model.spec, work), 24 if "24gb" in name else 80)
    translate = yaml.safe_load((folder / "translate.yaml").read_text())
    model = {k: v for k, v in translate["model"].items() if k in ModelSpec.__dataclass_fields__}
    sampling = translate["sampling"]
    work = Work(generations=(Generation(sampling["batch_size"], translate_prompt, sampling["max_new_tokens"]),))
    row("translate.yaml", estimate(LLAMA31_8B, ModelSpec(**{**model, "lora": None}), work), 80)


def row(name: str, numbers: dict[str, float], card: int) -> None:
    parts = ("weights", "adapter", "update", "logprobs", "generation", "peak")
    print(f"| {name} | " + " | ".join(f"{numbers[p] / GIB:.1f}" for p in parts) + f" | {card} GB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", action="store_true", help="measure SmolLM2-135M on the CPU (minutes)")
    parser.add_argument("--configs", action="store_true", help="the 8B configs' estimates")
    parser.add_argument("--prompt", type=int, default=512, help="prompt tokens of the 8B configs' RL and pass@k")
    parser.add_argument("--translate-prompt", type=int, default=1024, help="prompt tokens of translate.yaml")
    args = parser.parse_args()
    if args.configs or not args.measure:
        config_figures(args.prompt, args.translate_prompt)
    if args.measure:
        print(f"ratio: {measured_table():.2f}")


if __name__ == "__main__":
    main()
