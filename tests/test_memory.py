"""The memory model against peaks measured on the CPU (SmolLM2's width and vocabulary, two layers), and
the 8B configs: their comments quote it, and they fit their card with margin."""

import re
from pathlib import Path

import pytest
from transformers import AutoConfig

from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_tokenizer
from lit_parallel.modules import memory
from lit_parallel.modules.memory import GIB, LLAMA31_8B, Generation, Pass, Work

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write a program that reads n and prints the n-th Fibonacci number.\n" * 3
TWO_LAYERS = {"num_hidden_layers": 2}  # SmolLM2's width, heads and vocabulary
SETTINGS = {  # the tiny configs' recipe, the demo configs', the 8B configs' (at this size)
    "nf4-fp32": {"quantization": "nf4", "lora": LoRASpec(r=8, dropout=0.0)},
    "none-bf16-dropout-checkpointed": {"quantization": "none", "compute_dtype": "bfloat16", "lora": LoRASpec(r=8)},
    "nf4double-bf16-checkpointed": {
        "quantization": "nf4-double",
        "compute_dtype": "bfloat16",
        "lora": LoRASpec(r=8, dropout=0),
    },
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_phase_is_estimated_within_a_fifth_of_its_measured_peak(name):
    checkpointed = name.endswith("checkpointed")
    spec = ModelSpec(tiny=TWO_LAYERS, gradient_checkpointing=checkpointed, **SETTINGS[name])
    tokenizer = load_tokenizer(PACKAGED)
    arch = memory.Architecture.of(AutoConfig.from_pretrained(spec.weights_dir()))
    prompt = len(tokenizer(PROMPT)["input_ids"])
    # activations (256-token rows) and logits (64 positions a row over a 49k vocabulary) both count
    work = Work(Pass(4, 256, 4 * 64), Pass(4, 256, 4 * 64), (Generation(16, prompt, 24),))
    measured = memory.measure(spec, work, "cpu", tokenizer, PROMPT)
    estimated = memory.estimate(arch, spec, work, device="cpu")
    static = estimated["weights"] + memory.lora_parameters(arch, spec) * 4  # AdamW's moments come with the update
    assert static == pytest.approx(measured["static"], rel=0.01)
    ratios = {phase: estimated[phase] / measured[phase] for phase in ("update", "logprobs", "generation")}
    assert all(0.8 < ratio < 1.25 for ratio in ratios.values()), ratios


@pytest.mark.parametrize("name", ["nf4-fp32", "nf4double-bf16-checkpointed"])
def test_a_merged_copy_adds_its_weights_to_a_generation_as_estimated(name):
    spec = ModelSpec(tiny=TWO_LAYERS, **SETTINGS[name])
    tokenizer = load_tokenizer(PACKAGED)
    arch = memory.Architecture.of(AutoConfig.from_pretrained(spec.weights_dir()))
    prompt = len(tokenizer(PROMPT)["input_ids"])
    measured, estimated = {}, {}
    for merged in (False, True):
        work = Work(generations=(Generation(16, prompt, 24, merged=merged),))
        measured[merged] = memory.measure(spec, work, "cpu", tokenizer, PROMPT)["generation"]
        estimated[merged] = memory.estimate(arch, spec, work, device="cpu")["generation"]
    assert 0.8 < estimated[True] / measured[True] < 1.25, (estimated, measured)
    # what the copy adds is its own weights, and the estimate counts exactly those
    added = measured[True] - measured[False]
    assert estimated[True] - estimated[False] == memory.merged_copy_bytes(arch, spec)
    assert memory.merged_copy_bytes(arch, spec) == pytest.approx(added, rel=0.05)


CARDS = {  # config (with what it goes on top of), the card it is for (GiB)
    ("grpo.yaml",): 80e9 / GIB,
    ("parallel_sft.yaml",): 80e9 / GIB,
    ("grpo.yaml", "grpo_24gb.yaml"): 24e9 / GIB,
    ("parallel_sft.yaml", "parallel_sft_24gb.yaml"): 24e9 / GIB,
}


@pytest.mark.parametrize("files", sorted(CARDS), ids=lambda files: files[-1])
def test_the_8b_configs_quote_their_estimate_and_fit_their_card_with_margin(files, tmp_path):
    folder = ROOT / "configs" / "llama31_8b"
    args = [a for f in files for a in ("--config", str(folder / f))]
    cli = build_lightning_cli([*args, "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}"], run=False)
    hparams = cli.datamodule.hparams
    work = memory.fit_work(cli.model, cli.trainer.callbacks, hparams.batch_size, hparams.max_length, prompt=512)
    peak = memory.estimate(LLAMA31_8B, cli.model.spec, work)["peak"] / GIB
    [quoted] = re.findall(r"peak ~([\d.]+) GiB", (folder / files[-1]).read_text())
    assert float(quoted) == pytest.approx(peak, abs=0.05)
    # margin: a fifth for the caching allocator's fragments, 1 GiB for the CUDA context and workspaces
    assert 1.2 * peak + 1 < CARDS[files]


def test_the_architecture_is_read_from_a_transformers_config():
    from transformers import LlamaConfig

    llama = LlamaConfig(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False,
    )  # fmt: skip
    assert memory.Architecture.of(llama) == LLAMA31_8B
    # the 8B adapter of the configs (r=64 on every linear layer): 168M parameters
    assert memory.lora_parameters(LLAMA31_8B, ModelSpec(lora=LoRASpec(r=64))) == 167_772_160
