"""Idle cost of the daemon: 20 auto-synced profiles, hour-long credentials, a few idle minutes.

    /work/venv311/bin/python benchmarks/idle.py [--minutes 3] [--profiles 20]

Runs the emulator in this process and `python -m aws_sso_tray.daemon` as a subprocess in a
temporary HOME, waits for the first sync, then measures over the idle period:
CPU seconds per idle minute (target <= 0.3), RSS (target <= 80 MB), and portal calls while
nothing is due (target 0). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_CPU = 0.3
TARGET_RSS_MB = 80.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _isolated_home() -> Path:
    """A temporary HOME for this process and its children, with no AWS_* of the caller's."""
    home = Path(tempfile.mkdtemp(prefix="aws-sso-tray-idle-"))
    (home / ".aws").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1",
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    os.environ.update(env)
    for key in [k for k in os.environ if k.startswith("AWS_") and k not in env]:
        del os.environ[key]

    return home


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--profiles", type=int, default=20)
    args = parser.parse_args()

    home = _isolated_home()

    from tests.sso_helpers import device_login

    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.emulator import Emulator, EmulatorConfig
    from aws_sso_tray.files import settings

    emu = Emulator(EmulatorConfig(credential_ttl=3600))
    emu.start()
    os.environ["AWS_ENDPOINT_URL_SSO"] = os.environ["AWS_ENDPOINT_URL_SSO_OIDC"] = emu.url
    session = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
    roles = [(a.account_id, r) for a in emu.config.accounts for r in a.roles]
    text = (
        f"[sso-session corp]\nsso_start_url = {session.start_url}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n"
    )
    for i in range(args.profiles):
        account, role = roles[i % len(roles)]
        text += (
            f"[profile p{i:02d}]\nsso_session = corp\nsso_account_id = {account}\n"
            f"sso_role_name = {role}\nregion = us-east-1\n\n"
        )
    (home / ".aws" / "config").write_text(text)
    device_login(emu, session)
    for i in range(args.profiles):
        settings.add_auto_sync(f"p{i:02d}")

    proc = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray.daemon"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        creds = home / ".aws" / "credentials"
        while time.monotonic() < deadline:
            if creds.exists() and creds.read_text().count("aws_session_token") >= args.profiles:
                break
            time.sleep(0.2)
        else:
            print("the daemon did not sync in time", file=sys.stderr)
            return 1
        time.sleep(3)  # let start-up settle
        emu.clear_requests()
        cpu0 = cpu_seconds(proc.pid)
        peak = rss_mb(proc.pid)
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(5)
            peak = max(peak, rss_mb(proc.pid))
        cpu = (cpu_seconds(proc.pid) - cpu0) / args.minutes
        calls = len(emu.requests)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        emu.stop()

    rows = [
        ("metric", "value", "target", "ok"),
        ("CPU s / idle minute", f"{cpu:.3f}", f"<= {TARGET_CPU}", cpu <= TARGET_CPU),
        ("peak RSS (MB)", f"{peak:.1f}", f"<= {TARGET_RSS_MB:.0f}", peak <= TARGET_RSS_MB),
        ("portal calls while idle", str(calls), "0", calls == 0),
    ]
    print(f"daemon idle: {args.profiles} profiles, {args.minutes:g} min")
    for name, value, target, ok in rows:
        mark = ok if isinstance(ok, str) else ("yes" if ok else "NO")
        print(f"  {name:<26} {value:>8}  {target:<8} {mark}")
    return 0 if all(r[3] is True for r in rows[1:]) else 1


if __name__ == "__main__":
    sys.exit(main())
