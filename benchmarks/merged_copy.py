"""Decoding from the live QLoRA model against its merged decoding copy (``sampling.merged_copy``).

The model: ``--model`` (SmolLM2-135M-Instruct by default) with nf4 base weights and a LoRA adapter (r 16 on
every linear layer, B drawn at random so that the adapter is not the identity), in each ``--dtypes``
compute dtype. For each batch size B, the engine (benchmarks/generation.py's ``engine_rate``) draws
max(4, 2B) requests of the bundled corpus's evaluation prompts (temperature 1, the same per-row seeds on
both sides, ``--max-new-tokens``) from:

- live: the peft model itself, as the hf sampler draws by default: each decoding step de-quantizes every
  4-bit weight and runs each adapter's two matmuls beside it;
- merged: a ``MergedCopy`` of it (plain Linear layers holding de-quantize(W) + scaling * B @ A), made
  before the timing; ``build`` and ``refresh`` are its own times (once per rollout when used).

The two sides alternate ``--repeats`` times (live, merged, live, ...) so that other load on the machine
falls on both; each side's best run is kept. The last line, ``ratio: X``, is the geometric mean over the
rows of merged / live tokens/s (wall clock, prefill included).
"""

from __future__ import annotations

# isort: off
import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch's import)

# isort: on
import argparse
import math
import os
import time

import torch
from generation import bundled_jobs, engine_rate  # benchmarks/generation.py, beside this script

from lit_parallel.generation import SamplingSpec
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model
from lit_parallel.sampling.merged import MergedCopy


def adapted_model(source: str, dtype: str) -> torch.nn.Module:
    """``source`` in nf4 with a LoRA adapter whose B is random (not the identity)."""
    model = load_model(ModelSpec(source, quantization="nf4", compute_dtype=dtype, lora=LoRASpec(r=16, dropout=0.0)))
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02, generator=torch.Generator().manual_seed(0))
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=PACKAGED)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    jobs, tokenizer = bundled_jobs()
    print(f"{args.model} nf4 + LoRA r16, max_new_tokens={args.max_new_tokens}, T=1; ", end="")
    print(f"threads {torch.get_num_threads()}; load {os.getloadavg()[0]:.1f}")
    print("   dtype batch live tok/s (decode) merged tok/s (decode) merged/live build s refresh s")
    ratios = []
    for dtype in args.dtypes:
        model = adapted_model(args.model, dtype)
        started = time.perf_counter()
        copy = MergedCopy(model)
        build = time.perf_counter() - started
        started = time.perf_counter()
        copy.refresh()
        refresh = time.perf_counter() - started
        for batch in args.batch_sizes:
            requests = [jobs[i % len(jobs)].request(i) for i in range(max(4, 2 * batch))]
            spec = SamplingSpec(temperature=1.0, max_new_tokens=args.max_new_tokens, batch_size=batch)
            best = {"live": (0.0, 0.0), "merged": (0.0, 0.0)}
            for _ in range(args.repeats):
                for side, drawn_from in (("live", model), ("merged", copy.model)):
                    rate, decode, _ = engine_rate(drawn_from, tokenizer, requests, spec)
                    best[side] = max(best[side], (rate, decode))
            (live, live_decode), (merged, merged_decode) = best["live"], best["merged"]
            ratios.append(merged / live)
            print(
                f"{dtype:>8} {batch:5} {live:10.1f} ({live_decode:6.1f}) {merged:12.1f} ({merged_decode:6.1f}) "
                f"{merged / live:11.2f} {build:7.2f} {refresh:9.2f}",
                flush=True,
            )
    print(f"load {os.getloadavg()[0]:.1f}")
    print(f"ratio: {math.prod(ratios) ** (1 / len(ratios)):.2f}")


if __name__ == "__main__":
    main()
