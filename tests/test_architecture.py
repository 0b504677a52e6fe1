"""The import graph keeps the layers: faces call the facade, the core never calls a face.

Faces (`cli/`, `tray/`, `daemon.py`, `demo.py`) may import from the package only the facade
(`aws_sso_tray.api`), the snapshot types, the errors, the package itself (`__version__`) and
modules of their own face package. No core module imports a face. Every import counts: at the
top, inside functions, and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "aws_sso_tray"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE

FACES = ("cli", "tray", "daemon", "demo")  # top-level names under aws_sso_tray
CORE: tuple[str, ...]  # grows below
CORE = ("aws", "files", "login", "engine", "desktop", "setup", "api", "errors", "snapshot")
CORE += ("clock", "logs")
ALLOWED_FOR_FACES = {PACKAGE, f"{PACKAGE}.api", f"{PACKAGE}.snapshot", f"{PACKAGE}.errors"}

# Faces that start other faces: the command line starts the tray, the daemon and the demo (and
# shows the daemon's rendering of the engine's status); the demo starts its emulator and a face.
FACE_LAUNCHES = {
    # `aws-sso-tray tray|daemon|demo|status` start the long-running faces.
    f"{PACKAGE}.cli.run": {f"{PACKAGE}.tray", f"{PACKAGE}.daemon", f"{PACKAGE}.demo"},
    # `python -m aws_sso_tray.daemon` / `.tray` are the CLI's `daemon` / `tray` commands.
    f"{PACKAGE}.daemon": {f"{PACKAGE}.cli.main"},
    f"{PACKAGE}.tray.__main__": {f"{PACKAGE}.cli.main"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, name: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` (module `name`) imports, anywhere in it, as absolute names.

    `from X import Y` counts as X, and as X.Y too when that is a module of the package.
    """
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(
                f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}")
            )
    return found


def _top(module: str) -> str:
    """The layer a module of the package is in: `aws_sso_tray.aws.tokens` -> `aws`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_module(module: str) -> bool:
    if not module.startswith(f"{PACKAGE}."):
        return False
    rel = Path(*module.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def face_violations(name: str, imports: set[str]) -> list[str]:
    """The imports of face module `name` that go below the facade."""
    own = f"{PACKAGE}.{_top(name)}"
    allowed = ALLOWED_FOR_FACES | FACE_LAUNCHES.get(name, set())
    bad = []
    for module in sorted(imports):
        if module != PACKAGE and not module.startswith(f"{PACKAGE}."):
            continue
        if module in allowed or module == own or module.startswith(own + "."):
            continue
        bad.append(module)
    return bad


def core_violations(imports: set[str]) -> list[str]:
    """The imports of a core module that reach up into a face."""
    return sorted(m for m in imports if m.startswith(f"{PACKAGE}.") and _top(m) in FACES)


def _modules() -> list[tuple[str, Path]]:
    return sorted((module_name(p), p) for p in SRC.rglob("*.py"))


def _imports(path: Path, name: str) -> set[str]:
    return imported_modules(path.read_text(), name, is_package=path.name == "__init__.py")


@pytest.mark.parametrize("name", [n for n, _ in _modules() if _top(n) in FACES])
def test_faces_import_only_the_facade(name: str) -> None:
    path = dict(_modules())[name]
    assert face_violations(name, _imports(path, name)) == []


@pytest.mark.parametrize("name", [n for n, _ in _modules() if _top(n) in CORE])
def test_core_never_imports_a_face(name: str) -> None:
    path = dict(_modules())[name]
    assert core_violations(_imports(path, name)) == []


def test_every_face_module_is_checked() -> None:
    faces = {n for n, _ in _modules() if _top(n) in FACES}
    assert f"{PACKAGE}.cli.main" in faces and len([n for n in faces if ".cli." in n]) > 3
    for face in (
        f"{PACKAGE}.tray.app",
        f"{PACKAGE}.tray.menu",
        f"{PACKAGE}.daemon",
        f"{PACKAGE}.demo",
    ):
        assert face in faces


def test_every_module_is_a_face_or_core_or_known() -> None:
    # the emulator, the entry points and the version module stand beside the layers
    beside = {"emulator", "launch", "__main__", "", "assets"}
    layers = {_top(n) for n, _ in _modules()}
    assert layers <= set(FACES) | set(CORE) | beside, layers - set(FACES) - set(CORE) - beside


def test_the_checker_catches_a_face_reaching_below_the_facade() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from aws_sso_tray import api\n"
        "from aws_sso_tray.errors import AppError\n"
        "if TYPE_CHECKING:\n"
        "    from aws_sso_tray.aws.profiles import SsoProfile\n"
        "def cmd() -> None:\n"
        "    from aws_sso_tray.aws import tokens\n"
        "    from ..files import credfile\n"
        "    from . import common\n"
    )
    name = f"{PACKAGE}.cli.fake"
    bad = face_violations(name, imported_modules(source, name))
    assert bad == [
        f"{PACKAGE}.aws",
        f"{PACKAGE}.aws.profiles",
        f"{PACKAGE}.aws.tokens",
        f"{PACKAGE}.files",
        f"{PACKAGE}.files.credfile",
    ]


def test_the_checker_catches_the_core_importing_a_face() -> None:
    source = "def f() -> None:\n    from aws_sso_tray.cli.main import main\n"
    name = f"{PACKAGE}.engine.fake"
    assert core_violations(imported_modules(source, name)) == [f"{PACKAGE}.cli.main"]
