"""Import closure and the export of LEAN project folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_bridge.export import SMOKE_BASE_MODULE, export, import_closure


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, {
        "main.py": "from AlgorithmImports import *\nfrom pkg.a import thing\nimport numpy\n",
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.sub import b\nfrom pkg import VALUE\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "def f() -> None:\n    from pkg import c\n",
        "pkg/c.py": "",
        "pkg/unused.py": "",
        "other/__init__.py": "",
        "lean_smoke/main.py": f"from {SMOKE_BASE_MODULE} import X\nfrom other import y\n",
        "lean_smoke/config.json": json.dumps({"parameters": {"expect_trades": "lt112"}}),
        "config.json": json.dumps({"algorithm-language": "Python", "parameters": {"a": "1"}}),
        "lean.json": json.dumps({"data-folder": "data"}),
    })
    return tmp_path


def rel(root: Path, paths: list[Path]) -> list[str]:
    return sorted(str(p.relative_to(root.resolve())) for p in paths)


def test_import_closure_when_nested_and_function_imports_then_all_needed_files(
        tree: Path) -> None:
    files = import_closure(tree, tree / "main.py")

    assert rel(tree, files) == ["main.py", "pkg/__init__.py", "pkg/a.py", "pkg/c.py",
                                "pkg/sub/__init__.py", "pkg/sub/b.py"]


def test_import_closure_when_project_module_missing_then_error_names_it(tree: Path) -> None:
    (tree / "pkg" / "a.py").write_text("import pkg.gone\n")

    with pytest.raises(ModuleNotFoundError, match=r"pkg\.gone"):
        import_closure(tree, tree / "main.py")


def test_import_closure_when_alias_then_aliased_file_followed(tree: Path) -> None:
    files = import_closure(tree, tree / "lean_smoke" / "main.py",
                           {SMOKE_BASE_MODULE: tree / "main.py"})

    assert "main.py" in rel(tree, files) and "pkg/c.py" in rel(tree, files)
    assert "other/__init__.py" in rel(tree, files)


def test_export_when_workspace_empty_then_two_projects_and_lean_json(tree: Path,
                                                                     tmp_path: Path) -> None:
    ws = tmp_path / "ws"

    export(ws, root=tree)

    assert (ws / "TomKing" / "main.py").read_text() == (tree / "main.py").read_text()
    assert (ws / "TomKing" / "pkg" / "sub" / "b.py").is_file()
    assert not (ws / "TomKing" / "pkg" / "unused.py").exists()
    assert not (ws / "TomKing" / "lean_smoke").exists()
    smoke = ws / "lean_smoke"
    assert (smoke / "main.py").read_text() == (tree / "lean_smoke" / "main.py").read_text()
    assert (smoke / f"{SMOKE_BASE_MODULE}.py").read_text() == (tree / "main.py").read_text()
    assert json.loads((smoke / "config.json").read_text())["parameters"] == {
        "expect_trades": "lt112"}
    assert json.loads((ws / "lean.json").read_text()) == {"data-folder": "data"}


def test_export_when_run_again_then_cloud_ids_and_lean_json_kept_stale_files_gone(
        tree: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    export(ws, root=tree)
    config = ws / "TomKing" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "cloud-id": 42}))
    (ws / "lean.json").write_text('{"mine": true}')
    (ws / "TomKing" / "pkg" / "removed.py").write_text("")
    (ws / "TomKing" / "backtests").mkdir()

    export(ws, root=tree)

    assert json.loads(config.read_text())["cloud-id"] == 42
    assert json.loads(config.read_text())["parameters"] == {"a": "1"}
    assert json.loads((ws / "lean.json").read_text()) == {"mine": True}
    assert not (ws / "TomKing" / "pkg" / "removed.py").exists()
    assert (ws / "TomKing" / "backtests").is_dir()
