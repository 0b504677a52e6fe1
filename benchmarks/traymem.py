"""The tray's memory: `aws-sso-tray tray` with 20 kept-fresh profiles vs a minimal pystray icon.

    python benchmarks/traymem.py [--profiles 20] [--batches 1] [--tray-cmd "aws-sso-tray tray"]

Starts a private desktop (Xvfb, a D-Bus session bus with dunst as the notification server, trayer
as the tray host), runs the emulator in this process with 30 s role credentials, writes
`--profiles` kept-fresh profiles into a temporary HOME, then measures two runs of the real tray:
- signed in beforehand (a device login made here): the tray only keeps the profiles fresh;
- with no token at the start: the tray signs in by itself (the automatic sign-in, auth code +
  PKCE, with the browser stand-in pressing Allow) and shows its notice, so its login code,
  the callback server and the notification stack (desktop-notifier, dbus-fast) are loaded too.
Each waits until every section is in the credentials file and one refresh batch (a second
GetRoleCredentials per profile) has run, then reads VmRSS and VmHWM from /proc/PID/status. A
ten-line pystray icon (same backend, same desktop) that only shows an icon is the baseline.
Prints markdown table rows like benchmarks/run.py's. Linux only; not part of the tests.
Target (issue 13 item 5): the tray under 70 MB RSS.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 70.0
CREDENTIAL_TTL = 30.0  # refetched at half-life: one refresh batch 15 s after the first sync
BACKEND = "gtk"  # what aws-sso-tray picks with trayer (an XEmbed host) and no SNI watcher
TOOLS = ("Xvfb", "trayer", "dbus-daemon", "dunst", "xdotool")
GTK_CLIENT = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
MINIMAL = """
import os, sys, threading
os.environ["PYSTRAY_BACKEND"] = sys.argv[1]
import pystray
from PIL import Image
icon = pystray.Icon("minimal", Image.open(sys.argv[2]), "minimal")
def setup(icon):
    icon.visible = True
    threading.Event().wait()
icon.run(setup)
"""


# --modules: the tray runs under this wrapper, in its own interpreter; once the benchmark creates
# the trigger file, the tray writes its loaded modules and their .pyc sizes next to it.
MODULES_WRAPPER = """
import importlib.util, os, sys, threading, time
trigger = sys.argv.pop(1)
def report():
    while not os.path.exists(trigger):
        time.sleep(0.5)
    rows = []
    for name, module in sorted(sys.modules.items()):
        source = getattr(module, "__file__", None) or ""
        compiled = importlib.util.cache_from_source(source) if source.endswith(".py") else ""
        size = os.path.getsize(compiled) if compiled and os.path.exists(compiled) else 0
        rows.append(f"{name}\\t{size}")
    with open(trigger + ".tmp", "w") as out:
        out.write("\\n".join(rows) + "\\n")
    os.replace(trigger + ".tmp", trigger + ".out")
threading.Thread(target=report, daemon=True).start()
from aws_sso_tray.launch import main
sys.exit(main())
"""


def with_module_report(cmd: list[str], trigger: Path) -> list[str]:
    """`cmd` (an installed `aws-sso-tray tray`) run through MODULES_WRAPPER."""
    python = Path(cmd[0]).with_name("python")
    if not python.exists():
        raise SystemExit(f"--modules needs the tray command of a venv ({python} is missing)")
    return [str(python), "-c", MODULES_WRAPPER, str(trigger), *cmd[1:]]


def module_report(trigger: Path) -> None:
    """Ask the tray for its modules (see MODULES_WRAPPER); print them by package to stderr."""
    trigger.touch()
    done = trigger.with_name(trigger.name + ".out")
    wait_until(done.exists, "the tray's module list", 20)
    packages: dict[str, tuple[int, int]] = {}
    for line in done.read_text().splitlines():
        name, _, size = line.partition("\t")
        parts = name.split(".")
        package = ".".join(parts[:2]) if parts[0] == "aws_sso_tray" else parts[0]
        count, total = packages.get(package, (0, 0))
        packages[package] = (count + 1, total + int(size))
    modules = sum(count for count, _ in packages.values())
    pyc = sum(total for _, total in packages.values())
    print(f"tray: {modules} modules, {pyc / 1e6:.1f} MB of .pyc; by .pyc size:", file=sys.stderr)
    for package, (count, total) in sorted(packages.items(), key=lambda kv: -kv[1][1])[:20]:
        print(f"  {total / 1e3:6.0f} kB  {count:3d} modules  {package}", file=sys.stderr)


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def top_mappings(pid: int, count: int = 30) -> list[tuple[int, str]]:
    """The `count` files (or anonymous memory) holding most of `pid`'s RSS, in KiB."""
    rss: dict[str, int] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 else "[anonymous]"
        elif head[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(head[1])
    return sorted(((kb, n) for n, kb in rss.items()), reverse=True)[:count]


def sample(pid: int, label: str, smaps: bool) -> dict[str, int]:
    """`status_kb(pid)`; with `smaps`, where the RSS sits goes to stderr (diagnosis)."""
    if smaps:
        for kb, name in top_mappings(pid):
            print(f"{label}: {kb / 1024:7.1f} MB  {name}", file=sys.stderr)
    return status_kb(pid)


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def _quiet(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
    )  # type: ignore[call-overload]


def _has_panel(env: dict[str, str]) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--name", "^panel$"], env=env, capture_output=True, check=False
    )
    return bool(found.stdout.strip())


