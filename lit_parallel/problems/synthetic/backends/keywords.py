"""Backends of the languages whose blocks are keywords or indentation: Python, Ruby, Lua, OCaml."""

from __future__ import annotations

from lit_parallel.problems.synthetic.backends import Backend, Text, minus_one, plus_one, token_positions
from lit_parallel.problems.synthetic.ir import ATOM, CHAR, INT, LIST, STR, At, Call, Expr, Lit, Solution, Var


class Python(Backend):
    name = "python"
    ops = {"and": "and", "or": "or"}
    true, false = "True", "False"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        if name in ("abs", "min", "max", "len"):
            return f"{name}({', '.join(a)})", ATOM
        r = self.atom(args[0])
        if name in ("upper", "lower"):
            return f"{r}.{name}()", ATOM
        if name == "reverse":
            return f"{r}[::-1]", ATOM
        if name == "repeat":
            return f"{a[0]} * {self.atom(args[1], 6)}", 5
        return f"{a[1]} in {a[0]}", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def assign(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        bounds = (
            self.code(stop) if isinstance(start, Lit) and start.value == 0 else f"{self.code(start)}, {self.code(stop)}"
        )
        return f"for {v.name} in range({bounds}):", ""

    def while_(self, cond: str) -> tuple[str, str]:
        return f"while {cond}:", ""

    def if_open(self, cond: str) -> str:
        return f"if {cond}:"

    def elif_(self, cond: str) -> str:
        return f"elif {cond}:"

    def else_(self) -> str:
        return "else:"

    def if_close(self) -> str:
        return ""

    def read(self, solution: Solution) -> list[str]:
        out = ["data = sys.stdin.read().split()"]
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"{v.name} = int(data[{pos}])")
            elif v.type == STR:
                out.append(f"{v.name} = data[{pos}]")
            else:
                stop = f"{f.count.name} + {pos}" if pos else f.count.name
                out.append(f"{v.name} = [int(x) for x in data[{pos}:{stop}]]")
        return out

    def print_(self, items: list[Expr]) -> str:
        return f"print({', '.join(self.code(i) for i in items)})"

    def write(self, item: Expr) -> str:
        return f'print({self.code(item)}, end="")'

    def newline(self) -> str:
        return "print()"

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join(["import sys", "", *reading, *body]) + "\n"


