"""How a composed problem's values combine (:class:`Aggregate`) and how the result is printed
(:class:`Format`): the end of the loop and what follows it, in the tiny language of :mod:`.ir`, in the
statement, and as a Python reference."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lit_parallel.problems.synthetic.ir import BOOL, INT, STR, Expr, If, Let, Newline, Set, Var, Write, add, out

COUNT, SEP, TOTAL = Var("count"), Var("sep", STR), Var("total")
RESULT = {"sum": "total", "count": "count", "product": "product", "max": "largest", "min": "smallest"}
RESULT |= {"any": "found", "all": "ok"}


@dataclass(frozen=True)
class Aggregate:
    """How the values combine: sum, count, product, max, min, first, last, line (on one line), lines
    (one a line), any, all, both (count and sum), running (running totals), keep (the kept letters)."""

    kind: str

    @property
    def scalar(self) -> bool:
        """One number that an output format may present."""
        return self.kind in ("sum", "count", "product", "max", "min", "first", "last")

    @property
    def maybe_none(self) -> bool:
        """No value when nothing is kept (printed as NONE)."""
        return self.kind in ("max", "min", "first", "last")

    @property
    def result(self) -> Var:
        return Var(RESULT.get(self.kind, self.kind), BOOL if self.kind in ("any", "all") else INT)

    def setup(self) -> list:
        r = self.result
        match self.kind:
            case "sum" | "count":
                return [Let(r, 0)]
            case "product":
                return [Let(r, 1)]
            case "max" | "min" | "first" | "last":
                return [Let(COUNT, 0), Let(r, 0)]
            case "line":
                return [Let(SEP, "")]
            case "any":
                return [Let(r, False)]
            case "all":
                return [Let(r, True)]
            case "both":
                return [Let(COUNT, 0), Let(TOTAL, 0)]
            case "running":
                return [Let(TOTAL, 0), Let(SEP, "")]
            case _:
                return []

    def step(self, y: Expr) -> list:
        """What a kept value ``y`` does (for ``all``: what a value that fails the question does)."""
        r = self.result
        match self.kind:
            case "sum":
                return [add(r, y)]
            case "count":
                return [add(r, 1)]
            case "product":
                return [Set(r, r * y)]
            case "max" | "min":
                better = y > r if self.kind == "max" else y < r
                return [If(COUNT.eq(0) | better, [Set(r, y)]), add(COUNT, 1)]
            case "first":
                return [If(COUNT.eq(0), [Set(r, y)]), add(COUNT, 1)]
            case "last":
                return [Set(r, y), add(COUNT, 1)]
            case "line":
                return [Write(SEP), Write(y), Set(SEP, " ")]
            case "lines":
                return [out(y)]
            case "any" | "all":
                return [Set(r, self.kind == "any")]
            case "both":
                return [add(COUNT, 1), add(TOTAL, y)]
            case "running":
                return [add(TOTAL, y), Write(SEP), Write(TOTAL), Set(SEP, " ")]
            case _:
                return [Write(y)]

    def finish(self, form: Format) -> list:
        """Statements after the loop: the result written in ``form``."""
        match self.kind:
            case "line" | "running" | "keep":
                return [Newline()]
            case "lines":
                return []
            case "both":
                return [out(COUNT, TOTAL)]
            case _:
                written = form.write(self.result)
                return [If(COUNT.eq(0), [out("NONE")], written)] if self.maybe_none else written

    def combine(self, ys: list) -> object:
        """The Python reference: a number, None (nothing kept), a bool, or the output lines."""
        match self.kind:
            case "sum":
                return sum(ys)
            case "count":
                return len(ys)
            case "product":
                return math.prod(ys)
            case "max" | "min":
                return (max if self.kind == "max" else min)(ys) if ys else None
            case "first" | "last":
                return ys[0 if self.kind == "first" else -1] if ys else None
            case "line":
                return [" ".join(map(str, ys))]
            case "lines":
                return [str(y) for y in ys] or [""]
            case "any" | "all":
                return bool(ys) if self.kind == "any" else not ys
            case "both":
                return [f"{len(ys)} {sum(ys)}"]
            case "running":
                return [" ".join(str(sum(ys[: i + 1])) for i in range(len(ys)))]
            case _:
                return ["".join(ys)]

    def sentence(self, r: random.Random, noun: str, kept: str) -> str:
        """What to print about the values; ``kept`` is the filter's phrase ("" when every item counts)."""
        them = "them" if kept else f"the {noun}s"
        match self.kind:
            case "sum" | "product":
                word = "sum" if self.kind == "sum" else "product"
                empty = f" ({'0' if word == 'sum' else '1'} if there are none)" if kept else ""
                return r.choice([f"Print the {word} of {them}{empty}.", f"Output the {word} of {them}{empty}."])
            case "count":
                return r.choice([f"Print how many {noun}s are kept.", f"Count the kept {noun}s and print the count."])
            case "max" | "min":
                word = "largest" if self.kind == "max" else "smallest"
                return r.choice([f"Print the {word} of {them}.", f"Output the {word} one of {them}."])
            case "first" | "last" if noun == "letter":
                return f"Print the position (counting from 1) of the {self.kind} such letter."
            case "first" | "last":
                return f"Print the {self.kind} of {them}, in input order."
            case "line":
                return f"Print {them} in input order on one line, separated by spaces."
            case "lines":
                return f"Print {them} in input order, each on its own line."
            case "any":
                return f"Is there at least one {noun} that is {kept}?"
            case "all":
                return f"Is every {noun} {kept}?"
            case "both":
                how_many = f"how many {noun}s are kept" if kept else f"how many {noun}s there are"
                return f"Print {how_many} and their sum, separated by a space."
            case "running":
                return f"Print the running totals of {them} on one line: after each one, the sum so far."
            case _:
                return f"Print {them} together as one word, in their order."

    def output(self, form: Format, kept: bool) -> str:
        match self.kind:
            case "line" | "running":
                return "One line of integers separated by spaces" + (" (empty if there are none)." if kept else ".")
            case "lines":
                return "One integer per line" + (" (nothing if there are none)." if kept else ".")
            case "both":
                return "Two integers."
            case "keep":
                return "One line of letters" + (" (an empty line if there are none)." if kept else ".")
            case _:
                return form.output() + (" If there are none, print NONE." if kept and self.maybe_none else "")


