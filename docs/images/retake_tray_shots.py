"""Retake the README's tray-menu screenshots from the real tray on a virtual desktop.

    .venv/bin/python docs/images/retake_tray_shots.py [--display :91] [--only plain|grouped]

Follows docs' desktop-testing recipe: Xvfb, a D-Bus session bus, dunst, trayer as the tray host
(so the tray picks its gtk backend, which draws the menu's default entry bold), an xdotool right
click on the icon, `import -window root`, then an ImageMagick crop to the menu and the icon (the
box where the screen changed when the menu opened, plus the panel) and `-strip`.

- tray-menu.png: `aws-sso-tray demo --auto-approve`, shot once the kept-fresh profile is fresh.
- tray-menu-grouped.png: the emulator with 8 named accounts x 3 roles, `aws-sso-tray configure
  --non-interactive` writing 24 profiles named `{account_name}-{role_name}` (it also remembers
  the portal's account names), two Deploy profiles kept fresh and a `*-Prod-*` PROD label, then
  the tray.

Everything runs in a fresh temporary HOME (AWS_SSO_TRAY_HOME, AWS_CONFIG_FILE, ...), TZ=UTC, and
every AWS call goes to the emulator on 127.0.0.1. Needs Debian's xvfb trayer xdotool x11-utils
imagemagick dunst dbus. Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "images"
PROGRAM = [str(Path(sys.executable).with_name("aws-sso-tray"))]  # the installed command
MARGIN = 6  # pixels of screen kept around the menu
START_URL = "https://corp.awsapps.com/start"
ACCOUNTS = (  # id, name: the grouped shot's portal
    ("100000000000", "Payments Prod"),
    ("100000001111", "Payments Dev"),
    ("100000002222", "Data Lake"),
    ("100000003333", "Identity"),
    ("100000004444", "Networking"),
    ("100000005555", "Sandbox"),
    ("100000006666", "Security Audit"),
    ("100000007777", "Web Prod"),
)
ROLES = ("Deploy", "ReadOnly", "Admin")
KEPT_FRESH = ("Payments-Prod-Deploy", "Web-Prod-Deploy")
LABELS = '\n[[labels]]\nmatch = "*-Prod-*"\nlabel = "PROD"\ncolor = "red"\n'


def wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"retake: timed out waiting for {what}")


class Desktop:
    """Xvfb + D-Bus + dunst + trayer on `display`; every process is stopped by its own id."""

    def __init__(self, display: str, home: Path) -> None:
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "DBUS_", "WAYLAND_", "XDG_")) and k != "PYSTRAY_BACKEND"
        }
        self.env.update(
            DISPLAY=display,
            HOME=str(home),
            TZ="UTC",
            LANG="C.UTF-8",
            AWS_SSO_TRAY_HOME=str(home / "world"),
            AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            PYTHONUNBUFFERED="1",
        )
        self.logs = home / "logs"
        self.logs.mkdir()
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.logs / log).open("ab") as out:
            process = subprocess.Popen(
                args, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def run(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            args, env={**self.env, **env}, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"retake: {args[0]} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def up(self) -> None:
        display = self.env["DISPLAY"]
        self.start(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"], "xvfb")
        wait_for(lambda: self._answers("xdotool", "getdisplaygeometry"), f"Xvfb on {display}", 15)
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(bus)
        assert bus.stdout is not None
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        self.start(["dunst"], "dunst")
        trayer = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"]
        trayer += ["--height", "32", "--SetDockType", "true", "--transparent", "false"]
        self.start(trayer, "trayer")
        panel = ("xdotool", "search", "--name", "^panel$")
        wait_for(lambda: self._answers(*panel), "trayer's panel", 15)

    def _answers(self, *args: str) -> bool:
        """The command succeeds and prints something (xdotool search exits 0 finding nothing)."""
        done = subprocess.run(args, env=self.env, capture_output=True, check=False)
        return done.returncode == 0 and bool(done.stdout.strip())

    def panel(self) -> tuple[int, int, int, int]:
        window = self.run("xdotool", "search", "--name", "^panel$").split()[0]
        shell = self.run("xdotool", "getwindowgeometry", "--shell", window)
        g = dict(line.split("=", 1) for line in shell.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def down(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)

    def shoot_menu(self, out: Path) -> None:
        """Open the menu with a right click on the icon, shoot it, crop to the menu and icon."""
        from PIL import Image, ImageChops

        wait_for(lambda: self.panel()[2] >= 16, "the icon to dock", 30)
        time.sleep(2)  # the icon's final state and the menu's last rebuild
        before, after = self.logs / "before.png", self.logs / "after.png"
        self.run("import", "-window", "root", str(before))
        x, y, width, height = self.panel()
        self.run("xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "3")
        time.sleep(1.5)
        self.run("import", "-window", "root", str(after))
        with Image.open(before) as a, Image.open(after) as b:
            box = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox()
            size = b.size
        if box is None:
            raise SystemExit("retake: the menu did not open")
        left = max(0, min(box[0], x) - MARGIN)
        top = max(0, min(box[1], y))
        right = min(size[0], max(box[2], x + width) + MARGIN)
        bottom = min(size[1], max(box[3], y + height) + MARGIN)
        crop = f"{right - left}x{bottom - top}+{left}+{top}"
        self.run("convert", str(after), "-crop", crop, "+repage", "-strip", str(out))
        self.run("xdotool", "key", "Escape")
        print(f"retake: {out.relative_to(ROOT)} {right - left}x{bottom - top}")


def plain(desktop: Desktop) -> None:
    """The demo's menu, once dev-readonly is kept fresh in [demo-dev]."""
    desktop.start([*PROGRAM, "demo", "--auto-approve"], "demo")

    def fresh() -> bool:
        credentials = _demo_env(desktop).get("AWS_SHARED_CREDENTIALS_FILE", "")
        return "aws_access_key_id" in _read(credentials).partition("[demo-dev]")[2]

    wait_for(fresh, "the demo's sign-in and its kept-fresh profile", 90)
    desktop.shoot_menu(OUT / "tray-menu.png")


