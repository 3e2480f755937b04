"""The registry of programming languages the executor can build and run.

A language is data: file naming, compile and run commands, the environment its toolchain wants
inside the sandbox, and where to get the toolchain. Command templates are argument lists with
placeholders, filled in by the executor:

- ``{src}``: the source file name (relative to the working directory),
- ``{build}``: the directory holding compiled artefacts (cached by content hash),
- ``{main}``: the program's entry name (Java's main class),
- ``{heap_mb}``: the heap a managed runtime may use, derived from the memory limit.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lit_parallel.execution.errors import ExecutionError


@dataclass(frozen=True)
class Build:
    """One way to turn a source file into a running process."""

    source: str
    """Source file name; ``{main}`` is replaced by the program's entry name."""
    run: tuple[str, ...]
    """Command that runs the program (or its compiled artefact)."""
    compile: tuple[str, ...] = ()
    """Command that writes artefacts into ``{build}``; empty for interpreted languages."""
    when: str | None = None
    """Regex on the code that selects this build over the language's default (e.g. Go tests)."""


def _java_main_class(code: str) -> str:
    """The class Java must be started with: the public class, else the one declaring main."""
    public = re.search(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)", code)
    if public:
        return public.group(1)
    main_at = code.find("static void main")
    declared = [m for m in re.finditer(r"\bclass\s+(\w+)", code) if main_at < 0 or m.start() < main_at]
    return declared[-1].group(1) if declared else "Main"


@dataclass(frozen=True)
class Language:
    """A programming language: how to build and run it, and how to get its toolchain."""

    name: str
    aliases: tuple[str, ...]
    builds: tuple[Build, ...]
    """Candidate builds: the first whose ``when`` matches the code, else the last one."""
    install: str
    """Where the toolchain comes from (a Debian package unless it says otherwise)."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables inside the sandbox (the sandbox starts from an empty one)."""
    compile_caches: tuple[str, ...] = ()
    """Home-relative directories the compiler keeps across compiles (shared, writable)."""
    syntax_error: str | None = None
    """Regex on stderr meaning an interpreted program never started: judged compile_error."""
    main_name: str | None = None
    """How the entry name is found: only ``"java_class"`` exists."""

    def build_for(self, code: str) -> Build:
        for build in self.builds[:-1]:
            if build.when and re.search(build.when, code):
                return build
        return self.builds[-1]

    def entry_name(self, code: str) -> str:
        return _java_main_class(code) if self.main_name == "java_class" else "main"

    def tools(self) -> tuple[str, ...]:
        """Executables named by any of this language's commands."""
        names = {cmd[0] for b in self.builds for cmd in (b.compile, b.run) if cmd and "{" not in cmd[0]}
        return tuple(sorted(names))

    @property
    def canary(self) -> str:
        """A trivial program printing ``ok``: proves the toolchain works inside the sandbox."""
        return CANARIES[self.name]

    def toolchain_dirs(self) -> tuple[Path, ...]:
        """Where this language's toolchain lives: the installation directory of each tool (the parent
        of its ``bin``), as found on PATH and behind symlinks, and the absolute paths of its environment."""
        paths = [Path(p) for t in self.tools() if (p := _which(t))]
        paths += [Path(os.path.realpath(p)) for p in paths]
        dirs = {p.parent.parent if p.parent.name in ("bin", "sbin") else p.parent for p in paths}
        dirs |= {Path(v) for v in self.env.values() if v.startswith("/")}
        return tuple(sorted(dirs))

    def missing_tools(self) -> tuple[str, ...]:
        return tuple(t for t in self.tools() if _which(t) is None)

    @property
    def available(self) -> bool:
        return not self.missing_tools()


_which = cache(shutil.which)


def resolve_tool(tool: str) -> str:
    """Absolute path of a tool, looked up on the caller's PATH (the sandbox has its own)."""
    return _which(tool) or tool


