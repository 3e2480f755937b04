"""A tiny imperative language in which every family's solution is written once.

Backends (:mod:`.backends`) turn a :class:`Solution` into a program in each target language, so a
family is one small spec instead of ten hand-written programs. The language has what trivial to easy
stdin/stdout problems need and no more: integers, words, characters, one input list; assignments,
counted and while loops, if/elif/else, printing. Operands of ``//`` and ``%`` are never negative in
any family, so every language's integer division and remainder agree.

Expressions are built with Python operators (``a + b``, ``a < b``, ``a & b`` for "and"), plus
:meth:`Expr.eq` / :meth:`Expr.ne` (``==`` stays identity) and :func:`call` for the built-in functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

INT, STR, CHAR, BOOL, LIST = "int", "str", "char", "bool", "list"

CALLS: dict[str, str] = {
    "abs": INT,
    "min": INT,
    "max": INT,
    "len": INT,
    "upper": STR,
    "lower": STR,
    "reverse": STR,
    "repeat": STR,  # repeat(one-character literal, count)
    "inset": BOOL,  # inset(literal of characters, char)
}
"""Built-in functions and the type they return."""

PRECEDENCE = {"or": 1, "and": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4, "-": 4}
PRECEDENCE |= {"*": 5, "//": 5, "%": 5}
ATOM = 100


class Expr:
    """An expression; ``type`` is one of INT, STR, CHAR, BOOL, LIST."""

    type: str

    def __add__(self, other: object) -> Expr:
        return Bin("+", self, lift(other))

    def __radd__(self, other: object) -> Expr:
        return Bin("+", lift(other), self)

    def __sub__(self, other: object) -> Expr:
        return Bin("-", self, lift(other))

    def __rsub__(self, other: object) -> Expr:
        return Bin("-", lift(other), self)

    def __mul__(self, other: object) -> Expr:
        return Bin("*", self, lift(other))

    def __rmul__(self, other: object) -> Expr:
        return Bin("*", lift(other), self)

    def __floordiv__(self, other: object) -> Expr:
        return Bin("//", self, lift(other))

    def __mod__(self, other: object) -> Expr:
        return Bin("%", self, lift(other))

    def __lt__(self, other: object) -> Expr:
        return Bin("<", self, lift(other))

    def __le__(self, other: object) -> Expr:
        return Bin("<=", self, lift(other))

    def __gt__(self, other: object) -> Expr:
        return Bin(">", self, lift(other))

    def __ge__(self, other: object) -> Expr:
        return Bin(">=", self, lift(other))

    def __and__(self, other: object) -> Expr:
        return Bin("and", self, lift(other))

    def __or__(self, other: object) -> Expr:
        return Bin("or", self, lift(other))

    def eq(self, other: object) -> Expr:
        return Bin("==", self, lift(other))

    def ne(self, other: object) -> Expr:
        return Bin("!=", self, lift(other))

    def __getitem__(self, index: object) -> Expr:
        return At(self, lift(index))


@dataclass(eq=False)
class Var(Expr):
    name: str
    type: str = INT


@dataclass(eq=False)
class Lit(Expr):
    value: int | str | bool
    type: str = INT


@dataclass(eq=False)
class Bin(Expr):
    op: str
    left: Expr
    right: Expr

    @property
    def type(self) -> str:
        return INT if PRECEDENCE[self.op] >= 4 else BOOL


@dataclass(eq=False)
class At(Expr):
    """``seq[index]``: an int of the input list, or a char of a word."""

    seq: Expr
    index: Expr

    @property
    def type(self) -> str:
        return INT if self.seq.type == LIST else CHAR


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]

    @property
    def type(self) -> str:
        return CALLS[self.name]


def lift(value: object) -> Expr:
    """An Expr for a Python int, bool or str (strings are STR literals; see :func:`char`)."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        return Lit(value, BOOL)
    if isinstance(value, int):
        return Lit(value, INT)
    if isinstance(value, str):
        return Lit(value, STR)
    raise TypeError(f"not an expression: {value!r}")


def char(c: str) -> Lit:
    """A character literal (compared with a char of a word)."""
    return Lit(c, CHAR)


def call(name: str, *args: object) -> Call:
    if name not in CALLS:
        raise ValueError(f"unknown built-in {name!r}")
    return Call(name, tuple(lift(a) for a in args))


# Statements.
@dataclass(eq=False)
class Let:
    """Declare a mutable variable with its first value."""

    var: Var
    value: Expr

    def __post_init__(self) -> None:
        self.value = lift(self.value)


@dataclass(eq=False)
class Set:
    var: Var
    value: Expr

    def __post_init__(self) -> None:
        self.value = lift(self.value)


@dataclass(eq=False)
class For:
    """``for var in range(start, stop)``."""

    var: Var
    start: Expr
    stop: Expr
    body: list

    def __post_init__(self) -> None:
        self.start, self.stop = lift(self.start), lift(self.stop)


@dataclass(eq=False)
class While:
    cond: Expr
    body: list


@dataclass(eq=False)
class If:
    cond: Expr
    then: list
    orelse: list = field(default_factory=list)
    """A single If here is written as elif / else if."""


@dataclass(eq=False)
class Print:
    """The items separated by single spaces, then a newline."""

    items: tuple[Expr, ...]


@dataclass(eq=False)
class Write:
    """One item, no newline."""

    item: Expr

    def __post_init__(self) -> None:
        self.item = lift(self.item)


@dataclass(eq=False)
class Newline:
    pass


Stmt = Let | Set | For | While | If | Print | Write | Newline


def out(*items: object) -> Print:
    return Print(tuple(lift(i) for i in items))


def add(var: Var, value: object) -> Set:
    return Set(var, var + lift(value))


@dataclass(frozen=True)
class Field:
    """One input variable: an int, a word, or a list of ints whose length is the int ``count``."""

    var: Var
    count: Var | None = None


@dataclass
class Solution:
    """A whole program: its input lines (fields, in reading order) and the statements after reading."""

    lines: list[list[Field]]
    body: list

    @property
    def fields(self) -> list[Field]:
        return [f for line in self.lines for f in line]

    @cached_property
    def calls(self) -> set[str]:
        """The built-ins the body calls (every backend asks: walked once)."""
        return {n.name for n in walk(self.body) if isinstance(n, Call)}

    @cached_property
    def names(self) -> set[str]:
        """The variables the body mentions."""
        return {n.name for n in walk(self.body) if isinstance(n, Var)}


CHILDREN = {
    list: lambda n: n,
    tuple: lambda n: n,
    Bin: lambda n: (n.left, n.right),
    At: lambda n: (n.seq, n.index),
    Call: lambda n: n.args,
    Let: lambda n: (n.var, n.value),
    Set: lambda n: (n.var, n.value),
    For: lambda n: (n.start, n.stop, n.body),
    While: lambda n: (n.cond, n.body),
    If: lambda n: (n.cond, n.then, n.orelse),
    Print: lambda n: n.items,
    Write: lambda n: (n.item,),
}
"""The statements, expressions and lists of them directly below a node, by the node's type."""


def walk(node: object) -> list:
    """Every node below ``node`` (statements, expressions and lists of them), ``node`` first."""
    nodes, stack = [], [node]
    while stack:
        current = stack.pop()
        nodes.append(current)
        below = CHILDREN.get(type(current))
        if below is not None:
            stack.extend(reversed(below(current)))
    return nodes
