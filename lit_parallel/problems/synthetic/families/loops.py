"""Loops and patterns over one integer n: series, sequences, character pictures, tables."""

from __future__ import annotations

import math

from lit_parallel.problems.synthetic.family import Shape, family, ints, loop
from lit_parallel.problems.synthetic.ir import For, If, Let, Newline, Set, Var, While, Write, add, call, out

N, K, J = ints("n")[0], loop("i"), loop("j")
SERIES = {
    "all": ("1 + 2 + ... + n", lambda i: True),
    "squares": ("1*1 + 2*2 + ... + n*n", None),
    "even": ("all even numbers from 1 to n", lambda i: i % 2 == 0),
    "odd": ("all odd numbers from 1 to n", lambda i: i % 2 == 1),
    "multiples of 3": ("all multiples of 3 from 1 to n", lambda i: i % 3 == 0),
    "multiples of 5": ("all multiples of 5 from 1 to n", lambda i: i % 5 == 0),
}


@family("series-sum", "loops", kind=SERIES)
def series_sum(kind: str) -> Shape:
    words, keep = SERIES[kind]
    s = Var("total")
    if keep is None:
        step = [add(s, K * K)]
    elif kind == "all":
        step = [add(s, K)]
    else:
        k = {"even": 2, "odd": 2, "multiples of 3": 3, "multiples of 5": 5}[kind]
        step = [If((K % k).eq(1 if kind == "odd" else 0), [add(s, K)])]
    return Shape(
        task=[f"Print the sum of {words}.", f"Given n, compute the sum of {words} and output it."],
        input="One integer n.",
        output="One integer.",
        constraints="1 <= n <= 1000",
        lines=[[N]],
        body=[Let(s, 0), For(K, 1, N + 1, step), out(s)],
        sample=lambda r: {"n": r.randint(1, 1000)},
        reference=lambda v: sum(i * i if keep is None else i for i in range(1, v["n"] + 1) if keep is None or keep(i)),
        edges=[{"n": 1}, {"n": 2}, {"n": 1000}],
    )


@family("product-series", "loops", kind=("factorial", "power of two", "power of three"))
def product_series(kind: str) -> Shape:
    p = Var("result")
    factor, words, limit = {
        "factorial": (K, "n! = 1 * 2 * ... * n", 15),
        "power of two": (2, "2 to the power n", 40),
        "power of three": (3, "3 to the power n", 25),
    }[kind]
    ref = {"factorial": math.factorial, "power of two": lambda n: 2**n, "power of three": lambda n: 3**n}[kind]
    return Shape(
        task=[f"Print {words}, computed with a loop.", f"Read n and output {words}."],
        input="One integer n.",
        output="One integer.",
        constraints=f"0 <= n <= {limit}",
        lines=[[N]],
        body=[Let(p, 1), For(K, 1, N + 1, [Set(p, p * factor)]), out(p)],
        sample=lambda r: {"n": r.randint(0, limit)},
        reference=lambda v: ref(v["n"]),
        edges=[{"n": 0}, {"n": 1}, {"n": limit}],
    )


COUNTING = {
    "up": "the numbers 1, 2, ..., n",
    "down": "the numbers n, n-1, ..., 1",
    "evens": "the even numbers from 2 to n",
    "multiples of 3": "the multiples of 3 from 3 to n",
    "squares": "the squares 1, 4, 9, ... of 1 to n",
}


@family("count-up", "loops", 2, kind=COUNTING)
def count_up(kind: str) -> Shape:
    item = {"up": K, "down": N + 1 - K, "evens": K, "multiples of 3": K, "squares": K * K}[kind]
    step = {"evens": 2, "multiples of 3": 3}.get(kind, 1)
    sep = Var("sep", "str")
    body = [Let(sep, ""), For(K, 1, N + 1, [If((K % step).eq(0), [Write(sep), Write(item), Set(sep, " ")])]), Newline()]
    if step == 1:
        body = [For(K, 1, N + 1, [If(K > 1, [Write(" ")]), Write(item)]), Newline()]
    ref = {
        "up": lambda n: range(1, n + 1),
        "down": lambda n: range(n, 0, -1),
        "evens": lambda n: range(2, n + 1, 2),
        "multiples of 3": lambda n: range(3, n + 1, 3),
        "squares": lambda n: (i * i for i in range(1, n + 1)),
    }[kind]
    low = 3 if kind == "multiples of 3" else 2 if kind == "evens" else 1
    return Shape(
        task=[
            f"Print {COUNTING[kind]} on one line, separated by spaces.",
            f"Output {COUNTING[kind]}, in this order, on a single line.",
        ],
        input="One integer n.",
        output="The numbers separated by spaces.",
        constraints=f"{low} <= n <= 100",
        lines=[[N]],
        body=body,
        sample=lambda r: {"n": r.randint(low, 100)},
        reference=lambda v: " ".join(map(str, ref(v["n"]))),
        edges=[{"n": low}, {"n": 100}, {"n": low + 1}],
    )


@family("square-pattern", "loops", ch=("#", "*", "+", "@"), shape=("square", "wide"))
def square_pattern(ch: str, shape: str) -> Shape:
    width = N if shape == "square" else N * 2
    words = "n lines, each made of n" if shape == "square" else "n lines, each made of 2n"
    return Shape(
        task=[f"Draw a rectangle of '{ch}' characters: print {words} '{ch}' characters."],
        input="One integer n.",
        output=f"The picture: {words} characters.",
        constraints="1 <= n <= 20",
        lines=[[N]],
        body=[For(K, 0, N, [out(call("repeat", ch, width))])],
        sample=lambda r: {"n": r.randint(1, 20)},
        reference=lambda v: [ch * (v["n"] * (1 if shape == "square" else 2))] * v["n"],
        edges=[{"n": 1}, {"n": 2}, {"n": 20}],
    )