_JAVA_CP = "{build}:/usr/share/java/javatuples.jar"
# Flags that make the JVM reserve little address space beyond its heap, so that it starts
# under the same address-space limit as everything else.
_JVM = (
    "-XX:+UseSerialGC",
    "-Xmx{heap_mb}m",
    "-Xss16m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:MaxMetaspaceSize=192m",
)
_GO_ENV = {
    "GOCACHE": "{home}/.gocache",
    "GOPATH": "/usr/share/gocode",
    "GO111MODULE": "off",
    "CGO_ENABLED": "0",
    "GOFLAGS": "-buildvcs=false",
}
_GO_TEST = r"\bfunc\s+Test\w*\s*\(\s*\w+\s+\*testing\.T\s*\)"
# rustup's proxies find their toolchain through RUSTUP_HOME, which the sandbox's empty
# environment would otherwise lose.
_RUST_ENV = {"RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup"))}
# Prebuilt crates Rust programs may `use` (rand, regex, md5, as HumanEval-X does): built offline
# from Debian's crate sources by .ci/install, with the same rustc the executor runs.
RUST_CRATES = Path(os.environ.get("LIT_PARALLEL_RUST_CRATES", "/usr/local/lib/lit-parallel/rust-crates"))
_RUST_EXTERNS = (
    ("-L", str(RUST_CRATES), "--extern", "rand", "--extern", "regex", "--extern", "md5") if RUST_CRATES.is_dir() else ()
)
_PY_SYNTAX = r"^(SyntaxError|IndentationError|TabError)\b"

LANGUAGES: tuple[Language, ...] = (
    # The trainer's own interpreter without site-packages (-S): programs get the standard library
    # only, and start in a sixth of the time a large environment's site import takes.
    Language(
        "python",
        ("py", "python3"),
        (Build("main.py", (sys.executable, "-S", "-B", "{src}")),),
        install="python3",
        syntax_error=_PY_SYNTAX,
    ),
    Language(
        "javascript",
        ("js", "node", "nodejs"),
        (Build("main.js", ("node", "--max-old-space-size={heap_mb}", "{src}")),),
        install="nodejs",
        syntax_error=r"^SyntaxError: ",
    ),
    Language(
        "typescript",
        ("ts",),
        (
            Build(
                "main.ts",
                ("node", "--max-old-space-size={heap_mb}", "{build}/main.js"),
                compile=(
                    "tsc",
                    "--target",
                    "es2020",
                    "--module",
                    "commonjs",
                    "--skipLibCheck",
                    "--outDir",
                    "{build}",
                    "{src}",
                ),
            ),
        ),
        install="node-typescript (or npm install -g typescript)",
    ),
    Language(
        "cpp",
        ("c++", "cc", "cxx"),
        (
            Build(
                "main.cpp",
                ("{build}/main",),
                compile=("g++", "-std=c++17", "-O2", "-o", "{build}/main", "{src}", "-lm", "-lcrypto"),
            ),
        ),
        install="g++ (libboost-dev, libssl-dev for benchmark programs that include them)",
    ),
    Language(
        "c",
        (),
        (
            Build(
                "main.c", ("{build}/main",), compile=("gcc", "-std=gnu11", "-O2", "-o", "{build}/main", "{src}", "-lm")
            ),
        ),
        install="gcc",
    ),
    Language(
        "java",
        (),
        (
            Build(
                "{main}.java",
                ("java", *_JVM, "-ea", "-cp", _JAVA_CP, "{main}"),
                compile=(
                    "javac",
                    "-J-Xmx512m",
                    # javac is a short-lived JVM: C1 alone compiles faster than tiered C2 (benchmarks/README.md).
                    "-J-XX:TieredStopAtLevel=1",
                    "-J-XX:+UseSerialGC",
                    "-encoding",
                    "UTF-8",
                    "-nowarn",
                    "-d",
                    "{build}",
                    "-cp",
                    _JAVA_CP,
                    "{src}",
                ),
            ),
        ),
        install="default-jdk-headless (libjavatuples-java for MultiPL-E)",
        main_name="java_class",
    ),
    Language(
        "go",
        ("golang",),
        (
            Build(
                "main_test.go",
                ("{build}/main.test",),
                when=_GO_TEST,
                compile=("go", "test", "-c", "-o", "{build}/main.test", "{src}"),
            ),
            Build("main.go", ("{build}/main",), compile=("go", "build", "-o", "{build}/main", "{src}")),
        ),
        install="golang-go (golang-github-stretchr-testify-dev for HumanEval-X)",
        env=_GO_ENV,
        compile_caches=(".gocache",),
    ),
    Language(
        "rust",
        ("rs",),
        (
            Build(
                "main.rs",
                ("{build}/main",),
                when=r"#\[test\]",
                compile=("rustc", "--test", "--edition", "2021", "-O", *_RUST_EXTERNS, "-o", "{build}/main", "{src}"),
            ),
            Build(
                "main.rs",
                ("{build}/main",),
                compile=("rustc", "--edition", "2021", "-O", *_RUST_EXTERNS, "-o", "{build}/main", "{src}"),
            ),
        ),
        install="rustc (rand, regex, md5 crates: librust-{rand,regex,md5}-dev, built by .ci/install)",
        env=_RUST_ENV,
    ),
    Language(
        "php",
        (),
        (Build("main.php", ("php", "-d", "memory_limit=-1", "{src}")),),
        install="php-cli",
        syntax_error=r"PHP Parse error|^Parse error",
    ),
    Language(
        "ruby",
        ("rb",),
        (Build("main.rb", ("ruby", "{src}")),),
        install="ruby (ruby-test-unit for MultiPL-E)",
        syntax_error=r"syntax error",
    ),
    Language("lua", (), (Build("main.lua", ("lua5.4", "{src}")),), install="lua5.4 (lua-unit for MultiPL-E)"),
    Language("perl", ("pl",), (Build("main.pl", ("perl", "{src}")),), install="perl (libtest-deep-perl for MultiPL-E)"),
    Language("bash", ("sh", "shell"), (Build("main.sh", ("bash", "{src}")),), install="bash"),
    Language("racket", ("rkt",), (Build("main.rkt", ("racket", "{src}")),), install="racket"),
    Language("ocaml", ("ml",), (Build("main.ml", ("ocaml", "{src}")),), install="ocaml"),
    Language("r", ("rscript",), (Build("main.r", ("Rscript", "{src}")),), install="r-base-core"),
)

