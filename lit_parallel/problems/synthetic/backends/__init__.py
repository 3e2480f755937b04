"""Solutions of the tiny language (:mod:`..ir`) written out in each target language.

A :class:`Backend` walks statements and expressions; what differs between languages (operators,
literals, built-ins, block syntax, reading the input) is what each subclass overrides. Expressions are
emitted with the fewest parentheses the shared precedence table allows, so the programs read as a
person would write them.
"""

from __future__ import annotations

from lit_parallel.problems.synthetic.ir import (
    ATOM,
    BOOL,
    CHAR,
    INT,
    LIST,
    PRECEDENCE,
    At,
    Bin,
    Call,
    Expr,
    Field,
    For,
    If,
    Let,
    Lit,
    Newline,
    Print,
    Set,
    Solution,
    Var,
    While,
    Write,
)

Text = tuple[str, int]
"""Emitted code and its precedence (ATOM: never needs parentheses)."""

_GROUPING = {"+", "*", "and", "or"}


class Backend:
    """Writes a Solution as a program in one language (subclasses set the syntax)."""

    name = ""
    indent = "    "
    ops = {"and": "&&", "or": "||", "//": "/", "==": "==", "!=": "!="}
    true, false = "true", "false"
    body_depth = 0
    """Indentation depth of the statements after reading (1 inside a main function)."""

    def program(self, solution: Solution) -> str:
        self.refs: set[str] = set()
        self.loop_vars: set[str] = set()
        body = self.block(solution.body, self.body_depth)
        return self.wrap(self.read(solution), body, solution)

    # Whole programs.
    def read(self, solution: Solution) -> list[str]:
        raise NotImplementedError

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        raise NotImplementedError

    def lines(self, rows: list[str], depth: int) -> list[str]:
        return [self.indent * depth + row if row else "" for row in rows]

    # Expressions.
    def expr(self, e: Expr) -> Text:
        if isinstance(e, Var):
            return self.var(e), ATOM
        if isinstance(e, Lit):
            return self.lit(e)
        if isinstance(e, Bin):
            return self.bin(e)
        if isinstance(e, At):
            return self.at(e), ATOM
        if isinstance(e, Call):
            return self.call(e.name, [self.expr(a) for a in e.args], e)
        raise TypeError(f"not an expression: {e!r}")

    def code(self, e: Expr) -> str:
        return self.expr(e)[0]

    def atom(self, e: Expr | Text, at_least: int = ATOM) -> str:
        text, prec = self.expr(e) if isinstance(e, Expr) else e
        return text if prec >= at_least else f"({text})"

    def var(self, v: Var) -> str:
        return v.name

    def lit(self, e: Lit) -> Text:
        if e.type == BOOL:
            return (self.true if e.value else self.false), ATOM
        if e.type == INT:
            return str(e.value), ATOM if e.value >= 0 else 6
        if e.type == CHAR:
            return self.char_lit(e.value), ATOM
        return self.str_lit(e.value), ATOM

    def str_lit(self, s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def char_lit(self, c: str) -> str:
        return self.str_lit(c)

    def bin(self, e: Bin) -> Text:
        prec = PRECEDENCE[e.op]
        left = self.atom(e.left, prec)
        right_text = self.expr(e.right)
        same = isinstance(e.right, Bin) and e.right.op == e.op and e.op in _GROUPING
        right = right_text[0] if right_text[1] > prec or same else f"({right_text[0]})"
        return self.infix(e, left, right), prec

    def infix(self, e: Bin, left: str, right: str) -> str:
        return f"{left} {self.ops.get(e.op, e.op)} {right}"

    def at(self, e: At) -> str:
        return f"{self.atom(e.seq)}[{self.code(e.index)}]"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        raise NotImplementedError

    # Statements.
    def block(self, stmts: list, depth: int) -> list[str]:
        out: list[str] = []
        for s in stmts:
            out += self.stmt(s, depth)
        return out

    def stmt(self, s: object, depth: int) -> list[str]:
        pad = self.indent * depth
        if isinstance(s, Let):
            return [pad + self.let(s.var, self.code(s.value))]
        if isinstance(s, Set):
            return [pad + self.assign(s.var, self.code(s.value))]
        if isinstance(s, For):
            self.loop_vars.add(s.var.name)
            head, tail = self.for_(s.var, s.start, s.stop)
            return [pad + head, *self.block(s.body, depth + 1), *([pad + tail] if tail else [])]
        if isinstance(s, While):
            head, tail = self.while_(self.code(s.cond))
            return [pad + head, *self.block(s.body, depth + 1), *([pad + tail] if tail else [])]
        if isinstance(s, If):
            return self.if_chain(s, depth)
        if isinstance(s, Print):
            return [pad + self.print_(list(s.items))]
        if isinstance(s, Write):
            return [pad + self.write(s.item)]
        if isinstance(s, Newline):
            return [pad + self.newline()]
        raise TypeError(f"not a statement: {s!r}")

    def if_chain(self, s: If, depth: int) -> list[str]:
        pad = self.indent * depth
        out = [pad + self.if_open(self.code(s.cond)), *self.block(s.then, depth + 1)]
        while len(s.orelse) == 1 and isinstance(s.orelse[0], If):
            s = s.orelse[0]
            out += [pad + self.elif_(self.code(s.cond)), *self.block(s.then, depth + 1)]
        if s.orelse:
            out += [pad + self.else_(), *self.block(s.orelse, depth + 1)]
        close = self.if_close()
        return out + ([pad + close] if close else [])

    # Brace syntax by default; the others override.
    def let(self, v: Var, value: str) -> str:
        raise NotImplementedError

    def assign(self, v: Var, value: str) -> str:
        return f"{self.var(v)} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        raise NotImplementedError

    def while_(self, cond: str) -> tuple[str, str]:
        return f"while ({cond}) {{", "}"

    def if_open(self, cond: str) -> str:
        return f"if ({cond}) {{"

    def elif_(self, cond: str) -> str:
        return f"}} else if ({cond}) {{"

    def else_(self) -> str:
        return "} else {"

    def if_close(self) -> str:
        return "}"

    def print_(self, items: list[Expr]) -> str:
        raise NotImplementedError

    def write(self, item: Expr) -> str:
        raise NotImplementedError

    def newline(self) -> str:
        raise NotImplementedError


def minus_one(b: Backend, e: Expr) -> str:
    """``e - 1`` written simply (for inclusive loop bounds)."""
    if isinstance(e, Lit) and e.type == INT:
        return str(e.value - 1)
    if isinstance(e, Bin) and e.op == "+" and isinstance(e.right, Lit) and e.right.value == 1:
        return b.code(e.left)
    return f"{b.atom(e, PRECEDENCE['-'] + 1)} - 1"


def plus_one(b: Backend, e: Expr) -> str:
    """``e + 1`` written simply (1-based indexes)."""
    if isinstance(e, Lit) and e.type == INT:
        return str(e.value + 1)
    if isinstance(e, Bin) and e.op == "-" and isinstance(e.right, Lit) and e.right.value == 1:
        return b.code(e.left)
    return f"{b.atom(e, PRECEDENCE['+'])} + 1"


def token_positions(solution: Solution) -> list[tuple[Field, int]]:
    """Each field with the index of its whitespace-separated token (the list, which comes last, starts there)."""
    fields = solution.fields
    if any(f.var.type == LIST for f in fields[:-1]):
        raise ValueError("the input list must be the last field")
    return [(f, pos) for pos, f in enumerate(fields)]


def is_char(e: Expr) -> bool:
    return e.type == CHAR


def backends() -> dict[str, Backend]:
    """One backend per target language, by registry name."""
    from lit_parallel.problems.synthetic.backends.braces import Cpp, Go, Java, JavaScript
    from lit_parallel.problems.synthetic.backends.keywords import Lua, OCaml, Python, Ruby
    from lit_parallel.problems.synthetic.backends.sigils import Perl, Php

    return {b.name: b for b in (Python(), Cpp(), Java(), JavaScript(), Go(), Php(), Ruby(), Lua(), Perl(), OCaml())}
