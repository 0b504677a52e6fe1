"""What the three PyInstaller specs share: entry scripts, hidden imports, the package's data, and
the small slice of botocore's data the app uses.

botocore ships models for every AWS service (~28 MB, thousands of files) and PyInstaller's hook
for it collects them all. The app only ever creates `sso` and `sso-oidc` clients (awsclients.py),
and `export --profile` of a non-SSO profile may resolve credentials through an assume-role
provider (`sts`), so `filter_datas` keeps those three services' models plus the top-level files
every client loads (endpoints, partitions, retry config, default configuration).
build-linux.sh checks the result by running the bundle against the emulator.

Loaded by the .spec files (which PyInstaller executes, `SPECPATH` set to the spec's folder) and
by tests/test_packaging.py. No PyInstaller import at module level: the tests do not need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

PACKAGING_DIR = Path(__file__).resolve().parent
ENTRY_DIR = PACKAGING_DIR / "entry"
CLI_SCRIPT = ENTRY_DIR / "aws_sso_tray_cli.py"  # aws_sso_tray.launch:main
GUI_SCRIPT = ENTRY_DIR / "aws_sso_tray_gui.py"  # aws_sso_tray.cli.main:gui_main (windowless)
RUNTIME_HOOKS = [str(PACKAGING_DIR / "rthooks" / "pyi_rth_child_env.py")]

APP_NAME = "aws-sso-tray"
GUI_NAME = "aws-sso-tray-gui"
DISPLAY_NAME = "AWS SSO Tray"
BUNDLE_ID = "io.github.aws-sso-tray"  # same as autostart.LAUNCH_AGENT_LABEL

BOTOCORE_SERVICES: tuple[str, ...] = ("sso", "sso-oidc", "sts")
BOTOCORE_TOP_FILES: tuple[str, ...] = (
    "_retry.json",
    "endpoints.json",
    "partitions.json",
    "sdk-default-configuration.json",
)

# pystray and desktop-notifier pick their backend at run time by name: PyInstaller's import
# analysis cannot see those imports.
_HIDDEN: dict[str, tuple[str, ...]] = {
    "linux": (
        "pystray._appindicator",
        "pystray._gtk",
        "pystray._xorg",
        "pystray._util.gtk",
        "pystray._util.notify_dbus",
        "desktop_notifier.backends.dbus",
    ),
    "darwin": (
        "pystray._darwin",
        "desktop_notifier.backends.macos",
        "desktop_notifier.backends.macos_support",
    ),
    "win32": (
        "pystray._win32",
        "pystray._util.win32",
        "desktop_notifier.backends.winrt",
    ),
}
_HIDDEN_ALL: tuple[str, ...] = (
    "desktop_notifier.backends.dummy",
    "pystray._dummy",
    # The demo starts the emulator in-process; the tray is imported lazily by the CLI.
    "aws_sso_tray.emulator",
    "aws_sso_tray.emulator.__main__",
    "aws_sso_tray.tray",
    "aws_sso_tray.tray.__main__",
    # The icons' package: tray/icons.py reaches it by name through importlib.resources.
    "aws_sso_tray.assets",
)

# The app is a tray: nothing of these is used, and some pull in a lot (tkinter: Tcl/Tk).
EXCLUDES: tuple[str, ...] = ("tkinter", "boto3", "s3transfer", "pytest", "hypothesis", "mypy")


def hidden_imports(platform: str) -> list[str]:
    """Modules to bundle for `platform` ("linux", "darwin", "win32") beyond what analysis finds."""
    key = "linux" if platform.startswith(("linux", "freebsd", "openbsd")) else platform
    return [*_HIDDEN[key], *_HIDDEN_ALL]


def keep_data(dest_name: str) -> bool:
    """False for the botocore data files the app never loads (path as inside the bundle)."""
    parts = Path(dest_name).as_posix().split("/")
    if parts[:2] != ["botocore", "data"]:
        return True
    rest = parts[2:]
    if len(rest) == 1:
        return rest[0] in BOTOCORE_TOP_FILES
    # examples-1.json is documentation only.
    return rest[0] in BOTOCORE_SERVICES and rest[-1] != "examples-1.json"


def filter_datas(datas: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Analysis.datas without the unused botocore models (entries are (dest, src, typecode))."""
    return [entry for entry in datas if keep_data(entry[0])]


def assets_dir() -> Path:
    """The installed package's icons (ok.ico / ok.icns are the Windows / macOS app icons)."""
    from importlib.resources import files

    return Path(str(files("aws_sso_tray.assets")))


def package_datas() -> list[tuple[str, str]]:
    """(source, dest folder) pairs: the icons, the dashboard's page, the emulator's pages."""
    from importlib.resources import files

    package = Path(str(files("aws_sso_tray")))
    wanted = [
        (assets_dir(), "aws_sso_tray/assets"),
        (package / "dashboard", "aws_sso_tray/dashboard"),
        (package / "emulator" / "pages", "aws_sso_tray/emulator/pages"),
        (package / "py.typed", "aws_sso_tray"),
    ]
    return [(str(source), dest) for source, dest in wanted if source.exists()]


def gi_hooksconfig() -> dict[str, object]:
    """Bundle GTK 3 (not 4) and only what a tray menu needs from themes and translations."""
    return {
        "gi": {
            "module-versions": {"Gtk": "3.0", "Gdk": "3.0"},
            "icons": ["Adwaita"],
            "themes": ["Adwaita"],
            "languages": ["en_US", "en_GB", "de_DE", "fr_FR"],
        }
    }
