"""Under two real DDP processes (CPU, gloo) each rank gets its own shard of the DataModule's data."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("ddp") / "record_shards.py"


@pytest.mark.parametrize("mode", ["sft", "rl"])
def test_each_rank_sees_its_own_shard_and_together_all(tmp_path, mode):
    command = [sys.executable, str(SCRIPT), str(tmp_path), mode]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    everything = json.loads((tmp_path / "all.json").read_text())
    assert rank0 and rank1 and abs(len(rank0) - len(rank1)) <= 1
    # a partition of the epoch's examples: DistributedSampler pads an odd count with one repeat
    seen, expected = Counter(rank0 + rank1), Counter(everything)
    assert not expected - seen
    assert (seen - expected).total() == len(everything) % 2