@family("triangle-pattern", "loops", 2, ch=("*", "#", "o"), direction=("growing", "shrinking"))
def triangle_pattern(ch: str, direction: str) -> Shape:
    count = K + 1 if direction == "growing" else N - K
    words = (
        "line i has i characters"
        if direction == "growing"
        else "the first line has n characters and each next line one fewer"
    )
    return Shape(
        task=[f"Print a triangle of '{ch}' characters with n lines: {words}."],
        input="One integer n.",
        output="n lines.",
        constraints="1 <= n <= 20",
        lines=[[N]],
        body=[For(K, 0, N, [For(J, 0, count, [Write(ch)]), Newline()])],
        sample=lambda r: {"n": r.randint(1, 20)},
        reference=lambda v: [ch * (i + 1 if direction == "growing" else v["n"] - i) for i in range(v["n"])],
        edges=[{"n": 1}, {"n": 2}, {"n": 20}],
    )


@family("times-table", "loops", 2, k=(5, 9, 10, 12), style=("x", "*"))
def times_table(k: int, style: str) -> Shape:
    return Shape(
        task=[f'Print the multiplication table of n from 1 to {k}: line i reads "n {style} i = p" where p = n * i.'],
        input="One integer n.",
        output=f"{k} lines.",
        constraints="1 <= n <= 1000",
        lines=[[N]],
        body=[For(K, 1, k + 1, [out(N, style, K, "=", N * K)])],
        sample=lambda r: {"n": r.randint(1, 1000)},
        reference=lambda v: [f"{v['n']} {style} {i} = {v['n'] * i}" for i in range(1, k + 1)],
        edges=[{"n": 1}, {"n": 1000}, {"n": 7}],
    )


@family("fibonacci", "loops", 2, start=((0, 1), (1, 1), (2, 1)))
def fibonacci(start: tuple[int, int]) -> Shape:
    a, b, c = Var("x"), Var("y"), Var("z")
    first, second = start

    def reference(v: dict) -> int:
        x, y = first, second
        for _ in range(v["n"] - 1):
            x, y = y, x + y
        return x

    return Shape(
        task=[
            f"A sequence starts with {first} and {second}, and every further term is the sum of the "
            f"two before it. Print its n-th term (the first term is {first})."
        ],
        input="One integer n.",
        output="One integer.",
        constraints="1 <= n <= 70",
        lines=[[N]],
        body=[Let(a, first), Let(b, second), For(K, 1, N, [Let(c, a + b), Set(a, b), Set(b, c)]), out(a)],
        sample=lambda r: {"n": r.randint(1, 70)},
        reference=reference,
        edges=[{"n": 1}, {"n": 2}, {"n": 70}],
    )


@family(
    "fizzbuzz",
    "loops",
    2,
    words=(("Fizz", "Buzz"), ("Foo", "Bar"), ("Ping", "Pong")),
    divisors=((3, 5), (2, 7), (3, 4)),
)
def fizzbuzz(words: tuple[str, str], divisors: tuple[int, int]) -> Shape:
    (p, q), (u, w) = divisors, words
    both = [out(u + w)]
    line = [If((K % (p * q)).eq(0), both, [If((K % p).eq(0), [out(u)], [If((K % q).eq(0), [out(w)], [out(K)])])])]

    def say(i: int) -> object:
        return u + w if i % (p * q) == 0 else u if i % p == 0 else w if i % q == 0 else i

    return Shape(
        task=[
            f"For every i from 1 to n print one line: {u}{w} if i is divisible by both {p} and {q}, "
            f"{u} if only by {p}, {w} if only by {q}, else i itself."
        ],
        input="One integer n.",
        output="n lines.",
        constraints="1 <= n <= 100",
        lines=[[N]],
        body=[For(K, 1, N + 1, line)],
        sample=lambda r: {"n": r.randint(1, 100)},
        reference=lambda v: [say(i) for i in range(1, v["n"] + 1)],
        edges=[{"n": 1}, {"n": p * q}, {"n": 100}],
    )


@family("collatz", "loops", 2)
def collatz() -> Shape:
    x, steps = Var("x"), Var("steps")

    def reference(v: dict) -> int:
        n, s = v["n"], 0
        while n != 1:
            n, s = (n // 2 if n % 2 == 0 else 3 * n + 1), s + 1
        return s

    return Shape(
        task=[
            "Start from n. While the number is not 1, halve it if it is even, otherwise replace it "
            "by 3 times it plus 1. Print how many steps it takes to reach 1."
        ],
        input="One integer n.",
        output="One integer: the number of steps.",
        constraints="1 <= n <= 10000",
        lines=[[N]],
        body=[
            Let(x, N),
            Let(steps, 0),
            While(x.ne(1), [If((x % 2).eq(0), [Set(x, x // 2)], [Set(x, x * 3 + 1)]), add(steps, 1)]),
            out(steps),
        ],
        sample=lambda r: {"n": r.randint(1, 10000)},
        reference=reference,
        edges=[{"n": 1}, {"n": 2}, {"n": 27}],
    )
