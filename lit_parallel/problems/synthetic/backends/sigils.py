"""Backends of the brace languages whose variables carry a sigil: PHP and Perl."""

from __future__ import annotations

from lit_parallel.problems.synthetic.backends import Backend, Text, minus_one, token_positions
from lit_parallel.problems.synthetic.ir import ATOM, CHAR, INT, LIST, STR, At, Bin, Call, Expr, Solution, Var


class Php(Backend):
    name = "php"
    ops = {**Backend.ops, "==": "===", "!=": "!=="}

    def var(self, v: Var) -> str:
        return "$" + v.name

    def bin(self, e: Bin) -> Text:
        if e.op == "//":
            return f"intdiv({self.code(e.left)}, {self.code(e.right)})", ATOM
        return super().bin(e)

    def at(self, e: At) -> str:
        return f"{self.atom(e.seq)}[{self.code(e.index)}]"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        funcs = {"abs": "abs", "min": "min", "max": "max", "len": "strlen", "upper": "strtoupper"}
        funcs |= {"lower": "strtolower", "reverse": "strrev", "repeat": "str_repeat"}
        if name in funcs:
            return f"{funcs[name]}({', '.join(a)})", ATOM
        return f"strpos({a[0]}, {a[1]}) !== false", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"${v.name} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        i = "$" + v.name
        return f"for ({i} = {self.code(start)}; {i} < {self.code(stop)}; {i}++) {{", "}"

    def elif_(self, cond: str) -> str:
        return f"}} elseif ({cond}) {{"

    def read(self, solution: Solution) -> list[str]:
        out = ["$data = preg_split('/\\s+/', trim(file_get_contents('php://stdin')));"]
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"${v.name} = intval($data[{pos}]);")
            elif v.type == STR:
                out.append(f"${v.name} = $data[{pos}];")
            else:
                out.append(f"${v.name} = array_map('intval', array_slice($data, {pos}, ${f.count.name}));")
        return out

    def print_(self, items: list[Expr]) -> str:
        return "echo " + ', " ", '.join(self.code(i) for i in items) + ', "\\n";'

    def write(self, item: Expr) -> str:
        return f"echo {self.code(item)};"

    def newline(self) -> str:
        return 'echo "\\n";'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join(["<?php", *reading, *body]) + "\n"


class Perl(Backend):
    name = "perl"
    true, false = "1", "0"

    def var(self, v: Var) -> str:
        return ("@" if v.type == LIST else "$") + v.name

    def bin(self, e: Bin) -> Text:
        if e.op == "//":
            return f"int({self.atom(e.left, 5)} / {self.atom(e.right, 6)})", ATOM
        return super().bin(e)

    def infix(self, e: Bin, left: str, right: str) -> str:
        if e.op in ("==", "!=") and e.left.type in (STR, CHAR):
            return f"{left} {'eq' if e.op == '==' else 'ne'} {right}"
        return super().infix(e, left, right)

    def at(self, e: At) -> str:
        if e.seq.type == LIST:
            return f"${e.seq.name}[{self.code(e.index)}]"
        return f"substr({self.code(e.seq)}, {self.code(e.index)}, 1)"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        funcs = {"abs": "abs", "min": "min", "max": "max", "len": "length", "upper": "uc", "lower": "lc"}
        if name in funcs:
            return f"{funcs[name]}({', '.join(a)})", ATOM
        if name == "reverse":
            return f"scalar reverse({a[0]})", 6
        if name == "repeat":
            return f"{a[0]} x {self.atom(args[1], 6)}", 5
        return f"index({a[0]}, {a[1]}) >= 0", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"my ${v.name} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for my ${v.name} ({self.code(start)} .. {minus_one(self, stop)}) {{", "}"

    def elif_(self, cond: str) -> str:
        return f"}} elsif ({cond}) {{"

    def read(self, solution: Solution) -> list[str]:
        out = ["my @data = split ' ', do { local $/; <STDIN> };"]
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == LIST:
                out.append(f"my @{v.name} = @data[{pos} .. {pos} + ${f.count.name} - 1];")
            else:
                out.append(f"my ${v.name} = $data[{pos}];")
        return out

    def print_(self, items: list[Expr]) -> str:
        if len(items) == 1:
            return f'print({self.code(items[0])}, "\\n");'
        return f'print(join(" ", {", ".join(self.code(i) for i in items)}), "\\n");'

    def write(self, item: Expr) -> str:
        return f"print({self.code(item)});"

    def newline(self) -> str:
        return 'print("\\n");'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        uses = ["use strict;", "use warnings;"]
        needed = sorted(solution.calls & {"min", "max"})
        if needed:
            uses.append(f"use List::Util qw({' '.join(needed)});")
        return "\n".join([*uses, "", *reading, *body]) + "\n"
