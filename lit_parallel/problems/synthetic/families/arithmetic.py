"""Arithmetic on a few numbers, and simple formatting of several values."""

from __future__ import annotations

import itertools

from lit_parallel.problems.synthetic.family import Shape, family, ints
from lit_parallel.problems.synthetic.ir import Let, Var, call, out

PAIR = {
    "sum": (["Print the sum of a and b.", "Compute a + b and print it.", "Output the value of a plus b."], "+"),
    "difference": (["Print a - b.", "Subtract b from a and print the result.", "Output the difference a - b."], "-"),
    "product": (["Print the product of a and b.", "Multiply a by b and output the result."], "*"),
    "maximum": (["Print the larger of the two numbers.", "Output the maximum of a and b."], "max"),
    "minimum": (["Print the smaller of the two numbers.", "Output the minimum of a and b."], "min"),
    "distance": (
        ["Print the absolute difference |a - b|.", "Output how far apart a and b are, that is |a - b|."],
        "abs",
    ),
}


def _apply(op: str, x: object, y: object) -> object:
    return {
        "+": lambda: x + y,
        "-": lambda: x - y,
        "*": lambda: x * y,
        "max": lambda: call("max", x, y) if isinstance(x, Var) else max(x, y),
        "min": lambda: call("min", x, y) if isinstance(x, Var) else min(x, y),
        "abs": lambda: call("abs", x - y) if isinstance(x, Var) else abs(x - y),
    }[op]()


@family("pair-op", "arithmetic", op=PAIR)
def pair_op(op: str) -> Shape:
    a, b = ints("a b")
    sentences, symbol = PAIR[op]
    return Shape(
        task=[f"You are given two integers a and b. {s}" for s in sentences],
        input="A single line containing two integers a and b separated by a space.",
        output="Print one integer.",
        constraints="-1000 <= a, b <= 1000",
        lines=[[a, b]],
        body=[out(_apply(symbol, a, b))],
        sample=lambda r: {"a": r.randint(-1000, 1000), "b": r.randint(-1000, 1000)},
        reference=lambda v: _apply(symbol, v["a"], v["b"]),
        edges=[{"a": 0, "b": 0}, {"a": -1000, "b": 1000}, {"a": 1000, "b": 1000}],
    )


TRIPLE = {
    "sum": "the sum a + b + c",
    "product": "the product a * b * c",
    "largest": "the largest of the three numbers",
    "smallest": "the smallest of the three numbers",
    "spread": "the difference between the largest and the smallest of them",
}


@family("triple-op", "arithmetic", op=TRIPLE)
def triple_op(op: str) -> Shape:
    a, b, c = ints("a b c")
    big, small = call("max", a, call("max", b, c)), call("min", a, call("min", b, c))
    expr = {"sum": a + b + c, "product": a * b * c, "largest": big, "smallest": small, "spread": big - small}[op]

    def reference(v: dict) -> int:
        x = [v["a"], v["b"], v["c"]]
        return {"sum": sum(x), "product": x[0] * x[1] * x[2], "largest": max(x), "smallest": min(x)}.get(
            op, max(x) - min(x)
        )

    return Shape(
        task=[f"Three integers a, b and c are given. Print {TRIPLE[op]}.", f"Read a, b and c and output {TRIPLE[op]}."],
        input="One line with three integers a, b and c.",
        output="A single integer.",
        constraints="-100 <= a, b, c <= 100",
        lines=[[a, b, c]],
        body=[out(expr)],
        sample=lambda r: {k: r.randint(-100, 100) for k in "abc"},
        reference=reference,
        edges=[{"a": 0, "b": 0, "c": 0}, {"a": -100, "b": 100, "c": -100}, {"a": 7, "b": 7, "c": 7}],
    )


@family("linear", "arithmetic", k=(2, 3, 4, 5, 7, 10), c=(-7, -3, 1, 5, 12))
def linear(k: int, c: int) -> Shape:
    (x,) = ints("x")
    step = f"add {c}" if c > 0 else f"subtract {-c}"
    return Shape(
        task=[
            f"Read an integer x, multiply it by {k}, then {step}. Print the result.",
            f"Print the value of {k}*x {'+' if c > 0 else '-'} {abs(c)}.",
        ],
        input="A single integer x.",
        output="One integer: the result.",
        constraints="-10000 <= x <= 10000",
        lines=[[x]],
        body=[out(x * k + c)],
        sample=lambda r: {"x": r.randint(-10000, 10000)},
        reference=lambda v: v["x"] * k + c,
        edges=[{"x": 0}, {"x": -10000}, {"x": 10000}],
    )


