"""Aggregates over one list of integers: sums, extremes, counts, maps and checks."""

from __future__ import annotations

from lit_parallel.problems.synthetic.family import LIST_INPUT, Shape, family, int_list, ints, loop, sized, yes_no
from lit_parallel.problems.synthetic.ir import For, If, Let, Newline, Set, Var, Write, add, call, out

COUNTS = {"a": "n"}


N, A, K = ints("n")[0], int_list(), loop()


def _list_shape(**kw: object) -> Shape:
    """A Shape whose input is ``n`` and then the list ``a``."""
    return Shape(input=LIST_INPUT, lines=[[N], [A]], counts=COUNTS, **kw)


@family("list-aggregate", "lists", op=("sum", "maximum", "minimum", "range"))
def list_aggregate(op: str) -> Shape:
    total = Var("total")
    if op == "sum":
        body = [Let(total, 0), For(K, 0, N, [add(total, A[K])]), out(total)]
    else:
        hi, lo = Var("hi"), Var("lo")
        body = [Let(hi, A[0]), Let(lo, A[0])]
        body.append(For(K, 1, N, [If(A[K] > hi, [Set(hi, A[K])]), If(A[K] < lo, [Set(lo, A[K])])]))
        body.append(out({"maximum": hi, "minimum": lo, "range": hi - lo}[op]))
    phrase = {
        "sum": "the sum of all elements",
        "maximum": "the largest element",
        "minimum": "the smallest element",
        "range": "the difference between the largest and the smallest element",
    }[op]
    return _list_shape(
        task=[f"You are given a list of n integers. Print {phrase}.", f"Read n numbers and output {phrase}."],
        output="One integer.",
        constraints="1 <= n <= 100; -1000 <= a_i <= 1000",
        body=body,
        sample=lambda r: sized(r, -1000, 1000, 20),
        reference=lambda v: {"sum": sum, "maximum": max, "minimum": min}.get(op, lambda x: max(x) - min(x))(v["a"]),
        edges=[{"n": 1, "a": [5]}, {"n": 3, "a": [-1000, -1000, -1000]}, {"n": 4, "a": [1000, -1000, 0, 7]}],
    )


PREDICATES = {
    "positive": ("greater than zero", lambda x: x > 0),
    "negative": ("less than zero", lambda x: x < 0),
    "zero": ("equal to zero", lambda x: x.eq(0) if not isinstance(x, int) else x == 0),
    "even": ("even", lambda x: (x % 2).eq(0) if not isinstance(x, int) else x % 2 == 0),
    "odd": ("odd", lambda x: (x % 2).eq(1) if not isinstance(x, int) else x % 2 == 1),
    "above 10": ("greater than 10", lambda x: x > 10),
    "multiple of 3": ("divisible by 3", lambda x: (x % 3).eq(0) if not isinstance(x, int) else x % 3 == 0),
}
MODULAR = {"even", "odd", "multiple of 3"}
"""Predicates that take a remainder: their lists hold no negative numbers (languages disagree there)."""


def _pred_sample(pred: str) -> tuple[int, int]:
    return (0, 100) if pred in MODULAR else (-20, 20)


@family("count-if", "lists", pred=PREDICATES)
def count_if(pred: str) -> Shape:
    words, test = PREDICATES[pred]
    c = Var("count")
    lo, hi = _pred_sample(pred)
    return _list_shape(
        task=[
            f"Count how many elements of the list are {words}.",
            f"Given n integers, print the number of them that are {words}.",
        ],
        output="One integer: the count.",
        constraints=f"1 <= n <= 100; {lo} <= a_i <= {hi}",
        body=[Let(c, 0), For(K, 0, N, [If(test(A[K]), [add(c, 1)])]), out(c)],
        sample=lambda r: sized(r, lo, hi, 20),
        reference=lambda v: sum(1 for x in v["a"] if test(x)),
        edges=[{"n": 1, "a": [0]}, {"n": 3, "a": [hi, hi, hi]}, {"n": 2, "a": [lo, 1]}],
    )


