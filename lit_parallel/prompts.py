"""What the model sees and what is taken back from what it writes.

One convention for every task, model and stage: the prompt ends inside an opened Markdown code
fence (after the chat template's assistant header for instruct models, after the plain instruction
for base models), so the model writes code straight away and ends it with a closing fence. SFT
targets are ``code + closing fence``; generation stops at that fence; extraction takes the code
back out, and copes with completions that ignore the convention (prose, several fences, no
closing fence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lit_parallel.execution import ExecutionError, canonical_language
from lit_parallel.problems.schema import Variant

FENCE = "```"
DISPLAY_NAMES = {
    "cpp": "C++",
    "csharp": "C#",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "php": "PHP",
    "ocaml": "OCaml",
    "r": "R",
    "bash": "Bash",
}
"""How a language is called in instructions, where its name is not just capitalised."""


def display_name(language: str) -> str:
    return DISPLAY_NAMES.get(language, language.capitalize())


@dataclass(frozen=True)
class PromptStyle:
    """How prompts are rendered for a model: what the DataModule of a fit declares (``chat``,
    ``system_prompt``), and what every command that samples from the fit's model reads back from it."""

    chat: bool = True
    """Through the tokenizer's chat template (instruct models); False: plain text (base models)."""
    system: str | None = None
    """A system message; None keeps the chat template's default. Plain prompts begin with it as a
    paragraph of its own."""


def solve_message(variant: Variant) -> str:
    """The instruction for solving one variant."""
    name = display_name(variant.language)
    if variant.completion:
        return f"Complete the following {name} code.\n\n{FENCE}{variant.language}\n{variant.prompt}\n{FENCE}"
    if variant.io_tests:
        return (
            f"Solve the following problem in {name}. Read the input from standard input and write the "
            f"answer to standard output.\n\n{variant.prompt}"
        )
    return f"Write a {name} program for the following task.\n\n{variant.prompt}"


def multi_message(description: str, languages: Sequence[str]) -> str:
    """The instruction for solving one problem in several languages, one code block each, in order."""
    names = [display_name(lang) for lang in languages]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"Solve the following problem in {listed}, one code block per language, in that order.\n\n{description}"


def problems_message(problems: Sequence[tuple[str, str]]) -> str:
    """The instruction for solving several problems ``(description, language)``, each in its own
    language, one code block each, in order."""
    parts = [f"Problem {i}, in {display_name(lang)}:\n\n{text}" for i, (text, lang) in enumerate(problems, 1)]
    head = "Solve each of the following problems in the language named with it, one code block per problem, in order."
    return "\n\n".join([head, *parts])


def translate_message(source: str, code: str, target: str) -> str:
    """The instruction for translating a program from one language to another."""
    return (
        f"Translate this {display_name(source)} program to {display_name(target)}.\n\n"
        f"{FENCE}{source}\n{code.rstrip()}\n{FENCE}"
    )


def render_prompt(message: str, language: str, tokenizer: object, style: PromptStyle, code_prefix: str = "") -> str:
    """The text a model continues: ``message`` as the user's turn, then an opened ``language`` fence
    holding ``code_prefix`` (the code prompt of completion tasks)."""
    opening = f"{FENCE}{language}\n{code_prefix}"
    if not style.chat:
        return "".join(f"{text}\n\n" for text in (style.system, message) if text is not None) + opening
    messages = [{"role": "user", "content": message}]
    if style.system is not None:
        messages.insert(0, {"role": "system", "content": style.system})
    header = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return header + opening


def translation_prompt(source: str, code: str, target: str, tokenizer: object, style: PromptStyle) -> str:
    """The prompt for translating ``code`` from ``source`` to ``target``: what SFT's translation examples
    and ``lit-parallel data translate`` both show the model."""
    return render_prompt(translate_message(source, code, target), target, tokenizer, style)


def reference_prompt(source: str, code: str, variant: Variant, tokenizer: object, style: PromptStyle) -> str:
    """The non-parallel control's kin of a translation prompt: a ``source`` program shown as a translation
    shows one, then a different problem to solve in the variant's language (the two are not equivalent)."""
    shown = f"Here is a {display_name(source)} program.\n\n{FENCE}{source}\n{code.rstrip()}\n{FENCE}"
    message = f"{shown}\n\nNow a different task. {solve_message(variant)}"
    return render_prompt(message, variant.language, tokenizer, style, variant.prompt if variant.completion else "")


def variant_prompt(variant: Variant, tokenizer: object, style: PromptStyle) -> str:
    """The prompt for solving ``variant``: what SFT, RL and evaluation all show the model."""
    prefix = variant.prompt if variant.completion else ""
    return render_prompt(solve_message(variant), variant.language, tokenizer, style, prefix)


def render_target(code: str) -> str:
    """What the model is trained to write after the prompt: the code, then the closing fence."""
    return f"{code.rstrip()}\n{FENCE}"


def stop_sequences(variant: Variant) -> tuple[str, ...]:
    """Where generation for ``variant`` may stop: its closing fence (even as the very first thing the
    model writes), and its format's stop tokens."""
    return (FENCE, *variant.stop)


_FENCE_LINE = re.compile(r"^[ \t]*```+[ \t]*([\w+#.-]*)[^\n]*$", re.MULTILINE)


def code_blocks(text: str, opened: bool = True) -> list[tuple[str | None, str]]:
    """The fenced blocks of ``text`` as (language or None, code), in order.

    ``opened``: the text starts inside a block (the prompt opened it). A tagged fence line met
    inside a block closes it and opens a new one, except that a tagged first fence means the model
    wrote prose instead of code in the opened block, which is dropped. An unterminated last block
    is kept.
    """
    blocks: list[tuple[str | None, str]] = []
    current: tuple[str | None, int] | None = (None, 0) if opened else None
    for match in _FENCE_LINE.finditer(text):
        tag = _language_of(match.group(1))
        if current is not None:
            prose_in_opened = opened and not blocks and current[1] == 0 and match.group(1)
            if not prose_in_opened:
                blocks.append((current[0], text[current[1] : match.start()]))
            current = (tag, match.end() + 1) if match.group(1) else None
        else:
            current = (tag, match.end() + 1)
    if current is not None:
        blocks.append((current[0], text[current[1] :]))
    return [(tag, code.strip("\n")) for tag, code in blocks]


def _language_of(tag: str) -> str | None:
    try:
        return canonical_language(tag) if tag else None
    except ExecutionError:
        return tag.lower()


def extract_code(completion: str, variant: Variant, opened: bool = True) -> str:
    """The code a completion holds, in the form ``variant.program`` takes it.

    The first non-empty block in the variant's language (or untagged) wins; text without fences is
    code. For completion tasks the result is the continuation of the prompt: a completion that
    repeats the prompt has it cut off, and the format's stop tokens end it.
    """
    if not _FENCE_LINE.search(completion):
        code = completion
    else:
        blocks = [(tag, code) for tag, code in code_blocks(completion, opened) if code.strip()]
        matching = [code for tag, code in blocks if tag in (None, variant.language)]
        # fences but no code in them: the model wrote none (prose is not code)
        code = matching[0] if matching else (blocks[0][1] if blocks else "")
    if not variant.completion:
        return code
    head = variant.prompt.strip()
    if head and code.lstrip().startswith(head):
        code = code.lstrip()[len(head) :]
        if variant.prompt.endswith("\n"):
            code = code.removeprefix("\n")
    ends = [i for i in (code.find(stop) for stop in variant.stop) if i >= 0]
    return code[: min(ends)] if ends else code
