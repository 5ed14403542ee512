"""Shell parameters (start, end, cash) and the split from core parameters."""

from __future__ import annotations

from datetime import date

import pytest

from config import load_config
from lean_bridge.shell import (
    SHELL_DEFAULTS,
    ShellParameterError,
    core_parameters,
    shell_settings,
)


def test_shell_settings_when_given_then_parsed() -> None:
    s = shell_settings({"start": "2022-01-03", "end": "2022-06-30", "cash": "250000"})

    assert (s.start, s.end, s.cash) == (date(2022, 1, 3), date(2022, 6, 30), 250_000.0)


def test_shell_settings_when_absent_or_empty_then_defaults() -> None:
    s = shell_settings({"start": " "})

    assert s.start == date.fromisoformat(SHELL_DEFAULTS["start"])
    assert s.cash == float(SHELL_DEFAULTS["cash"])


@pytest.mark.parametrize(("params", "match"), [
    ({"start": "03/01/2022"}, "'start'"),
    ({"cash": "lots"}, "'cash'"),
    ({"cash": "-5"}, "positive"),
    ({"start": "2024-02-01", "end": "2024-01-01"}, "before start"),
])
def test_shell_settings_when_bad_value_then_error_names_it(params: dict[str, str],
                                                           match: str) -> None:
    with pytest.raises(ShellParameterError, match=match):
        shell_settings(params)


def test_core_parameters_when_shell_and_extra_names_then_only_core_left() -> None:
    params = {"start": "2024-01-02", "cash": "1", "expect_trades": "lt112",
              "friday_0dte.short_delta": "0.2"}

    core = core_parameters(params, frozenset({"start", "end", "cash", "expect_trades"}))

    assert core == {"friday_0dte.short_delta": "0.2"}
    assert load_config(core).strategies.friday_0dte.short.target == 0.2
