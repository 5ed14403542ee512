"""The type check against ``quantconnect-stubs`` catches a misspelled LEAN call, passes the
correct one, and passes the smoke project as ``lean_bridge.export`` writes it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lean_bridge.export import export

# The same flags for every run (imported project modules are checked by ``make typecheck``).
FLAGS = ["--strict", "--allow-subclassing-any", "--allow-untyped-calls", "--no-error-summary",
         "--follow-imports=silent"]
# A cache shared by runs keeps a repeated check to seconds (the stubs are large).
CACHE = Path(tempfile.gettempdir()) / "tom_king_stub_mypy_cache"

ALGORITHM = '''from AlgorithmImports import *


class StubCheckAlgorithm(QCAlgorithm):
    def initialize(self) -> None:
        self.set_start_date(2024, 1, 2)
        self.spy = self.{call}("SPY", Resolution.MINUTE).symbol
'''


def mypy(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    config = CACHE / "mypy.ini"
    config.write_text("[mypy]\n")
    return subprocess.run(
        [sys.executable, "-m", "mypy", *FLAGS, "--config-file", str(config),
         "--cache-dir", str(CACHE), *targets],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def algorithms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stubcheck")
    (root / "misspelled_algo.py").write_text(ALGORITHM.format(call="add_equty"))
    (root / "correct_algo.py").write_text(ALGORITHM.format(call="add_equity"))
    return root


def test_mypy_when_lean_method_misspelled_then_check_fails(algorithms: Path) -> None:
    result = mypy(algorithms, "misspelled_algo.py")

    assert result.returncode == 1, result.stdout + result.stderr
    assert 'has no attribute "add_equty"' in result.stdout


def test_mypy_when_lean_method_spelled_right_then_check_passes(algorithms: Path) -> None:
    result = mypy(algorithms, "correct_algo.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_mypy_when_exported_smoke_project_then_check_passes(tmp_path: Path) -> None:
    export(tmp_path / "ws")
    smoke = tmp_path / "ws" / "lean_smoke"

    result = mypy(smoke, "main.py")

    assert result.returncode == 0, result.stdout + result.stderr
