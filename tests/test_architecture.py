"""The house's floors: which package may import which, one namespace, no cycles, light entry points.

The floors, bottom to top:
- tools/ (analysis) imports only tools/ and third-party analysis libraries;
- memory/ imports, from tools/, only its base modules: schema, settings, vocabulary;
- agent/ may import tools/ and memory/, never evals/ or the CLI;
- evals/, the CLI (main.py, report.py), its output writers (exports/) and batch runner (batch/) sit on top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tools", "memory", "agent", "evals", "exports", "batch")
# What sits above the agent: the evals, the CLI and its output writers and batch runner.
TOP_FLOORS = ("linernotes.evals", "linernotes.main", "linernotes.report", "linernotes.exports", "linernotes.batch")
TOOLS_BASE = {"linernotes.tools.schema", "linernotes.tools.settings", "linernotes.tools.vocabulary"}
# Orchestration and LLM libraries the engine must not know.
AGENT_LIBRARIES = ("langchain", "langchain_core", "langchain_openai", "langgraph", "openai", "chromadb",
                   "llama_cpp")


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [part for part in relative.parts if part != "__init__"]
    return ".".join(["linernotes", *parts])


def source_files() -> list[Path]:
    files = [path for package in PACKAGES for path in sorted((ROOT / package).glob("*.py"))]
    return files + sorted(ROOT.glob("*.py"))


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute module names imported anywhere in the file (or only at its top level)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # `if TYPE_CHECKING:` blocks do not run
        nodes = [node for node in nodes if not isinstance(node, ast.If)]
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def crossings() -> list[str]:
    """Every import that crosses a floor, as 'file: module'."""
    found = []
    for path in source_files():
        floor = path.relative_to(ROOT).parts[0] if path.parent != ROOT else "cli"
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in (*PACKAGES, "main", "report"):
                found.append(f"{path.name}: {name} (outside the linernotes namespace)")
            if floor == "tools" and (name.startswith(("linernotes.agent", "linernotes.memory", *TOP_FLOORS))
                                     or top in AGENT_LIBRARIES):
                found.append(f"tools/{path.name}: {name}")
            if floor == "memory":
                if name.startswith(("linernotes.agent", *TOP_FLOORS)):
                    found.append(f"memory/{path.name}: {name}")
                if name.startswith("linernotes.tools.") and not any(
                        name == base or name.startswith(base + ".") for base in TOOLS_BASE):
                    found.append(f"memory/{path.name}: {name}")
            if floor == "agent" and name.startswith(TOP_FLOORS):
                found.append(f"agent/{path.name}: {name}")
    return found


def test_no_import_crosses_a_floor():
    assert crossings() == []


def test_the_floor_check_catches_a_crossing(tmp_path, monkeypatch):
    """The checker itself: a tools module that imports the store is reported."""
    fake_root = tmp_path / "repo"
    for package in PACKAGES:
        (fake_root / package).mkdir(parents=True)
    (fake_root / "tools" / "bad.py").write_text("def f():\n    from linernotes.memory.store import SongStore\n")
    (fake_root / "memory" / "bad.py").write_text("from linernotes.tools.rhythm import track_rhythm\n")
    (fake_root / "agent" / "old.py").write_text("import tools.audio\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    found = crossings()
    assert "tools/bad.py: linernotes.memory.store" in found
    assert "memory/bad.py: linernotes.tools.rhythm" in found
    assert any(line.startswith("old.py: tools.audio") for line in found)


def test_no_import_cycle_at_module_level():
    """Module-level imports between linernotes modules form no cycle (api ⇄ chat was one)."""
    modules = {module_name(path): path for path in source_files()}
    graph = {name: {imported for imported in imports_of(path, top_level_only=True) if imported in modules}
             for name, path in modules.items()}
    visiting, done, cycles = set(), set(), []

    def visit(name: str, trail: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            cycles.append(" -> ".join(trail[trail.index(name):] + [name]))
            return
        visiting.add(name)
        for imported in graph[name]:
            visit(imported, trail + [name])
        visiting.discard(name)
        done.add(name)

    for name in graph:
        visit(name, [])
    assert cycles == []


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT.parent)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("code", [
    "import linernotes",
    "import linernotes.agent.graph",
    "from linernotes.main import linernotes_command\n"
    "try:\n    linernotes_command(['describe', 'no-such-file.mp3'])\nexcept SystemExit:\n    pass",
    "from linernotes.main import linernotes_command\n"
    "try:\n    linernotes_command(['--version'])\nexcept SystemExit:\n    pass",
])
def test_entry_points_load_no_heavy_library(code):
    """The package, the graph's definition, a bad path and --version load neither torch nor chromadb."""
    loaded = _loaded_after(code)
    assert not loaded & {"torch", "chromadb", "essentia", "onnxruntime", "llama_cpp"}


def test_public_names():
    import linernotes

    assert linernotes.__version__
    assert callable(linernotes.describe) and callable(linernotes.analyze)
    from linernotes.agent.describe import analyze

    assert linernotes.analyze is analyze


def test_nothing_generic_is_installed_at_the_top_level():
    """pyproject maps the root folders into the `linernotes` package, never beside it."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"linernotes": "."}
    assert all(package == "linernotes" or package.startswith("linernotes.") for package in setuptools["packages"])
    assert "py-modules" not in setuptools
