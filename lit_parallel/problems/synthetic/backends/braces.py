"""Backends of the languages whose blocks are braces: C++, Java, Go, JavaScript (PHP and Perl: sigils.py)."""

from __future__ import annotations

from lit_parallel.problems.synthetic.backends import Backend, Text, is_char, token_positions
from lit_parallel.problems.synthetic.ir import (
    ATOM,
    BOOL,
    CHAR,
    INT,
    LIST,
    STR,
    At,
    Bin,
    Call,
    Expr,
    Lit,
    Solution,
    Var,
)


class Cpp(Backend):
    name = "cpp"
    body_depth = 1
    types = {INT: "long long", STR: "string", CHAR: "char", BOOL: "bool"}
    helpers = {
        "upper": "string upper(string s) {\n    for (char &c : s) c = toupper(c);\n    return s;\n}\n",
        "lower": "string lower(string s) {\n    for (char &c : s) c = tolower(c);\n    return s;\n}\n",
    }

    def char_lit(self, c: str) -> str:
        return f"'{c}'"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        simple = {"abs": f"llabs({a[0]})", "upper": f"upper({a[0]})", "lower": f"lower({a[0]})"}
        if name in simple:
            return simple[name], ATOM
        if name in ("min", "max"):
            return f"{name}<long long>({a[0]}, {a[1]})", ATOM
        if name == "len":
            return f"(long long){self.atom(args[0])}.size()", 6
        if name == "reverse":
            s = self.atom(args[0])
            return f"string({s}.rbegin(), {s}.rend())", ATOM
        if name == "repeat":
            return f"string({a[1]}, '{e.args[0].value}')", ATOM
        return f"string({a[0]}).find({a[1]}) != string::npos", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"{self.types[v.type]} {v.name} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for (long long {v.name} = {self.code(start)}; {v.name} < {self.code(stop)}; {v.name}++) {{", "}"

    def read(self, solution: Solution) -> list[str]:
        out = []
        for line in solution.lines:
            scalars = [f.var for f in line if f.var.type != LIST]
            for kind in (INT, STR):
                names = [v.name for v in scalars if v.type == kind]
                if names:
                    out.append(f"{self.types[kind]} {', '.join(names)};")
            if scalars:
                out.append("cin >> " + " >> ".join(v.name for v in scalars) + ";")
            for f in line:
                if f.var.type == LIST:
                    out += [
                        f"vector<long long> {f.var.name}({f.count.name});",
                        f"for (auto &x : {f.var.name}) cin >> x;",
                    ]
        return out

    def print_(self, items: list[Expr]) -> str:
        return "cout << " + ' << " " << '.join(self.code(i) for i in items) + ' << "\\n";'

    def write(self, item: Expr) -> str:
        return f"cout << {self.code(item)};"

    def newline(self) -> str:
        return 'cout << "\\n";'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        head = "#include <algorithm>\n#include <cstdlib>\n#include <iostream>\n#include <string>\n#include <vector>\n"
        helpers = "".join(self.helpers[c] + "\n" for c in sorted(solution.calls) if c in self.helpers)
        main = "\n".join(["int main() {", *self.lines(reading, 1), *body, "    return 0;", "}"])
        return f"{head}using namespace std;\n\n{helpers}{main}\n"


