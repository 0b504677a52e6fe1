"""Start the tray at login: one entry per platform, switched on and off from the tray's menu.

- Linux (and other XDG desktops): `$XDG_CONFIG_HOME/autostart/aws-sso-tray.desktop`
  (freedesktop Desktop Application Autostart spec).
- macOS: a LaunchAgent, `~/Library/LaunchAgents/io.github.aws-sso-tray.plist`, RunAtLoad.
- Windows: `aws-sso-tray.cmd` in the user's Startup folder
  (`%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup`); a .lnk would need COM.

The command is the Python running now (`-m aws_sso_tray tray --autostart`; `pythonw.exe` on
Windows so no console stays open): it works in a venv, under pipx and from a checkout alike,
and `--autostart` makes the tray wait for the panel and fall back quietly to the daemon.
`platform` and `home`-style arguments exist so tests can exercise every platform anywhere.

The entry is written with `atomicfile.write_atomic` (temp file, fsync, rename): a folder it has
to create for it (`~/.config/autostart`, `~/Library/LaunchAgents`, the Startup folder) is made
0700 whatever the umask, and a folder that is already there is left as it is (other apps share
it).

In a separate world (`AWS_SSO_TRAY_HOME`, the demo) the entry lives in that world's
`autostart/` folder, which nothing reads at login: the demo's "Start at login" never changes what
the user's real session starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_sso_tray.files.atomicfile import write_atomic
from aws_sso_tray.files.paths import APP_NAME, HOME_VARIABLE

LAUNCH_AGENT_LABEL = "io.github.aws-sso-tray"
DESKTOP_FILE_NAME = f"{APP_NAME}.desktop"
WINDOWS_FILE_NAME = f"{APP_NAME}.cmd"


def _platform(platform: str | None) -> str:
    return sys.platform if platform is None else platform


def autostart_file(platform: str | None = None) -> Path:
    """Where the login entry lives on `platform` (default: this one)."""
    platform = _platform(platform)
    world = os.environ.get(HOME_VARIABLE)
    if world:
        name = {"darwin": f"{LAUNCH_AGENT_LABEL}.plist", "win32": WINDOWS_FILE_NAME}
        return Path(world).expanduser() / "autostart" / name.get(platform, DESKTOP_FILE_NAME)
    home = Path("~").expanduser()
    if platform == "darwin":
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    if platform == "win32":
        appdata = os.environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        startup = Path(appdata) / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        return startup / WINDOWS_FILE_NAME
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config_home) / "autostart" / DESKTOP_FILE_NAME


def launch_command(platform: str | None = None) -> list[str]:
    """The command the login entry runs."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: sys.executable is our own program
        exe = Path(sys.executable)
        if _platform(platform) == "win32":
            return [str(exe.with_name("aws-sso-tray-gui.exe")), "--autostart"]
        return [str(exe.with_name("aws-sso-tray")), "tray", "--autostart"]
    python = Path(sys.executable)
    if _platform(platform) == "win32":
        windowless = python.with_name("pythonw.exe")
        if windowless.exists():
            python = windowless
    return [str(python), "-m", "aws_sso_tray", "tray", "--autostart"]


def _desktop_quote(arg: str) -> str:
    """Quote one Exec argument per the Desktop Entry spec (reserved characters, `%`)."""
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_entry(command: list[str]) -> str:
    exec_line = " ".join(_desktop_quote(a) for a in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=AWS SSO Tray\n"
        "Comment=Keep AWS IAM Identity Center sessions and credentials fresh\n"
        f"Exec={exec_line}\n"
        "Icon=aws-sso-tray\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        # Give the panel a moment: the tray also waits for it, this just avoids the race.
        "X-GNOME-Autostart-Delay=5\n"
    )


def launch_agent(command: list[str]) -> bytes:
    import plistlib  # macOS only: not loaded by the tray elsewhere

    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
        }
    )


def _cmd_quote(arg: str) -> str:
    return f'"{arg}"' if any(c in arg for c in ' &()^%!"') else arg


def windows_script(command: list[str]) -> str:
    # `start ""` returns at once so the console window closes right away.
    return '@echo off\r\nstart "" ' + " ".join(_cmd_quote(a) for a in command) + "\r\n"


def enable(platform: str | None = None) -> Path:
    """Write the login entry (replacing an older one); returns its path."""
    platform = _platform(platform)
    path = autostart_file(platform)
    command = launch_command(platform)
    if platform == "darwin":
        data = launch_agent(command)
    elif platform == "win32":
        data = windows_script(command).encode("utf-8")
    else:
        data = desktop_entry(command).encode("utf-8")
    # No mkdir here: write_atomic makes missing folders 0700 (see the module docstring).
    write_atomic(path, data, mode=0o644)  # a launcher, not a secret: readable like any other
    return path


def disable(platform: str | None = None) -> bool:
    """Remove the login entry; False when there was none."""
    path = autostart_file(platform)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def is_enabled(platform: str | None = None) -> bool:
    """True when our login entry exists and is not switched off inside the file."""
    platform = _platform(platform)
    path = autostart_file(platform)
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if platform in ("darwin", "win32"):
        return True
    # A desktop's settings dialog may switch the entry off rather than delete it.
    for raw in data.decode("utf-8", "replace").splitlines():
        key, _, value = raw.partition("=")
        if key.strip() in ("Hidden", "X-GNOME-Autostart-enabled"):
            off = value.strip().lower() == ("true" if key.strip() == "Hidden" else "false")
            if off:
                return False
    return True


def set_enabled(enabled: bool, platform: str | None = None) -> bool:
    """Switch the entry on or off; returns the new state."""
    if enabled:
        enable(platform)
    else:
        disable(platform)
    return is_enabled(platform)


__all__ = [
    "autostart_file",
    "desktop_entry",
    "disable",
    "enable",
    "is_enabled",
    "launch_agent",
    "launch_command",
    "set_enabled",
    "windows_script",
]