class Ruby(Backend):
    name = "ruby"
    indent = "  "

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        if name in ("min", "max"):
            return f"[{', '.join(a)}].{name}", ATOM
        if name == "repeat":
            return f"{a[0]} * {self.atom(args[1], 6)}", 5
        if name == "inset":
            return f"{a[0]}.include?({a[1]})", ATOM
        method = {"len": "length", "upper": "upcase", "lower": "downcase"}.get(name, name)
        return f"{self.atom(args[0])}.{method}", ATOM

    def let(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def assign(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for {v.name} in {self.atom(start, 5)}...{self.atom(stop, 5)}", "end"

    def while_(self, cond: str) -> tuple[str, str]:
        return f"while {cond}", "end"

    def if_open(self, cond: str) -> str:
        return f"if {cond}"

    def elif_(self, cond: str) -> str:
        return f"elsif {cond}"

    def else_(self) -> str:
        return "else"

    def if_close(self) -> str:
        return "end"

    def read(self, solution: Solution) -> list[str]:
        out = ["data = STDIN.read.split"]
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"{v.name} = data[{pos}].to_i")
            elif v.type == STR:
                out.append(f"{v.name} = data[{pos}]")
            else:
                out.append(f"{v.name} = data[{pos}, {f.count.name}].map(&:to_i)")
        return out

    def say(self, verb: str, item: Expr) -> str:
        text, prec = self.expr(item)
        return f"{verb} {text}" if prec == ATOM else f"{verb}({text})"

    def print_(self, items: list[Expr]) -> str:
        if len(items) == 1:
            return self.say("puts", items[0])
        return 'puts "' + " ".join("#{" + self.code(i) + "}" for i in items) + '"'

    def write(self, item: Expr) -> str:
        return self.say("print", item)

    def newline(self) -> str:
        return "puts"

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join([*reading, *body]) + "\n"


class Lua(Backend):
    name = "lua"
    indent = "  "
    ops = {"and": "and", "or": "or", "!=": "~="}

    def at(self, e: At) -> str:
        if e.seq.type == LIST:
            return f"{self.atom(e.seq)}[{plus_one(self, e.index)}]"
        i = plus_one(self, e.index)
        return f"{self.atom(e.seq)}:sub({i}, {i})"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        if name in ("abs", "min", "max"):
            return f"math.{name}({', '.join(a)})", ATOM
        if name == "len":
            return f"#{self.atom(args[0])}", 6
        if name == "repeat":
            return f"string.rep({a[0]}, {a[1]})", ATOM
        if name == "inset":
            return f"string.find({a[0]}, {a[1]}, 1, true) ~= nil", 3
        return f"{self.atom(args[0])}:{name}()", ATOM

    def let(self, v: Var, value: str) -> str:
        return f"local {v.name} = {value}"

    def assign(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for {v.name} = {self.code(start)}, {minus_one(self, stop)} do", "end"

    def while_(self, cond: str) -> tuple[str, str]:
        return f"while {cond} do", "end"

    def if_open(self, cond: str) -> str:
        return f"if {cond} then"

    def elif_(self, cond: str) -> str:
        return f"elseif {cond} then"

    def else_(self) -> str:
        return "else"

    def if_close(self) -> str:
        return "end"

    def read(self, solution: Solution) -> list[str]:
        out = ["local data = {}", 'for w in io.read("a"):gmatch("%S+") do data[#data + 1] = w end']
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"local {v.name} = tonumber(data[{pos + 1}])")
            elif v.type == STR:
                out.append(f"local {v.name} = data[{pos + 1}]")
            else:
                at = f"data[{pos} + i]" if pos else "data[i]"
                out += [f"local {v.name} = {{}}", f"for i = 1, {f.count.name} do {v.name}[i] = tonumber({at}) end"]
        return out

    def print_(self, items: list[Expr]) -> str:
        if len(items) == 1:
            return f"print({self.code(items[0])})"
        return "print(" + ' .. " " .. '.join(self.atom(i, 4) for i in items) + ")"

    def write(self, item: Expr) -> str:
        return f"io.write({self.code(item)})"

    def newline(self) -> str:
        return 'io.write("\\n")'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join([*reading, *body]) + "\n"


_APPLY = 90
"""OCaml's function application: tighter than any operator, looser than an atom."""


class OCaml(Backend):
    name = "ocaml"
    indent = "  "
    body_depth = 1
    ops = {"and": "&&", "or": "||", "//": "/", "%": "mod", "==": "=", "!=": "<>"}
    formats = {INT: "%d", STR: "%s", CHAR: "%c"}

    def expr(self, e: Expr) -> Text:
        if isinstance(e, Var) and e.name in self.refs:
            return "!" + e.name, 95
        return super().expr(e)

    def lit(self, e: Lit) -> Text:
        if e.type == INT and e.value < 0:
            return f"({e.value})", ATOM
        return super().lit(e)

    def char_lit(self, c: str) -> str:
        return f"'{c}'"

    def at(self, e: At) -> str:
        open_, close = (".(", ")") if e.seq.type == LIST else (".[", "]")
        return f"{self.atom(e.seq)}{open_}{self.code(e.index)}{close}"

    def apply(self, func: str, *args: Text) -> Text:
        return " ".join([func, *(self.atom(a, 95) for a in args)]), _APPLY

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        if name in ("abs", "min", "max"):
            return self.apply(name, *args)
        if name == "repeat":
            return self.apply("String.make", args[1], (f"'{e.args[0].value}'", ATOM))
        if name == "inset":
            return self.apply("String.contains", *args)
        if name == "reverse":
            s = self.atom(args[0])
            return f"String.init (String.length {s}) (fun i -> {s}.[String.length {s} - 1 - i])", _APPLY
        funcs = {"len": "String.length", "upper": "String.uppercase_ascii", "lower": "String.lowercase_ascii"}
        return self.apply(funcs[name], *args)

    def let(self, v: Var, value: str) -> str:
        self.refs.add(v.name)
        return f"let {v.name} = ref {f'({value})' if ' ' in value else value} in"

    def assign(self, v: Var, value: str) -> str:
        return f"{v.name} := {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for {v.name} = {self.code(start)} to {minus_one(self, stop)} do", "done;"

    def while_(self, cond: str) -> tuple[str, str]:
        return f"while {cond} do", "done;"

    def if_open(self, cond: str) -> str:
        return f"if {cond} then begin"

    def elif_(self, cond: str) -> str:
        return f"end else if {cond} then begin"

    def else_(self) -> str:
        return "end else begin"

    def if_close(self) -> str:
        return "end;"

    def read(self, solution: Solution) -> list[str]:
        out = []
        for f in solution.fields:
            v = f.var
            if v.type == LIST:
                read = 'Scanf.scanf " %d" (fun x -> x)'
                out.append(f"let {v.name} = Array.init {f.count.name} (fun _ -> {read}) in")
            else:
                out.append(f'let {v.name} = Scanf.scanf " {self.formats[v.type]}" (fun x -> x) in')
        return out

    def printf(self, fmt: str, items: list[Expr]) -> str:
        args = "".join(" " + self.atom(i, 95) for i in items)
        return f'Printf.printf "{fmt}"{args};'

    def print_(self, items: list[Expr]) -> str:
        return self.printf(" ".join(self.formats[i.type] for i in items) + "\\n", items)

    def write(self, item: Expr) -> str:
        return self.printf(self.formats[item.type], [item])

    def newline(self) -> str:
        return 'print_string "\\n";'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join(["let () =", *self.lines(reading, 1), *body]) + "\n"
