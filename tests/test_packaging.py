"""Packaging files: valid, and saying the same as the code that writes the same entries at run time.

The bundle itself is built and run by packaging/build-linux.sh (too slow for pytest); here the
specs are executed with stand-ins for PyInstaller's build classes to check what they ask for,
and the botocore data subset they keep is proven sufficient by creating clients from it alone.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.desktop import autostart
from aws_sso_tray.tray.icons import ASSET_SIZES

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
APP_ENTRY = LINUX / "aws-sso-tray.desktop"
AUTOSTART_ENTRY = LINUX / "autostart" / "aws-sso-tray.desktop"
LAUNCH_AGENT = PACKAGING / "macos" / f"{autostart.LAUNCH_AGENT_LABEL}.plist"
STARTUP_SCRIPT = PACKAGING / "windows" / "aws-sso-tray.cmd"
SPECS = {
    "linux": LINUX / "aws-sso-tray.spec",
    "darwin": PACKAGING / "macos" / "aws-sso-tray.spec",
    "win32": PACKAGING / "windows" / "aws-sso-tray.spec",
}


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def common() -> ModuleType:
    return _load(PACKAGING / "pyinstaller_common.py", "pyinstaller_common")


@pytest.fixture(scope="module")
def desktop_files() -> ModuleType:
    return _load(LINUX / "desktop_files.py", "desktop_files")


def _entry(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def _pyproject() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with (ROOT / "pyproject.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


# --- Linux .desktop entries -----------------------------------------------------------------------


def test_packaged_desktop_files_are_what_the_autostart_code_generates(
    desktop_files: ModuleType,
) -> None:
    assert desktop_files.stale_files() == [], "run packaging/linux/desktop_files.py --write"
    # The autostart entry is byte for byte what the tray's toggle writes, for the installed command.
    assert AUTOSTART_ENTRY.read_text(encoding="utf-8") == autostart.desktop_entry(
        ["aws-sso-tray", "tray", "--autostart"]
    )


def test_application_entry_launches_the_tray_from_the_menu() -> None:
    app = _entry(APP_ENTRY.read_text(encoding="utf-8"))
    assert shlex.split(app["Exec"]) == ["aws-sso-tray", "tray"]
    assert app["Icon"] == "aws-sso-tray"
    assert app["Categories"] == "Utility;Network;"
    assert app["Type"] == "Application"
    assert app["Terminal"] == "false"
    assert not any(key.startswith("X-GNOME-Autostart") for key in app)
    # Same name, comment and icon as the autostart entry: both come from autostart.desktop_entry.
    started = _entry(AUTOSTART_ENTRY.read_text(encoding="utf-8"))
    for key in ("Name", "Comment", "Icon", "Type", "Terminal"):
        assert app[key] == started[key], key


def test_autostart_entry_starts_the_tray_in_autostart_mode() -> None:
    started = _entry(AUTOSTART_ENTRY.read_text(encoding="utf-8"))
    assert shlex.split(started["Exec"]) == ["aws-sso-tray", "tray", "--autostart"]
    assert started["X-GNOME-Autostart-enabled"] == "true"
    assert "Hidden" not in started


def test_exec_lines_are_commands_the_installed_cli_accepts() -> None:
    from aws_sso_tray.cli.main import build_parser

    scripts = _pyproject()["project"]["scripts"]
    assert scripts["aws-sso-tray"] == "aws_sso_tray.launch:main"
    for path in (APP_ENTRY, AUTOSTART_ENTRY):
        program, *args = shlex.split(_entry(path.read_text(encoding="utf-8"))["Exec"])
        assert program in scripts
        parsed = build_parser().parse_args(args)
        assert parsed.command == "tray"
        assert parsed.autostart is ("--autostart" in args)


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed"
)
def test_desktop_file_validate_accepts_both_entries(
    tmp_path: Path, desktop_files: ModuleType
) -> None:
    # The installed application entry too, with an absolute Exec path (the bundle's).
    installed = desktop_files.install(tmp_path, "/opt/aws sso tray/aws-sso-tray")[-1]
    result = subprocess.run(
        ["desktop-file-validate", str(APP_ENTRY), str(AUTOSTART_ENTRY), str(installed)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Hints (e.g. two main categories) are advice; errors and warnings fail the check.
    problems = [
        line for line in result.stdout.splitlines() if ": error: " in line or ": warning: " in line
    ]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def test_install_lays_out_hicolor_icons_and_the_entry(
    tmp_path: Path, desktop_files: ModuleType
) -> None:
    from PIL import Image

    exe = "/opt/aws sso tray/aws-sso-tray"
    written = desktop_files.install(tmp_path, exe)
    for size in ASSET_SIZES:
        icon = tmp_path / "share/icons/hicolor" / f"{size}x{size}" / "apps" / "aws-sso-tray.png"
        assert icon in written
        with Image.open(icon) as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"
    entry = _entry((tmp_path / "share/applications/aws-sso-tray.desktop").read_text())
    assert shlex.split(entry["Exec"]) == [exe, "tray"]


# --- macOS ----------------------------------------------------------------------------------------


def test_launch_agent_template_is_what_autostart_writes() -> None:
    data = plistlib.loads(LAUNCH_AGENT.read_bytes())
    assert data["Label"] == autostart.LAUNCH_AGENT_LABEL == LAUNCH_AGENT.stem
    assert data == plistlib.loads(autostart.launch_agent(data["ProgramArguments"]))
    assert data["RunAtLoad"] is True
    program, *args = data["ProgramArguments"]
    # The bundle's console executable, inside the .app the macOS spec builds.
    assert program == "/Applications/AWS SSO Tray.app/Contents/MacOS/aws-sso-tray"
    assert args == ["tray", "--autostart"]


# --- Windows --------------------------------------------------------------------------------------


def test_startup_script_template_is_what_autostart_writes(common: ModuleType) -> None:
    text = STARTUP_SCRIPT.read_bytes().decode("utf-8")
    assert STARTUP_SCRIPT.name == autostart.WINDOWS_FILE_NAME
    command_line = text.splitlines()[1].removeprefix('start "" ')
    command = shlex.split(command_line.replace("\\", "\\\\"))
    assert text == autostart.windows_script(command)
    assert command[0].endswith(f"\\{common.GUI_NAME}.exe")  # the windowless executable


# --- PyInstaller specs ----------------------------------------------------------------------------


class _Recorder:
    """Stands in for Analysis / PYZ / EXE / COLLECT / BUNDLE; records how it was called."""

    calls: list[_Recorder]

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        _Recorder.calls.append(self)
        if kind == "Analysis":
            # What PyInstaller's own hooks would add: all of botocore's data.
            self.datas = [
                ("botocore/data/endpoints.json", "x", "DATA"),
                ("botocore/data/s3/2006-03-01/service-2.json.gz", "x", "DATA"),
                ("botocore/data/sso/2019-06-10/service-2.json.gz", "x", "DATA"),
                *[(dest, src, "DATA") for src, dest in kwargs.get("datas", [])],
            ]
            self.pure: list[Any] = []
            self.scripts: list[Any] = []
            self.binaries: list[Any] = []


def _run_spec(path: Path) -> list[_Recorder]:
    _Recorder.calls = []
    namespace: dict[str, Any] = {"SPECPATH": str(path.parent), "__file__": str(path)}
    for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[kind] = lambda *a, _kind=kind, **k: _Recorder(_kind, *a, **k)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    return _Recorder.calls


@pytest.mark.parametrize("platform", sorted(SPECS))
def test_specs_are_python_and_build_the_entry_points(platform: str, common: ModuleType) -> None:
    ast.parse(SPECS[platform].read_text(encoding="utf-8"))
    calls = _run_spec(SPECS[platform])
    analyses = [c for c in calls if c.kind == "Analysis"]
    exes = {c.kwargs["name"]: c for c in calls if c.kind == "EXE"}
    assert exes[common.APP_NAME].kwargs["console"] is True
    for analysis in analyses:
        (script,) = analysis.args[0]
        assert Path(script).is_file()
        hidden = analysis.kwargs["hiddenimports"]
        assert set(common.hidden_imports(platform)) <= set(hidden)
        assert analysis.kwargs["runtime_hooks"] == common.RUNTIME_HOOKS
        assert all(Path(hook).is_file() for hook in analysis.kwargs["runtime_hooks"])
        # The unused botocore models are dropped, the needed ones and our icons kept.
        kept = {dest for dest, *_ in analysis.datas}
        assert "botocore/data/s3/2006-03-01/service-2.json.gz" not in kept
        assert "botocore/data/sso/2019-06-10/service-2.json.gz" in kept
        assert "aws_sso_tray/assets" in kept
        assert "aws_sso_tray/dashboard" in kept  # the page engine/dashboard.py serves
    if platform == "linux":
        assert {"pystray._appindicator", "pystray._gtk", "pystray._xorg"} <= set(hidden)
        assert "desktop_notifier.backends.dbus" in hidden
        assert list(exes) == [common.APP_NAME]
    else:
        # The tray as a windowless executable (pyproject's gui-scripts entry point, frozen).
        assert exes[common.GUI_NAME].kwargs["console"] is False
        assert {Path(a.args[0][0]).name for a in analyses} == {
            common.CLI_SCRIPT.name,
            common.GUI_SCRIPT.name,
        }
    if platform == "darwin":
        (bundle,) = [c for c in calls if c.kind == "BUNDLE"]
        info = bundle.kwargs["info_plist"]
        assert info["LSUIElement"] is True  # no Dock icon
        assert info["CFBundleIdentifier"] == autostart.LAUNCH_AGENT_LABEL
        assert info["CFBundleExecutable"] == common.GUI_NAME
        assert Path(bundle.kwargs["icon"]).is_file()
        plistlib.dumps(info)  # a valid plist value
        assert bundle.kwargs["name"] == "AWS SSO Tray.app"  # where the LaunchAgent points
    if platform == "win32":
        assert all(Path(e.kwargs["icon"]).is_file() for e in exes.values())


def test_entry_scripts_call_the_pyproject_entry_points(common: ModuleType) -> None:
    project = _pyproject()["project"]
    targets = {
        common.CLI_SCRIPT: project["scripts"][common.APP_NAME],
        common.GUI_SCRIPT: project["gui-scripts"][common.GUI_NAME],
    }
    for script, target in targets.items():
        module, func = target.split(":")
        tree = ast.parse(script.read_text(encoding="utf-8"))
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert any(n.module == module and [a.name for a in n.names] == [func] for n in imports)


# --- the botocore data the bundle keeps -----------------------------------------------------------


def test_kept_botocore_data_is_enough_for_the_clients_the_app_makes(
    tmp_path: Path, common: ModuleType, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore
    import botocore.exceptions
    import botocore.loaders
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    source = Path(botocore.__file__).parent
    data = source / "data"
    kept = [
        p
        for p in data.rglob("*")
        if p.is_file() and common.keep_data(p.relative_to(source.parent).as_posix())
    ]
    assert 10 < len(kept) < 40  # the whole of botocore is thousands
    for path in kept:
        target = tmp_path / path.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    session = botocore.session.Session()
    session.register_component(
        "data_loader",
        botocore.loaders.Loader(
            extra_search_paths=[str(tmp_path)], include_default_search_paths=False
        ),
    )
    config = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1})
    # A real call with each of the app's two clients: models, endpoint rules and retry config load.
    oidc: Any = session.create_client("sso-oidc", region_name="eu-west-1", config=config)
    registered = oidc.register_client(clientName="packaging-test", clientType="public")
    assert registered["clientId"]
    portal: Any = session.create_client("sso", region_name="eu-west-1", config=config)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        portal.list_accounts(accessToken="not-a-token")
    assert caught.value.response["Error"]["Code"] == "UnauthorizedException"
    session.create_client("sts", region_name="eu-west-1", config=config)
    # And the loader really was limited to the subset.
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        session.create_client("s3", region_name="eu-west-1", config=config)


# --- the bundle's own autostart entry -------------------------------------------------------------


def test_autostart_from_a_bundle_runs_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = tmp_path / "aws-sso-tray" / "aws-sso-tray"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert autostart.launch_command("linux") == [str(exe), "tray", "--autostart"]
