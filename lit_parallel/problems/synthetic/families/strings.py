"""String transforms and counts over words of lowercase letters."""

from __future__ import annotations

from lit_parallel.problems.synthetic.family import WORD_INPUT, Shape, family, ints, letters, loop, word, yes_no
from lit_parallel.problems.synthetic.ir import For, If, Let, Newline, Set, Var, Write, add, call, char, out

S, K = word(), loop("i")
LENGTH = call("len", S)
TRANSFORMS = {
    "upper": ("the word in upper case", str.upper),
    "reverse": ("the word written backwards", lambda s: s[::-1]),
    "length": ("the number of letters in the word", len),
}


def _word_shape(**kw: object) -> Shape:
    return Shape(input=WORD_INPUT, lines=[[S]], **kw)


@family("word-transform", "strings", op=TRANSFORMS)
def word_transform(op: str) -> Shape:
    words, ref = TRANSFORMS[op]
    expr = {"upper": call("upper", S), "reverse": call("reverse", S), "length": LENGTH}[op]
    return _word_shape(
        task=[f"Print {words}.", f"Read a word and output {words}."],
        output="One line.",
        constraints="1 <= length of s <= 100",
        body=[out(expr)],
        sample=lambda r: {"s": letters(r, 1, 20)},
        reference=lambda v: ref(v["s"]),
        edges=[{"s": "a"}, {"s": "z" * 100}, {"s": "abc"}],
    )


@family("count-letters", "strings", what=("vowels", "consonants", "a", "e", "s"))
def count_letters(what: str) -> Shape:
    c = Var("count")
    if what in ("vowels", "consonants"):
        test = call("inset", "aeiou", S[K])
        words = "vowels (a, e, i, o, u)" if what == "vowels" else "consonants (letters other than a, e, i, o, u)"
        keep = (lambda ch: ch in "aeiou") if what == "vowels" else (lambda ch: ch not in "aeiou")
        step = [If(test, [add(c, 1)])]
    else:
        words, keep, step = f"letters '{what}'", lambda ch: ch == what, [If(S[K].eq(char(what)), [add(c, 1)])]
    result = LENGTH - c if what == "consonants" else c  # consonants: the letters that are not vowels
    return _word_shape(
        task=[f"Count the {words} in the word s.", f"Print how many {words} the given word contains."],
        output="One integer.",
        constraints="1 <= length of s <= 100",
        body=[Let(c, 0), For(K, 0, LENGTH, step), out(result)],
        sample=lambda r: {"s": letters(r, 1, 20, "aeiousbcdt")},
        reference=lambda v: sum(map(keep, v["s"])),
        edges=[{"s": "a"}, {"s": "bcd"}, {"s": "aeiou" * 20}],
    )


@family("char-replace", "strings", 2, pair=(("a", "o"), ("e", "i"), ("s", "z"), ("o", "0")))
def char_replace(pair: tuple[str, str]) -> Shape:
    src, dst = pair
    return _word_shape(
        task=[
            f"Print the word s with every letter '{src}' replaced by '{dst}'.",
            f"Replace each '{src}' in s with '{dst}' and output the result.",
        ],
        output="One word.",
        constraints="1 <= length of s <= 100",
        body=[For(K, 0, LENGTH, [If(S[K].eq(char(src)), [Write(dst)], [Write(S[K])])]), Newline()],
        sample=lambda r: {"s": letters(r, 1, 20, "aeosbcz")},
        reference=lambda v: v["s"].replace(src, dst),
        edges=[{"s": src}, {"s": "bc"}, {"s": src * 100}],
    )


@family("repeat-word", "strings", sep=(" ", "-", ","))
def repeat_word(sep: str) -> Shape:
    s, k = word(), ints("k")[0]
    named = {" ": "a space", "-": "a dash (-)", ",": "a comma (,)"}[sep]
    return Shape(
        task=[f"Print the word s k times on one line, separated by {named}."],
        input="One line with a word s of lowercase letters and an integer k.",
        output="One line.",
        constraints="1 <= length of s <= 10; 1 <= k <= 20",
        lines=[[s, k]],
        body=[For(K, 0, k, [If(K > 0, [Write(sep)]), Write(s)]), Newline()],
        sample=lambda r: {"s": letters(r, 1, 10), "k": r.randint(1, 20)},
        reference=lambda v: sep.join([v["s"]] * v["k"]),
        edges=[{"s": "a", "k": 1}, {"s": "abcdefghij", "k": 20}],
    )


