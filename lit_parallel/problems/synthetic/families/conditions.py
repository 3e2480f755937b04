"""Conditionals: signs, parity, comparisons, ranges, brackets."""

from __future__ import annotations

from lit_parallel.problems.synthetic.family import Shape, family, ints, yes_no
from lit_parallel.problems.synthetic.ir import If, out

SIGN_WORDS = (("positive", "negative", "zero"), ("POSITIVE", "NEGATIVE", "ZERO"), ("+", "-", "0"))


@family("sign", "conditions", words=SIGN_WORDS)
def sign(words: tuple[str, str, str]) -> Shape:
    (n,) = ints("n")
    pos, neg, zero = words
    return Shape(
        task=[
            f'Print "{pos}" if the integer n is greater than zero, "{neg}" if it is less than zero, '
            f'and "{zero}" if it equals zero.',
            f"Decide the sign of n: output {pos} for a positive number, {neg} for a negative one and {zero} for zero.",
        ],
        input="A single integer n.",
        output=f"One word: {pos}, {neg} or {zero}.",
        constraints="-10^9 <= n <= 10^9",
        lines=[[n]],
        body=[If(n > 0, [out(pos)], [If(n < 0, [out(neg)], [out(zero)])])],
        sample=lambda r: {"n": r.choice([r.randint(-(10**9), 10**9), r.randint(-9, 9)])},
        reference=lambda v: pos if v["n"] > 0 else neg if v["n"] < 0 else zero,
        edges=[{"n": 0}, {"n": 1}, {"n": -1}, {"n": -(10**9)}],
    )


@family("parity", "conditions", asked=("even", "odd"), words=(("YES", "NO"), ("yes", "no")))
def parity(asked: str, words: tuple[str, str]) -> Shape:
    (n,) = ints("n")
    cond = (n % 2).eq(0) if asked == "even" else (n % 2).eq(1)
    return Shape(
        task=[
            f"Check whether the number n is {asked}. Print {words[0]} if it is and {words[1]} otherwise.",
            f"Is n {asked}? Answer {words[0]} or {words[1]}.",
        ],
        input="One integer n.",
        output=f"{words[0]} or {words[1]}.",
        constraints="0 <= n <= 10^9",
        lines=[[n]],
        body=[If(cond, [out(words[0])], [out(words[1])])],
        sample=lambda r: {"n": r.randint(0, 10**9)},
        reference=lambda v: yes_no((v["n"] % 2 == 0) == (asked == "even"), words),
        edges=[{"n": 0}, {"n": 1}, {"n": 10**9}],
    )


@family("divisible", "conditions", k=(3, 4, 5, 6, 7, 9, 11, 13))
def divisible(k: int) -> Shape:
    (n,) = ints("n")
    return Shape(
        task=[
            f"Print YES if n is divisible by {k}, otherwise print NO.",
            f"Determine whether {k} divides the integer n. Output YES or NO.",
        ],
        input="A single integer n.",
        output="YES or NO.",
        constraints="0 <= n <= 10^9",
        lines=[[n]],
        body=[If((n % k).eq(0), [out("YES")], [out("NO")])],
        sample=lambda r: {"n": r.choice([r.randint(0, 10**9), k * r.randint(0, 1000)])},
        reference=lambda v: yes_no(v["n"] % k == 0),
        edges=[{"n": 0}, {"n": k}, {"n": k + 1}, {"n": k * k - 1}],
    )


COMPARE = (("<", ">", "="), ("LESS", "GREATER", "EQUAL"), ("first is smaller", "first is larger", "same"))


