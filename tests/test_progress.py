"""Progress off a terminal: a plain line with done / total, rate and ETA; the peak memory of child processes."""

import io
import re
import subprocess
import sys

from lit_parallel.progress import Progress, children_peak_mb


def test_a_log_gets_done_total_rate_and_eta_lines():
    stream = io.StringIO()
    with Progress("evaluate", total=3, every_s=0.0, stream=stream) as progress:
        for done in range(1, 4):
            progress.update(done, tokens=10 * done)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"evaluate: 1/3 \([\d.]+/s, \d+ tok/s\), \d+ s elapsed, eta \d+ s", lines[0])
    assert lines[-1].startswith("evaluate: 3/3 ")


def test_a_log_line_at_most_every_few_seconds_and_at_the_end():
    stream = io.StringIO()
    progress = Progress("fit", total=100, every_s=3600.0, stream=stream)
    for done in range(1, 101):
        progress.update(done)
    [line] = stream.getvalue().splitlines()
    assert line.startswith("fit: 100/100 (")


def test_the_peak_of_an_ended_child_process_is_reported():
    subprocess.run([sys.executable, "-c", "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"], check=True)
    assert children_peak_mb() >= 300
