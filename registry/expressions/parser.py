"""Text to whitelisted tree: Python's `ast` parses, and only the listed constructs come through."""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import re
import tokenize
from datetime import date
from decimal import Decimal

from registry.expressions.errors import ExpressionError
from registry.expressions.nodes import (
    Binary,
    Call,
    Compare,
    InList,
    Literal,
    Logical,
    Node,
    Unary,
    Variable,
)

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_NODES = 400
MAX_LIST_ITEMS = 500
MAX_STRING_LENGTH = 500
MAX_EXPONENT = 10
MAX_ROUND_DIGITS = 6
LITERAL_LIMIT = 10**15  # SQLite computes in doubles: beyond 15 digits results would differ by database

# `if` is a Python keyword: `if(` is renamed, same length so offsets hold, to a name users cannot type.
_IF_STANDIN = "_f"

# name -> (min args, max args)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "if": (3, 3),
    "min": (2, 20),
    "max": (2, 20),
    "round": (1, 2),
    "abs": (1, 1),
    "date": (1, 1),
    "coalesce": (2, 10),
    "today": (0, 0),
    "years_since": (1, 1),
    "days_since": (1, 1),
}

_BINARY_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_COMPARE_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Subscript: "indexing with [ ] is",
    ast.Lambda: "lambda is",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "comprehensions are",
    ast.IfExp: "`a if c else b` (write if(c, a, b)) is",
    ast.JoinedStr: "f-strings are",
    ast.NamedExpr: "assignment with := is",
    ast.Starred: "* arguments are",
    ast.Dict: "dictionaries are",
    ast.Set: "sets are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
    ast.Slice: "slices are",
}
_LITERAL_NAMES: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse(text: str) -> Node:
    """Parse `text` into a tree of whitelisted nodes, or raise ExpressionError saying what and where."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty", text=text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed", text=text
        )
    if "\x00" in text:
        raise ExpressionError("the expression contains a NUL character", text=text, start=text.index("\x00"))
    source, renamed, balanced = _prepare(text)
    # Parentheses around the whole let it span lines and start with spaces; they shift line 1 by one.
    shift = 1 if balanced else 0
    if balanced:
        source = f"({source})"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(text, exc, shift) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply", text=text) from None
    except ValueError as exc:  # e.g. an integer literal past Python's digit limit
        raise ExpressionError(f"the expression cannot be read ({exc})", text=text) from None
    return _Converter(text, renamed, shift).convert(tree.body, depth=0)


def _prepare(text: str) -> tuple[str, dict[int, str], bool]:
    """Reject underscore names up front; rename `if(` calls and keywords used as field names
    (`data.class`) to same-length names Python accepts.

    Returns the source, the renamed words by character offset, and whether the brackets balance.
    """
    pieces = list(text)
    renamed: dict[int, str] = {}
    line_starts = _line_starts(text)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text, renamed, False  # ast.parse reports it, with a better message
    depth = 0
    for index, token in enumerate(tokens):
        row, col = token.start
        offset = line_starts[row - 1] + col if row <= len(line_starts) else len(text)
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
            if depth < 0:
                raise ExpressionError(f"unmatched '{token.string}'", text=text, start=offset, end=offset + 1)
        if token.type != tokenize.NAME:
            continue
        if token.string.startswith("_"):
            raise ExpressionError(
                f'names starting with "_" are not allowed ("{token.string}")',
                text=text,
                start=offset,
                end=offset + len(token.string),
            )
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        previous = tokens[index - 1] if index > 0 else None
        word = token.string
        if keyword.iskeyword(word) and previous is not None and previous.string == ".":
            pieces[offset : offset + len(word)] = list(word[0] + "_" * (len(word) - 1))
            renamed[offset] = word
        elif word == "if" and following is not None and following.string == "(":
            pieces[offset : offset + 2] = list(_IF_STANDIN)
            renamed[offset] = word
    return "".join(pieces), renamed, depth == 0


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _syntax_error(text: str, exc: SyntaxError, shift: int) -> ExpressionError:
    message = (exc.msg or "invalid syntax").replace(_IF_STANDIN, "if")
    if exc.lineno is None or exc.offset is None:
        return ExpressionError(f"syntax error: {message}", text=text)
    starts = _line_starts(text)
    line = min(max(exc.lineno, 1), len(starts)) - 1
    column = exc.offset - 1 - (shift if exc.lineno == 1 else 0)
    start = min(starts[line] + max(column, 0), len(text))
    return ExpressionError(f"syntax error: {message}", text=text, start=start, end=start + 1)


class _Converter:
    def __init__(self, text: str, renamed: dict[int, str], shift: int) -> None:
        self.text = text
        self.shift = shift
        self.renamed = renamed
        self.line_starts = _line_starts(text)
        self.lines = text.split("\n")
        self.count = 0

    def offset(self, lineno: int, col_offset: int) -> int:
        """Character offset of an ast position (ast columns count UTF-8 bytes)."""
        if lineno == 1:
            col_offset = max(col_offset - self.shift, 0)
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        chars = len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore"))
        return self.line_starts[min(lineno, len(self.line_starts)) - 1] + chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        end = self.offset(end_line, end_col) if end_line is not None and end_col is not None else start + 1
        return start, end

    def error(self, message: str, node: ast.AST) -> ExpressionError:
        start, end = self.span(node)
        return ExpressionError(message, text=self.text, start=start, end=end)

    def convert(self, node: ast.AST, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(f"the expression is too large (more than {MAX_NODES} parts)", node)
        if depth > MAX_DEPTH:
            raise self.error(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)", node)
        start, end = self.span(node)
        if isinstance(node, ast.Constant):
            return Literal(start, end, value=self.constant(node))
        if isinstance(node, ast.Name):
            if node.id in _LITERAL_NAMES:
                return Literal(start, end, value=_LITERAL_NAMES[node.id])
            return Variable(start, end, name=node.id)
        if isinstance(node, ast.Attribute):
            return Variable(start, end, name=self.dotted_name(node))
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, depth, start, end)
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth, start, end)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return Logical(start, end, op=op, operands=[self.convert(v, depth + 1) for v in node.values])
        if isinstance(node, ast.Compare):
            return self.compare(node, depth, start, end)
        if isinstance(node, ast.Call):
            return self.call(node, depth, start, end)
        if isinstance(node, ast.List | ast.Tuple):
            raise self.error("a list is only allowed after `in` or `not in`", node)
        what = _FORBIDDEN.get(type(node), f"{type(node).__name__} is")
        raise self.error(f"{what} not allowed in an expression", node)

    def constant(self, node: ast.Constant) -> int | Decimal | bool | str | None:
        value = node.value
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) >= LITERAL_LIMIT:
                raise self.error("this number is too large (at most 15 digits)", node)
            return value
        if isinstance(value, float):
            if not abs(value) < LITERAL_LIMIT:
                raise self.error("this number is too large (at most 15 digits)", node)
            return Decimal(repr(value))
        if isinstance(value, str):
            if "\x00" in value:
                raise self.error("text may not contain a NUL character", node)
            if len(value) > MAX_STRING_LENGTH:
                raise self.error(f"this text is too long (at most {MAX_STRING_LENGTH} characters)", node)
            return value
        kind = "bytes" if isinstance(value, bytes) else type(value).__name__
        raise self.error(f"{kind} values are not allowed", node)

    def dotted_name(self, node: ast.Attribute) -> str:
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            attr_start = self.span(current)[1] - len(current.attr)
            parts.append(self.renamed.get(attr_start, current.attr))
            current = current.value
        if not isinstance(current, ast.Name) or current.id in _LITERAL_NAMES:
            raise self.error("`.` may only join field names, as in data.income or household.size", node)
        parts.append(current.id)
        return ".".join(reversed(parts))

    def unary(self, node: ast.UnaryOp, depth: int, start: int, end: int) -> Node:
        if isinstance(node.op, ast.Not):
            return Unary(start, end, op="not", operand=self.convert(node.operand, depth + 1))
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise self.error("operator ~ is not allowed", node)
        op = "-" if isinstance(node.op, ast.USub) else "+"
        operand = self.convert(node.operand, depth + 1)
        if isinstance(operand, Literal) and type(operand.value) in (int, Decimal):
            return Literal(start, end, value=-operand.value if op == "-" else operand.value)  # type: ignore[operator]
        return Unary(start, end, op=op, operand=operand)

    def binary(self, node: ast.BinOp, depth: int, start: int, end: int) -> Node:
        op = _BINARY_OPS.get(type(node.op))
        if op is None:
            symbol = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
            raise self.error(f"operator {symbol.get(type(node.op), '@')} is not allowed", node)
        left = self.convert(node.left, depth + 1)
        right = self.convert(node.right, depth + 1)
        if op == "**" and not (
            isinstance(right, Literal) and type(right.value) is int and 0 <= right.value <= MAX_EXPONENT  # type: ignore[operator]
        ):
            raise ExpressionError(
                f"the exponent after ** must be a whole number from 0 to {MAX_EXPONENT}",
                text=self.text,
                start=right.start,
                end=right.end,
            )
        return Binary(start, end, op=op, left=left, right=right)

    def compare(self, node: ast.Compare, depth: int, start: int, end: int) -> Node:
        parts: list[Node] = []
        left_ast: ast.AST = node.left
        left = self.convert(node.left, depth + 1)
        for op_ast, right_ast in zip(node.ops, node.comparators, strict=True):
            part_start = self.span(left_ast)[0]
            part_end = self.span(right_ast)[1]
            if isinstance(op_ast, ast.In | ast.NotIn):
                if len(node.ops) > 1:
                    raise self.error(
                        "`in` cannot be chained with other comparisons: join them with `and`", node
                    )
                items = self.literal_list(right_ast, depth)
                parts.append(
                    InList(
                        part_start, part_end, operand=left, items=items, negated=isinstance(op_ast, ast.NotIn)
                    )
                )
                right: Node = left
            else:
                op = _COMPARE_OPS.get(type(op_ast))
                if op is None:
                    raise self.error("`is` is not allowed: write == or != (x == null)", node)
                right = self.convert(right_ast, depth + 1)
                parts.append(Compare(part_start, part_end, op=op, left=left, right=right))
            left, left_ast = right, right_ast
        return parts[0] if len(parts) == 1 else Logical(start, end, op="and", operands=parts)

    def literal_list(self, node: ast.AST, depth: int) -> list[Literal]:
        if not isinstance(node, ast.List | ast.Tuple):
            raise self.error('`in` needs a list of values in [ ], as in region in ["North", "South"]', node)
        if len(node.elts) > MAX_LIST_ITEMS:
            raise self.error(f"the list has more than {MAX_LIST_ITEMS} values", node)
        items = []
        for element in node.elts:
            item = self.convert(element, depth + 1)
            if not isinstance(item, Literal) or item.value is None:
                raise self.error(
                    "a list after `in` may only hold fixed values (numbers, text, dates)", element
                )
            items.append(item)
        return items

    def call(self, node: ast.Call, depth: int, start: int, end: int) -> Node:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.error("only the listed functions may be called", node)
        name = func.id
        if name == _IF_STANDIN and self.renamed.get(self.offset(func.lineno, func.col_offset)) == "if":
            name = "if"
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6)
            hint = (
                f'did you mean "{close[0]}"?'
                if close
                else f"the functions are: {', '.join(sorted(FUNCTIONS))}"
            )
            raise self.error(f'unknown function "{name}" — {hint}', func)
        if node.keywords:
            raise self.error(f"{name}() takes no named arguments", node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("* arguments are not allowed in an expression", arg)
        lowest, highest = FUNCTIONS[name]
        if not lowest <= len(node.args) <= highest:
            wanted = str(lowest) if lowest == highest else f"{lowest} to {highest}"
            raise self.error(f"{name}() takes {wanted} arguments, not {len(node.args)}", node)
        if name == "date":
            return self.date_literal(node, start, end)
        args = [self.convert(arg, depth + 1) for arg in node.args]
        if name == "round" and len(args) == 2:
            digits = args[1]
            if not (
                isinstance(digits, Literal)
                and type(digits.value) is int
                and 0 <= digits.value <= MAX_ROUND_DIGITS  # type: ignore[operator]
            ):
                raise ExpressionError(
                    f"round()'s second argument must be a whole number from 0 to {MAX_ROUND_DIGITS}",
                    text=self.text,
                    start=digits.start,
                    end=digits.end,
                )
        return Call(start, end, function=name, args=args)

    def date_literal(self, node: ast.Call, start: int, end: int) -> Literal:
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.error('date() takes a fixed date in quotes, as in date("2024-01-31")', arg)
        if not _DATE_FORMAT.fullmatch(arg.value):
            raise self.error(f'"{arg.value}" is not a date written YYYY-MM-DD', arg)
        try:
            value = date.fromisoformat(arg.value)
        except ValueError:
            raise self.error(f'"{arg.value}" is not a real date', arg) from None
        return Literal(start, end, value=value)