@family("first-last", "strings", what=("first and last", "last and first", "first twice"))
def first_last(what: str) -> Shape:
    first, last = S[0], S[LENGTH - 1]
    items = {"first and last": [first, last], "last and first": [last, first], "first twice": [first, first]}[what]
    words = {
        "first and last": "the first letter and then the last letter",
        "last and first": "the last letter and then the first letter",
        "first twice": "the first letter twice",
    }[what]
    pick = {
        "first and last": lambda s: [s[0], s[-1]],
        "last and first": lambda s: [s[-1], s[0]],
        "first twice": lambda s: [s[0]] * 2,
    }[what]
    return _word_shape(
        task=[f"Print {words} of the word s, separated by a space."],
        output="Two letters separated by a space.",
        constraints="1 <= length of s <= 100",
        body=[out(*items)],
        sample=lambda r: {"s": letters(r, 1, 20)},
        reference=lambda v: " ".join(pick(v["s"])),
        edges=[{"s": "a"}, {"s": "ab"}, {"s": "xyz"}],
    )


@family("two-words", "strings", 2, asked=("longer", "shorter"))
def two_words(asked: str) -> Shape:
    s, t = word("s"), word("t")
    cmp = call("len", s) > call("len", t) if asked == "longer" else call("len", s) < call("len", t)
    return Shape(
        task=[
            f"Two words s and t are given. Print the {asked} one; if they have the same length, print "
            f"the word equal instead."
        ],
        input="Two lines: the word s, then the word t (lowercase letters).",
        output="One word.",
        constraints="1 <= length of s, t <= 20",
        lines=[[s], [t]],
        body=[If(call("len", s).eq(call("len", t)), [out("equal")], [If(cmp, [out(s)], [out(t)])])],
        sample=lambda r: {"s": letters(r, 1, 8), "t": letters(r, 1, 8)},
        reference=lambda v: (
            "equal" if len(v["s"]) == len(v["t"]) else (max if asked == "longer" else min)(v["s"], v["t"], key=len)
        ),
        edges=[{"s": "a", "t": "b"}, {"s": "abc", "t": "z"}, {"s": "x", "t": "yy"}],
    )


@family("palindrome", "strings", 2)
def palindrome() -> Shape:
    ok = Var("ok", "bool")
    return _word_shape(
        task=["Print YES if the word s reads the same forwards and backwards, otherwise print NO."],
        output="YES or NO.",
        constraints="1 <= length of s <= 100",
        body=[
            Let(ok, True),
            For(K, 0, LENGTH, [If(S[K].ne(S[LENGTH - 1 - K]), [Set(ok, False)])]),
            If(ok, [out("YES")], [out("NO")]),
        ],
        sample=lambda r: (lambda w: {"s": w + w[::-1][r.randint(0, 1) :] if r.random() < 0.5 else w})(
            letters(r, 1, 8, "abc")
        ),
        reference=lambda v: yes_no(v["s"] == v["s"][::-1]),
        edges=[{"s": "a"}, {"s": "ab"}, {"s": "abba"}, {"s": "abcba"}],
    )


@family("runs", "strings", 2)
def runs() -> Shape:
    c = Var("count")
    return _word_shape(
        task=[
            "A run is a maximal block of equal neighbouring letters. Print the number of runs in the "
            "word s (for example, aabccc has 3)."
        ],
        output="One integer.",
        constraints="1 <= length of s <= 100",
        body=[Let(c, 1), For(K, 1, LENGTH, [If(S[K].ne(S[K - 1]), [add(c, 1)])]), out(c)],
        sample=lambda r: {"s": letters(r, 1, 15, "ab")},
        reference=lambda v: 1 + sum(x != y for x, y in zip(v["s"], v["s"][1:], strict=False)),
        edges=[{"s": "a"}, {"s": "aaaa"}, {"s": "abab"}],
    )
