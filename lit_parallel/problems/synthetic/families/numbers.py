"""Simple number theory: digits, divisors, primes, gcd."""

from __future__ import annotations

import math

from lit_parallel.problems.synthetic.family import Shape, family, ints, loop, yes_no
from lit_parallel.problems.synthetic.ir import For, If, Let, Set, Var, While, add, call, out

N, K = ints("n")[0], loop("i")
DIGITS = {
    "sum": "the sum of the digits of n",
    "count": "how many digits n has",
    "largest": "the largest digit of n",
    "zeros": "how many of the digits of n are zero",
}


@family("digits", "numbers", op=DIGITS)
def digits(op: str) -> Shape:
    x, r = Var("x"), Var("result")
    step = {
        "sum": add(r, x % 10),
        "count": add(r, 1),
        "largest": Set(r, call("max", r, x % 10)),
        "zeros": If((x % 10).eq(0), [add(r, 1)]),
    }[op]
    body = [Let(x, N), Let(r, 0), While(x > 0, [step, Set(x, x // 10)])]
    if op in ("count", "zeros"):
        body.append(If(N.eq(0), [Set(r, 1)]))
    ds = lambda n: [int(d) for d in str(n)]  # noqa: E731
    ref = {
        "sum": lambda n: sum(ds(n)),
        "count": lambda n: len(str(n)),
        "largest": lambda n: max(ds(n)),
        "zeros": lambda n: str(n).count("0"),
    }[op]
    return Shape(
        task=[f"Print {DIGITS[op]}.", f"A non-negative integer n is given. Output {DIGITS[op]}."],
        input="One integer n.",
        output="One integer.",
        constraints="0 <= n <= 10^9",
        lines=[[N]],
        body=[*body, out(r)],
        sample=lambda r_: {
            "n": r_.choice([r_.randint(0, 10**9), r_.randint(0, 999), r_.randint(1, 9) * 10 ** r_.randint(1, 8)])
        },
        reference=lambda v: ref(v["n"]),
        edges=[{"n": 0}, {"n": 7}, {"n": 10**9}, {"n": 999999999}],
    )


@family("divisors", "numbers", 2, op=("count", "sum"))
def divisors(op: str) -> Shape:
    r = Var("result")
    return Shape(
        task=[
            f"Print the {op} of all positive divisors of n (1 and n included).",
            f"Find every positive integer that divides n and output their {op}.",
        ],
        input="One integer n.",
        output="One integer.",
        constraints="1 <= n <= 100000",
        lines=[[N]],
        body=[Let(r, 0), For(K, 1, N + 1, [If((N % K).eq(0), [add(r, 1 if op == "count" else K)])]), out(r)],
        sample=lambda r_: {"n": r_.randint(1, 100000)},
        reference=lambda v: (len if op == "count" else sum)([d for d in range(1, v["n"] + 1) if v["n"] % d == 0]),
        edges=[{"n": 1}, {"n": 2}, {"n": 99991}, {"n": 100000}],
    )


@family("is-prime", "numbers", 2, words=(("YES", "NO"), ("prime", "not prime")))
def is_prime(words: tuple[str, str]) -> Shape:
    d, ok = Var("d"), Var("ok", "bool")
    body = [Let(ok, N >= 2), Let(d, 2), While(d * d <= N, [If((N % d).eq(0), [Set(ok, False)]), add(d, 1)])]
    prime = lambda n: n >= 2 and all(n % k for k in range(2, math.isqrt(n) + 1))  # noqa: E731
    return Shape(
        task=[f"Print {words[0]} if n is a prime number and {words[1]} otherwise."],
        input="One integer n.",
        output=f"{words[0]} or {words[1]}.",
        constraints="1 <= n <= 100000",
        lines=[[N]],
        body=[*body, If(ok, [out(words[0])], [out(words[1])])],
        sample=lambda r: {"n": r.randint(1, 100000)},
        reference=lambda v: yes_no(prime(v["n"]), words),
        edges=[{"n": 1}, {"n": 2}, {"n": 4}, {"n": 99991}, {"n": 97 * 97}],
    )


@family("reverse-number", "numbers", 2)
def reverse_number() -> Shape:
    x, r = Var("x"), Var("result")
    return Shape(
        task=["Print the number obtained by writing the digits of n in reverse order (without leading zeros)."],
        input="One integer n.",
        output="One integer.",
        constraints="1 <= n <= 10^9",
        lines=[[N]],
        body=[Let(x, N), Let(r, 0), While(x > 0, [Set(r, r * 10 + x % 10), Set(x, x // 10)]), out(r)],
        sample=lambda r_: {"n": r_.randint(1, 10**9)},
        reference=lambda v: int(str(v["n"])[::-1]),
        edges=[{"n": 1}, {"n": 1000}, {"n": 10**9}, {"n": 12321}],
    )


@family("gcd-lcm", "numbers", 2, op=("greatest common divisor", "least common multiple"))
def gcd_lcm(op: str) -> Shape:
    a, b = ints("a b")
    x, y, t = Var("x"), Var("y"), Var("r")
    euclid = [Let(x, a), Let(y, b), While(y > 0, [Let(t, x % y), Set(x, y), Set(y, t)])]
    result = x if op.startswith("greatest") else a // x * b
    return Shape(
        task=[f"Print the {op} of a and b."],
        input="One line with two integers a and b.",
        output="One integer.",
        constraints="1 <= a, b <= 10000",
        lines=[[a, b]],
        body=[*euclid, out(result)],
        sample=lambda r: {"a": r.randint(1, 10000), "b": r.randint(1, 10000)},
        reference=lambda v: (math.gcd if op.startswith("greatest") else math.lcm)(v["a"], v["b"]),
        edges=[{"a": 1, "b": 1}, {"a": 12, "b": 18}, {"a": 9973, "b": 10000}],
    )