@family("sum-if", "lists", pred=("positive", "negative", "even", "odd", "above 10"))
def sum_if(pred: str) -> Shape:
    words, test = PREDICATES[pred]
    s = Var("total")
    lo, hi = _pred_sample(pred)
    return _list_shape(
        task=[
            f"Print the sum of the elements of the list that are {words} (0 if there are none).",
            f"Add up only those of the n numbers that are {words}, and output the total.",
        ],
        output="One integer.",
        constraints=f"1 <= n <= 100; {lo} <= a_i <= {hi}",
        body=[Let(s, 0), For(K, 0, N, [If(test(A[K]), [add(s, A[K])])]), out(s)],
        sample=lambda r: sized(r, lo, hi, 20),
        reference=lambda v: sum(x for x in v["a"] if test(x)),
        edges=[{"n": 1, "a": [0]}, {"n": 2, "a": [lo, lo]}, {"n": 3, "a": [hi, 1, 2]}],
    )


@family("extreme-index", "lists", 2, which=("first maximum", "last maximum", "first minimum", "last minimum"))
def extreme_index(which: str) -> Shape:
    order, kind = which.split()
    best = Var("best")
    better = (A[K] > A[best]) if kind == "maximum" else (A[K] < A[best])
    if order == "last":
        better = (A[K] >= A[best]) if kind == "maximum" else (A[K] <= A[best])

    def reference(v: dict) -> int:
        a = v["a"]
        target = max(a) if kind == "maximum" else min(a)
        idx = [i for i, x in enumerate(a) if x == target]
        return (idx[0] if order == "first" else idx[-1]) + 1

    return _list_shape(
        task=[
            f"Print the position (counting from 1) of the {order} occurrence of the {kind} of the list.",
            f"Find the {kind} value in the list and output the 1-based index of its {order} occurrence.",
        ],
        output="One integer: a position from 1 to n.",
        constraints="1 <= n <= 100; -100 <= a_i <= 100",
        body=[Let(best, 0), For(K, 1, N, [If(better, [Set(best, K)])]), out(best + 1)],
        sample=lambda r: sized(r, -5, 5, 12),
        reference=reference,
        edges=[{"n": 1, "a": [3]}, {"n": 4, "a": [2, 2, 2, 2]}, {"n": 5, "a": [1, 9, -9, 9, -9]}],
    )


@family("count-equal", "lists")
def count_equal() -> Shape:
    n, x = ints("n x")
    c = Var("count")
    return Shape(
        task=[
            "Print how many elements of the list are equal to x.",
            "Count the occurrences of the number x in the list.",
        ],
        input="The first line contains two integers n and x. The second line contains n integers a_1, ..., a_n.",
        output="One integer.",
        constraints="1 <= n <= 100; 0 <= x, a_i <= 9",
        lines=[[n, x], [A]],
        counts=COUNTS,
        body=[Let(c, 0), For(K, 0, n, [If(A[K].eq(x), [add(c, 1)])]), out(c)],
        sample=lambda r: {**sized(r, 0, 9, 20), "x": r.randint(0, 9)},
        reference=lambda v: v["a"].count(v["x"]),
        edges=[{"n": 1, "x": 0, "a": [0]}, {"n": 3, "x": 5, "a": [1, 2, 3]}, {"n": 4, "x": 9, "a": [9, 9, 9, 9]}],
    )


MAPS = {
    "doubled": ("twice each element", lambda x: x * 2),
    "squared": ("the square of each element", lambda x: x * x),
    "negated": ("each element with its sign changed", lambda x: 0 - x),
    "plus 5": ("each element increased by 5", lambda x: x + 5),
    "absolute": ("the absolute value of each element", None),
}


def _write_all(item: object) -> list:
    """Statements that print ``item`` for each i on one line, separated by spaces."""
    return [For(K, 0, N, [If(K > 0, [Write(" ")]), Write(item)]), Newline()]


