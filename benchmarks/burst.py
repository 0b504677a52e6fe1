"""A burst on a cold cache: 20 `credential-process` at once, as an SDK starting 20 workers does.

    python benchmarks/burst.py [--workers 20] [--rounds 3]

Runs the emulator in this process and, in a temporary HOME with one login done (the SSO token
valid, no role credentials cached), starts `aws-sso-tray credential-process --profile p00`
`--workers` times at once. Per round: GetRoleCredentials calls in the emulator's request log
(target: exactly 1), total CPU of the children (`getrusage(RUSAGE_CHILDREN)` before and after;
target: under 3 s for 20) and wall time until the last one answered. Every answer must be the
same. Prints markdown table rows like run.py's table.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# run.py beside this script: one setup for every benchmark
from run import (
    Bench,
    BenchError,
    bench_env,
    calls_since,
    clear_role_caches,
    log_in,
    make_accounts,
    our_command,
    role_calls,
    write_config,
)

from aws_sso_tray.emulator import Emulator, EmulatorConfig

TARGET_CPU_PER_20 = 3.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def burst(bench: Bench, workers: int) -> tuple[int, float, float]:
    """One burst on a cold cache: (GetRoleCredentials calls, children's CPU s, wall s)."""
    clear_role_caches(bench)
    cmd = [*bench.ours, "credential-process", "--profile", bench.profiles[0]]
    before_calls, before_cpu = role_calls(bench), children_cpu()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            cmd, env=bench.env, cwd=bench.home, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(workers)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    wall = time.perf_counter() - start
    cpu = children_cpu() - before_cpu
    failed = [p.returncode for p in procs if p.returncode]
    if failed:
        last = (outputs[0][1].decode().strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{len(failed)} of {workers} credential-process runs failed: {last}")
    if len({out for out, _ in outputs}) != 1:
        raise BenchError("the burst's credential-process runs gave different answers")
    return calls_since(bench, before_calls, 1), cpu, wall


def rows(results: Sequence[tuple[int, float, float]], workers: int) -> list[str]:
    target_cpu = TARGET_CPU_PER_20 * workers / 20
    lines = []
    for n, (calls, cpu, wall) in enumerate(results, 1):
        met = "yes" if calls == 1 and cpu < target_cpu else "NO"
        lines.append(
            f"| burst of {workers} credential-process, cold cache (round {n}) "
            f"| {calls} GetRoleCredentials, {cpu:.2f} s CPU, {wall * 1000:.0f} ms wall "
            f"| | | 1 call, < {target_cpu:.1f} s CPU | {met} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args(argv)
    accounts = make_accounts()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aws-sso-tray-burst-") as tmp,
            Emulator(EmulatorConfig(accounts=accounts)) as emu,
        ):
            home = Path(tmp) / "home"
            profiles = write_config(home, accounts)
            env = bench_env(home, emu.url)
            log_in(emu, env)
            bench = Bench(emu, home, env, our_command(), (), profiles)
            # untimed: fills the bytecode cache, as run.py's warm-up does
            subprocess.run([*bench.ours, "--version"], env=env, capture_output=True, check=True)
            burst(bench, 1)
            results = [burst(bench, args.workers) for _ in range(1 if args.quick else args.rounds)]
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print("| benchmark | aws-sso-tray | | | target | met? |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows(results, args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
