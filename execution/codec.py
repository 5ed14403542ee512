"""Small JSON codecs for the execution state (contracts, times, enums, legs).

Decoders raise :class:`StateFormatError` with the offending field so a damaged store is reported
clearly instead of failing deep inside the trading loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import TypeAlias, TypeVar

from config.instruments import Contract
from execution.types import ComboLeg, PositionLeg

Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
JsonObj: TypeAlias = dict[str, Json]

E = TypeVar("E", bound=Enum)


class StateFormatError(ValueError):
    """Stored execution state that does not have the expected shape."""


def obj(value: Json, what: str) -> Mapping[str, Json]:
    if not isinstance(value, dict):
        raise StateFormatError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def seq(value: Json, what: str) -> Sequence[Json]:
    if not isinstance(value, list):
        raise StateFormatError(f"{what}: expected a list, got {type(value).__name__}")
    return value


def field(data: Mapping[str, Json], name: str) -> Json:
    if name not in data:
        raise StateFormatError(f"missing field {name!r}")
    return data[name]


def get_str(data: Mapping[str, Json], name: str) -> str:
    value = field(data, name)
    if not isinstance(value, str):
        raise StateFormatError(f"field {name!r}: expected text, got {value!r}")
    return value


def get_opt_str(data: Mapping[str, Json], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateFormatError(f"field {name!r}: expected text or null, got {value!r}")
    return value


def get_int(data: Mapping[str, Json], name: str) -> int:
    value = field(data, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateFormatError(f"field {name!r}: expected an integer, got {value!r}")
    return value


def get_float(data: Mapping[str, Json], name: str) -> float:
    value = field(data, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateFormatError(f"field {name!r}: expected a number, got {value!r}")
    return float(value)


def get_bool(data: Mapping[str, Json], name: str) -> bool:
    value = field(data, name)
    if not isinstance(value, bool):
        raise StateFormatError(f"field {name!r}: expected true/false, got {value!r}")
    return value


def as_int(value: Json, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateFormatError(f"{what}: expected an integer, got {value!r}")
    return value


def as_float(value: Json, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateFormatError(f"{what}: expected a number, got {value!r}")
    return float(value)


def as_str(value: Json, what: str) -> str:
    if not isinstance(value, str):
        raise StateFormatError(f"{what}: expected text, got {value!r}")
    return value


def enc_float(value: float) -> Json:
    """Finite floats as numbers; NaN/inf as text so the output stays strict JSON."""
    return value if math.isfinite(value) else repr(value)


def dec_float(value: Json, what: str) -> float:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return as_float(value, what)


def enc_time(value: datetime) -> str:
    return value.isoformat()


def dec_time(value: Json, what: str) -> datetime:
    try:
        return datetime.fromisoformat(as_str(value, what))
    except ValueError as exc:
        raise StateFormatError(f"{what}: bad time {value!r}") from exc


def dec_date(value: Json, what: str) -> date:
    try:
        return date.fromisoformat(as_str(value, what))
    except ValueError as exc:
        raise StateFormatError(f"{what}: bad date {value!r}") from exc


def dec_contract(value: Json, what: str) -> Contract:
    try:
        return Contract.parse(as_str(value, what))
    except ValueError as exc:
        raise StateFormatError(f"{what}: bad contract {value!r}") from exc


def dec_enum(kind: type[E], value: Json, what: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        raise StateFormatError(f"{what}: {value!r} is not a {kind.__name__}") from exc


def enc_legs(legs: Sequence[ComboLeg | PositionLeg]) -> list[Json]:
    return [[leg.contract.symbol, leg.ratio] for leg in legs]


def dec_leg_pairs(value: Json, what: str) -> list[tuple[Contract, int]]:
    out: list[tuple[Contract, int]] = []
    for i, item in enumerate(seq(value, what)):
        pair = seq(item, f"{what}[{i}]")
        if len(pair) != 2:
            raise StateFormatError(f"{what}[{i}]: expected [contract, ratio]")
        out.append((dec_contract(pair[0], f"{what}[{i}]"), as_int(pair[1], f"{what}[{i}]")))
    return out