@family("list-map", "lists", 2, op=MAPS)
def list_map(op: str) -> Shape:
    words, f = MAPS[op]
    item = call("abs", A[K]) if f is None else f(A[K])
    return _list_shape(
        task=[f"Print {words} of the list, in the same order, on one line separated by spaces."],
        output="n integers separated by spaces.",
        constraints="1 <= n <= 100; -1000 <= a_i <= 1000",
        body=_write_all(item),
        sample=lambda r: sized(r, -1000, 1000, 15),
        reference=lambda v: " ".join(str(abs(x) if f is None else f(x)) for x in v["a"]),
        edges=[{"n": 1, "a": [0]}, {"n": 3, "a": [-1000, 1000, -1]}],
    )


@family("list-select", "lists", 2, which=("reverse", "odd positions", "even positions"))
def list_select(which: str) -> Shape:
    if which == "reverse":
        body, phrase = _write_all(A[N - 1 - K]), "the elements of the list in reverse order"
        ref = lambda a: a[::-1]  # noqa: E731
    else:
        first = 0 if which == "odd positions" else 1
        sep = Var("sep", "str")
        pick = [Write(sep), Write(A[K]), Set(sep, " ")]
        body = [Let(sep, ""), For(K, 0, N, [If((K % 2).eq(first), pick)]), Newline()]
        phrase = f"the elements at the {which.split()[0]} positions (1st, 3rd, ... for odd; 2nd, 4th, ... for even)"
        ref = lambda a: a[first::2]  # noqa: E731
    return _list_shape(
        task=[f"Print {phrase}, on one line separated by spaces."],
        output="The selected integers separated by spaces.",
        constraints="2 <= n <= 100; -1000 <= a_i <= 1000",
        body=body,
        sample=lambda r: sized(r, -1000, 1000, 15, 2),
        reference=lambda v: " ".join(map(str, ref(v["a"]))),
        edges=[{"n": 2, "a": [1, 2]}, {"n": 3, "a": [0, -5, 5]}],
    )


@family("is-sorted", "lists", order=("non-decreasing", "strictly increasing", "non-increasing"))
def is_sorted(order: str) -> Shape:
    ok = Var("ok", "bool")
    bad = {
        "non-decreasing": A[K] < A[K - 1],
        "strictly increasing": A[K] <= A[K - 1],
        "non-increasing": A[K] > A[K - 1],
    }[order]
    check = {
        "non-decreasing": lambda x, y: x <= y,
        "strictly increasing": lambda x, y: x < y,
        "non-increasing": lambda x, y: x >= y,
    }[order]
    return _list_shape(
        task=[
            f"Print YES if the list is in {order} order, and NO otherwise.",
            f"Check whether the n numbers are sorted in {order} order. Answer YES or NO.",
        ],
        output="YES or NO.",
        constraints="1 <= n <= 100; -100 <= a_i <= 100",
        body=[Let(ok, True), For(K, 1, N, [If(bad, [Set(ok, False)])]), If(ok, [out("YES")], [out("NO")])],
        sample=lambda r: (
            lambda v: {
                "n": v["n"],
                "a": sorted(v["a"], reverse=order == "non-increasing") if r.random() < 0.5 else v["a"],
            }
        )(sized(r, -3, 3, 8)),
        reference=lambda v: yes_no(all(check(x, y) for x, y in zip(v["a"], v["a"][1:], strict=False))),
        edges=[{"n": 1, "a": [7]}, {"n": 3, "a": [2, 2, 2]}, {"n": 3, "a": [1, 2, 3]}, {"n": 3, "a": [3, 2, 1]}],
    )


