"""`credential-process` for a role chained on an SSO profile: warm and cold assume-role cache.

    python benchmarks/chained.py [--quick]

One temporary HOME over the emulator (its STS through `AWS_ENDPOINT_URL_STS`), signed in with a
device-code login; `p00` is an SSO profile and `chain` assumes a role with it as its
`source_profile`. Timed, interleaved so load hits them alike: `credential-process` for the SSO
profile on a warm cache (the fast path), for the chained role on a warm assume-role cache, and
on a cold one (one AssumeRole per run, checked), stock botocore set up as the AWS CLI sets it up
reading the same warm cache, and `python -c pass`. Prints markdown rows in benchmarks/run.py's
table format. Not part of the tests.

Last run (2 CPUs, load 2.2; `python benchmarks/chained.py`): chained warm 26 ms median (it was
84 ms before aws/warmchained: the full CLI ran), SSO warm 26 ms, botocore warm 176 ms, chained
cold 354 ms, `python -c pass` 24 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # benchmarks/run.py: the shared set-up and the table format

from aws_sso_tray.emulator import Emulator, EmulatorConfig

RUNS, QUICK_RUNS = 20, 3
CHAIN = "chain"
ROLE_ARN = "arn:aws:iam::222222222222:role/Deployer"
BOTOCORE = (
    "import os, botocore.session\n"
    "from botocore.utils import JSONFileCache\n"
    f"s = botocore.session.Session(profile={CHAIN!r})\n"
    "cache = JSONFileCache(os.path.expanduser('~/.aws/cli/cache'))\n"
    "r = s.get_component('credential_provider')\n"
    "r.get_provider('assume-role').cache = cache\n"
    "r.get_provider('sso').cache = cache\n"
    "print(s.get_credentials().get_frozen_credentials().access_key)\n"
)


def assume_role_cache(bench: run.Bench) -> list[Path]:
    folder = bench.home / ".aws" / "cli" / "cache"
    return [p for p in folder.glob("*.json") if '"ProviderType"' not in p.read_text()]


def measure(bench: run.Bench, runs: int) -> dict[str, run.Timing]:
    sso = bench.profiles[0]
    todo = {
        "sso warm": (*bench.ours, "credential-process", "--profile", sso),
        "chained warm": (*bench.ours, "credential-process", "--profile", CHAIN),
        "chained cold": (*bench.ours, "credential-process", "--profile", CHAIN),
        "botocore warm": (sys.executable, "-c", BOTOCORE),
        "floor": (sys.executable, "-c", "pass"),
    }
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for index in range(runs + 1):  # the first round warms the caches, untimed
        for name, cmd in todo.items():
            if name == "chained cold":
                for path in assume_role_cache(bench):
                    path.unlink()
            before = bench.emu.count("AssumeRole")
            elapsed, _stdout = run.run_timed(cmd, bench)
            calls = bench.emu.count("AssumeRole") - before
            if name == "chained cold" and calls != 1:
                raise run.BenchError(f"{name}: {calls} AssumeRole calls, not one")
            if index and name != "chained cold" and calls:
                raise run.BenchError(f"{name}: AssumeRole on a warm cache")
            if index:
                samples[name].append(elapsed)
    return {name: run.Timing(tuple(s)) for name, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-check run")
    args = parser.parse_args(argv)
    accounts = run.make_accounts()[:1]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aws-sso-tray-chained-") as tmp,
            Emulator(EmulatorConfig(accounts=accounts)) as emu,
        ):
            home = Path(tmp) / "home"
            profiles = run.write_config(home, accounts)
            config = home / ".aws" / "config"
            config.write_text(
                config.read_text()
                + f"\n[profile {CHAIN}]\nrole_arn = {ROLE_ARN}\nsource_profile = {profiles[0]}\n"
                "region = us-east-1\n"
            )
            env = run.bench_env(home, emu.url)
            env["AWS_ENDPOINT_URL_STS"] = emu.url
            run.log_in(emu, env)
            bench = run.Bench(emu, home, env, run.our_command(), (), profiles)
            try:
                timings = measure(bench, QUICK_RUNS if args.quick else RUNS)
            finally:
                shutil.rmtree(home / ".pycache", ignore_errors=True)
    except run.BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    warm, cold = timings["chained warm"], timings["chained cold"]
    botocore, sso = timings["botocore warm"], timings["sso warm"]
    rows = [
        run.Row(
            "credential-process, chained role, warm assume-role cache vs botocore reading it",
            warm.cell(),
            botocore.cell() + " (botocore)",
            f"{botocore.median / warm.median:.2f}x",
            "-",
            "-",
        ),
        run.Row(
            "credential-process, chained role, cold (one AssumeRole) vs warm",
            cold.cell(),
            warm.cell() + " (warm)",
            f"{cold.median / warm.median:.2f}x",
            "-",
            "-",
        ),
        run.Row(
            "credential-process, SSO profile (fast path) vs chained role, both warm",
            sso.cell(),
            warm.cell() + " (chained)",
            f"{warm.median / sso.median:.2f}x",
            "-",
            "-",
        ),
    ]
    for r in rows:
        print(f"| {r.benchmark} | {r.ours} | {r.theirs} | {r.ratio} | {r.target} | {r.met} |")
    print(f"\n- Python start-up alone (`python -c pass`): {timings['floor'].cell()}")
    print(f"- {os.cpu_count()} logical CPUs; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
