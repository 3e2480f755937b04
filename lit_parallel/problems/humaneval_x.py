"""HumanEval-X (THUDM/CodeGeeX) rows assembled into script-style programs, as its harness does.

Program = per-PL preamble + prompt + solution + test (Rust: + declaration), following CodeGeeX's
``process_humaneval_test`` and ``IMPORT_HELPER``, with two changes so that the exit code alone
decides the verdict, and one because of the sandbox: JavaScript's ``console.assert`` throws (Node only logs a failed one, and
CodeGeeX therefore fails any JS run that writes output), and Go imports every package the
solution *or the test* uses (CodeGeeX looks at the solution only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LANGUAGE = {"cpp": "cpp", "go": "go", "java": "java", "js": "javascript", "python": "python", "rust": "rust"}
"""HumanEval-X file suffix -> executor language name."""

_PYTHON_IMPORTS = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\nimport collections\n"
    "import heapq\nimport statistics\nimport functools\nimport hashlib\nimport string\nfrom typing import *\n"
    "from collections import *\n"
)
_CPP_INCLUDES = ("stdlib.h", "algorithm", "math.h", "stdio.h", "vector", "string", "climits", "cstring", "iostream")
_GO_PACKAGES = ("math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand", "crypto/md5")
_JS_ASSERT = 'console.assert = ((ok) => (value, ...msg) => ok(value, msg.join(" ") || "console.assert"))(require("assert").ok);\n'


def _go_imports(block: str) -> list[str]:
    return re.findall(r'"([^"]+)"', block)


def assemble(pl: str, row: Mapping[str, str], solution: str | None = None) -> str:
    """The runnable program for one row of ``humaneval_<pl>.jsonl.gz``; pass = exit code 0.

    ``solution`` replaces the row's canonical solution (e.g. a model's completion).
    """
    prompt, test = row["prompt"], row["test"]
    code = row["canonical_solution"] if solution is None else solution
    if pl == "python":
        return _PYTHON_IMPORTS + prompt + code + "\n" + test + "\n"
    if pl == "cpp":
        missing = "".join(f"#include<{h}>\n" for h in _CPP_INCLUDES if f"#include<{h}>" not in prompt)
        return missing + "\n" + prompt + code + "\n" + test
    if pl == "java":
        return prompt + code + "\n" + test
    if pl == "js":
        return _JS_ASSERT + prompt + code + "\n" + test
    if pl == "go":
        # Go rejects unused imports: import exactly the packages the solution and test refer to.
        have = set(_go_imports(row["test_setup"]))
        candidates = dict.fromkeys([*_GO_PACKAGES, *_go_imports(row["import"])])
        body = code + "\n" + test
        used = [p for p in candidates if p not in have and re.search(rf"(?<![\w.]){p.split('/')[-1]}\.", body)]
        imports = "import (\n" + "".join(f'    "{p}"\n' for p in used) + ")\n" if used else ""
        body_prompt = prompt.replace(row["import"], "") if row["import"].strip() else prompt
        return row["test_setup"] + "\n" + imports + body_prompt + code + "\n" + test
    if pl == "rust":
        return "\nfn main(){ \n } \n" + row["declaration"] + prompt + code + test
    raise ValueError(f"unknown HumanEval-X language {pl!r} (known: {', '.join(LANGUAGE)})")
