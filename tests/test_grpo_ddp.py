"""GRPOModule on two real DDP processes (CPU, gloo) against one process with the same global batch:
the ranks split the prompts, draw the same completions, compute the same advantages and step metrics,
and apply the same averaged gradient, so their weights stay identical."""

import json
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).with_name("ddp") / "grpo_ranks.py"


def fit(out: Path, world: int, *extra: str, timeout: float = 900) -> list[dict]:
    out.mkdir()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), str(world), *extra], capture_output=True, text=True, timeout=timeout
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "torch.distributed.nn" not in run.stderr, "rewards gathered through torch's deprecated all_gather"
    return [json.loads((out / f"rank{rank}-of{world}.json").read_text()) for rank in range(world)]


def test_two_ranks_split_the_batch_and_take_the_single_process_step(tmp_path):
    [one], two = fit(tmp_path / "one", 1), fit(tmp_path / "two", 2)
    per_step = 4 * 4  # prompts x completions
    first = lambda judged: sorted(map(tuple, judged[: per_step // len(two)]))  # noqa: E731
    # step 1: each rank judged half of the global batch, and together exactly what one process did
    assert not set(first(two[0]["judged"])) & set(first(two[1]["judged"]))
    assert sorted(first(two[0]["judged"]) + first(two[1]["judged"])) == sorted(map(tuple, one["judged"][:per_step]))
    # rewards over the global batch (all_gather), logged the same on both ranks and as one process did
    assert two[0]["metrics"] == two[1]["metrics"]
    assert two[0]["metrics"][0] == one["metrics"][0]
    # the gradient the optimizer took: averaged over ranks, it is the single process's (up to the float
    # noise of other paddings; a missing rank or a wrong scale would be off by the whole gradient)
    one_grad, two_grad = torch.tensor(one["gradient"]), torch.tensor(two[0]["gradient"])
    assert torch.equal(two_grad, torch.tensor(two[1]["gradient"]))
    assert two_grad.norm() > 0
    torch.testing.assert_close(two_grad, one_grad, rtol=1e-3, atol=1e-4 * one_grad.abs().max().item())
    # later steps differ from one process's only by float noise (which AdamW's first steps amplify);
    # the ranks themselves never drift apart
    assert two[0]["lora"] == two[1]["lora"]


def test_ranks_running_different_numbers_of_backward_passes_finish_with_equal_weights(tmp_path):
    # Rank 0's groups are all equal (no row moves, no backward) while rank 1 runs several passes, at both
    # steps: DDP's all-reduce inside backward (which Lightning turns on again after each step) hung here.
    two = fit(tmp_path / "two", 2, "uneven", timeout=300)  # it takes ~25 s
    assert {reward for *_, reward in two[0]["judged"]} == {0.5}
    assert len({reward for *_, reward in two[1]["judged"]}) > 1
    assert [len(rank["metrics"]) for rank in two] == [2, 2]
    assert two[0]["lora"] == two[1]["lora"]
    assert torch.tensor(two[0]["gradient"]).norm() > 0  # rank 1's gradient, averaged with rank 0's zeros