@family("div-mod", "arithmetic", what=("quotient", "remainder", "both"))
def div_mod(what: str) -> Shape:
    a, b = ints("a b")
    asked = {
        "quotient": "Print the integer quotient of a divided by b (rounded down).",
        "remainder": "Print the remainder of a divided by b.",
        "both": "Print the quotient (rounded down) and the remainder of a divided by b, separated by a space.",
    }[what]
    items = {"quotient": [a // b], "remainder": [a % b], "both": [a // b, a % b]}[what]
    return Shape(
        task=[f"You are given two integers a and b. {asked}", f"Divide a by b. {asked}"],
        input="A single line with two integers a and b.",
        output="The requested value(s) on one line.",
        constraints="0 <= a <= 1000000; 1 <= b <= 1000",
        lines=[[a, b]],
        body=[out(*items)],
        sample=lambda r: {"a": r.randint(0, 10**6), "b": r.randint(1, 1000)},
        reference=lambda v: " ".join(
            str(x)
            for x in {"quotient": [v["a"] // v["b"]], "remainder": [v["a"] % v["b"]]}.get(what, divmod(v["a"], v["b"]))
        ),
        edges=[{"a": 0, "b": 1}, {"a": 7, "b": 7}, {"a": 1000000, "b": 1000}, {"a": 5, "b": 9}],
    )


@family("power", "arithmetic", p=(2, 3))
def power(p: int) -> Shape:
    (n,) = ints("n")
    name = {2: "square", 3: "cube"}[p]
    return Shape(
        task=[f"Print the {name} of the integer n.", f"Given n, output n raised to the power {p}."],
        input="One integer n.",
        output=f"One integer: n^{p}.",
        constraints="-1000 <= n <= 1000",
        lines=[[n]],
        body=[out(n * n if p == 2 else n * n * n)],
        sample=lambda r: {"n": r.randint(-1000, 1000)},
        reference=lambda v: v["n"] ** p,
        edges=[{"n": 0}, {"n": -1000}, {"n": 1}],
    )


@family("rectangle", "arithmetic", what=("area", "perimeter", "both"))
def rectangle(what: str) -> Shape:
    w, h = ints("w h")
    asked = {
        "area": "its area",
        "perimeter": "its perimeter",
        "both": "its area and its perimeter, separated by a space",
    }
    items = {"area": [w * h], "perimeter": [2 * (w + h)], "both": [w * h, 2 * (w + h)]}[what]
    return Shape(
        task=[
            f"A rectangle has width w and height h. Print {asked[what]}.",
            f"Given the sides w and h of a rectangle, output {asked[what]}.",
        ],
        input="One line with two integers w and h.",
        output="The requested value(s) on one line.",
        constraints="1 <= w, h <= 1000",
        lines=[[w, h]],
        body=[out(*items)],
        sample=lambda r: {"w": r.randint(1, 1000), "h": r.randint(1, 1000)},
        reference=lambda v: " ".join(
            str(x)
            for x in {"area": [v["w"] * v["h"]], "perimeter": [2 * (v["w"] + v["h"])]}.get(
                what, [v["w"] * v["h"], 2 * (v["w"] + v["h"])]
            )
        ),
        edges=[{"w": 1, "h": 1}, {"w": 1000, "h": 1000}, {"w": 1, "h": 1000}],
    )


@family("time-split", "arithmetic", unit=("minutes", "seconds"))
def time_split(unit: str) -> Shape:
    (t,) = ints("t")
    if unit == "minutes":
        asked, items = (
            "Print the number of full hours and the remaining minutes, separated by a space.",
            [t // 60, t % 60],
        )
    else:
        asked = "Print the number of full hours, the remaining minutes and the remaining seconds, separated by spaces."
        items = [t // 3600, t % 3600 // 60, t % 60]
    return Shape(
        task=[f"A duration of t {unit} is given. {asked}", f"Convert t {unit} into hours and smaller units. {asked}"],
        input=f"One integer t, the duration in {unit}.",
        output="The numbers on one line.",
        constraints="0 <= t <= 1000000",
        lines=[[t]],
        body=[out(*items)],
        sample=lambda r: {"t": r.randint(0, 10**6)},
        reference=lambda v: (
            f"{v['t'] // 60} {v['t'] % 60}"
            if unit == "minutes"
            else f"{v['t'] // 3600} {v['t'] % 3600 // 60} {v['t'] % 60}"
        ),
        edges=[{"t": 0}, {"t": 59}, {"t": 3600}, {"t": 1000000}],
    )


CONTAINERS = {"bus": ("buses", "passengers"), "box": ("boxes", "apples"), "table": ("tables", "guests")}


@family("ceil-div", "arithmetic", k=(3, 4, 5, 8, 10, 12), thing=tuple(CONTAINERS))
def ceil_div(k: int, thing: str) -> Shape:
    (n,) = ints("n")
    things, what = CONTAINERS[thing]
    return Shape(
        task=[
            f"One {thing} holds at most {k} {what}. How many {things} are needed for n {what}?",
            f"There are n {what} and each {thing} takes {k} of them. "
            f"Print the smallest number of {things} that hold all of them.",
        ],
        input=f"One integer n, the number of {what}.",
        output="One integer.",
        constraints="0 <= n <= 1000000",
        lines=[[n]],
        body=[out((n + (k - 1)) // k)],
        sample=lambda r: {"n": r.randint(0, 10**6)},
        reference=lambda v: -(-v["n"] // k),
        edges=[{"n": 0}, {"n": 1}, {"n": k}, {"n": k + 1}],
    )


UNITS = {
    "kilometres to metres": 1000,
    "hours to minutes": 60,
    "days to hours": 24,
    "weeks to days": 7,
    "feet to inches": 12,
    "minutes to seconds": 60,
}


@family("unit-convert", "arithmetic", unit=UNITS)
def unit_convert(unit: str) -> Shape:
    (x,) = ints("x")
    src, dst = unit.split(" to ")
    return Shape(
        task=[
            f"Convert x {src} to {dst}. Print the result.",
            f"How many {dst} are there in x {src}? Print the number.",
        ],
        input=f"One integer x, an amount in {src}.",
        output=f"One integer: the amount in {dst}.",
        constraints="0 <= x <= 100000",
        lines=[[x]],
        body=[out(x * UNITS[unit])],
        sample=lambda r: {"x": r.randint(0, 10**5)},
        reference=lambda v: v["x"] * UNITS[unit],
        edges=[{"x": 0}, {"x": 1}, {"x": 100000}],
    )


ORDERS = tuple(" ".join(p) for p in itertools.permutations("abc") if p != ("a", "b", "c"))


@family("reorder", "formatting", order=ORDERS)
def reorder(order: str) -> Shape:
    a, b, c = ints("a b c")
    by_name = {"a": a, "b": b, "c": c}
    names = order.split()
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return Shape(
        task=[
            f"Read three integers a, b and c and print them in the order {listed}.",
            f"You are given a, b and c. Output {listed}, in this order, separated by spaces.",
        ],
        input="One line with three integers a, b and c.",
        output="Three integers separated by spaces.",
        constraints="-1000 <= a, b, c <= 1000",
        lines=[[a, b, c]],
        body=[out(*(by_name[x] for x in names))],
        sample=lambda r: {k: r.randint(-1000, 1000) for k in "abc"},
        reference=lambda v: " ".join(str(v[x]) for x in names),
        edges=[{"a": 1, "b": 2, "c": 3}, {"a": 0, "b": 0, "c": 0}, {"a": -1000, "b": 1000, "c": 5}],
    )


LINES = {"sum and product": ("+", "*"), "sum and difference": ("+", "-"), "maximum and minimum": ("max", "min")}


@family("two-lines", "formatting", pair=LINES)
def two_lines(pair: str) -> Shape:
    a, b = ints("a b")
    first, second = LINES[pair]
    one, two = pair.split(" and ")
    d = " a - b" if two == "difference" else ""
    return Shape(
        task=[
            f"Given two integers a and b, print their {one} on the first line and their {two}{d} on the second line."
        ],
        input="One line with two integers a and b.",
        output=f"Two lines: the {one}, then the {two}.",
        constraints="-1000 <= a, b <= 1000",
        lines=[[a, b]],
        body=[out(_apply(first, a, b)), out(_apply(second, a, b))],
        sample=lambda r: {"a": r.randint(-1000, 1000), "b": r.randint(-1000, 1000)},
        reference=lambda v: [_apply(first, v["a"], v["b"]), _apply(second, v["a"], v["b"])],
        edges=[{"a": 0, "b": 0}, {"a": 1000, "b": -1000}],
    )


@family("floor-mean", "arithmetic", count=(2, 3, 4))
def floor_mean(count: int) -> Shape:
    xs = ints("a b c d")[:count]
    names = "abcd"[:count]
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return Shape(
        task=[
            f"Print the average of the {count} given numbers, rounded down to an integer.",
            f"Compute the integer part of the mean of {count} non-negative integers.",
        ],
        input=f"One line with {count} integers.",
        output="One integer.",
        constraints="0 <= each number <= 1000",
        lines=[xs],
        body=[Let(Var("total"), total), out(Var("total") // count)],
        sample=lambda r: {k: r.randint(0, 1000) for k in names},
        reference=lambda v: sum(v[k] for k in names) // count,
        edges=[{k: 0 for k in names}, {k: 1000 for k in names}, {k: i for i, k in enumerate(names)}],
    )