@contextmanager
def desktop() -> Iterator[dict[str, str]]:
    """A private Xvfb + D-Bus session + dunst + trayer; yields the environment to run in."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"needs {', '.join(missing)}: apt-get install xvfb trayer dbus dunst")
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        number = random.randint(100, 899)
        env["DISPLAY"] = f":{number}"
        procs.append(_quiet(["Xvfb", env["DISPLAY"], "-screen", "0", "800x400x24"], env))
        wait_until(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), "Xvfb", 15)
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        procs.append(bus)
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        procs.append(_quiet(["dunst"], env))
        trayer = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"]
        procs.append(_quiet([*trayer, "--height", "32", "--SetDockType", "true"], env))
        wait_until(lambda: _has_panel(env), "trayer's panel", 20)
        # The first GTK 3 client on a display initialises GL to choose visuals (with Mesa's
        # llvmpipe that maps ~45 MB of libLLVM) and caches the choice on the root window
        # (GDK_VISUALS); later clients skip it. On a real desktop the panel did that long ago.
        subprocess.run([sys.executable, "-c", GTK_CLIENT], env=env, check=True)
        yield env
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def isolated_home(env: dict[str, str]) -> Path:
    """A temporary HOME (for this process too: the emulator login writes the token there)."""
    home = Path(tempfile.mkdtemp(prefix="aws-sso-tray-traymem-"))
    (home / ".aws").mkdir()
    for key in [k for k in env if k.startswith("AWS_")]:
        del env[key]
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1",
        BROWSER="true",  # nothing opens a browser here; if it tried, nothing would show
    )
    os.environ.clear()
    os.environ.update(env)
    return home


def prepare(env: dict[str, str], profiles: int, login: bool = True) -> tuple[object, Path]:
    """The emulator (running), a config with `profiles` kept-fresh profiles, a logged-in token
    (with `login` false, none: the tray signs in by itself, through the browser stand-in)."""
    from tests.sso_helpers import STANDIN_BROWSER, device_login

    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.emulator import Emulator, EmulatorConfig
    from aws_sso_tray.files import settings

    home = isolated_home(env)
    emu = Emulator(EmulatorConfig(credential_ttl=CREDENTIAL_TTL))
    emu.start()
    env["AWS_ENDPOINT_URL_SSO"] = env["AWS_ENDPOINT_URL_SSO_OIDC"] = emu.url
    os.environ.update(env)
    session = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
    roles = [(a.account_id, r) for a in emu.config.accounts for r in a.roles]
    text = (
        f"[sso-session corp]\nsso_start_url = {session.start_url}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n"
    )
    for i in range(profiles):
        account, role = roles[i % len(roles)]
        text += (
            f"[profile p{i:02d}]\nsso_session = corp\nsso_account_id = {account}\n"
            f"sso_role_name = {role}\nregion = us-east-1\n\n"
        )
    (home / ".aws" / "config").write_text(text)
    if login:
        device_login(emu, session)
    else:
        env["BROWSER"] = STANDIN_BROWSER
        os.environ.update(env)
    for i in range(profiles):
        settings.add_auto_sync(f"p{i:02d}")
    return emu, home


def measure_tray(
    cmd: list[str],
    env: dict[str, str],
    profiles: int,
    smaps: bool,
    hold: float,
    batches: int,
    modules: bool = False,
    tray_login: bool = False,
) -> dict[str, int]:
    emu, home = prepare(env, profiles, login=not tray_login)
    creds = home / ".aws" / "credentials"
    log = home / "tray.log"
    trigger = home / "modules-please"
    if modules:
        cmd = with_module_report(cmd, trigger)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def written() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"the tray exited ({proc.returncode}):\n{log.read_text()}")
            return creds.exists() and creds.read_text().count("aws_session_token") >= profiles

        wait_until(written, "all sections written", 90)
        if tray_login:
            logins = emu.count("CreateToken")  # type: ignore[attr-defined]
            print(f"the tray signed in by itself ({logins} CreateToken)", file=sys.stderr)
        calls = emu.count("GetRoleCredentials")  # type: ignore[attr-defined]
        found: dict[str, int] = {}
        for batch in range(1, batches + 1):
            want = calls + batch * profiles
            wait_until(
                lambda want=want: emu.count("GetRoleCredentials") >= want,  # type: ignore[attr-defined, misc]
                f"refresh batch {batch}",
                CREDENTIAL_TTL * 3,
            )
            time.sleep(2)  # the batch's writes and snapshots settle
            now = status_kb(proc.pid)
            found = found or now  # the figure reported: after the first batch
            print(
                f"after refresh batch {batch}: VmRSS {now['VmRSS'] / 1024:.1f} MB", file=sys.stderr
            )
        sample(proc.pid, "tray", smaps)
        if modules:
            module_report(trigger)
        time.sleep(hold)
        return found
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        emu.stop()  # type: ignore[attr-defined]


def measure_minimal(env: dict[str, str], smaps: bool) -> dict[str, int]:
    icon = ROOT / "assets" / "ok-64.png"
    proc = subprocess.Popen([sys.executable, "-c", MINIMAL, BACKEND, str(icon)], env=env)
    try:
        time.sleep(8)  # nothing to wait for: it shows an icon and idles
        if proc.poll() is not None:
            raise SystemExit(f"the minimal icon exited ({proc.returncode})")
        return sample(proc.pid, "minimal", smaps)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=20)
    default_cmd = f"{Path(sys.executable).parent / 'aws-sso-tray'} tray"
    parser.add_argument("--tray-cmd", default=default_cmd, help="what to measure (diagnosis)")
    parser.add_argument("--smaps", action="store_true", help="where the RSS sits, to stderr")
    parser.add_argument(
        "--modules", action="store_true", help="the tray's modules by package, to stderr"
    )
    parser.add_argument("--hold", type=float, default=0, help="keep the tray up for N s more")
    parser.add_argument(
        "--batches", type=int, default=1, help="refresh batches to wait for (RSS after each)"
    )
    parser.add_argument(
        "--only",
        choices=("signed-in", "tray-login"),
        help="measure one of the two runs (diagnosis)",
    )
    args = parser.parse_args()
    runs = [("signed-in", False), ("tray-login", True)]
    results: list[tuple[str, dict[str, int]]] = []
    with desktop() as env:
        env["PYSTRAY_BACKEND"] = BACKEND  # what choose_backend picks here; stated, not guessed
        minimal = measure_minimal(env, args.smaps)
        env.pop("PYSTRAY_BACKEND")
        for name, tray_login in runs:
            if args.only not in (None, name):
                continue
            print(f"== {name}", file=sys.stderr)
            found = measure_tray(
                shlex.split(args.tray_cmd),
                env,
                args.profiles,
                args.smaps,
                args.hold,
                args.batches,
                args.modules,
                tray_login,
            )
            results.append((name, found))
    base = {k: v / 1024 for k, v in minimal.items()}
    labels = {
        "signed-in": f"tray RSS, {args.profiles} kept-fresh profiles ({BACKEND}), signed in before",
        "tray-login": "the same, the tray signing in by itself (auth code, its notice shown)",
    }
    met = True
    for name, found in results:
        mb = {k: v / 1024 for k, v in found.items()}
        ok = mb["VmRSS"] < TARGET_MB
        met = met and ok
        print(
            f"| {labels[name]} | {mb['VmRSS']:.1f} MB (peak {mb['VmHWM']:.1f} MB) | "
            f"minimal pystray icon {base['VmRSS']:.1f} MB | +{mb['VmRSS'] - base['VmRSS']:.1f} MB "
            f"| < {TARGET_MB:.0f} MB | {'yes' if ok else 'NO'} |"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
