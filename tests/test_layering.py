"""The dependency rule of DESIGN.md, checked on the source tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = ["config", "greeks", "risk", "strategies", "execution", "system"]
LEAN_MODULES = ("AlgorithmImports", "QuantConnect", "System", "clr")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def lean_importers(root: Path) -> list[str]:
    """Modules other than main.py and lean_bridge/ that import a LEAN module."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in {".venv", "lean_bridge", "lean_smoke", "tests"} or rel.name == "main.py":
            continue
        # tests may mention LEAN names in strings, never import them; check them too
        if imports_of(path) & set(LEAN_MODULES):
            bad.append(str(rel))
    for path in sorted((root / "tests").rglob("*.py")) if (root / "tests").exists() else []:
        if imports_of(path) & set(LEAN_MODULES):
            bad.append(str(path.relative_to(root)))
    return bad


def test_lean_imports_when_scanning_project_then_only_main_and_lean_bridge() -> None:
    assert lean_importers(ROOT) == []


def test_lean_imports_when_core_module_imports_algorithm_imports_then_detected(
    tmp_path: Path,
) -> None:
    (tmp_path / "risk").mkdir()
    (tmp_path / "risk" / "bad.py").write_text("from AlgorithmImports import *\n")
    (tmp_path / "main.py").write_text("from AlgorithmImports import *\n")
    assert lean_importers(tmp_path) == ["risk/bad.py"]


@pytest.mark.parametrize("package", PURE)
def test_pure_package_when_importing_then_never_sim_or_lean_bridge(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        assert not imports_of(path) & {"sim", "lean_bridge", "main"}, path


@pytest.mark.parametrize("package", ["config", "greeks"])
def test_base_package_when_importing_then_no_other_project_package(package: str) -> None:
    others = {"risk", "strategies", "execution", "system", "sim", "lean_bridge"}
    if package == "greeks":
        others.add("config")
    for path in sorted((ROOT / package).rglob("*.py")):
        assert not imports_of(path) & others, path


@pytest.mark.parametrize("package", PURE)
def test_pure_package_when_importing_then_no_clock_or_file_access(package: str) -> None:
    banned = [r"\bdatetime\.now\(", r"\bdate\.today\(", r"\btime\.time\(",
              r"(?<![\w.])open\(", r"\bos\.environ", r"\bPath\("]
    for path in sorted((ROOT / package).rglob("*.py")):
        text = path.read_text()
        for pattern in banned:
            assert not re.search(pattern, text), f"{path.relative_to(ROOT)} matches {pattern}"
