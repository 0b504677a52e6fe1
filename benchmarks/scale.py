"""Cost at scale: `list`, `status` and the idle daemon with 20, 200 and 1000 kept-fresh profiles.

    python benchmarks/scale.py [--profiles 20,200,1000] [--runs 3] [--idle 45] [--ttl 240]

For each profile count, in a temporary HOME against the emulator (run in this process): N SSO
profiles in one session, all kept fresh, credentials living `--ttl` seconds (so the engine
refreshes every ttl/2). `python -m aws_sso_tray.daemon` runs as a subprocess until it has
written all N sections, then the script measures, from /proc/PID/stat (utime + stime):

- the daemon's CPU per idle minute, over `--idle` seconds in which nothing is due;
- its CPU per refresh batch: the refresh of all N profiles (from just before the next
  GetRoleCredentials until N more were made, the file written and the daemon quiet again;
  the engine groups them into one batch, or a few), the median of `--batches` rounds;

then stops the daemon and times `aws-sso-tray list` and `aws-sso-tray status` (no engine
running: `status` reads the files) as real subprocesses, the median of `--runs` runs each.
Target (issue 13): `status` within 2x of `list`, and both daemon figures linear in N.
Prints markdown table rows; each count runs in its own subprocess. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATUS_TARGET = 2.0  # status / list, without an engine
HEADER = (
    "| profiles | `list` (s) | `status` (s) | status / list | daemon CPU s / idle min "
    "| CPU s / refresh batch | start-up CPU s |\n|---|---|---|---|---|---|---|"
)
QUIET = 0.02  # CPU seconds per sample interval below which the daemon counts as quiet
SAMPLE = 0.25  # seconds between samples


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def our_command() -> list[str]:
    script = Path(sys.executable).parent / "aws-sso-tray"
    return [str(script)] if script.exists() else [sys.executable, "-m", "aws_sso_tray"]


def isolated_home() -> Path:
    """A temporary HOME for this process and its children, with no AWS_* of the caller's."""
    home = Path(tempfile.mkdtemp(prefix="aws-sso-tray-scale-"))
    (home / ".aws").mkdir()
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1",
    )
    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return home


def make_world(home: Path, emu: object, count: int) -> None:
    """The config with `count` profiles, a signed-in session, all of them kept fresh."""
    from tests.sso_helpers import device_login

    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.files import settings

    session = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
    roles = [(a.account_id, r) for a in emu.config.accounts for r in a.roles]  # type: ignore[attr-defined]
    parts = [
        f"[sso-session corp]\nsso_start_url = {session.start_url}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n"
    ]
    for i in range(count):
        account, role = roles[i % len(roles)]
        parts.append(
            f"[profile p{i:04d}]\nsso_session = corp\nsso_account_id = {account}\n"
            f"sso_role_name = {role}\nregion = us-east-1\n\n"
        )
    (home / ".aws" / "config").write_text("".join(parts))
    device_login(emu, session)

    def keep_all(current: settings.Settings) -> settings.Settings:
        for i in range(count):
            current = current.with_auto_sync(f"p{i:04d}")
        return current

    settings.update_settings(keep_all)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    emu: object
    creds: Path

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def calls(self) -> int:
        return int(self.emu.count("GetRoleCredentials"))  # type: ignore[attr-defined]

    def mtime(self) -> int:
        try:
            return self.creds.stat().st_mtime_ns
        except OSError:
            return 0

    def wait_quiet(self, deadline: float) -> None:
        """Until a sample interval passes with (almost) no CPU spent."""
        before = self.cpu()
        while time.monotonic() < deadline:
            time.sleep(SAMPLE)
            now = self.cpu()
            if now - before < QUIET:
                return
            before = now


