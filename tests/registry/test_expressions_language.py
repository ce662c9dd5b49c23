"""The expression language without a database: parsing, whitelist, typing, errors, contexts, evaluation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from registry.expressions import (
    T_INTEGER,
    T_NUMBER,
    CompileEnv,
    ExpressionContext,
    ExpressionError,
    check,
    choice_type,
    evaluate,
    explain_null,
    individual_context,
    parse,
    schema_type,
    validate_expression,
)
from registry.expressions.nodes import Binary, Call, Compare, InList, Literal, Logical, Variable
from registry.expressions.parser import MAX_LENGTH

SCHEMA = {
    "properties": {
        "disability": {"type": "boolean"},
        "income": {"type": "number"},
        "occupation": {"type": "string", "enum": ["farmer", "trader"]},
    }
}


@pytest.fixture(scope="module")
def context() -> ExpressionContext:
    return individual_context(individual_schema=SCHEMA, extra_constants={"base": 300, "rate": 1.5})


def error_of(text: str, context: ExpressionContext | None = None, **kwargs: object) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        check(text, context, **kwargs) if context is not None else parse(text)  # type: ignore[arg-type]
    return caught.value


class TestParse:
    def test_tree_of_a_formula(self) -> None:
        tree = parse("300 + 50 * household_size")
        assert isinstance(tree, Binary) and tree.op == "+"
        assert isinstance(tree.left, Literal) and tree.left.value == 300
        assert isinstance(tree.right, Binary) and tree.right.op == "*"
        assert isinstance(tree.right.right, Variable) and tree.right.right.name == "household_size"
        assert (tree.right.right.start, tree.right.right.end) == (11, 25)

    def test_if_is_a_function_despite_being_a_python_keyword(self) -> None:
        tree = parse("if(data.disability, 1.5, 1) * base")
        assert isinstance(tree, Binary) and isinstance(tree.left, Call) and tree.left.function == "if"
        assert isinstance(tree.left.args[0], Variable) and tree.left.args[0].name == "data.disability"
        assert tree.left.args[1].value == Decimal("1.5")  # type: ignore[attr-defined]

    def test_literals(self) -> None:
        values = [
            parse(text).value for text in ("true", "True", "false", "null", "None", "'x'", "-3", "2.50")
        ]  # type: ignore[attr-defined]
        assert values == [True, True, False, None, None, "x", -3, Decimal("2.5")]
        assert parse('date("1960-01-01")').value == date(1960, 1, 1)  # type: ignore[attr-defined]

    def test_dotted_names_are_variables_not_attributes(self) -> None:
        assert parse("household.data.monthly_income").name == "household.data.monthly_income"  # type: ignore[attr-defined]

    def test_comparison_chain_and_membership(self) -> None:
        chain = parse("1 < age <= 10")
        assert isinstance(chain, Logical) and [c.op for c in chain.operands] == ["<", "<="]  # type: ignore[attr-defined]
        membership = parse('x not in ["a", "b"]')
        assert isinstance(membership, InList) and membership.negated
        assert [item.value for item in membership.items] == ["a", "b"]
        assert isinstance(parse("a == b"), Compare)

    def test_spans_lines_and_leading_spaces(self) -> None:
        tree = parse("  age >= 65\n  and sex == 'F'")
        assert isinstance(tree, Logical) and tree.operands[1].start == 18

    @pytest.mark.parametrize(
        ("text", "message", "column"),
        [
            ('__import__("os")', 'names starting with "_" are not allowed ("__import__")', 1),
            ("().__class__", 'names starting with "_" are not allowed ("__class__")', 4),
            ("data.__class__", 'names starting with "_" are not allowed', 6),
            ("data.x.__dict__", 'names starting with "_" are not allowed', 8),
            ("__builtins__", 'names starting with "_" are not allowed', 1),
            ("_f(true, 1, 2)", 'names starting with "_" are not allowed', 1),
            ('open("x")', 'unknown function "open"', 1),
            ('eval("1")', 'unknown function "eval"', 1),
            ('getattr(x, "y")', 'unknown function "getattr"', 1),
            ("x.upper()", "only the listed functions may be called", 1),
            ("(1).real", "`.` may only join field names", 1),
            ('"abc".join', "`.` may only join field names", 1),
            ("[x for x in y]", "comprehensions are not allowed", 1),
            ("max((x for x in y), 1)", "comprehensions are not allowed", 5),
            ("lambda: 1", "lambda is not allowed", 1),
            ("a[0]", "indexing with [ ] is not allowed", 1),
            ("9**9**9", "the exponent after ** must be a whole number from 0 to 10", 4),
            ("2 ** 11", "the exponent after ** must be a whole number from 0 to 10", 6),
            ("2 ** age", "the exponent after ** must be a whole number", 6),
            ("2 ** -1", "the exponent after ** must be a whole number", 6),
            ("2 ** 0.5", "the exponent after ** must be a whole number", 6),
            ("import os", "syntax error", 1),
            ("1 +", "syntax error", 4),
            ("a if b else c", "`a if c else b` (write if(c, a, b)) is not allowed", 1),
            ("(x := 1)", "assignment with := is not allowed", 2),
            ('f"{x}"', "f-strings are not allowed", 1),
            ("min(*x)", "* arguments are not allowed", 5),
            ("round(x, ndigits=2)", "round() takes no named arguments", 1),
            ("{1: 2}", "dictionaries are not allowed", 1),
            ("{1}", "sets are not allowed", 1),
            ("[1, 2]", "a list is only allowed after `in`", 1),
            ("x in y", "`in` needs a list of values", 6),
            ("x in [y]", "may only hold fixed values", 7),
            ("a is None", "`is` is not allowed", 1),
            ("a in [1] < 2", "`in` cannot be chained", 1),
            ("0 < a in [1]", "`in` cannot be chained", 1),
            ('name == "\\x00"', "text may not contain a NUL character", 9),
            ("~a", "operator ~ is not allowed", 1),
            ("a << 1", "operator << is not allowed", 1),
            ("a @ b", "operator @ is not allowed", 1),
            ('b"x"', "bytes values are not allowed", 1),
            ("1j", "complex values are not allowed", 1),
            ("100000000000000000000", "this number is too large", 1),
            ("1e400", "this number is too large", 1),
            ('date("2024-02-30")', '"2024-02-30" is not a real date', 6),
            ('date("30/01/2024")', "is not a date written YYYY-MM-DD", 6),
            ("date(x)", "date() takes a fixed date in quotes", 6),
            ("round(x, 7)", "round()'s second argument must be a whole number from 0 to 6", 10),
            ("min(1)", "min() takes 2 to 20 arguments, not 1", 1),
            ("if(a, b)", "if() takes 3 arguments, not 2", 1),
            ("today(1)", "today() takes 0 arguments, not 1", 1),
            ("1) + (2", "unmatched ')'", 2),
        ],
    )
    def test_rejected_with_position(self, text: str, message: str, column: int) -> None:
        error = error_of(text)
        assert message in error.message
        assert error.column == column, str(error)
        assert f"at column {column}" in str(error)

    def test_string_multiplied_by_huge_power_is_a_type_error_not_a_computation(
        self, context: ExpressionContext
    ) -> None:
        error = error_of('"a" * 10**9', context)
        assert error.message == "cannot multiply text by number" and error.column == 1

    def test_length_limit(self) -> None:
        error = error_of("1 + " * (MAX_LENGTH // 4) + "1")
        assert f"at most {MAX_LENGTH} are allowed" in error.message

    @pytest.mark.parametrize(
        "text",
        [
            "(" * 300 + "1" + ")" * 300,
            "(1 + " * 60 + "1" + ")" * 60,
            "-" * 100 + "1",
            "not " * 60 + "x",
            "abs(" * 60 + "1" + ")" * 60,
            "+".join(["a"] * 450),
        ],
    )
    def test_nesting_and_size_limits(self, text: str) -> None:
        error = error_of(text)
        assert (
            "nested too deeply" in error.message
            or "too large" in error.message
            or "too many" in error.message
        )

    def test_operands_repeated_in_sql_are_bounded(self, context: ExpressionContext) -> None:
        assert check("((age ** 10) ** 10) ** 10", context).type == T_INTEGER
        error = error_of("(((age ** 10) ** 10) ** 10) ** 2", context)
        assert error.message.startswith("the expression would expand into too large a query")

    def test_empty_and_non_text(self) -> None:
        assert error_of("   ").message == "the expression is empty"
        with pytest.raises(ExpressionError, match="must be text"):
            parse(42)  # type: ignore[arg-type]

    def test_position_counts_characters_not_bytes(self, context: ExpressionContext) -> None:
        error = error_of('"élève" == "x" and "é" * 2', context)
        assert error.column == 20 and error.snippet == '"é" * 2'

    def test_multiline_position_and_pointer(self, context: ExpressionContext) -> None:
        error = error_of("age >= 65\nand sex + 1", context)
        assert (error.line, error.column) == (2, 5)
        assert "line 2, column 5" in str(error)
        assert error.pointer() == "and sex + 1\n    ^^^^^^^"


class TestCheck:
    def test_did_you_mean(self, context: ExpressionContext) -> None:
        error = error_of("300 + 50 * housold_size", context)
        assert error.message.startswith('unknown field "housold_size" — did you mean "household_size"')
        assert error.column == 12
        assert str(error).startswith('unknown field "housold_size" at column 12: housold_size — did you mean')
        assert 'did you mean "data.disability"' in error_of("data.disabilty", context).message

    def test_hints(self, context: ExpressionContext) -> None:
        error = error_of("maxx(age, 1)", context)
        assert str(error) == 'unknown function "maxx" at column 1: maxx — did you mean "max"?'
        dated = error_of('birth_date < "1960-01-01"', context)
        assert dated.message == 'cannot compare date with text — write a date as date("1960-01-01")'

    def test_unknown_without_close_names(self, context: ExpressionContext) -> None:
        assert error_of("zzzz > 1", context).message == 'unknown field "zzzz"'

    @pytest.mark.parametrize(
        ("text", "message", "column"),
        [
            ('"abc" * 2', "cannot multiply text by number", 1),
            ("age + true", "cannot add number and true/false", 1),
            ("birth_date - 1", "cannot subtract number from date", 1),
            ('1 + (age == "x")', "cannot compare number with text", 6),
            ('given_name < "B"', "text can only be compared with == or !=", 1),
            ("data.disability > false", "true/false can only be compared with == or !=", 1),
            ("null < 1", "null can only be compared with == or !=", 1),
            (
                "if(age, 1, 2)",
                "the first argument of if() must be a condition (true/false), but got a number",
                4,
            ),
            ('if(true, 1, "a")', "the two results of if() must be of one kind, not number and text", 1),
            ('coalesce(age, "none")', "the arguments of coalesce() must be of one kind", 1),
            ('min(1, "a")', "min() compares numbers or dates, all of one kind", 1),
            ('round("a")', "round() needs a number, but got a text", 7),
            ("abs(true)", "abs() needs a number, but got a true/false", 5),
            ("years_since(age)", "years_since() needs a date, but got a number", 13),
            ("not age", "`not` needs a condition (true/false), but got a number", 5),
            ("age and true", "`and` joins conditions (true/false), but got a number", 1),
            ("-sex", "`-` needs a number, but got a text", 2),
            ("age in ['a']", "the list holds a text where number is needed", 9),
            ("data.disability in [true]", "`in` needs a number, text or date on its left", 1),
        ],
    )
    def test_type_errors(self, context: ExpressionContext, text: str, message: str, column: int) -> None:
        error = error_of(text, context)
        assert error.message.startswith(message), error.message
        assert error.column == column, str(error)

    def test_choices_are_checked_and_listed(self, context: ExpressionContext) -> None:
        error = error_of('sex == "Female"', context)
        assert error.message == (
            '"Female" is not a possible value of sex; '
            'it is one of "F" (Female), "M" (Male), "X" (Other / not stated)'
        )
        assert error.column == 8
        listed = error_of('data.occupation in ["farmer", "fisher"]', context)
        assert listed.message.startswith('"fisher" is not a possible value of data.occupation')
        assert listed.column == 31
        assert error_of('"dead" == status', context).column == 1
        assert check('status in ["active", "moved"]', context).type.kind == "boolean"

    def test_result_types(self, context: ExpressionContext) -> None:
        assert check("300 + 50 * household_size", context).type == T_INTEGER
        assert check("household_size / 2", context).type == T_NUMBER
        assert check("if(data.disability, rate, 1) * base", context).type == T_NUMBER
        assert check("round(data.income)", context).type == T_INTEGER
        assert check("round(data.income, 2)", context).type == T_NUMBER
        assert check("max(birth_date, date('2000-01-01'))", context).type.kind == "date"
        assert check("if(true, sex, null)", context).type.choice_values == ("F", "M", "X")
        assert check("age >= 65 and region == 'North'", context).variables == frozenset({"age", "region"})

    def test_expected_result(self, context: ExpressionContext) -> None:
        assert check("age >= 65", context, expect="boolean").type.kind == "boolean"
        error = error_of("age", context, expect="boolean")
        assert error.message == "the expression must give a true/false, but it gives a number"
        assert error_of("age > 1", context, expect="number").message.endswith("but it gives a true/false")
        assert error_of("null", context).message == "the expression is always null"
        with pytest.raises(ValueError, match="expect must be one of"):
            check("1", context, expect="money")

    def test_validate_expression_raises_a_form_error(self, context: ExpressionContext) -> None:
        with pytest.raises(ValidationError) as caught:
            validate_expression("household_sise * 2", context, expect="number")
        assert 'did you mean "household_size"' in caught.value.messages[0]
        assert validate_expression("household_size * 2", context, expect="number").type == T_INTEGER


class TestContext:
    def test_names_cover_the_registry(self, context: ExpressionContext) -> None:
        expected = {
            "age", "sex", "status", "birth_date", "given_name", "location", "region", "district",
            "registration_date", "data.disability", "data.income", "data.occupation", "household_size",
            "count_head", "count_child", "count_female", "count_male", "count_age_0_4", "count_age_5_17",
            "count_age_18_59", "count_age_60_plus", "household.size", "household.code",
            "household.head.age", "household_role", "base", "rate",
        }  # fmt: skip
        assert expected <= set(context.names)
        assert context.constants == {"base": 300, "rate": Decimal("1.5")}

    def test_describe_lists_types_and_choices(self, context: ExpressionContext) -> None:
        rows = {name: (kind, text) for name, kind, text in context.describe()}
        assert rows["age"][0] == "whole number"
        assert rows["data.occupation"][0] == 'choice: "farmer", "trader"'
        assert rows["household_size"] == ("whole number", "Number of current members")

    def test_schema_types(self) -> None:
        assert schema_type({"type": "integer"}) == T_INTEGER
        assert schema_type({"type": ["null", "number"]}) == T_NUMBER
        assert schema_type({"type": "string", "format": "date"}).kind == "date"  # type: ignore[union-attr]
        labelled = schema_type({"type": "string", "enum": ["a", "b"], "enumNames": ["Alpha", "Beta"]})
        assert labelled is not None and labelled.describe_choices() == '"a" (Alpha), "b" (Beta)'
        assert schema_type({"type": "object"}) is None and schema_type({"type": "array"}) is None

    def test_schema_properties_that_cannot_be_names_are_left_out(self) -> None:
        unusable = ("not ok", "_x", "é", "a.b", "")
        properties = {"ok": {"type": "number"}} | {name: {"type": "number"} for name in unusable}
        context = ExpressionContext().add_schema_fields({"properties": properties})
        assert context.names == ["data.ok"]

    def test_python_keywords_are_field_names_after_a_dot(self) -> None:
        context = ExpressionContext().add_schema_fields(
            {"properties": {"class": {"type": "integer"}, "in": {"type": "boolean"}}}
        )
        typed = check("if(data.in, data.class, 0) + 1", context)
        assert typed.variables == frozenset({"data.class", "data.in"})
        assert evaluate(typed, {"data.in": True, "data.class": 4}) == 5
        with pytest.raises(ExpressionError, match='unknown field "data.from"'):
            check("data.from", context)

    def test_names_are_validated_and_unique(self) -> None:
        context = ExpressionContext().add("x", T_INTEGER, "x")
        with pytest.raises(ExpressionError, match='"x" is defined twice'):
            context.add("x", T_INTEGER, "x")
        for bad in ("if", "min", "true", "a.__b", "2x", "data..x"):
            with pytest.raises(ExpressionError, match="cannot be a variable name"):
                ExpressionContext().add(bad, T_INTEGER, "x")
        with pytest.raises(ExpressionError, match="a constant must be"):
            ExpressionContext().add_constant("c", [1])
        with pytest.raises(ExpressionError, match='the constant "x" would hide the field'):
            context.add_constant("x", 1)
        assert ExpressionContext().add_constant("c", 1).add_constant("c", 2).constants == {"c": 2}

    def test_include_with_prefix_names_and_skip(self) -> None:
        inner = (
            ExpressionContext()
            .add("a", T_INTEGER, "a")
            .add("count_x", T_INTEGER, "b")
            .add("c", T_INTEGER, "c")
        )
        outer = ExpressionContext().add("a", T_NUMBER, "own_a")
        outer.include(inner, path="link", prefix="link").include(inner, path="link", names=["count_*", "c"])
        assert outer.names == ["a", "c", "count_x", "link.a", "link.c", "link.count_x"]
        with pytest.raises(ExpressionError, match='"a" is defined twice'):
            outer.include(inner, path="link")
        assert outer.include(inner, path="link", skip_existing=True).get("a").type == T_NUMBER
        assert outer.get("link.a").build(CompileEnv(today=date(2025, 1, 1))).name == "link__a"

    def test_choice_type_from_plain_values(self) -> None:
        assert choice_type(["a", "b"]).choice_values == ("a", "b")


class TestEvaluate:
    def test_values_and_constants(self, context: ExpressionContext) -> None:
        assert evaluate("300 + 50 * household_size", {"household_size": 4}, context=context) == 500
        assert (
            evaluate("if(data.disability, rate, 1) * base", {"data.disability": True}, context=context) == 450
        )
        assert (
            evaluate("if(data.disability, rate, 1) * base", {"data.disability": None}, context=context) == 300
        )

    def test_null_and_division_by_zero(self, context: ExpressionContext) -> None:
        assert evaluate("100 / (household_size - 3)", {"household_size": 3}, context=context) is None
        assert evaluate("100 / (household_size - 3)", {"household_size": 7}, context=context) == 25
        assert evaluate("age > 1 or true", {"age": None}, context=context) is True
        assert evaluate("age > 1 and true", {"age": None}, context=context) is None
        assert evaluate("age == null", {"age": None}, context=context) is True

    def test_python_operator_semantics(self, context: ExpressionContext) -> None:
        assert evaluate("(age - 100) % 7", {"age": 75}, context=context) == 3
        assert evaluate("-7 // 2", {}, context=context) == -4
        assert evaluate("round(2.675, 2)", {}, context=context) == Decimal("2.68")
        assert evaluate("round(-2.5)", {}, context=context) == -3
        assert evaluate("0.1 + 0.2 == 0.3", {}, context=context) is True
        assert evaluate("age ** 3", {"age": 2}, context=context) == 8

    def test_dates(self, context: ExpressionContext) -> None:
        today = date(2025, 6, 15)
        values = {"birth_date": date(1960, 6, 16)}
        assert evaluate("years_since(birth_date)", values, context=context, today=today) == 64
        assert evaluate("days_since(birth_date) > 365 * 60", values, context=context, today=today) is True
        assert (
            evaluate("birth_date < date('1960-07-01')", {"birth_date": "1960-06-16"}, context=context) is True
        )

    def test_explain_null(self, context: ExpressionContext) -> None:
        text = "base + 100 / (household_size - 3)"
        assert explain_null(text, {"household_size": 3}, context=context) == (
            "division by zero at column 8: 100 / (household_size - 3)"
        )
        assert explain_null(text, {"household_size": None}, context=context) == "household_size has no value"
        assert explain_null(text, {"household_size": 4}, context=context) is None
        chosen = "if(data.disability, data.income * 2, 0)"
        assert explain_null(chosen, {"data.disability": True, "data.income": None}, context=context) == (
            "data.income has no value"
        )
        assert explain_null(chosen, {"data.disability": None, "data.income": None}, context=context) is None

    @pytest.mark.parametrize(
        ("text", "value", "message"),
        [
            ("age + 1", "old", 'the value given for "age" is not a number'),
            ("age + 1", True, 'the value given for "age" is not a number'),
            ("not data.disability", "no", 'the value given for "data.disability" is not a true/false'),
            ("birth_date < today()", "1960-02-30", 'the value given for "birth_date" is not a date'),
            ('given_name == "x"', 3, 'the value given for "given_name" is not a text'),
        ],
    )
    def test_values_of_the_wrong_type_are_errors(
        self, context: ExpressionContext, text: str, value: object, message: str
    ) -> None:
        name = check(text, context).variables
        with pytest.raises(ExpressionError, match=message):
            evaluate(text, dict.fromkeys(name, value), context=context)

    def test_missing_value_is_an_error(self, context: ExpressionContext) -> None:
        with pytest.raises(ExpressionError, match='no value given for "age"'):
            evaluate("age + 1", {}, context=context)
        with pytest.raises(ExpressionError, match="needs the context"):
            evaluate("1 + 1", {})
