"""CPU precision: SmolLM2-135M with LoRA in fp32 or bf16, with nf4 or unquantized base weights.

For each setting (``--settings``, each ``quantization/dtype``), loaded by ``lit_parallel.modeling`` as the
configs load it (LoRA r=16 on all linear layers, adapter weights in fp32):

- train: tokens/s of forward + backward of the causal-LM loss (on every token) over
  ``--batch`` rows of ``--length`` tokens of the bundled corpus's reference solutions;
- generate: tokens/s of the engine, 16 greedy requests at batch 16, 48 new tokens;
- soundness: the loss on the same rows (against the fp32 unquantized loss) and how many of the greedy
  completions equal the fp32 unquantized ones.

The last line, ``ratio: X``, is the training tokens/s of the fastest setting over that of the first
setting listed (the demo configs' previous choice, nf4/float32, by default).
"""

from __future__ import annotations

# isort: off
import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch's import)

# isort: on
import argparse
import gc
import os
import time

import torch

from datamodules import ParallelMixtureDataModule
from lit_parallel.evaluation import jobs_for
from lit_parallel.generation import SamplingSpec, generate
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model
from lit_parallel.problems.loading import load_problems


def code_batch(tokenizer: object, rows: int, length: int) -> torch.Tensor:
    """``rows`` x ``length`` tokens of reference solutions, concatenated."""
    solutions = [v.solution for p in load_problems("bundled") for v in p.variants.values() if v.solution]
    ids = tokenizer("\n\n".join(solutions), add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    return ids[: rows * length].view(rows, length)


def measure(spec: ModelSpec, batch: torch.Tensor, requests: list, tokenizer: object, steps: int) -> dict:
    model = load_model(spec)
    model.train()
    loss = model(input_ids=batch[:1], labels=batch[:1]).loss  # warm-up
    loss.backward()
    started = time.perf_counter()
    for _ in range(steps):
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
    train = steps * batch.numel() / (time.perf_counter() - started)
    model.eval()
    with torch.no_grad():
        eval_loss = float(model(input_ids=batch, labels=batch).loss)
    sampling = SamplingSpec(max_new_tokens=48, batch_size=len(requests))
    started = time.perf_counter()
    completions = dict(generate(model, tokenizer, requests, sampling))
    tokens = sum(len(c.token_ids) for c in completions.values())
    gen = tokens / (time.perf_counter() - started)
    del model
    gc.collect()
    return {
        "train": train,
        "generate": gen,
        "loss": eval_loss,
        "texts": [completions[i].text for i in range(len(requests))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=PACKAGED)
    parser.add_argument(
        "--settings", nargs="+", default=["nf4/float32", "none/float32", "nf4/bfloat16", "none/bfloat16"]
    )
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()

    data = ParallelMixtureDataModule(datasets=[], eval_datasets=["bundled"], eval_languages=["python", "go"])
    requests = [job.request(0) for job in jobs_for(data.eval_sets(), 1)][:16]
    batch = code_batch(data.tokenizer, args.batch, args.length)
    print(f"{args.model}: LoRA r=16, train {args.batch}x{args.length} tokens; load {os.getloadavg()[0]:.1f}")
    reference = measure(
        ModelSpec(args.model, quantization="none", lora=LoRASpec(r=16)), batch, requests, data.tokenizer, 0
    )
    print(f"{'setting':14} {'train tok/s':>11} {'gen tok/s':>9} {'loss':>7} {'d loss':>7} {'same greedy':>11}")
    trained = {}
    for setting in args.settings:
        quantization, dtype = setting.split("/")
        spec = ModelSpec(args.model, quantization=quantization, compute_dtype=dtype, lora=LoRASpec(r=16))
        m = measure(spec, batch, requests, data.tokenizer, args.steps)
        same = sum(a == b for a, b in zip(m["texts"], reference["texts"], strict=True))
        trained[setting] = m["train"]
        print(
            f"{setting:14} {m['train']:11.1f} {m['generate']:9.1f} {m['loss']:7.4f} "
            f"{m['loss'] - reference['loss']:+7.4f} {same:>5}/{len(requests)}",
            flush=True,
        )
    print(f"ratio: {max(trained.values()) / trained[args.settings[0]]:.2f}")


if __name__ == "__main__":
    main()
