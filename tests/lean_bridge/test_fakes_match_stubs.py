"""Every attribute a fake in ``fakes.py`` defines exists on the LEAN class it mirrors, per the
``quantconnect-stubs`` (read as text with ``ast``; nothing of LEAN is imported)."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
from functools import cache
from pathlib import Path

import pytest

from tests.lean_bridge import fakes


def _stub_root() -> Path:
    spec = importlib.util.find_spec("QuantConnect")
    assert spec is not None and spec.submodule_search_locations, "quantconnect-stubs missing"
    return Path(next(iter(spec.submodule_search_locations))).parent


STUBS = _stub_root()


@cache
def _module(name: str) -> ast.Module | None:
    path = STUBS.joinpath(*name.split("."), "__init__.pyi")
    return ast.parse(path.read_text(encoding="utf-8")) if path.is_file() else None


def _dotted(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Subscript):
        return _dotted(expr.value)
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        head = _dotted(expr.value)
        return None if head is None else f"{head}.{expr.attr}"
    return None


@cache
def stub_members(qualified: str) -> frozenset[str]:
    """Names a stub class and its (stub) base classes define."""
    module, _, name = qualified.rpartition(".")
    tree = _module(module)
    if tree is None:
        return frozenset()
    members: set[str] = set()
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == name):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                members.add(item.name)
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                members.add(item.target.id)
            elif isinstance(item, ast.Assign):
                members.update(t.id for t in item.targets if isinstance(t, ast.Name))
        for base in node.bases:
            dotted = _dotted(base)
            if dotted is None:
                continue
            members |= stub_members(dotted if "." in dotted else f"{module}.{dotted}")
    return frozenset(members)


def fake_attributes(cls: type) -> set[str]:
    names = {n for n in vars(cls) if not n.startswith("_")}
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    return names - {"MIRRORS", "TEST_HELPERS"} - set(getattr(cls, "TEST_HELPERS", ()))


def missing_attributes(cls: type) -> set[str]:
    return fake_attributes(cls) - stub_members(cls.MIRRORS)


FAKES = [c for _, c in inspect.getmembers(fakes, inspect.isclass) if hasattr(c, "MIRRORS")]


def test_fakes_when_collected_then_every_lean_class_used_is_mirrored() -> None:
    mirrored = {c.MIRRORS for c in FAKES}

    assert {"QuantConnect.Data.Slice", "QuantConnect.Orders.OrderTicket",
            "QuantConnect.Orders.OrderEvent", "QuantConnect.Securities.Security",
            "QuantConnect.Storage.ObjectStore"} <= mirrored


@pytest.mark.parametrize("fake", FAKES, ids=lambda c: c.__name__)
def test_fake_when_compared_with_stub_then_every_attribute_exists_in_lean(fake: type) -> None:
    assert stub_members(fake.MIRRORS), f"stub class {fake.MIRRORS} not found"
    assert missing_attributes(fake) == set()


def test_missing_attributes_when_fake_has_a_typo_then_reported() -> None:
    @dataclasses.dataclass
    class Typo:
        MIRRORS = "QuantConnect.Data.Market.OptionContract"
        bid_price: float
        ask_prize: float

    assert missing_attributes(Typo) == {"ask_prize"}