def _demo_env(desktop: Desktop) -> dict[str, str]:
    done = subprocess.run(
        [*PROGRAM, "demo", "--env"], env=desktop.env, capture_output=True, text=True, check=False
    )
    values: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            values[key] = value.strip("'\"")
    return values


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def grouped(desktop: Desktop) -> None:
    """24 profiles over 8 accounts, two kept fresh and labelled PROD."""
    from aws_sso_tray.emulator import Account, Emulator, EmulatorConfig

    accounts = tuple(
        Account(number, name, f"{name.lower().replace(' ', '-')}@example.com", ROLES)
        for number, name in ACCOUNTS
    )
    with Emulator(EmulatorConfig(accounts=accounts)) as emulator:
        env = {
            "AWS_ENDPOINT_URL_SSO": emulator.url,
            "AWS_ENDPOINT_URL_SSO_OIDC": emulator.url,
            "BROWSER": f"{sys.executable} -m aws_sso_tray.emulator.browser %s",
        }
        desktop.env.update(env)
        desktop.run(
            *PROGRAM,
            *("configure", "--non-interactive", "--start-url", START_URL),
            *("--sso-region", "us-east-1", "--sso-session", "corp", "--region", "eu-west-1"),
            *("--name-template", "{account_name}-{role_name}"),
        )
        for profile in KEPT_FRESH:
            desktop.run(*PROGRAM, "auto", "add", profile, profile)
        settings = Path(desktop.env["AWS_SSO_TRAY_HOME"]) / "config" / "settings.toml"
        with settings.open("a") as file:  # `auto add` wrote it
            file.write(LABELS)
        desktop.start([*PROGRAM, "tray"], "tray")
        credentials = desktop.env["AWS_SHARED_CREDENTIALS_FILE"]
        wait_for(
            lambda: all(f"[{p}]" in _read(credentials) for p in KEPT_FRESH),
            "both kept-fresh profiles in the credentials file",
        )
        desktop.shoot_menu(OUT / "tray-menu-grouped.png")


@contextmanager
def desktop_at(display: str) -> Iterator[Desktop]:
    home = Path(tempfile.mkdtemp(prefix="tray-shots-"))
    desktop = Desktop(display, home)
    try:
        desktop.up()
        yield desktop
    finally:
        desktop.down()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--display", default=":91", help="a free X display number (default :91)")
    parser.add_argument("--only", choices=("plain", "grouped"), help="retake one of the two")
    args = parser.parse_args()
    if args.only in (None, "plain"):
        with desktop_at(args.display) as desktop:
            plain(desktop)
    if args.only in (None, "grouped"):
        with desktop_at(args.display) as desktop:
            grouped(desktop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