def wait_synced(daemon: Daemon, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.creds.exists() and daemon.creds.read_text().count("aws_session_token") >= count:
            daemon.wait_quiet(deadline)
            return
        time.sleep(SAMPLE)
    raise SystemExit(f"the daemon did not sync {count} profiles in {timeout:.0f} s")


def idle_cpu_per_minute(daemon: Daemon, seconds: float) -> float:
    """CPU per minute while nothing is due (cut short when a refresh batch starts)."""
    calls, start, cpu0 = daemon.calls(), time.monotonic(), daemon.cpu()
    cpu1, end = cpu0, start
    while time.monotonic() - start < seconds and daemon.calls() == calls:
        cpu1, end = daemon.cpu(), time.monotonic()
        time.sleep(SAMPLE)
    return (cpu1 - cpu0) / max(end - start, 1.0) * 60


def round_cpu(daemon: Daemon, count: int, timeout: float) -> float:
    """CPU of the next refresh of all `count` profiles: the fetches, the writes, what follows.

    From just before the next GetRoleCredentials until `count` more have been made, the file
    written after the last of them, and the daemon quiet again (one batch, or the few batches
    the engine groups the refreshes into).
    """
    deadline = time.monotonic() + timeout
    calls = daemon.calls()
    cpu0 = daemon.cpu()
    while daemon.calls() == calls:
        if time.monotonic() > deadline:
            raise SystemExit("no refresh batch came")
        cpu0 = daemon.cpu()
        time.sleep(SAMPLE / 5)
    while daemon.calls() < calls + count and time.monotonic() < deadline:
        time.sleep(SAMPLE)
    written = daemon.mtime()
    while daemon.mtime() == written and time.monotonic() < deadline:
        time.sleep(SAMPLE)
    daemon.wait_quiet(deadline)
    return daemon.cpu() - cpu0


def median_wall(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(count: int, args: argparse.Namespace) -> str:
    from aws_sso_tray.emulator import Emulator, EmulatorConfig

    home = isolated_home()
    emu = Emulator(EmulatorConfig(credential_ttl=args.ttl))
    emu.start()
    os.environ["AWS_ENDPOINT_URL_SSO"] = os.environ["AWS_ENDPOINT_URL_SSO_OIDC"] = emu.url
    try:
        make_world(home, emu, count)
        proc = subprocess.Popen(
            [sys.executable, "-m", "aws_sso_tray.daemon"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        daemon = Daemon(proc, emu, home / ".aws" / "credentials")
        try:
            wait_synced(daemon, count, args.timeout)
            startup = daemon.cpu()
            idle = idle_cpu_per_minute(daemon, args.idle)
            batches = [round_cpu(daemon, count, args.timeout) for _ in range(args.batches)]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        listed = median_wall([*our_command(), "list"], args.runs)
        status = median_wall([*our_command(), "status"], args.runs)
    finally:
        emu.stop()
    ratio = status / listed
    mark = "" if ratio <= STATUS_TARGET else " (over 2x)"
    return (
        f"| {count} | {listed:.2f} | {status:.2f} | {ratio:.1f}x{mark} | {idle:.3f} "
        f"| {statistics.median(batches):.2f} | {startup:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="20,200,1000", help="counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs of list and status each")
    parser.add_argument("--idle", type=float, default=45.0, help="seconds of idle measured")
    parser.add_argument("--batches", type=int, default=1, help="refresh rounds measured")
    parser.add_argument("--ttl", type=float, default=240.0, help="credential lifetime (s)")
    parser.add_argument("--timeout", type=float, default=900.0, help="per wait (s)")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    counts = [int(c) for c in args.profiles.split(",") if c.strip()]
    if len(counts) == 1 and args.rows_only:
        print(measure(counts[0], args), flush=True)
        return 0
    print(f"kept-fresh profiles at scale (credentials live {args.ttl:g} s)\n\n{HEADER}", flush=True)
    failed = 0
    for count in counts:
        own = [f"--{k}={v}" for k, v in vars(args).items() if k not in ("profiles", "rows_only")]
        cmd = [sys.executable, __file__, *own, f"--profiles={count}", "--rows-only"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(proc.stdout.strip() or f"| {count} | failed: {proc.stderr.strip()[-200:]} |")
        failed += proc.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
