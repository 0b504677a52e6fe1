"""`credential-process` on a cold role cache: asking the running engine vs the full path.

    python benchmarks/coldpath.py [--quick] [--aec PATH]

Two temporary HOMEs over one emulator on 127.0.0.1, each signed in with a device-code login:
in the first a real `aws-sso-tray daemon` runs (so `credential-process` asks it through the
local credentials endpoint), in the second none does (today's full path: botocore and
GetRoleCredentials in the process). Before every timed run the role cache is deleted, so every
run is cold; the variants run interleaved (engine, no engine, aws-export-credentials' plain
`--json` in the second HOME when its venv exists, `python -c pass`) so load on the machine hits
them alike. Prints markdown rows in benchmarks/run.py's table format. Not part of the tests.

Ours is the console script beside the interpreter that runs this file (`run.our_command()`),
so run it with a NON-editable install (an editable install's path hook costs import time):

    python -m venv /tmp/cl-venv && /tmp/cl-venv/bin/pip install -q --upgrade pip
    /tmp/cl-venv/bin/pip install -q . && /tmp/cl-venv/bin/python benchmarks/coldpath.py

Without an engine the cold call is `aws/coldfetch` (GetRoleCredentials without botocore) once
the full path has made the locks folder (the untimed warm-up round does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # benchmarks/run.py: the shared set-up and the table format

from aws_sso_tray.emulator import Emulator, EmulatorConfig

TARGET = 0.150  # seconds: issue 13 item 3, the median with an engine running
RUNS, QUICK_RUNS = 30, 5


def make_home(root: Path, name: str, emu: Emulator, accounts: Sequence[run.Account]) -> run.Bench:
    home = root / name
    profiles = run.write_config(home, accounts)
    env = run.bench_env(home, emu.url)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the daemon's notices go to its log
    run.log_in(emu, env)
    return run.Bench(emu, home, env, run.our_command(), (), profiles)


def start_daemon(bench: run.Bench) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*bench.ours, "daemon"],
        env=bench.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    published = bench.home / ".local" / "state" / "aws-sso-tray" / "endpoint.json"
    deadline = time.monotonic() + 60
    while not published.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise run.BenchError("the daemon did not publish its credentials endpoint")
        time.sleep(0.05)
    return proc


def check_engine_answers(bench: run.Bench, profile: str, module: str = "botocore") -> None:
    """A cold `credential-process` must not import `module`: botocore with the daemon running,
    botocore.session without (the lean fetch, `aws/coldfetch`)."""
    code = (
        "import sys\nfrom aws_sso_tray.launch import main\nrc = main()\n"
        f"print('BOTOCORE=' + str({module!r} in sys.modules), file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    run.clear_role_caches(bench)
    proc = subprocess.run(
        [sys.executable, "-c", code, "credential-process", "--profile", profile],
        env=bench.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or "BOTOCORE=False" not in proc.stderr:
        raise run.BenchError(f"the cold path loaded {module}")
    run.check_from_emulator(bench, proc.stdout, "engine")


def variants(
    engine: run.Bench, plain: run.Bench, aec: Path | None, profile: str
) -> dict[str, tuple[run.Bench | None, tuple[str, ...]]]:
    found: dict[str, tuple[run.Bench | None, tuple[str, ...]]] = {
        "engine": (engine, (*engine.ours, "credential-process", "--profile", profile)),
        "no engine": (plain, (*plain.ours, "credential-process", "--profile", profile)),
        "floor": (None, (sys.executable, "-c", "pass")),
    }
    if aec is not None:
        found["aec"] = (plain, (str(aec), "--profile", profile, "--json"))
    return found


def measure(
    engine: run.Bench, plain: run.Bench, aec: Path | None, runs: int
) -> dict[str, run.Timing]:
    profile = engine.profiles[0]
    check_engine_answers(engine, profile)
    run.clear_role_caches(plain)
    run.run_timed(variants(engine, plain, aec, profile)["no engine"][1], plain)  # locks folder
    check_engine_answers(plain, profile, "botocore.session")
    todo = variants(engine, plain, aec, profile)
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for index in range(runs + 1):  # the first round warms the bytecode caches, untimed
        for name, (bench, cmd) in todo.items():
            where = bench or plain
            if bench is not None:
                run.clear_role_caches(bench)
            before = run.role_calls(where)
            elapsed, stdout = run.run_timed(cmd, where)
            if bench is not None:
                run.check_from_emulator(where, stdout, name)
                if run.calls_since(where, before, 1) != 1:
                    raise run.BenchError(f"{name}: not exactly one GetRoleCredentials per run")
            if index:
                samples[name].append(elapsed)
    return {name: run.Timing(tuple(s)) for name, s in samples.items()}


def rows(timings: dict[str, run.Timing]) -> list[run.Row]:
    engine, plain = timings["engine"], timings["no engine"]
    found = [
        run.Row(
            "credential-process, cold cache: engine running (local endpoint) vs no engine",
            engine.cell(),
            plain.cell() + " (no engine)",
            f"{plain.median / engine.median:.1f}x faster",
            f"< {TARGET * 1000:.0f} ms median",
            "yes" if engine.median < TARGET else "NO",
        )
    ]
    aec = timings.get("aec")
    if aec is not None:
        found.append(
            run.Row(
                "credential-process, cold cache: engine running vs plain `--json`",
                engine.cell(),
                aec.cell(),
                f"{aec.median / engine.median:.1f}x faster",
                "-",
                "-",
            )
        )
        found.append(
            run.Row(
                "credential-process, cold cache: no engine vs plain `--json`",
                plain.cell(),
                aec.cell(),
                f"{aec.median / plain.median:.2f}x",
                "no slower (>= 1.00x)",
                "yes" if plain.median <= aec.median else "NO",
            )
        )
    return found


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-check run")
    parser.add_argument("--aec", type=Path, default=run.DEFAULT_AEC, metavar="PATH")
    args = parser.parse_args(argv)
    try:  # created beside run.py when missing, as run.py does
        aec: Path | None = run.ensure_aec(args.aec)
    except (run.BenchError, subprocess.CalledProcessError) as exc:
        print(f"aws-export-credentials not available: {exc}", file=sys.stderr)
        aec = None
    accounts = run.make_accounts()[:1]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aws-sso-tray-coldpath-") as tmp,
            Emulator(EmulatorConfig(accounts=accounts)) as emu,
        ):
            engine = make_home(Path(tmp), "engine", emu, accounts)
            plain = make_home(Path(tmp), "plain", emu, accounts)
            daemon = start_daemon(engine)
            try:
                timings = measure(engine, plain, aec, QUICK_RUNS if args.quick else RUNS)
            finally:
                stop(daemon)
                shutil.rmtree(engine.home / ".pycache", ignore_errors=True)
    except run.BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    for r in rows(timings):
        print(f"| {r.benchmark} | {r.ours} | {r.theirs} | {r.ratio} | {r.target} | {r.met} |")
    print(f"\n- Python start-up alone (`python -c pass`): {timings['floor'].cell()}")
    if aec is None:
        print(f"- aws-export-credentials not measured: {args.aec} does not exist")
    print(f"- {os.cpu_count()} logical CPUs; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
