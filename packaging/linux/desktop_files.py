#!/usr/bin/env python3
"""The Linux desktop integration files, generated from the app's own code, and their install.

There is one source for the .desktop text: `aws_sso_tray.desktop.autostart.desktop_entry`,
the function the tray's "start at login" toggle writes
`~/.config/autostart/aws-sso-tray.desktop` with. This script derives from it:

- `aws-sso-tray.desktop` (next to this file): the application entry for menus and launchers,
  `Exec=aws-sso-tray tray`, with `Categories` and without the autostart keys;
- `autostart/aws-sso-tray.desktop`: the autostart entry exactly as the toggle writes it, with
  `Exec=aws-sso-tray tray --autostart`, for distribution packages that put it in
  /etc/xdg/autostart (see README.md for why a plain install should not);

and the icons: the `ok` look of the tray icon (`assets/ok-N.png`, the package
`aws_sso_tray.assets`) installed as `share/icons/hicolor/NxN/apps/aws-sso-tray.png`, the name
both entries give in `Icon=`.

    desktop_files.py --check                  exit 1 when the committed files are stale
    desktop_files.py --write                  regenerate them (after autostart.py changed)
    desktop_files.py --install PREFIX [--exec PATH]
        PREFIX/share/applications/aws-sso-tray.desktop and the hicolor icons, e.g.
        --install ~/.local --exec ~/opt/aws-sso-tray/aws-sso-tray for the unpacked bundle

Needs aws_sso_tray importable (any venv it is installed in, or src/ on sys.path).
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.append(SRC.as_posix())  # a checkout without an install: after any installed copy

from aws_sso_tray.desktop.autostart import DESKTOP_FILE_NAME, desktop_entry  # noqa: E402
from aws_sso_tray.tray.icons import ASSET_SIZES, IconState, asset_name  # noqa: E402

COMMAND = "aws-sso-tray"  # the console script pyproject.toml installs
APP_ICON_STATE = IconState.OK
ICON_NAME = "aws-sso-tray"  # Icon= in both entries
APPLICATION_FILE = HERE / DESKTOP_FILE_NAME
AUTOSTART_FILE = HERE / "autostart" / DESKTOP_FILE_NAME
# Keys that only mean something in an autostart entry.
_AUTOSTART_ONLY = ("X-GNOME-Autostart-", "Hidden=")
_APPLICATION_EXTRA = (
    "Categories=Utility;Network;",
    "Keywords=AWS;SSO;IAM;Identity Center;credentials;",
    "StartupNotify=false",
)


def autostart_text(command: str = COMMAND) -> str:
    """The autostart entry, exactly what the tray's toggle writes, running `command`."""
    return desktop_entry([command, "tray", "--autostart"])


def application_text(command: str = COMMAND) -> str:
    """The application entry: the toggle's text with `tray` only, menu keys, no autostart keys."""
    lines = [
        line
        for line in desktop_entry([command, "tray"]).splitlines()
        if not line.startswith(_AUTOSTART_ONLY)
    ]
    return "\n".join([*lines, *_APPLICATION_EXTRA]) + "\n"


def expected_files() -> dict[Path, str]:
    return {APPLICATION_FILE: application_text(), AUTOSTART_FILE: autostart_text()}


def stale_files() -> list[Path]:
    """The committed files whose content differs from what the code generates now."""
    return [
        path
        for path, text in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def icon_sources() -> dict[int, bytes]:
    """The app icon's PNG for every shipped size, read from the installed package."""
    assets = files("aws_sso_tray.assets")
    return {
        size: assets.joinpath(asset_name(APP_ICON_STATE, size)).read_bytes() for size in ASSET_SIZES
    }


def install(prefix: Path, exec_path: str = COMMAND) -> list[Path]:
    """Install the application entry and the hicolor icons under `prefix`; returns the files."""
    written: list[Path] = []
    for size, data in icon_sources().items():
        target = (
            prefix / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    entry = prefix / "share" / "applications" / DESKTOP_FILE_NAME
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(application_text(exec_path), encoding="utf-8")
    written.append(entry)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    action.add_argument("--write", action="store_true", help="regenerate the committed files")
    action.add_argument("--install", metavar="PREFIX", type=Path, help="install under PREFIX")
    parser.add_argument("--exec", dest="exec_path", default=COMMAND, help="command for Exec=")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"{path}: stale, run {Path(__file__).name} --write", file=sys.stderr)
        return 1 if stale else 0
    if args.write:
        for path, text in expected_files().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(path)
        return 0
    for path in install(args.install.expanduser(), args.exec_path):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