@dataclass(frozen=True)
class Format:
    """How a result is printed: plain, label (word: "Result: 5"), threshold (t: HIGH above t, else
    LOW), parity (EVEN or ODD), words (yes, no: the answer to a question)."""

    kind: str
    args: tuple = ()

    def write(self, r: Expr) -> list:
        a = self.args
        match self.kind:
            case "label":
                return [out(a[0], r)]
            case "threshold":
                return [If(r > a[0], [out("HIGH")], [out("LOW")])]
            case "parity":
                return [If((r % 2).eq(0), [out("EVEN")], [out("ODD")])]
            case "words":
                return [If(r, [out(a[0])], [out(a[1])])]
            case _:
                return [out(r)]

    def show(self, value: int | bool) -> str:
        """The Python reference of :meth:`write`."""
        a = self.args
        match self.kind:
            case "label":
                return f"{a[0]} {value}"
            case "threshold":
                return "HIGH" if value > a[0] else "LOW"
            case "parity":
                return "EVEN" if value % 2 == 0 else "ODD"
            case "words":
                return a[0] if value else a[1]
            case _:
                return str(value)

    def sentence(self) -> str:
        a = self.args
        match self.kind:
            case "label":
                return f'Print the answer after the word "{a[0]}" and a space.'
            case "threshold":
                return f"Then, instead of that number, print HIGH if it is greater than {a[0]}, and LOW otherwise."
            case "parity":
                return "Then, instead of that number, print EVEN if it is even, and ODD otherwise."
            case "words":
                return f"Print {a[0]} if so, and {a[1]} otherwise."
            case _:
                return ""

    def output(self) -> str:
        a = self.args
        match self.kind:
            case "label":
                return f'One line: "{a[0]}", a space and an integer.'
            case "threshold":
                return "HIGH or LOW."
            case "parity":
                return "EVEN or ODD."
            case "words":
                return f"{a[0]} or {a[1]}."
            case _:
                return "One integer."
