"""benchmarks/device_check.py --smoke: every phase of the GPU check runs on the CPU at tiny shapes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_device_check_runs_its_phases_on_the_cpu(tmp_path):
    output = tmp_path / "smoke.json"
    command = [sys.executable, "benchmarks/device_check.py", "--smoke", "--output", str(output)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [*command, "--root", str(tmp_path / "runs")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    results = json.loads(output.read_text())
    phases = results["phases"]
    assert run.returncode == 0, {name: phase.get("error", "ok") for name, phase in phases.items()}
    assert set(phases) == {"steps", "generation", "memory"} and results["device"] == "cpu"
    fits = {name: fit for name, fit in phases["steps"].items() if isinstance(fit, dict)}
    assert set(fits) == {"sft_tiny", "grpo_tiny", "sft_smollm2_shape", "grpo_smollm2_shape"}
    assert all(fit["hidden_dtypes"] == ["torch.bfloat16"] and fit["adapter_moved"] > 0 for fit in fits.values())
    rates = [v for v in phases["generation"].values() if isinstance(v, dict)]
    assert len(rates) == 4 and all(r["engine_tok_s"] > 0 and r["generate_tok_s"] > 0 for r in rates)
    ratios = phases["memory"]["estimate_over_measured"]
    assert set(ratios) == {"rl/update", "rl/logprobs", "rl/generation", "sft/update"}
    assert all(0.8 < r < 1.25 for r in ratios.values()), ratios
