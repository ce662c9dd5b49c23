"""The error raised for any expression that cannot be parsed, typed, compiled or evaluated."""

from __future__ import annotations


class ExpressionError(ValueError):
    """What is wrong with an expression, and where (a character offset into its text).

    `str(error)` reads like `cannot multiply text by number at column 1: "abc" * 2`; forms
    show `message` beside the field and `pointer()` under it.
    """

    def __init__(
        self, message: str, *, text: str = "", start: int | None = None, end: int | None = None
    ) -> None:
        self.message = message
        self.text = text
        self.start = start
        self.end = end if end is not None else start
        super().__init__(self.describe())

    @property
    def line(self) -> int | None:
        if self.start is None:
            return None
        return self.text.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int | None:
        """1-based column on its line, counted in characters."""
        if self.start is None:
            return None
        return self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1

    @property
    def snippet(self) -> str:
        if self.start is None or self.end is None:
            return ""
        return self.text[self.start : max(self.end, self.start + 1)][:80]

    def describe(self) -> str:
        if self.start is None:
            return self.message
        where = (
            f"column {self.column}" if "\n" not in self.text else f"line {self.line}, column {self.column}"
        )
        # A message carrying a suggestion ("— did you mean") keeps the suggestion last.
        head, sep, tail = self.message.partition(" — ")
        located = f"{head} at {where}"
        if self.snippet.strip():
            located += f": {self.snippet}"
        return f"{located}{sep}{tail}" if sep else located

    def pointer(self) -> str:
        """The offending line with carets under the offending part."""
        if self.start is None:
            return self.text
        line_start = self.text.rfind("\n", 0, self.start) + 1
        line_end = self.text.find("\n", self.start)
        line_end = len(self.text) if line_end == -1 else line_end
        width = max(1, min(self.end or self.start, line_end) - self.start)
        return f"{self.text[line_start:line_end]}\n{' ' * (self.start - line_start)}{'^' * width}"

    def located(self, text: str, start: int | None, end: int | None) -> ExpressionError:
        """This error again, placed at a node of `text` when it has no place yet."""
        if self.start is not None:
            return self
        return ExpressionError(self.message, text=text, start=start, end=end)