@family("adjacent-pairs", "lists", 2, rel=("equal", "increasing", "decreasing"))
def adjacent_pairs(rel: str) -> Shape:
    c = Var("count")
    test = {"equal": A[K].eq(A[K - 1]), "increasing": A[K] > A[K - 1], "decreasing": A[K] < A[K - 1]}[rel]
    words = {
        "equal": "two neighbours are equal",
        "increasing": "the second is larger than the first",
        "decreasing": "the second is smaller than the first",
    }[rel]
    check = {"equal": lambda x, y: x == y, "increasing": lambda x, y: y > x, "decreasing": lambda x, y: y < x}[rel]
    return _list_shape(
        task=[f"Count the positions i (1 <= i < n) where, for the pair a_i, a_(i+1), {words}."],
        output="One integer.",
        constraints="1 <= n <= 100; 0 <= a_i <= 9",
        body=[Let(c, 0), For(K, 1, N, [If(test, [add(c, 1)])]), out(c)],
        sample=lambda r: sized(r, 0, 4, 15),
        reference=lambda v: sum(check(x, y) for x, y in zip(v["a"], v["a"][1:], strict=False)),
        edges=[{"n": 1, "a": [1]}, {"n": 4, "a": [3, 3, 3, 3]}, {"n": 4, "a": [1, 2, 3, 4]}],
    )


@family("list-sum-kinds", "lists", kind=("squares", "alternating", "absolute values"))
def list_sum_kinds(kind: str) -> Shape:
    s = Var("total")
    if kind == "alternating":
        step = [If((K % 2).eq(0), [add(s, A[K])], [Set(s, s - A[K])])]
        words, ref = (
            "the alternating sum a_1 - a_2 + a_3 - a_4 + ...",
            lambda a: sum(x if i % 2 == 0 else -x for i, x in enumerate(a)),
        )
    elif kind == "squares":
        step, words, ref = (
            [add(s, A[K] * A[K])],
            "the sum of the squares of the elements",
            lambda a: sum(x * x for x in a),
        )
    else:
        step, words, ref = (
            [add(s, call("abs", A[K]))],
            "the sum of the absolute values of the elements",
            lambda a: sum(map(abs, a)),
        )
    return _list_shape(
        task=[f"Print {words}.", f"For the given list, output {words}."],
        output="One integer.",
        constraints="1 <= n <= 100; -100 <= a_i <= 100",
        body=[Let(s, 0), For(K, 0, N, step), out(s)],
        sample=lambda r: sized(r, -100, 100, 15),
        reference=lambda v: ref(v["a"]),
        edges=[{"n": 1, "a": [-100]}, {"n": 2, "a": [0, 0]}, {"n": 3, "a": [100, 100, 100]}],
    )


@family("prefix-sums", "lists", 2)
def prefix_sums() -> Shape:
    s = Var("total")
    return _list_shape(
        task=[
            "Print the running totals of the list: the i-th number printed is a_1 + a_2 + ... + a_i. "
            "Separate them by spaces."
        ],
        output="n integers on one line.",
        constraints="1 <= n <= 100; -1000 <= a_i <= 1000",
        body=[Let(s, 0), For(K, 0, N, [add(s, A[K]), If(K > 0, [Write(" ")]), Write(s)]), Newline()],
        sample=lambda r: sized(r, -1000, 1000, 15),
        reference=lambda v: " ".join(str(sum(v["a"][: i + 1])) for i in range(v["n"])),
        edges=[{"n": 1, "a": [0]}, {"n": 3, "a": [1000, -1000, 1000]}],
    )


@family("above-average", "lists", 2)
def above_average() -> Shape:
    s, c = Var("total"), Var("count")
    return _list_shape(
        task=["Count how many elements of the list are strictly greater than the average of all elements."],
        output="One integer.",
        constraints="1 <= n <= 100; 0 <= a_i <= 1000",
        body=[
            Let(s, 0),
            For(K, 0, N, [add(s, A[K])]),
            Let(c, 0),
            For(K, 0, N, [If(A[K] * N > s, [add(c, 1)])]),
            out(c),
        ],
        sample=lambda r: sized(r, 0, 1000, 15),
        reference=lambda v: sum(1 for x in v["a"] if x * v["n"] > sum(v["a"])),
        edges=[{"n": 1, "a": [5]}, {"n": 3, "a": [4, 4, 4]}, {"n": 2, "a": [0, 1000]}],
    )