class Java(Backend):
    name = "java"
    body_depth = 2
    types = {INT: "long", STR: "String", CHAR: "char", BOOL: "boolean"}

    def char_lit(self, c: str) -> str:
        return f"'{c}'"

    def index(self, e: Expr) -> str:
        if isinstance(e, Var) and e.name in self.loop_vars:
            return e.name
        return f"(int) {self.atom(e)}"

    def at(self, e: At) -> str:
        if e.seq.type == LIST:
            return f"{self.atom(e.seq)}[{self.index(e.index)}]"
        return f"{self.atom(e.seq)}.charAt({self.index(e.index)})"

    def infix(self, e: Bin, left: str, right: str) -> str:
        if e.op in ("==", "!=") and e.left.type == STR:
            return ("" if e.op == "==" else "!") + f"{left}.equals({right})"
        return super().infix(e, left, right)

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        r = self.atom(args[0]) if args else ""
        table = {
            "abs": f"Math.abs({a[0]})",
            "len": f"{r}.length()",
            "upper": f"{r}.toUpperCase()",
            "lower": f"{r}.toLowerCase()",
            "reverse": f"new StringBuilder({a[0]}).reverse().toString()",
        }
        if name in table:
            return table[name], ATOM
        if name in ("min", "max"):
            return f"Math.{name}({a[0]}, {a[1]})", ATOM
        if name == "repeat":
            return f"{a[0]}.repeat({self.index(e.args[1])})", ATOM
        return f"{a[0]}.indexOf({a[1]}) >= 0", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"{self.types[v.type]} {v.name} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for (int {v.name} = {self.index(start)}; {v.name} < {self.code(stop)}; {v.name}++) {{", "}"

    def read(self, solution: Solution) -> list[str]:
        out = ['String[] data = new String(System.in.readAllBytes()).trim().split("\\\\s+");']
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"long {v.name} = Long.parseLong(data[{pos}]);")
            elif v.type == STR:
                out.append(f"String {v.name} = data[{pos}];")
            else:
                n = f.count.name
                out += [f"long[] {v.name} = new long[(int) {n}];", f"for (int i = 0; i < {n}; i++) {{"]
                out += [f"    {v.name}[i] = Long.parseLong(data[{pos} + i]);", "}"]
        return out

    def joined(self, items: list[Expr]) -> str:
        if len(items) == 1:
            return self.code(items[0])
        return ' + " " + '.join(self.atom(i, 5) for i in items)

    def print_(self, items: list[Expr]) -> str:
        return f"System.out.println({self.joined(items)});"

    def write(self, item: Expr) -> str:
        return f"System.out.print({self.code(item)});"

    def newline(self) -> str:
        return "System.out.println();"

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        inner = [*self.lines(reading, 2), *body]
        head = ["public class Main {", "    public static void main(String[] args) throws Exception {"]
        return "\n".join([*head, *inner, "    }", "}"]) + "\n"


