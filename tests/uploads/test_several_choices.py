"""A several-choices custom field in an upload: one cell, choices separated by ";" (or ","), each checked."""

from __future__ import annotations

import pytest

from uploads.columns import Column
from uploads.parsing import CellError, converter_for


def _convert(text: str) -> list[str]:
    column = Column("ind.assets", "choices", choices=("radio", "bicycle"), group="individual", key="assets")
    return converter_for(column, dates=None)(text)


def test_several_choices_become_a_list_in_the_file_order_without_repeats() -> None:
    assert _convert("Bicycle; radio;bicycle") == ["bicycle", "radio"]
    assert _convert("radio,bicycle") == ["radio", "bicycle"]


def test_a_value_outside_the_choices_is_refused_naming_them() -> None:
    with pytest.raises(CellError, match="'car' is not one of: radio, bicycle"):
        _convert("radio; car")
