"""Hostile programs in python, javascript and cpp: each ends in the right non-passing verdict, on
time, leaving no process behind, nothing written outside its sandbox, and the test process unharmed."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from lit_parallel.execution import Executor, Limits, Program, TestCase, Verdict, bwrap_status

TIMEOUT_S = 3.0
MARGIN_S = 3.0  # bubblewrap start-up, a C++ compile, and the kill
NONCE = uuid.uuid4().hex[:12]
SECRET = f"lp-secret-{NONCE}"
# Host places a program must not write to (its own /tmp and /dev/shm are private and may be written).
ESCAPES = [Path(f"/var/tmp/lp-escape-{NONCE}"), Path.cwd() / f"lp-escape-{NONCE}", Path(f"/root/lp-escape-{NONCE}")]

# (name, expected verdicts, expected stdout or None for script style, code per language)
CASES: list[tuple[str, set[Verdict], str | None, dict[str, str]]] = [
    (
        "fork_bomb",
        {Verdict.TIMEOUT, Verdict.RUNTIME_ERROR, Verdict.MEMORY_LIMIT},
        None,
        {
            "python": "import os\nwhile True:\n    os.fork()\n",
            "javascript": "const {spawn} = require('child_process');\n"
            "for (;;) spawn(process.execPath, [__filename], {stdio: 'ignore'}).on('error', () => {});\n",
            "cpp": "#include <unistd.h>\nint main(){ for(;;) fork(); }\n",
        },
    ),
    (
        "infinite_loop",
        {Verdict.TIMEOUT},
        None,
        {
            "python": "while True:\n    pass\n",
            "javascript": "for (;;) {}\n",
            "cpp": "int main(){ volatile long x = 0; for(;;) x++; }\n",
        },
    ),
    (
        "sleep_forever",
        {Verdict.TIMEOUT},
        None,
        {
            "python": "import time\ntime.sleep(10**6)\n",
            "javascript": "setTimeout(() => {}, 1e9);\n",
            "cpp": "#include <unistd.h>\nint main(){ sleep(1000000); }\n",
        },
    ),
    (
        "memory_bomb",
        {Verdict.MEMORY_LIMIT},
        None,
        {
            "python": "x = []\nwhile True:\n    x.append(' ' * 10**8)\n",
            "javascript": "const a = [];\nfor (;;) a.push(new Array(1e6).fill(1.5));\n",
            "cpp": "#include <vector>\nint main(){ std::vector<std::vector<char>> v;"
            " for(;;) v.emplace_back(1 << 27, 'x'); }\n",
        },
    ),
    (
        "unbounded_output",
        {Verdict.OUTPUT_LIMIT},
        None,
        {
            "python": "while True:\n    print('y' * 1000)\n",
            "javascript": "const s = 'y'.repeat(1000) + '\\n';\nfor (;;) require('fs').writeSync(1, s);\n",
            "cpp": '#include <cstdio>\nint main(){ for(;;) std::puts("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"); }\n',
        },
    ),
    (
        "fill_disk",
        {Verdict.OUTPUT_LIMIT},
        None,
        {
            "python": "with open('big', 'w') as f:\n    while True:\n        f.write('z' * 10**6)\n",
            "javascript": "const fs = require('fs');\nconst fd = fs.openSync('big', 'w');\n"
            "const b = Buffer.alloc(1e6, 122);\nfor (;;) fs.writeSync(fd, b);\n",
            "cpp": '#include <cstdio>\nint main(){ FILE* f = std::fopen("big", "w"); static char b[1<<20];'
            " for(;;) if (std::fwrite(b, 1, sizeof b, f) != sizeof b) return 3; }\n",
        },
    ),
    (
        "write_outside",
        {Verdict.FAILED, Verdict.RUNTIME_ERROR},
        "wrote",
        {
            "python": "paths = %(paths)r\nfor p in paths:\n    try:\n        open(p, 'w').write('x')\n"
            "        print('wrote')\n    except OSError:\n        pass\n",
            "javascript": "const fs = require('fs');\nfor (const p of %(paths_js)s) {\n"
            "  try { fs.writeFileSync(p, 'x'); console.log('wrote'); } catch (e) {}\n}\n",
            "cpp": "#include <cstdio>\nint main(){ const char* ps[] = {%(paths_c)s};\n"
            ' for (auto p : ps) { FILE* f = std::fopen(p, "w"); if (f && std::fputs("x", f) >= 0'
            ' && std::fclose(f) == 0) std::puts("wrote"); } }\n',
        },
    ),
    (
        "network_connect",
        {Verdict.FAILED, Verdict.RUNTIME_ERROR},
        "connected",
        {
            "python": "import socket\nsocket.create_connection(('127.0.0.1', %(port)d), timeout=1)\n"
            "print('connected')\n",
            "javascript": "require('net').connect(%(port)d, '127.0.0.1', () => { console.log('connected');"
            " process.exit(0); }).on('error', () => process.exit(1));\n",
            "cpp": "#include <arpa/inet.h>\n#include <cstdio>\n#include <sys/socket.h>\nint main(){\n"
            " int s = socket(AF_INET, SOCK_STREAM, 0); sockaddr_in a{}; a.sin_family = AF_INET;\n"
            " a.sin_port = htons(%(port)d); a.sin_addr.s_addr = htonl(0x7f000001);\n"
            ' if (connect(s, (sockaddr*)&a, sizeof a) == 0) std::puts("connected"); }\n',
        },
    ),
    (
        "waits_on_stdin",
        {Verdict.FAILED, Verdict.RUNTIME_ERROR},
        "never",
        {
            "python": "import sys\nsys.stdin.read()\nline = input()\n",
            "javascript": "process.stdin.on('data', () => {});\n",
            "cpp": "#include <iostream>\n#include <string>\nint main(){ std::string s; while (std::cin >> s) {} }\n",
        },
    ),
    (
        "kills_parent",
        {Verdict.FAILED, Verdict.RUNTIME_ERROR},
        "parent killed",
        {
            "python": "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n",
            "javascript": "for (const pid of [process.ppid, 1]) {\n"
            "  try { process.kill(pid, 'SIGKILL'); } catch (e) {}\n}\n",
            "cpp": "#include <csignal>\n#include <unistd.h>\n"
            "int main(){ kill(getppid(), SIGKILL); kill(1, SIGKILL); }\n",
        },
    ),
    (
        "leaves_daemon",
        {Verdict.FAILED},
        "never",
        {
            "python": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        os.close(1); os.close(2)\n        time.sleep(10**6)\n",
            "javascript": "require('child_process')\n"
            "  .spawn('sleep', ['1000000'], {detached: true, stdio: 'ignore'}).unref();\n",
            "cpp": "#include <unistd.h>\nint main(){ if (fork() == 0) { setsid(); if (fork() == 0) {"
            " close(1); close(2); sleep(1000000); } } }\n",
        },
    ),
    (
        "closes_stdout",
        {Verdict.TIMEOUT},
        "never",
        {
            "python": "import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass\n",
            "javascript": "require('fs').closeSync(1);\nrequire('fs').closeSync(2);\nfor (;;) {}\n",
            "cpp": "#include <unistd.h>\nint main(){ close(1); close(2); volatile long x = 0; for(;;) x++; }\n",
        },
    ),
    (
        "reads_parent_env",
        {Verdict.FAILED},
        SECRET,
        {
            "python": "import os\nfound = [v for v in os.environ.values() if 'lp-secret' in v]\n"
            "for pid in ('1', str(os.getppid())):\n    try:\n"
            "        found += [p for p in open(f'/proc/{pid}/environ').read().split('\\0') if 'lp-secret' in p]\n"
            "    except OSError:\n        pass\nprint(found[0].split('=')[-1] if found else 'none')\n",
            "javascript": "const v = Object.values(process.env).find(x => x.includes('lp-secret'));\n"
            "console.log(v || 'none');\n",
            "cpp": "#include <cstdio>\n#include <cstring>\nextern char** environ;\nint main(){ for (char** e = environ;"
            " *e; ++e) if (std::strstr(*e, \"lp-secret\")) { std::puts(std::strchr(*e, '=') + 1); return 0; }"
            ' std::puts("none"); }\n',
        },
    ),
]
LANGS = ["python", "javascript", "cpp"]
# Without namespaces there is no private filesystem or network: those two cases need bubblewrap.
NEEDS_NAMESPACES = {"write_outside", "network_connect"}


def _sandbox_processes(uids: range, zombies_ok: bool, own: set[int]) -> list[str]:
    """Processes left under the executor's per-run uids (bubblewrap included). Without bubblewrap an
    escaped daemon, once killed, is a zombie until the machine's init reaps it, which some
    containers' inits never do: ``zombies_ok`` lets those pass. ``own``: the executor's own
    long-lived processes (its Python zygotes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            # the real uid from status: /proc/<pid> itself is owned by root while a process is not dumpable
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
            uid, state = int(status["Uid"].split()[0]), status["State"].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if uid in uids and (state != "Z" or not zombies_ok):
            found.append(f"{entry.name} uid={uid} {cmdline[:80]}")
    return found


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[tuple] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[1])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def _isolations() -> list:
    marks = [pytest.mark.skipif(bwrap_status() is not None, reason=f"no bubblewrap: {bwrap_status()}")]
    return [pytest.param("bwrap", marks=marks), "rlimits"]


