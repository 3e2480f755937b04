"""The parts a composed problem is built from: what the input is, which items it keeps and what it
makes of each (how it combines them and prints the result: :mod:`.results`).

Each part writes its piece of the solution in the tiny language of :mod:`.ir`, its piece of the
statement, and its piece of a Python reference that computes the expected output on its own (so
verification checks the written programs against an independent computation). A part's ``kind`` is
its skill; its ``args`` are constants that appear in the program (a threshold, a factor, a letter).
"""

from __future__ import annotations

import operator
import random
from dataclasses import dataclass

from lit_parallel.problems.synthetic.family import LIST_INPUT, WORD_INPUT, Values, int_list, ints, letters, loop, word
from lit_parallel.problems.synthetic.ir import (
    Expr,
    Field,
    For,
    Let,
    Set,
    Var,
    While,
    add,
    call,
    char,
)

N, A, K = ints("n")[0], int_list(), loop()
LO, HI, X = *ints("l r"), ints("x")[0]
S = word()
M, D = Var("m"), Var("d")
VOWELS = "aeiou"
ALPHABET = "aeioubcdst"
"""The letters of generated words: vowels and the letters that filters name, so that filters keep some."""


@dataclass(frozen=True)
class Input:
    """Where the items come from: a list (``n`` then ``a``), the numbers 1..n, the numbers l..r, the
    digits of x, or the letters of a word ``s``. ``domain`` bounds the numbers: signed, natural (no
    negative number: remainders agree in every language) or small (products stay exact)."""

    kind: str
    domain: str = "signed"

    @property
    def item(self) -> object:
        return {"list": A[K], "range": K, "interval": K, "digits": D, "word": S[K]}[self.kind]

    @property
    def ordered(self) -> bool:
        """Whether the items come in an order a statement can name (the digits come last one first)."""
        return self.kind != "digits"

    @property
    def indexed(self) -> bool:
        return self.kind in ("list", "word")

    def bounds(self) -> tuple[int, int]:
        """The smallest and largest item."""
        if self.kind == "digits":
            return 0, 9
        if self.kind == "range":
            return 1, 10 if self.domain == "small" else 30
        return {"signed": (-20, 20), "natural": (0, 40), "small": (-9, 9)}[self.domain]

    def max_items(self) -> int:
        return 8 if self.domain == "small" else 12

    def lines(self) -> list[list[Var]]:
        return {"list": [[N], [A]], "range": [[N]], "interval": [[LO, HI]], "digits": [[X]], "word": [[S]]}[self.kind]

    def fields(self) -> list[list[Field]]:
        """The input lines as the solution reads them (the list's length is ``n``)."""
        return [[Field(v, N if v is A else None) for v in line] for line in self.lines()]

    def loop(self, step: list) -> list:
        """Statements that run ``step`` once per item (``step`` reads :attr:`item`)."""
        if self.kind == "digits":
            return [Let(M, X), Let(D, 0), While(M > 0, [Set(D, M % 10), *step, Set(M, M // 10)])]
        start, stop = {"list": (0, N), "range": (1, N + 1), "interval": (LO, HI + 1), "word": (0, call("len", S))}[
            self.kind
        ]
        return [For(K, start, stop, step)]

    def items(self, v: Values) -> list:
        if self.kind == "list":
            return list(v["a"])
        if self.kind == "range":
            return list(range(1, v["n"] + 1))
        if self.kind == "interval":
            return list(range(v["l"], v["r"] + 1))
        if self.kind == "digits":
            return [int(c) for c in reversed(str(v["x"]))]
        return list(v["s"])

    def sample(self, r: random.Random) -> Values:
        lo, hi = self.bounds()
        if self.kind == "list":
            n = r.randint(1, self.max_items())
            return {"n": n, "a": [r.randint(lo, hi) for _ in range(n)]}
        if self.kind == "range":
            return {"n": r.randint(1, hi)}
        if self.kind == "interval":
            first = r.randint(lo, hi)
            return {"l": first, "r": min(hi, first + r.randint(0, self.max_items() - 1))}
        if self.kind == "digits":
            return {"x": r.randint(1, 10 ** r.randint(1, 9))}
        return {"s": letters(r, 1, self.max_items(), ALPHABET)}

    def edges(self) -> list[Values]:
        lo, hi = self.bounds()
        return {
            "list": [{"n": 1, "a": [lo]}, {"n": 1, "a": [hi]}, {"n": 3, "a": [hi, hi, hi]}],
            "range": [{"n": 1}, {"n": hi}],
            "interval": [{"l": lo, "r": lo}, {"l": hi, "r": hi}],
            "digits": [{"x": 1}, {"x": 1000000000}, {"x": 987654321}],
            "word": [{"s": "a"}, {"s": "b"}, {"s": ALPHABET}],
        }[self.kind]

    def describe(self, r: random.Random) -> tuple[str, str, str]:
        """(the statement's opening, its Input section, its Constraints section)."""
        lo, hi = self.bounds()
        if self.kind == "list":
            intro = r.choice(["You are given n integers a_1, ..., a_n.", "Read a list of n integers."])
            return intro, LIST_INPUT, f"1 <= n <= 100; {lo} <= a_i <= {hi}"
        if self.kind == "range":
            intro = r.choice(["Consider the integers 1, 2, ..., n.", "Look at every integer from 1 to n."])
            return intro, "One integer n.", f"1 <= n <= {hi}"
        if self.kind == "interval":
            intro = r.choice(["Consider the integers l, l+1, ..., r.", "Look at every integer from l to r inclusive."])
            return intro, "One line with two integers l and r.", f"{lo} <= l <= r <= {hi}; r - l < 20"
        if self.kind == "digits":
            intro = r.choice(["Consider the decimal digits of the number x.", "Look at each digit of the integer x."])
            return intro, "One integer x.", "1 <= x <= 10^9"
        intro = r.choice(["Consider the letters of the word s.", "Look at each letter of the given word s."])
        return intro, WORD_INPUT, "1 <= length of s <= 100"


COMPARE = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le, "==": operator.eq}
COMPARE["!="] = operator.ne
COMPARE_WORDS = {">": "greater than", "<": "less than", ">=": "at least", "<=": "at most", "==": "equal to"}
COMPARE_WORDS["!="] = "different from"
NEGATE = {">": "<=", "<": ">=", ">=": "<", "<=": ">", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Filter:
    """Which items count: all, compare (op, k), parity (even?), multiple (k, divisible?), between (l, h),
    outside (l, h), position (odd?: the 1st, 3rd, ...), vowel, letter (c, equal?), letters (a set)."""

    kind: str
    args: tuple = ()

    def test(self, x: Expr, i: Expr) -> Expr:
        """The condition in the tiny language, for item ``x`` at index ``i``."""
        a = self.args
        match self.kind:
            case "compare":
                return {">": x > a[1], "<": x < a[1], ">=": x >= a[1], "<=": x <= a[1], "==": x.eq(a[1])}.get(
                    a[0], x.ne(a[1])
                )
            case "parity":
                return (x % 2).eq(0) if a[0] else (x % 2).ne(0)
            case "multiple":
                return (x % a[0]).eq(0) if a[1] else (x % a[0]).ne(0)
            case "between":
                return (x >= a[0]) & (x <= a[1])
            case "outside":
                return (x < a[0]) | (x > a[1])
            case "position":
                return (i % 2).eq(0) if a[0] else (i % 2).eq(1)
            case "vowel":
                return call("inset", VOWELS, x)
            case "letter":
                return x.eq(char(a[0])) if a[1] else x.ne(char(a[0]))
            case _:
                return call("inset", a[0], x)

    def keeps(self, x: int | str, i: int) -> bool:
        """The Python reference of :meth:`test`."""
        a = self.args
        match self.kind:
            case "all":
                return True
            case "compare":
                return COMPARE[a[0]](x, a[1])
            case "parity":
                return (x % 2 == 0) == a[0]
            case "multiple":
                return (x % a[0] == 0) == a[1]
            case "between":
                return a[0] <= x <= a[1]
            case "outside":
                return x < a[0] or x > a[1]
            case "position":
                return (i % 2 == 0) == a[0]
            case "vowel":
                return x in VOWELS
            case "letter":
                return (x == a[0]) == a[1]
            case _:
                return x in a[0]

    @property
    def negatable(self) -> bool:
        return self.kind not in ("all", "vowel", "letters")

    def negated(self) -> Filter:
        """The filter that keeps exactly the items this one drops (for "is every item ...?")."""
        a = self.args
        match self.kind:
            case "compare":
                return Filter("compare", (NEGATE[a[0]], a[1]))
            case "parity" | "position":
                return Filter(self.kind, (not a[0],))
            case "multiple" | "letter":
                return Filter(self.kind, (a[0], not a[1]))
            case _:
                return Filter("outside" if self.kind == "between" else "between", a)

    def phrase(self) -> str:
        """What a kept item is: "greater than 5", "a vowel (a, e, i, o, u)", ..."""
        a = self.args
        match self.kind:
            case "compare":
                return f"{COMPARE_WORDS[a[0]]} {a[1]}"
            case "parity":
                return "even" if a[0] else "odd"
            case "multiple":
                return f"{'' if a[1] else 'not '}divisible by {a[0]}"
            case "between":
                return f"between {a[0]} and {a[1]} inclusive"
            case "outside":
                return f"less than {a[0]} or greater than {a[1]}"
            case "position":
                return f"at an {'odd' if a[0] else 'even'} position (counting from 1)"
            case "vowel":
                return "a vowel (a, e, i, o, u)"
            case "letter":
                return f"{'' if a[1] else 'not '}the letter '{a[0]}'"
            case _:
                return "one of the letters " + ", ".join(f"'{c}'" for c in a[0])

    def sentence(self, r: random.Random, noun: str) -> str:
        if self.kind == "all":
            return ""
        what = self.phrase()
        return r.choice([f"Keep only the {noun}s that are {what}.", f"Use only those {noun}s that are {what}."])


V, DS = Var("v"), Var("ds")


@dataclass(frozen=True)
class Transform:
    """What each kept number becomes: same, scale (k), shift (c), square, abs, affine (k, c), lastdigit,
    half, cap (k: at most k), floor (k: at least k), digitsum (a loop inside the loop)."""

    kind: str
    args: tuple = ()

    def setup(self) -> list:
        """Declarations before the loop (the inner loop's variables)."""
        return [Let(V, 0), Let(DS, 0)] if self.kind == "digitsum" else []

    def apply(self, x: Expr) -> tuple[list, Expr]:
        """(statements that run first, the new value) for item ``x`` in the tiny language."""
        a = self.args
        match self.kind:
            case "same":
                return [], x
            case "scale":
                return [], x * a[0]
            case "shift":
                return [], x + a[0] if a[0] > 0 else x - -a[0]
            case "square":
                return [], x * x
            case "abs":
                return [], call("abs", x)
            case "affine":
                return [], x * a[0] + a[1] if a[1] > 0 else x * a[0] - -a[1]
            case "lastdigit":
                return [], x % 10
            case "half":
                return [], x // 2
            case "cap" | "floor":
                return [], call("min" if self.kind == "cap" else "max", x, a[0])
            case _:
                return [Set(V, x), Set(DS, 0), While(V > 0, [add(DS, V % 10), Set(V, V // 10)])], DS

    def value(self, x: int) -> int:
        """The Python reference of :meth:`apply`."""
        a = self.args
        match self.kind:
            case "same":
                return x
            case "scale":
                return x * a[0]
            case "shift":
                return x + a[0]
            case "square":
                return x * x
            case "abs":
                return abs(x)
            case "affine":
                return x * a[0] + a[1]
            case "lastdigit":
                return x % 10
            case "half":
                return x // 2
            case "cap":
                return min(x, a[0])
            case "floor":
                return max(x, a[0])
            case _:
                return sum(int(c) for c in str(x))

    def rule(self) -> str:
        a = self.args
        match self.kind:
            case "scale":
                return f"multiply it by {a[0]}"
            case "shift":
                return f"add {a[0]} to it" if a[0] > 0 else f"subtract {-a[0]} from it"
            case "square":
                return "multiply it by itself"
            case "abs":
                return "take its absolute value"
            case "affine":
                return f"multiply it by {a[0]}, then {'add' if a[1] > 0 else 'subtract'} {abs(a[1])}"
            case "lastdigit":
                return "keep only its last digit"
            case "half":
                return "divide it by 2, rounding down"
            case "cap":
                return f"replace it by {a[0]} if it is larger than {a[0]}"
            case "floor":
                return f"replace it by {a[0]} if it is smaller than {a[0]}"
            case _:
                return "replace it by the sum of its digits"

    def sentence(self, r: random.Random, noun: str, kept: bool) -> str:
        if self.kind == "same":
            return ""
        each = f"each kept {noun}" if kept else f"each {noun}"
        return r.choice([f"For {each}, {self.rule()}.", f"Take {each} and {self.rule()}."])