@family("compare", "conditions", words=COMPARE)
def compare(words: tuple[str, str, str]) -> Shape:
    a, b = ints("a b")
    less, more, same = words
    return Shape(
        task=[
            f'Compare two integers a and b. Print "{less}" if a < b, "{more}" if a > b and "{same}" if they are equal.'
        ],
        input="One line with two integers a and b.",
        output=f"{less}, {more} or {same}.",
        constraints="-10^9 <= a, b <= 10^9",
        lines=[[a, b]],
        body=[If(a < b, [out(less)], [If(a > b, [out(more)], [out(same)])])],
        sample=lambda r: {"a": r.randint(-100, 100), "b": r.randint(-100, 100)},
        reference=lambda v: less if v["a"] < v["b"] else more if v["a"] > v["b"] else same,
        edges=[{"a": 5, "b": 5}, {"a": -(10**9), "b": 10**9}, {"a": 10**9, "b": -(10**9)}],
    )


@family("in-range", "conditions", bounds=((1, 10), (-5, 5), (18, 65), (100, 200), (0, 0)))
def in_range(bounds: tuple[int, int]) -> Shape:
    (x,) = ints("x")
    lo, hi = bounds
    return Shape(
        task=[
            f"Print YES if {lo} <= x <= {hi}, and NO otherwise.",
            f"Does the integer x lie between {lo} and {hi}, both included? Output YES or NO.",
        ],
        input="A single integer x.",
        output="YES or NO.",
        constraints="-1000 <= x <= 1000",
        lines=[[x]],
        body=[If((x >= lo) & (x <= hi), [out("YES")], [out("NO")])],
        sample=lambda r: {"x": r.randint(lo - 20, hi + 20)},
        reference=lambda v: yes_no(lo <= v["x"] <= hi),
        edges=[{"x": lo}, {"x": hi}, {"x": lo - 1}, {"x": hi + 1}],
    )


@family("grade", "conditions", cuts=((90, 80, 70, 60), (85, 70, 55, 40), (95, 85, 75, 50)))
def grade(cuts: tuple[int, int, int, int]) -> Shape:
    (s,) = ints("s")
    letters = "ABCD"
    rule = "; ".join(f"{g} if the score is at least {c}" for g, c in zip(letters, cuts, strict=True)) + "; F otherwise"
    chain = [out("F")]
    for g, c in reversed(list(zip(letters, cuts, strict=True))):
        chain = [If(s >= c, [out(g)], chain)]
    return Shape(
        task=[
            f"Convert a test score s into a letter grade: {rule}.",
            f"Print the grade for the score s. The grades are: {rule}.",
        ],
        input="One integer s.",
        output="One letter.",
        constraints="0 <= s <= 100",
        lines=[[s]],
        body=chain,
        sample=lambda r: {"s": r.randint(0, 100)},
        reference=lambda v: next((g for g, c in zip(letters, cuts, strict=True) if v["s"] >= c), "F"),
        edges=[{"s": 0}, {"s": 100}, {"s": cuts[0]}, {"s": cuts[3] - 1}],
    )


@family("triangle", "conditions", 2)
def triangle() -> Shape:
    a, b, c = ints("a b c")
    ok = (a + b > c) & (a + c > b) & (b + c > a)
    return Shape(
        task=[
            "Three sticks have lengths a, b and c. Print YES if they form a triangle of positive area, otherwise NO.",
            "Can a triangle with sides a, b and c exist (every side shorter than the sum of the "
            "other two)? Print YES or NO.",
        ],
        input="One line with three integers a, b and c.",
        output="YES or NO.",
        constraints="1 <= a, b, c <= 100",
        lines=[[a, b, c]],
        body=[If(ok, [out("YES")], [out("NO")])],
        sample=lambda r: {k: r.randint(1, 100) for k in "abc"},
        reference=lambda v: yes_no(2 * max(v.values()) < sum(v.values())),
        edges=[
            {"a": 1, "b": 1, "c": 1},
            {"a": 1, "b": 2, "c": 3},
            {"a": 3, "b": 4, "c": 5},
            {"a": 100, "b": 1, "c": 100},
        ],
    )


