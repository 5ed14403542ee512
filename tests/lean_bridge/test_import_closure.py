"""Everything ``main.py`` imports, transitively, uses only the standard library, numpy, scipy and
pandas (what LEAN's Python image ships); LEAN's own modules only in ``main.py`` and
``lean_bridge/``. The same closure is what ``lean_bridge.export`` writes into a LEAN project."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lean_bridge.export import SMOKE_BASE_MODULE, external_modules, import_closure

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "scipy", "pandas"}
LEAN = {"AlgorithmImports", "QuantConnect", "System", "clr"}


def violations(root: Path, entry: Path, aliases: dict[str, Path] | None = None) -> list[str]:
    files = import_closure(root, entry, aliases)
    bad = []
    for path, names in external_modules(root, files).items():
        rel = path.relative_to(root.resolve())
        lean_ok = rel.name == "main.py" or rel.parts[0] == "lean_bridge" or (
            rel.name == f"{SMOKE_BASE_MODULE}.py")
        allowed = ALLOWED | (LEAN if lean_ok else set())
        bad.extend(f"{rel}: {name}" for name in sorted(names - allowed))
    return bad


def test_main_closure_when_scanned_then_only_stdlib_numpy_scipy_pandas_and_lean() -> None:
    assert violations(ROOT, ROOT / "main.py") == []


def test_main_closure_when_scanned_then_covers_the_trading_system() -> None:
    files = {str(p.relative_to(ROOT)) for p in import_closure(ROOT, ROOT / "main.py")}

    assert {"system/trading_system.py", "lean_bridge/market.py", "config/defaults.py"} <= files
    assert not any(f.startswith(("sim/", "tests/")) for f in files)
    assert "lean_bridge/export.py" not in files


def test_smoke_closure_when_scanned_then_same_rules() -> None:
    smoke = ROOT / "lean_smoke" / "main.py"

    assert violations(ROOT, smoke, {SMOKE_BASE_MODULE: ROOT / "main.py"}) == []


@pytest.mark.parametrize(("module", "where", "expected"), [
    ("import matplotlib.pyplot\n", "risk/x.py", ["risk/x.py: matplotlib"]),
    ("from QuantConnect import Symbol\n", "risk/x.py", ["risk/x.py: QuantConnect"]),
    ("from QuantConnect import Symbol\n", "lean_bridge/x.py", []),
    ("import typing_extensions\n", "lean_bridge/x.py", ["lean_bridge/x.py: typing_extensions"]),
])
def test_violations_when_module_imports_forbidden_package_then_reported(
        tmp_path: Path, module: str, where: str, expected: list[str]) -> None:
    pkg = where.split("/")[0]
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / where).write_text(module)
    (tmp_path / "main.py").write_text(f"import {where[:-3].replace('/', '.')}\n")

    assert violations(tmp_path, tmp_path / "main.py") == expected
