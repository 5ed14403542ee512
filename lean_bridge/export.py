"""Write LEAN project folders holding exactly what ``main.py`` imports.

Why (facts from QuantConnect/lean-cli's source): ``lean backtest PROJECT`` mounts only the project
folder (at ``/LeanCLI``) and the workspace's ``Library/`` folder into the engine container, and
compiles and copies every ``.py`` file under the project (``ProjectManager.get_source_files``
skips only ``bin``, ``obj``, ``.ipynb_checkpoints``, ``backtests``, ``live`` and
``optimizations``); ``lean cloud push`` uploads every ``.py`` file too. A project at this
repository's root would therefore carry ``.venv/``, ``tests/`` and ``sim/`` (and break the cloud
file quotas), and a second project such as ``lean_smoke/`` could not import the root's packages.
The exported projects contain ``main.py``, ``config.json`` and the modules ``main.py`` imports.

Usage::

    python -m lean_bridge.export [WORKSPACE] [--name TomKing] [--smoke-name lean_smoke]

``WORKSPACE`` (default ``build/lean``) gets ``TomKing/`` and ``lean_smoke/``, and this
repository's ``lean.json`` when it has none (a ``lean init`` workspace keeps its own).
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The smoke algorithm imports the root main.py under this module name (LEAN's loader picks the
# QCAlgorithm subclass *defined in* the algorithm module, and both files are ``main.py``).
SMOKE_BASE_MODULE = "tom_king_main"
# Keys of an existing project config.json that lean-cli owns and an export keeps.
_KEPT_KEYS = ("cloud-id", "local-id", "organization-id")


def import_statements(path: Path) -> tuple[set[str], set[str]]:
    """Modules ``path`` imports, as ``(modules, maybe_modules)``: ``import a.b`` and
    ``from a.b import c`` name module ``a.b``; ``a.b.c`` may be a module or a name defined in
    ``a.b``. Imports inside functions and ``TYPE_CHECKING`` blocks count."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    maybe: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            maybe.update(f"{node.module}.{alias.name}" for alias in node.names
                         if alias.name != "*")
    return modules, maybe


def imported_names(path: Path) -> set[str]:
    """Every dotted name :func:`import_statements` reports for ``path``."""
    modules, maybe = import_statements(path)
    return modules | maybe


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def is_project_module(root: Path, dotted: str,
                      aliases: Mapping[str, Path] | None = None) -> bool:
    """Whether ``dotted``'s top-level name is a package or module of the project at ``root``."""
    top = dotted.split(".")[0]
    if aliases and top in aliases:
        return True
    return (root / top / "__init__.py").is_file() or (root / f"{top}.py").is_file()


def import_closure(root: Path, entry: Path,
                   aliases: Mapping[str, Path] | None = None) -> list[Path]:
    """Project files ``entry`` needs, transitively: imported modules and the ``__init__.py`` of
    every package on their paths. ``aliases`` maps a module name to a file (see
    :data:`SMOKE_BASE_MODULE`).

    Raises
    ------
    ModuleNotFoundError
        Naming a project module that some file imports but that does not exist.
    """
    root = root.resolve()
    aliases = dict(aliases or {})
    seen: dict[Path, None] = {}
    todo = [entry.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = None
        modules, maybe = import_statements(path)
        for name in sorted(modules | maybe):
            if not is_project_module(root, name, aliases):
                continue
            parts = name.split(".")
            if parts[0] in aliases:
                todo.append(aliases[parts[0]].resolve())
                continue
            found = _module_file(root, name)
            if found is None:
                if name in modules:
                    raise ModuleNotFoundError(f"{path.relative_to(root)} imports {name!r}, "
                                              f"which is not in the project")
                continue  # ``from a.b import c``: ``c`` is a name defined in ``a.b``
            for i in range(1, len(parts)):
                init = root.joinpath(*parts[:i], "__init__.py")
                if init.is_file():
                    todo.append(init.resolve())
            todo.append(found.resolve())
    return sorted(seen)


def external_modules(root: Path, files: Sequence[Path]) -> dict[Path, set[str]]:
    """Per file, the top-level names it imports that are not project modules."""
    out: dict[Path, set[str]] = {}
    for path in files:
        names = {n.split(".")[0] for n in imported_names(path)
                 if not is_project_module(root, n, {SMOKE_BASE_MODULE: root / "main.py"})}
        out[path] = names
    return out


def _write_config(source: Path, target: Path) -> None:
    config = json.loads(source.read_text(encoding="utf-8"))
    if target.is_file():
        old = json.loads(target.read_text(encoding="utf-8"))
        config.update({k: old[k] for k in _KEPT_KEYS if k in old})
    target.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")


def _export_project(root: Path, project: Path, files: Mapping[Path, Path],
                    config: Path) -> list[Path]:
    """Copy ``files`` (source -> path relative to the project) into ``project``."""
    project.mkdir(parents=True, exist_ok=True)
    for top in {rel.parts[0] for rel in files.values() if len(rel.parts) > 1}:
        stale = project / top
        if stale.is_dir():
            shutil.rmtree(stale)
    written = []
    for source, rel in sorted(files.items(), key=lambda kv: str(kv[1])):
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    _write_config(config, project / "config.json")
    written.append(project / "config.json")
    return written


def export(workspace: Path, name: str = "TomKing", smoke_name: str = "lean_smoke",
           root: Path = REPO) -> list[Path]:
    """Write ``workspace/name`` (the algorithm) and ``workspace/smoke_name`` (the smoke test);
    returns the files written."""
    root = root.resolve()
    main = root / "main.py"
    main_files = {p: p.relative_to(root) for p in import_closure(root, main)}
    written = _export_project(root, workspace / name, main_files, root / "config.json")

    smoke_main = root / "lean_smoke" / "main.py"
    aliases = {SMOKE_BASE_MODULE: main}
    smoke_files: dict[Path, Path] = {}
    for path in import_closure(root, smoke_main, aliases):
        if path == smoke_main.resolve():
            smoke_files[path] = Path("main.py")
        elif path == main.resolve():
            smoke_files[path] = Path(f"{SMOKE_BASE_MODULE}.py")
        else:
            smoke_files[path] = path.relative_to(root)
    written += _export_project(root, workspace / smoke_name, smoke_files,
                               root / "lean_smoke" / "config.json")

    lean_json = workspace / "lean.json"
    if not lean_json.exists():
        shutil.copyfile(root / "lean.json", lean_json)
        written.append(lean_json)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lean_bridge.export",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("workspace", nargs="?", type=Path, default=REPO / "build" / "lean")
    parser.add_argument("--name", default="TomKing")
    parser.add_argument("--smoke-name", default="lean_smoke")
    args = parser.parse_args(argv)
    written = export(args.workspace, args.name, args.smoke_name)
    projects = sorted({p.relative_to(args.workspace).parts[0] for p in written
                       if p.name != "lean.json"})
    print(f"wrote {len(written)} files under {args.workspace}: projects {', '.join(projects)}")
    print(f"next: cd {args.workspace} && lean backtest {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
