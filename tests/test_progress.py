"""Progress off a terminal: a plain line with done / total, rate and ETA; memory of this process."""

import io
import re

from lit_parallel.progress import Progress, memory


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


def test_memory_reports_current_and_peak_resident_memory():
    now, peak = map(int, re.fullmatch(r"rss (\d+) MB, peak (\d+) MB", memory()).groups())
    assert 0 < now <= peak