CANARIES = {
    "python": 'print("ok")\n',
    "javascript": 'console.log("ok");\n',
    "typescript": 'const word: string = "ok";\nconsole.log(word);\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "ok" << std::endl; }\n',
    "c": '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n',
    "java": 'public class Main { public static void main(String[] a) { System.out.println("ok"); } }\n',
    "go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ok") }\n',
    "rust": 'fn main() { println!("ok"); }\n',
    "php": '<?php\necho "ok\\n";\n',
    "ruby": 'puts "ok"\n',
    "lua": 'print("ok")\n',
    "perl": 'print "ok\\n";\n',
    "bash": "echo ok\n",
    "racket": '#lang racket\n(displayln "ok")\n',
    "ocaml": 'print_endline "ok"\n',
    "r": 'cat("ok\\n")\n',
}
"""Per language, a program whose only job is to print ``ok``: when it does not, the toolchain is broken
here (inside the sandbox), and no program in that language can be judged."""

_BY_NAME = {key: lang for lang in LANGUAGES for key in (lang.name, *lang.aliases)}


DATA_ONLY_LANGUAGES = {
    "csharp": ("cs", "c#"),
    "d": (),
    "dart": (),
    "julia": ("jl",),
    "kotlin": ("kt",),
    "scala": (),
    "swift": (),
}
"""Languages that public datasets (PolyHumanEval, MultiPL-E) hold and that the executor cannot run:
their programs load as training data, never as tests."""
_DATA_ONLY = {key: name for name, aliases in DATA_ONLY_LANGUAGES.items() for key in (name, *aliases)}


def canonical_language(name: str) -> str:
    """The registry name of a language (runnable or data-only), from its name or an alias."""
    key = name.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key].name
    if key in _DATA_ONLY:
        return _DATA_ONLY[key]
    known = ", ".join([lang.name for lang in LANGUAGES] + list(DATA_ONLY_LANGUAGES))
    raise ExecutionError(f"unknown language {name!r} (known: {known})")


def get_language(name: str) -> Language:
    """The language called ``name`` or one of its aliases (case-insensitive)."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        known = ", ".join(lang.name for lang in LANGUAGES)
        raise ExecutionError(f"unknown language {name!r} (known: {known})") from None