@pytest.fixture(scope="module", params=_isolations())
def executor(request):
    with Executor(workers=1, isolation=request.param, limits=Limits(timeout_s=TIMEOUT_S, memory_mb=1024)) as ex:
        yield ex


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_program_is_contained(executor, listener, lang, case, monkeypatch):
    name, verdicts, expected_stdout, codes = case
    if name in NEEDS_NAMESPACES and not executor.sandbox.uses_bwrap:
        pytest.skip("needs bubblewrap's private filesystem and network")
    port, accepted = listener
    monkeypatch.setenv("LP_CANARY", SECRET)
    code = (
        codes[lang]
        % {
            "port": port,
            "paths": [str(p) for p in ESCAPES],
            "paths_js": "[" + ", ".join(f"'{p}'" for p in ESCAPES) + "]",
            "paths_c": ", ".join(f'"{p}"' for p in ESCAPES),
        }
        if "%(" in codes[lang]
        else codes[lang]
    )
    tests = None if expected_stdout is None else (TestCase("", expected_stdout),)
    parent = os.getppid()

    start = time.monotonic()
    result = executor.judge(Program(lang, code, tests, id=f"{name}-{lang}"))
    elapsed = time.monotonic() - start

    assert result.verdict in verdicts, (result.verdict, result.stderr_tail[-500:])
    assert elapsed < TIMEOUT_S + MARGIN_S, f"took {elapsed:.1f}s"
    assert executor.sandbox.run_uids, "the suite runs as root, with a uid per run"
    assert (
        _sandbox_processes(executor.sandbox.run_uids, not executor.sandbox.uses_bwrap, executor.own_processes()) == []
    )
    assert not [p for p in ESCAPES if p.exists()]
    assert accepted == []
    assert SECRET not in result.stdout_tail + result.stderr_tail
    assert os.getppid() == parent


def test_executor_still_judges_after_hostile_programs(executor):
    ok = executor.judge(Program("python", "print(int(input()) * 2)", (TestCase("21\n", "42\n"),)))
    assert ok.verdict is Verdict.PASSED, ok.stderr_tail