class Go(Backend):
    name = "go"
    body_depth = 1
    indent = "\t"
    helpers = {
        "abs": "func abs(x int) int {\n\tif x < 0 {\n\t\treturn -x\n\t}\n\treturn x\n}\n",
        "min": "func min(a, b int) int {\n\tif a < b {\n\t\treturn a\n\t}\n\treturn b\n}\n",
        "max": "func max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}\n",
        "reverse": "func reverse(s string) string {\n\tb := []byte(s)\n\tfor i, j := 0, len(b)-1; i "
        "< j; i, j = i+1, j-1 {"
        "\n\t\tb[i], b[j] = b[j], b[i]\n\t}\n\treturn string(b)\n}\n",
    }

    def char_lit(self, c: str) -> str:
        return f"'{c}'"

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        if name in ("abs", "min", "max", "reverse", "len"):
            return f"{name}({', '.join(a)})", ATOM
        if name in ("upper", "lower"):
            return f"strings.To{name.capitalize()}({a[0]})", ATOM
        if name == "repeat":
            return f"strings.Repeat({a[0]}, {a[1]})", ATOM
        return f"strings.IndexByte({a[0]}, {a[1]}) >= 0", 3  # inset

    def let(self, v: Var, value: str) -> str:
        return f"{v.name} := {value}"

    def assign(self, v: Var, value: str) -> str:
        return f"{v.name} = {value}"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for {v.name} := {self.code(start)}; {v.name} < {self.code(stop)}; {v.name}++ {{", "}"

    def while_(self, cond: str) -> tuple[str, str]:
        return f"for {cond} {{", "}"

    def if_open(self, cond: str) -> str:
        return f"if {cond} {{"

    def elif_(self, cond: str) -> str:
        return f"}} else if {cond} {{"

    def read(self, solution: Solution) -> list[str]:
        out = ["in := bufio.NewReader(os.Stdin)"]
        for line in solution.lines:
            scalars = [f.var for f in line if f.var.type != LIST]
            for kind, go_type in ((INT, "int"), (STR, "string")):
                names = [v.name for v in scalars if v.type == kind]
                if names:
                    out.append(f"var {', '.join(names)} {go_type}")
            if scalars:
                out.append("fmt.Fscan(in, " + ", ".join("&" + v.name for v in scalars) + ")")
            for f in line:
                if f.var.type == LIST:
                    a = f.var.name
                    out += [f"{a} := make([]int, {f.count.name})", f"for i := range {a} {{"]
                    out += [f"\tfmt.Fscan(in, &{a}[i])", "}"]
        return out

    def item(self, e: Expr) -> str:
        return f"string({self.code(e)})" if is_char(e) else self.code(e)

    def print_(self, items: list[Expr]) -> str:
        return f"fmt.Println({', '.join(self.item(i) for i in items)})"

    def write(self, item: Expr) -> str:
        return f"fmt.Print({self.item(item)})"

    def newline(self) -> str:
        return "fmt.Println()"

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        used = solution.names
        unused = [f"_ = {f.var.name}" for f in solution.fields if f.var.name not in used]
        strings = solution.calls & {"upper", "lower", "repeat", "inset"}
        imports = ["bufio", "fmt", "os", *(["strings"] if strings else [])]
        head = "package main\n\nimport (\n" + "".join(f'\t"{i}"\n' for i in imports) + ")\n\n"
        helpers = "".join(self.helpers[c] + "\n" for c in sorted(solution.calls) if c in self.helpers)
        main = "\n".join(["func main() {", *self.lines(reading + unused, 1), *body, "}"])
        return f"{head}{helpers}{main}\n"


class JavaScript(Backend):
    name = "javascript"
    ops = {**Backend.ops, "==": "===", "!=": "!=="}

    def bin(self, e: Bin) -> Text:
        if e.op == "//":
            return f"Math.floor({self.atom(e.left, 5)} / {self.atom(e.right, 6)})", ATOM
        return super().bin(e)

    def call(self, name: str, args: list[Text], e: Call) -> Text:
        a = [t for t, _ in args]
        r = self.atom(args[0])
        if name in ("abs", "min", "max"):
            return f"Math.{name}({', '.join(a)})", ATOM
        if name in ("repeat", "inset"):
            return f"{r}.{'repeat' if name == 'repeat' else 'includes'}({a[1]})", ATOM
        methods = {"len": "length", "upper": "toUpperCase()", "lower": "toLowerCase()"}
        return f"{r}.{methods[name]}" if name in methods else f'{r}.split("").reverse().join("")', ATOM

    def let(self, v: Var, value: str) -> str:
        return f"let {v.name} = {value};"

    def for_(self, v: Var, start: Expr, stop: Expr) -> tuple[str, str]:
        return f"for (let {v.name} = {self.code(start)}; {v.name} < {self.code(stop)}; {v.name}++) {{", "}"

    def read(self, solution: Solution) -> list[str]:
        out = ['const data = require("fs").readFileSync(0, "utf8").split(/\\s+/).filter((w) => w.length > 0);']
        for f, pos in token_positions(solution):
            v = f.var
            if v.type == INT:
                out.append(f"const {v.name} = Number(data[{pos}]);")
            elif v.type == STR:
                out.append(f"const {v.name} = data[{pos}];")
            else:
                out.append(f"const {v.name} = data.slice({pos}, {pos} + {f.count.name}).map(Number);")
        return out

    def print_(self, items: list[Expr]) -> str:
        # String(): console.log writes a product that is zero with a negative factor as -0.
        shown = [f"String({self.code(i)})" if i.type == INT and not isinstance(i, Lit) else self.code(i) for i in items]
        return f"console.log({', '.join(shown)});"

    def write(self, item: Expr) -> str:
        return f"process.stdout.write(String({self.code(item)}));"

    def newline(self) -> str:
        return 'process.stdout.write("\\n");'

    def wrap(self, reading: list[str], body: list[str], solution: Solution) -> str:
        return "\n".join([*reading, *body]) + "\n"
