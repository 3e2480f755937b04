"""`lit-parallel fit` of the tiny config on two real DDP processes (CPU, gloo)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("ddp") / "fit_tiny.py"


def test_two_process_fit_shards_the_data_and_keeps_the_replicas_equal(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert len(rank0["seen"]) == len(rank1["seen"]) > 0
    assert rank0["seen"] != rank1["seen"], "both ranks trained on the same examples"
    # gradients were all-reduced: the two LoRA replicas moved identically, and they did move
    assert rank0["lora"] == rank1["lora"]
    assert any(value != 0 for key, value in rank0["lora"].items() if "lora_B" in key)
    assert (tmp_path / "adapters" / "final" / "adapter_model.safetensors").exists()
