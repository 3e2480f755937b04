"""Run by tests/test_rl_losses.py: the aggregated RL loss of one fixed global batch (each
aggregation mode), on WORLD
processes (torch.distributed, gloo, CPU), each rank holding a contiguous shard of the rows and
taking its rows in micro-batches of two. A linear policy wrapped in DistributedDataParallel gives
the per-token log-probs; rank 0 writes the global loss and the all-reduced gradient as JSON."""

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
from process_group import tear_down
from torch.nn.parallel import DistributedDataParallel

from lit_parallel.modules.rl_losses import aggregate, clipped_policy_loss, global_count, k3_kl, local_count

ROWS, TOKENS, FEATURES, VOCAB = 8, 5, 6, 7


def batch() -> dict:
    """The global batch, the same on every rank: features, sampled tokens, masks of uneven lengths,
    old and reference log-probs, advantages."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([5, 1, 3, 4, 2, 5, 5, 1])
    return {
        "x": torch.randn(ROWS, TOKENS, FEATURES, generator=g),
        "tokens": torch.randint(VOCAB, (ROWS, TOKENS), generator=g),
        "mask": (torch.arange(TOKENS)[None] < lengths[:, None]).float(),
        "old": -torch.rand(ROWS, TOKENS, generator=g) * 2,
        "ref": -torch.rand(ROWS, TOKENS, generator=g) * 2,
        "adv": torch.randn(ROWS, generator=g),
    }


def main(rank: int, out: Path, world: int) -> None:
    dist.init_process_group("gloo", rank=rank, world_size=world)
    for aggregation in ("token_mean", "sequence_mean", "constant"):
        run(out, world, rank, aggregation)
    tear_down()


def run(out: Path, world: int, rank: int, aggregation: str) -> None:
    torch.manual_seed(0)
    policy = DistributedDataParallel(torch.nn.Linear(FEATURES, VOCAB))
    data = {k: v.chunk(world)[rank] for k, v in batch().items()}
    total = global_count(local_count(data["mask"], aggregation, TOKENS))
    loss = torch.zeros(())
    for start in range(0, len(data["x"]), 2):
        part = {k: v[start : start + 2] for k, v in data.items()}
        logits = policy(part["x"]).log_softmax(-1)
        logp = logits.gather(-1, part["tokens"][..., None])[..., 0]
        per_token, _ = clipped_policy_loss(logp, part["old"], part["adv"], 0.2, 0.28)
        per_token = per_token + 0.1 * k3_kl(logp, part["ref"])
        micro = aggregate(per_token, part["mask"], aggregation, total, world)
        with policy.no_sync() if start + 2 < len(data["x"]) else nullcontext():
            micro.backward()  # DDP all-reduces (averages) once, at the last micro-batch
        loss += micro.detach()
    dist.all_reduce(loss)
    if rank == 0:
        grads = [p.grad.flatten().tolist() for p in policy.parameters()]
        (out / f"{aggregation}-world{world}.json").write_text(json.dumps({"loss": loss.item() / world, "grads": grads}))


if __name__ == "__main__":
    out_dir, world_size = Path(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = sys.argv[3]
    torch.multiprocessing.spawn(main, args=(out_dir, world_size), nprocs=world_size)