@family("distinct-three", "conditions", 2)
def distinct_three() -> Shape:
    a, b, c = ints("a b c")
    return Shape(
        task=[
            "Print how many different values there are among the three integers a, b and c.",
            "Three numbers are given. Output the number of distinct values among them (1, 2 or 3).",
        ],
        input="One line with three integers a, b and c.",
        output="One integer.",
        constraints="0 <= a, b, c <= 10",
        lines=[[a, b, c]],
        body=[If(a.eq(b) & b.eq(c), [out(1)], [If(a.eq(b) | b.eq(c) | a.eq(c), [out(2)], [out(3)])])],
        sample=lambda r: {k: r.randint(0, 10) for k in "abc"},
        reference=lambda v: len(set(v.values())),
        edges=[{"a": 1, "b": 1, "c": 1}, {"a": 1, "b": 2, "c": 1}, {"a": 0, "b": 5, "c": 10}],
    )


@family("ticket-price", "conditions", ages=((6, 18), (12, 60), (4, 16)), prices=((0, 5, 10), (2, 7, 12), (1, 3, 8)))
def ticket_price(ages: tuple[int, int], prices: tuple[int, int, int]) -> Shape:
    (age,) = ints("age")
    young, adult = ages
    low, mid, full = prices
    rule = (
        f"children younger than {young} pay {low}, visitors younger than {adult} pay {mid}, everybody else pays {full}"
    )
    return Shape(
        task=[f"A museum ticket costs depending on age: {rule}. Print the price for a visitor of the given age."],
        input="One integer age.",
        output="One integer: the price.",
        constraints="0 <= age <= 120",
        lines=[[age]],
        body=[If(age < young, [out(low)], [If(age < adult, [out(mid)], [out(full)])])],
        sample=lambda r: {"age": r.randint(0, 120)},
        reference=lambda v: low if v["age"] < young else mid if v["age"] < adult else full,
        edges=[{"age": 0}, {"age": young}, {"age": adult - 1}, {"age": adult}],
    )


@family("quadrant", "conditions")
def quadrant() -> Shape:
    x, y = ints("x y")
    return Shape(
        task=[
            "A point (x, y) has non-zero coordinates. Print the number of the quadrant it lies in (1 "
            "to 4, counter-clockwise from x > 0, y > 0)."
        ],
        input="One line with two integers x and y.",
        output="One integer from 1 to 4.",
        constraints="-1000 <= x, y <= 1000; x and y are not 0",
        lines=[[x, y]],
        body=[If(x > 0, [If(y > 0, [out(1)], [out(4)])], [If(y > 0, [out(2)], [out(3)])])],
        sample=lambda r: {"x": r.choice([-1, 1]) * r.randint(1, 1000), "y": r.choice([-1, 1]) * r.randint(1, 1000)},
        reference=lambda v: {(True, True): 1, (False, True): 2, (False, False): 3, (True, False): 4}[
            (v["x"] > 0, v["y"] > 0)
        ],
        edges=[{"x": 1, "y": 1}, {"x": -1, "y": 1}, {"x": -1000, "y": -1000}, {"x": 1000, "y": -1}],
    )


@family("leap-year", "conditions", 2)
def leap_year() -> Shape:
    (y,) = ints("y")
    leap = ((y % 4).eq(0) & (y % 100).ne(0)) | (y % 400).eq(0)
    return Shape(
        task=[
            "Print YES if the year y is a leap year and NO otherwise. A year is a leap year if it is "
            "divisible by 4 but not by 100, or if it is divisible by 400."
        ],
        input="One integer y.",
        output="YES or NO.",
        constraints="1 <= y <= 4000",
        lines=[[y]],
        body=[If(leap, [out("YES")], [out("NO")])],
        sample=lambda r: {"y": r.choice([r.randint(1, 4000), 4 * r.randint(1, 1000)])},
        reference=lambda v: yes_no((v["y"] % 4 == 0 and v["y"] % 100 != 0) or v["y"] % 400 == 0),
        edges=[{"y": 1900}, {"y": 2000}, {"y": 2024}, {"y": 2023}],
    )
