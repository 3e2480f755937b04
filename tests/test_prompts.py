"""Prompt rendering and code extraction, on real-looking completions, judged by real execution."""

import pytest

from lit_parallel.execution import Executor, TestCase
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.schema import Variant
from lit_parallel.prompts import (
    PromptStyle,
    code_blocks,
    extract_code,
    render_target,
    stop_sequences,
    variant_prompt,
)

SUM = Variant("python", "Print the sum of two integers.", None, (TestCase("2 3\n", "5\n"), TestCase("-1 1\n", "0\n")))
SUM_CODE = "a, b = map(int, input().split())\nprint(a + b)"
ADD = Variant(
    "python",
    'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n',
    "    return a + b\n",
    test_code="assert add(2, 3) == 5\nassert add(-1, 1) == 0\n",
    completion=True,
    stop=("\ndef", "\nif", "\nprint", "\n#"),
)

COMPLETIONS = {
    "prefilled, then prose": (SUM, True, f"{SUM_CODE}\n```\n\nThis reads two numbers and prints their sum."),
    "prose first, own fence": (SUM, True, f"Sure! Here is the solution:\n```python\n{SUM_CODE}\n```\nDone."),
    "never opened, prose around": (SUM, False, f"Here you go:\n\n```py\n{SUM_CODE}\n```\n\nHope it helps!"),
    "several fences, usage second": (SUM, True, f"{SUM_CODE}\n```\nRun it:\n```bash\necho 2 3 | python3 a.py\n```"),
    "wrong language first": (SUM, False, f"```bash\npython3 main.py < in.txt\n```\nand:\n```python\n{SUM_CODE}\n```"),
    "unterminated fence": (SUM, True, f"{SUM_CODE}\n"),
    "unterminated after prose": (SUM, False, f"The answer:\n```python\n{SUM_CODE}\n"),
    "no fences at all": (SUM, False, SUM_CODE),
    "completion, clean": (ADD, True, "    return a + b\n```\n"),
    "completion, runs on past the function": (ADD, True, "    return a + b\n\n\ndef main():\n    print(add(1, 2))\n"),
    "completion, prompt repeated in own fence": (
        ADD,
        False,
        "Here is the function:\n```python\n" + ADD.prompt + "    return a + b\n```\nIt adds.",
    ),
    "completion, trailing test code": (ADD, True, "    return a + b\n\nprint(add(2, 3))\n```"),
}


@pytest.mark.parametrize("case", COMPLETIONS)
def test_code_extracted_from_real_looking_completions_passes_its_tests(case):
    variant, opened, completion = COMPLETIONS[case]
    code = extract_code(completion, variant, opened)
    assert "```" not in code and "Sure" not in code and "help" not in code
    with Executor(workers=1) as ex:
        [result] = ex.run([variant.program(code, case)])
    assert result.passed, (case, code, result.verdict, result.stderr_tail)


def test_a_wrong_program_stays_wrong_after_extraction():
    code = extract_code("print(42)\n```\nThis prints the sum.", SUM)
    with Executor(workers=1) as ex:
        [result] = ex.run([SUM.program(code)])
    assert not result.passed


def test_a_completion_that_closes_the_fence_at_once_holds_no_code():
    assert extract_code("```\n\nThis function returns the sum.", ADD) == ""
    assert extract_code("Sure, see below.\n```\n```", SUM, opened=False) == ""


def test_code_blocks_names_languages_and_keeps_order():
    text = "x = 1\n```\ntext\n```js\nlet y = 2\n```\n```golang\npackage main"
    assert code_blocks(text) == [(None, "x = 1"), ("javascript", "let y = 2"), ("go", "package main")]
    assert code_blocks("no code here", opened=False) == []


def test_chat_prompt_opens_a_fence_after_the_assistant_header(tokenizer):
    prompt = variant_prompt(SUM, tokenizer, PromptStyle(chat=True))
    assert prompt.endswith("<|im_start|>assistant\n```python\n")
    assert "Print the sum of two integers." in prompt and "standard input" in prompt
    with_system = variant_prompt(SUM, tokenizer, PromptStyle(chat=True, system="You write Go."))
    assert "You write Go." in with_system and "SmolLM" not in with_system


def test_completion_prompt_prefills_the_code_and_plain_prompts_use_no_template(tokenizer):
    chat = variant_prompt(ADD, tokenizer, PromptStyle(chat=True))
    assert chat.endswith("assistant\n```python\n" + ADD.prompt) and chat.count(ADD.prompt) == 2
    plain = variant_prompt(ADD, tokenizer, PromptStyle(chat=False))
    assert "<|im_start|>" not in plain and plain.endswith("```python\n" + ADD.prompt)
    assert stop_sequences(ADD) == ("```", *ADD.stop)


@pytest.mark.parametrize("language", ["python", "go", "ruby", "lua"])
def test_every_bundled_solution_round_trips_through_target_and_extraction(language):
    for problem in bundled_corpus():
        variant = problem.variants[language]
        assert extract_code(render_target(variant.solution), variant) == variant.solution.rstrip()
