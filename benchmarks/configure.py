"""Hundreds of generated profiles: the config editor and a rescan, timed.

    python benchmarks/configure.py [--profiles 500] [--runs 3] [--quick] [--src DIR]

Each step runs in a fresh subprocess with its own temporary HOME:

- write: `configedit.apply` adding `--profiles` generated profiles (and the sso-session) to a
  config that holds one hand-written profile, in one locked edit;
- snapshot: `configedit.read_snapshot` of that file (what every configure offer reads first);
- rescan edit: `configedit.apply` adding 5% new profiles and removing 5% generated ones of that
  file (what "Sync accounts from the portal" writes after a reorganisation);
- rescan end to end (not with --src): `aws-sso-tray configure --non-interactive` against the
  emulator with `--profiles` roles (100 accounts x 5 roles for 500), then the portal changes
  (5% granted, 5% revoked) and `aws-sso-tray configure --rescan` runs: both timed as the
  commands' wall time, sign-in, portal scan and CLI start included.

`--src DIR` times another source tree's editor (say `git archive <commit> src | tar -x -C DIR`)
for a before/after. Prints markdown table rows (median of `--runs`); the target is under 5 s
for each step. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 5.0  # seconds, per step (issue 15)
START_URL = "https://d-1234567890.awsapps.com/start"

_PROBE = r"""
import json, sys, time
from pathlib import Path
from aws_sso_tray.files import configedit
from aws_sso_tray.files.configedit import ProfileSpec, SessionSpec

n, config = int(sys.argv[1]), Path(sys.argv[2])
config.write_text("# mine\n[profile hand]\nregion = eu-west-1\n")
def spec(i):
    return ProfileSpec(f"Role{i % 5}-{i:012d}", "corp", f"{i:012d}", f"Role{i % 5}", "us-east-1")
session = SessionSpec("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
times = {}
start = time.perf_counter()
configedit.apply(config, session=session, add=[spec(i) for i in range(n)])
times["write"] = time.perf_counter() - start
start = time.perf_counter()
snapshot = configedit.read_snapshot(config)
times["snapshot"] = time.perf_counter() - start
assert len(snapshot.generated) == n, "the profiles were not recorded as generated"
step = 20  # 5%
start = time.perf_counter()
result = configedit.apply(
    config,
    add=[spec(i) for i in range(n, n + n // step)],
    remove=[spec(i).name for i in range(0, n, step)],
)
times["rescan edit"] = time.perf_counter() - start
assert len(result.removed) == len(range(0, n, step)), result
print(json.dumps(times))
"""


def _env(home: Path, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state")):
        env[var] = str(home / sub)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def editor_times(profiles: int, src: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".aws").mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(profiles), str(home / ".aws" / "config")],
            env=_env(home, src),
            capture_output=True,
            text=True,
            check=True,
        )
        times: dict[str, float] = json.loads(proc.stdout)
        return times


def _accounts(profiles: int, *, changed: bool) -> tuple[object, ...]:
    from aws_sso_tray.emulator import Account

    per = 5
    count = max(1, profiles // per)
    found = []
    for i in range(count):
        roles = [f"Role{r}" for r in range(per)]
        if changed and i % 4 == 0:  # a quarter of the accounts: one role swapped (5% each way)
            roles[0] = "Granted"
        found.append(Account(f"{i + 1:012d}", f"Team {i + 1}", "", tuple(roles)))
    return tuple(found)


def rescan_times(profiles: int) -> dict[str, float]:
    from aws_sso_tray.emulator import Emulator, EmulatorConfig

    emulator = Emulator(EmulatorConfig(accounts=_accounts(profiles, changed=False)))  # type: ignore[arg-type]
    emulator.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            (home / ".aws").mkdir()
            env = _env(home, None)
            env.update(
                AWS_ENDPOINT_URL_SSO=emulator.url,
                AWS_ENDPOINT_URL_SSO_OIDC=emulator.url,
                BROWSER=f"{shlex.quote(sys.executable)} -m aws_sso_tray.emulator.browser %s",
            )
            cli = [sys.executable, "-m", "aws_sso_tray", "configure"]
            first = [
                *cli,
                "--non-interactive",
                *("--start-url", START_URL, "--sso-region", "us-east-1", "--sso-session", "corp"),
            ]
            times = {"configure --non-interactive": _timed(first, env)}
            emulator.config = EmulatorConfig(accounts=_accounts(profiles, changed=True))  # type: ignore[arg-type]
            times["configure --rescan"] = _timed([*cli, "--rescan", "corp"], env)
            return times
    finally:
        emulator.stop()


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{shlex.join(cmd[2:])} failed: {proc.stderr.strip()}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 profiles, one run")
    parser.add_argument("--src", type=Path, help="time this source tree's editor instead")
    args = parser.parse_args(argv)
    profiles, runs = (100, 1) if args.quick else (args.profiles, args.runs)
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for step, seconds in editor_times(profiles, args.src).items():
            samples.setdefault(step, []).append(seconds)
        if args.src is None:
            for step, seconds in rescan_times(profiles).items():
                samples.setdefault(step, []).append(seconds)
    source = f" ({args.src})" if args.src else ""
    print(f"| step, {profiles} generated profiles{source} | median of {runs} | target |")
    print("|---|---|---|")
    for step, values in samples.items():
        median = statistics.median(values)
        verdict = "ok" if median < TARGET else "SLOW"
        print(f"| {step} | {median:.2f} s | < {TARGET:.0f} s: {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
