"""The benchmarks of aws-sso-tray against the other tools, side by side, in one run.

    python benchmarks/run.py [--quick] [--profiles N] [--aec PATH] [--idle] [--bigfile]
                              [--burst] [--coldpath] [--traymem] [--chained] [--scale] [--menu]
                              [--configure] [--dashboard]

Everything runs against the project's emulator on 127.0.0.1 in a temporary HOME: one device-code
login (approved through the emulator) writes the SSO token every tool reads, then:

1. `credential-process` on a warm cache vs `aws-export-credentials --json` (with and without its
   `--cache-file`), `aws-sso-util credential-process` and Debian's AWS CLI v2
   `configure export-credentials`, each from its own cache, and `python -c pass`, interleaved;
2. the same on a cold role cache (ours without an engine, aws-sso-util, plain aec, and the AWS
   CLI through peers.TlsProxy, with ours through the same proxy for its cost);
3. `sync` of N profiles (60) with 100 ms portal latency and cold role caches, default pool vs
   `--jobs 1`, and vs aws-export-credentials writing the same profiles one process at a time.

The peers' set-up (venvs, cache entries) is in benchmarks/peers.py.

The table goes to stdout and to benchmarks/results/latest.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # benchmarks/peers.py: the other tools' installs and caches

from aws_sso_tray.emulator import Account, Emulator, EmulatorConfig

HERE = Path(__file__).resolve().parent
DEFAULT_AEC = peers.AEC_VENV / "bin" / "aws-export-credentials"
AEC_REQUIREMENTS = peers.AEC_REQUIREMENTS
START_URL = "https://d-0000000000.awsapps.com/start"
SESSION = "bench"
ACCOUNTS, ROLES_PER_ACCOUNT = 6, 10  # 60 profiles by default (--profiles N)
SYNC_LATENCY = 0.1
# Any proxied request fails at once on this dead port: only 127.0.0.1 (NO_PROXY) is reachable.
DEAD_PROXY = "http://127.0.0.1:9"
CHECKS = (
    "- checks passed: every tool's credentials were issued by the emulator; on the warm path "
    "plain aws-export-credentials made one GetRoleCredentials per run (so boto3 honoured "
    "AWS_ENDPOINT_URL_SSO), every other tool none; on the cold path every tool one per run "
    "(the AWS CLI through the TLS proxy, which refused no CONNECT); "
    "each sync fetched every profile"
)
CP_SPEEDUP_TARGET = 4.0
CP_FLOOR_TARGET = 1.6  # ours at most this many times `python -c pass` (issue 13)
SYNC_SHARE_TARGET = 0.35


class BenchError(Exception):
    """A benchmark could not run or produced an invalid comparison."""


@dataclass(frozen=True)
class Plan:
    runs: int  # timed runs per credential-process variant
    warmup: int
    sync_reps: int
    aec_sync: bool


FULL = Plan(runs=30, warmup=3, sync_reps=5, aec_sync=True)
QUICK = Plan(runs=5, warmup=1, sync_reps=1, aec_sync=False)


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=10, method="inclusive")[8]

    @property
    def min(self) -> float:
        return min(self.samples)

    def cell(self) -> str:
        return (
            f"{_fmt(self.median)} median (p90 {_fmt(self.p90)}, min {_fmt(self.min)}, "
            f"n={len(self.samples)})"
        )


@dataclass(frozen=True)
class Row:
    benchmark: str
    ours: str
    theirs: str
    ratio: str
    target: str
    met: str


@dataclass(frozen=True)
class Bench:
    """A running emulator, the temp HOME over it, and the two tools' command prefixes."""

    emu: Emulator
    home: Path
    env: dict[str, str]
    ours: tuple[str, ...]
    aec: tuple[str, ...]
    profiles: tuple[str, ...]
    # The peers run.py found (empty: not measured): aws-sso-util, Debian's AWS CLI v2.
    sso_util: tuple[str, ...] = ()
    aws_cli: tuple[str, ...] = ()


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- setup ------------------------------------------------------------------------------------


def ensure_aec(path: Path) -> Path:
    """aws-export-credentials 0.18 at `path`, creating the default venv when it is missing."""
    if path.exists():
        return path
    if path != DEFAULT_AEC:
        raise BenchError(f"{path} does not exist: drop --aec to create {DEFAULT_AEC}")
    return peers.ensure_venv(peers.AEC_VENV, AEC_REQUIREMENTS, "aws-export-credentials")


def our_command() -> tuple[str, ...]:
    """The installed console script (what a credential_process line runs), else `-m`."""
    script = Path(sys.executable).parent / "aws-sso-tray"
    return (str(script),) if script.exists() else (sys.executable, "-m", "aws_sso_tray")


def make_accounts(profiles: int = ACCOUNTS * ROLES_PER_ACCOUNT) -> tuple[Account, ...]:
    """Accounts of ROLES_PER_ACCOUNT roles (the last one fewer) holding `profiles` roles."""
    count = -(-profiles // ROLES_PER_ACCOUNT)
    return tuple(
        Account(
            f"{(i + 1) * 111111111111 % 10**12:012d}",
            f"acct{i}",
            f"acct{i}@example.com",
            tuple(
                f"Role{j:02d}"
                for j in range(min(ROLES_PER_ACCOUNT, profiles - i * ROLES_PER_ACCOUNT))
            ),
        )
        for i in range(count)
    )


def write_config(home: Path, accounts: Sequence[Account]) -> tuple[str, ...]:
    """One [sso-session] and a profile per account role; returns the profile names."""
    lines = [
        f"[sso-session {SESSION}]",
        f"sso_start_url = {START_URL}",
        "sso_region = us-east-1",
        "sso_registration_scopes = sso:account:access",
        "",
    ]
    names: list[str] = []
    for account in accounts:
        for role in account.roles:
            name = f"p{len(names):02d}"
            names.append(name)
            lines += [
                f"[profile {name}]",
                f"sso_session = {SESSION}",
                f"sso_account_id = {account.account_id}",
                f"sso_role_name = {role}",
                "region = us-east-1",
                "",
            ]
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text("\n".join(lines), encoding="utf-8")
    return tuple(names)


def bench_env(home: Path, url: str) -> dict[str, str]:
    """The environment of every run: the temp HOME, the emulator, no route off 127.0.0.1."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_")
        and k.lower() not in ("browser", "all_proxy", "pythondontwritebytecode")
    }
    # Installed code runs from bytecode; compiling both tools' sources on every start would
    # measure the compiler. A private cache (filled by the warm-up) keeps the source tree clean.
    env["PYTHONPYCACHEPREFIX"] = str(home / ".pycache")
    env.update(HOME=str(home), USERPROFILE=str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        env[var] = str(home / sub)
    env.update(
        AWS_ENDPOINT_URL_SSO=url,
        AWS_ENDPOINT_URL_SSO_OIDC=url,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        http_proxy=DEAD_PROXY,
        https_proxy=DEAD_PROXY,
    )
    return env


def log_in(emu: Emulator, env: dict[str, str]) -> None:
    """Device-code login as `aws sso login --use-device-code` would, approved via the emulator."""
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.login import flows
    from aws_sso_tray.login.prompt import LoginPrompt

    # Our core reads HOME and the endpoints from os.environ at call time.
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(env)

    def approve(prompt: LoginPrompt) -> None:
        if prompt.user_code is None:
            raise BenchError("the device login gave no user code")
        emu.approve_device(prompt.user_code)

    session = profiles.get_session(SESSION)
    flows.login(session, flow="device", open_browser=False, timeout=60, on_prompt=approve)


# --- running ----------------------------------------------------------------------------------


def run_timed(
    cmd: Sequence[str], bench: Bench, env: Mapping[str, str] | None = None
) -> tuple[float, str]:
    """Run one subprocess (in `env`, else the bench's), return (wall seconds, stdout);
    BenchError when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd),
        env=dict(env if env is not None else bench.env),
        cwd=bench.home,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{' '.join(cmd[-4:])} exited {proc.returncode}: {last}")
    return elapsed, proc.stdout


def check_from_emulator(bench: Bench, stdout: str, label: str) -> None:
    """The credentials printed must be ones the emulator issued (compared, never printed)."""
    secret = json.loads(stdout).get("SecretAccessKey")
    if secret not in bench.emu.issued_secrets():
        raise BenchError(f"{label}: credentials did not come from the emulator")


def role_calls(bench: Bench) -> int:
    return bench.emu.count("GetRoleCredentials")


def calls_since(bench: Bench, before: int, expected: int) -> int:
    """GetRoleCredentials calls since `before`, waiting briefly for `expected` of them.

    The emulator logs a request after answering it, so a client may exit before its last
    call is in the log.
    """
    deadline = time.monotonic() + 2
    while role_calls(bench) - before < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return role_calls(bench) - before


def clear_role_caches(bench: Bench) -> None:
    shutil.rmtree(bench.home / ".aws" / "cli" / "cache", ignore_errors=True)
    (bench.home / ".aws" / "credentials").unlink(missing_ok=True)


# --- 1. credential-process, warm ----------------------------------------------------------------


def peer_commands(bench: Bench, profile: str) -> dict[str, tuple[str, ...]]:
    """The peers' credential-process commands, for the peers that were found."""
    found: dict[str, tuple[str, ...]] = {}
    if bench.sso_util:
        # aws-sso-util knows no [sso-session]: the start URL and region come as flags, the
        # account and role from the profile.
        flags = ("--start-url", START_URL, "--region", "us-east-1")
        found["sso-util"] = (*bench.sso_util, "credential-process", "--profile", profile, *flags)
    if bench.aws_cli:
        export = ("configure", "export-credentials", "--profile", profile, "--format", "process")
        found["aws-cli"] = (*bench.aws_cli, *export)
    return found


def credential_process_variants(bench: Bench, profile: str) -> dict[str, tuple[str, ...]]:
    cache_file = str(bench.home / "aec-cache.json")
    return {
        "ours": (*bench.ours, "credential-process", "--profile", profile),
        "aec-cache": (*bench.aec, "--profile", profile, "--json", "--cache-file", cache_file),
        "aec": (*bench.aec, "--profile", profile, "--json"),
        **peer_commands(bench, profile),
        # What any Python command costs before its first import: the floor for every tool.
        "floor": (sys.executable, "-c", "pass"),
    }


def seed_aws_cli_cache(bench: Bench, profile: str) -> None:
    """The AWS CLI's own cache entry for `profile`, as it writes it, from credentials the
    emulator issued (ours, fetched once): Debian's AWS CLI 2.9 ignores AWS_ENDPOINT_URL_SSO,
    so it can only answer from its cache (a miss would meet the dead proxy and fail)."""
    stdout = run_timed((*bench.ours, "credential-process", "--profile", profile), bench)[1]
    account, role = profile_role(bench, profile)
    key = peers.sso_cache_key(role, account, session_name=SESSION)
    peers.write_sso_cache_entry(bench.home, key, peers.RoleCredentials.from_process_output(stdout))


def profile_role(bench: Bench, profile: str) -> tuple[str, str]:
    """(account id, role name) of one of the generated profiles."""
    index = bench.profiles.index(profile)
    roles = [(a.account_id, r) for a in bench.emu.config.accounts for r in a.roles]
    return roles[index]


def bench_credential_process(bench: Bench, plan: Plan) -> tuple[list[Row], Timing]:
    """The comparison rows, and the interpreter's own start-up time (the floor)."""
    bench.emu.config.latency = 0.0
    variants = credential_process_variants(bench, bench.profiles[0])
    if bench.aws_cli:
        seed_aws_cli_cache(bench, bench.profiles[0])
    for _ in range(plan.warmup):
        for name, cmd in variants.items():
            stdout = run_timed(cmd, bench)[1]
            if name != "floor":
                check_from_emulator(bench, stdout, name)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    before = role_calls(bench)
    # Interleaved, so load from other work on the machine hits every variant alike.
    for _ in range(plan.runs):
        for name, cmd in variants.items():
            samples[name].append(run_timed(cmd, bench)[0])
    verify_credential_process_calls(calls_since(bench, before, plan.runs), plan.runs)
    timings = {name: Timing(tuple(s)) for name, s in samples.items()}
    rows = [
        speedup_row("credential-process, warm cache vs `--cache-file`", timings, "aec-cache"),
        speedup_row("credential-process, warm cache vs plain `--json`", timings, "aec"),
        *peer_rows("credential-process, warm cache", timings, bench),
        floor_row(timings),
    ]
    return rows, timings["floor"]


PEER_TITLES = {
    "sso-util": "aws-sso-util `credential-process`",
    "aws-cli": "AWS CLI v2 `configure export-credentials`",
}


def peer_rows(
    title: str, timings: dict[str, Timing], bench: Bench, reasons: Mapping[str, str] | None = None
) -> list[Row]:
    """One row per peer: measured, or why it was not (`reasons`, else peer_missing)."""
    found: list[Row] = []
    for name, what in PEER_TITLES.items():
        if name in timings:
            ratio = timings[name].median / timings["ours"].median
            cells = (timings[name].cell(), f"{ratio:.1f}x faster")
        else:
            cells = (f"n/a: {(reasons or {}).get(name) or peer_missing(name, bench)}", "-")
        found.append(
            Row(f"{title} vs {what}", timings["ours"].cell(), cells[0], cells[1], "-", "-")
        )
    return found


def peer_missing(name: str, bench: Bench) -> str:
    if name == "aws-cli" and not bench.aws_cli:
        return f"{peers.AWS_CLI} not installed (`{peers.AWS_CLI_INSTALL}`)"
    if name == "sso-util" and not bench.sso_util:
        return f"not installed ({peers.SSO_UTIL_VENV})"
    return "not measured"


def floor_row(timings: dict[str, Timing]) -> Row:
    """Ours against the interpreter's own start-up, measured in the same loop."""
    ratio = timings["ours"].median / timings["floor"].median
    return Row(
        "credential-process, warm cache vs `python -c pass` (the floor)",
        timings["ours"].cell(),
        timings["floor"].cell(),
        f"{ratio:.2f}x the floor",
        f"<= {CP_FLOOR_TARGET}x the floor",
        "yes" if ratio <= CP_FLOOR_TARGET else "NO",
    )


def verify_credential_process_calls(calls: int, runs: int) -> None:
    """Ours and aec --cache-file answer from their caches; plain aec fetches every time.

    Plain aws-export-credentials keeps no role cache, so exactly one GetRoleCredentials per run
    proves boto3 1.33 honoured AWS_ENDPOINT_URL_SSO and the comparison is against the emulator.
    """
    if calls != runs:
        raise BenchError(f"expected {runs} GetRoleCredentials calls (plain aec), saw {calls}")


def speedup_row(title: str, timings: dict[str, Timing], theirs: str) -> Row:
    ratio = timings[theirs].median / timings["ours"].median
    return Row(
        title,
        timings["ours"].cell(),
        timings[theirs].cell(),
        f"{ratio:.1f}x faster",
        f">= {CP_SPEEDUP_TARGET:.0f}x faster",
        "yes" if ratio >= CP_SPEEDUP_TARGET else "NO",
    )


# --- 2. credential-process, cold role cache -----------------------------------------------------


def bench_cold(bench: Bench, plan: Plan) -> tuple[list[Row], list[str]]:
    """Ours without an engine (benchmarks/coldpath.py measures it with one), aws-sso-util,
    plain aec and the AWS CLI, each run on an empty role cache and making exactly one
    GetRoleCredentials; and notes on the TLS proxy the AWS CLI goes through."""
    bench.emu.config.latency = 0.0
    warm = credential_process_variants(bench, bench.profiles[0])
    todo = {
        name: (warm[name], bench.env)
        for name in ("ours", "aec", "sso-util", "floor")
        if name in warm
    }
    notes: list[str] = []
    with cold_proxy(bench) as proxy:
        if isinstance(proxy, peers.TlsProxy):
            todo.update(proxied_variants(bench, warm, proxy))
        timings = run_cold(bench, plan, todo)
        if isinstance(proxy, peers.TlsProxy):
            proxy.check()  # a refused CONNECT: the AWS CLI wanted a host we do not play
            notes = proxy_notes(bench, plan, proxy, timings)
    missing = isinstance(proxy, str) and bool(bench.aws_cli)
    reasons = {"aws-cli": f"no TLS proxy ({proxy})"} if missing else {}
    aec = timings["aec"]
    ours = timings["ours"]
    rows = [
        Row(
            "credential-process, cold cache, no engine vs plain `--json`",
            ours.cell(),
            aec.cell(),
            f"{aec.median / ours.median:.2f}x",
            "no slower (>= 1.00x)",
            "yes" if ours.median <= aec.median else "NO",
        ),
        *peer_rows("credential-process, cold cache, no engine", timings, bench, reasons),
    ]
    if "ours-proxy" in timings:
        rows.append(proxied_row(timings))
    return rows, notes


@contextlib.contextmanager
def cold_proxy(bench: Bench) -> Iterator[peers.TlsProxy | str]:
    """The TLS proxy the AWS CLI's cold runs go through, or why there is none."""
    if not bench.aws_cli:
        yield "the AWS CLI is not installed"
        return
    try:
        proxy = peers.TlsProxy(bench.emu.url, bench.home)
    except peers.PeerError as exc:
        yield str(exc)
        return
    with proxy:
        yield proxy


def proxied_env(bench: Bench, proxy: peers.TlsProxy) -> dict[str, str]:
    """The bench's environment with HTTPS through the TLS proxy and no endpoint override, so
    a client calls the real AWS host names, which only the proxy answers (with the emulator)."""
    env = {k: v for k, v in bench.env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(proxy.env())
    return env


def proxied_variants(
    bench: Bench, warm: Mapping[str, tuple[str, ...]], proxy: peers.TlsProxy
) -> dict[str, tuple[tuple[str, ...], Mapping[str, str]]]:
    """The AWS CLI through the proxy, and ours through the same proxy (the proxy's cost)."""
    env = proxied_env(bench, proxy)
    return {"aws-cli": (warm["aws-cli"], env), "ours-proxy": (warm["ours"], env)}


def run_cold(
    bench: Bench, plan: Plan, todo: Mapping[str, tuple[tuple[str, ...], Mapping[str, str]]]
) -> dict[str, Timing]:
    """Each command on an empty role cache, interleaved, after one untimed round."""
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for index in range(plan.runs + 1):
        for name, (cmd, env) in todo.items():
            clear_role_caches(bench)
            before = role_calls(bench)
            elapsed, stdout = run_timed(cmd, bench, env)
            if name != "floor":
                check_from_emulator(bench, stdout, f"{name} (cold)")
                if calls_since(bench, before, 1) != 1:
                    raise BenchError(f"{name} (cold): not exactly one GetRoleCredentials per run")
            if index:
                samples[name].append(elapsed)
    return {name: Timing(tuple(s)) for name, s in samples.items()}


def proxied_row(timings: Mapping[str, Timing]) -> Row:
    """The AWS CLI against ours when both pay the proxy's CONNECT and TLS handshake."""
    ours, theirs = timings["ours-proxy"], timings["aws-cli"]
    return Row(
        "credential-process, cold cache, no engine, both through the TLS proxy, vs AWS CLI v2 "
        "`configure export-credentials`",
        ours.cell(),
        theirs.cell(),
        f"{theirs.median / ours.median:.1f}x faster",
        "-",
        "-",
    )


def proxy_notes(
    bench: Bench, plan: Plan, proxy: peers.TlsProxy, timings: Mapping[str, Timing]
) -> list[str]:
    """What the proxy adds: ours cold through it vs direct, and one GetRoleCredentials on a
    fresh connection (as each AWS CLI process makes) through it vs straight to the emulator."""
    forwarded = proxy.forwarded  # by the two tools' cold runs, warm-up round included
    direct, proxied = request_timings(bench, proxy, plan.runs)
    ours, ours_proxy = timings["ours"], timings["ours-proxy"]
    return [
        f"- TLS proxy for the AWS CLI's cold row (`benchmarks/peers.py`, CONNECT to "
        f"{' and '.join(peers.PROXIED_HOSTS)} only; {forwarded} requests of the cold runs "
        "forwarded, "
        f"{len(proxy.refused)} refused): ours cold through it "
        f"{_fmt(ours_proxy.median)} median vs {_fmt(ours.median)} direct "
        f"({(ours_proxy.median - ours.median) * 1000:+.0f} ms); one GetRoleCredentials on a "
        f"fresh connection, in-process: {proxied.cell()} through it (CONNECT, TLS handshake, "
        f"the hop to the emulator) vs {direct.cell()} direct "
        f"({(proxied.median - direct.median) * 1000:+.0f} ms)"
    ]


def request_timings(bench: Bench, proxy: peers.TlsProxy, runs: int) -> tuple[Timing, Timing]:
    """GetRoleCredentials on a new connection, straight to the emulator and through the proxy,
    interleaved `runs` times each."""
    import http.client
    import ssl

    token = json.loads(peers.token_file(bench.home, SESSION).read_text())["accessToken"]
    account, role = profile_role(bench, bench.profiles[0])
    path = f"/federation/credentials?role_name={role}&account_id={account}"
    headers = {"x-amz-sso_bearer_token": token}
    context = ssl.create_default_context(cafile=str(proxy.ca_bundle))
    emu_port = int(bench.emu.url.rsplit(":", 1)[1])
    proxy_port = int(proxy.url.rsplit(":", 1)[1])

    def fetch(conn: http.client.HTTPConnection) -> float:
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            answer.read()
        finally:
            conn.close()
        if answer.status != 200:
            raise BenchError(f"GetRoleCredentials for the proxy's cost answered {answer.status}")
        return time.perf_counter() - start

    direct: list[float] = []
    proxied: list[float] = []
    for _ in range(runs):
        direct.append(fetch(http.client.HTTPConnection("127.0.0.1", emu_port, timeout=30)))
        tunnel = http.client.HTTPSConnection("127.0.0.1", proxy_port, context=context, timeout=30)
        tunnel.set_tunnel(peers.PROXIED_HOSTS[0], 443)
        proxied.append(fetch(tunnel))
    return Timing(tuple(direct)), Timing(tuple(proxied))


# --- 3. sync of N profiles, cold role caches ---------------------------------------------------


def run_sync(bench: Bench, jobs: int | None) -> float:
    clear_role_caches(bench)
    before = role_calls(bench)
    extra = ("--jobs", str(jobs)) if jobs is not None else ()
    elapsed, _ = run_timed((*bench.ours, "sync", *bench.profiles, *extra), bench)
    calls = calls_since(bench, before, len(bench.profiles))
    if calls != len(bench.profiles):
        raise BenchError(f"sync made {calls} GetRoleCredentials calls, not {len(bench.profiles)}")
    return elapsed


def bench_sync(bench: Bench, plan: Plan) -> tuple[Row, Timing]:
    bench.emu.config.latency = SYNC_LATENCY
    run_timed((*bench.ours, "sync", bench.profiles[0]), bench)  # warm-up: compile, untimed
    parallel: list[float] = []
    serial: list[float] = []
    for _ in range(plan.sync_reps):
        parallel.append(run_sync(bench, None))
        serial.append(run_sync(bench, 1))
    ours, base = Timing(tuple(parallel)), Timing(tuple(serial))
    share = ours.median / base.median
    row = Row(
        f"sync {len(bench.profiles)} profiles, {SYNC_LATENCY * 1000:.0f} ms latency, "
        "cold caches: default pool vs `--jobs 1`",
        ours.cell(),
        base.cell(),
        f"{share:.0%} of serial",
        f"<= {SYNC_SHARE_TARGET:.0%} of serial",
        "yes" if share <= SYNC_SHARE_TARGET else "NO",
    )
    return row, ours


def bench_aec_sync(bench: Bench, ours: Timing) -> Row:
    """aws-export-credentials writing the same profiles, one process per profile, in a row."""
    bench.emu.config.latency = SYNC_LATENCY
    clear_role_caches(bench)
    before = role_calls(bench)
    start = time.perf_counter()
    for name in bench.profiles:
        run_timed((*bench.aec, "--profile", name, "--credentials-file-profile", name), bench)
    total = time.perf_counter() - start
    if calls_since(bench, before, len(bench.profiles)) != len(bench.profiles):
        raise BenchError("aws-export-credentials did not fetch every profile from the emulator")
    return Row(
        f"sync {len(bench.profiles)} profiles vs aws-export-credentials "
        "`--credentials-file-profile`, one process each",
        ours.cell(),
        f"{_fmt(total)} (one pass)",
        f"{total / ours.median:.1f}x faster",
        "-",
        "-",
    )


# --- report -------------------------------------------------------------------------------------


def interpreter_version(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"


def package_version(python: Path, package: str) -> str:
    code = f"from importlib.metadata import version; print(version({package!r}))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def peer_info(bench: Bench) -> list[str]:
    found = []
    if bench.sso_util:
        python = Path(bench.sso_util[0]).parent / "python"
        found.append(
            f"- aws-sso-util {package_version(python, 'aws-sso-util')}: Python "
            f"{interpreter_version(python)}, boto3 {package_version(python, 'boto3')}, "
            "start URL and region as flags (it reads no `[sso-session]`), the session's token "
            "copied to the file it looks up by start URL"
        )
    if bench.aws_cli:
        found.append(
            f"- AWS CLI v2 from Debian: {peers.aws_cli_version()} (`{bench.aws_cli[0]}`); "
            "warm: its `~/.aws/cli/cache` entry written as it writes one (benchmarks/peers.py); "
            "cold: it ignores AWS_ENDPOINT_URL_SSO, so it reaches the emulator through the TLS "
            "proxy of benchmarks/peers.py (HTTPS_PROXY, and AWS_CA_BUNDLE for the proxy's test CA)"
        )
    else:
        found.append(f"- AWS CLI v2 not measured: `{peers.AWS_CLI_INSTALL}` installs it")
    return found


def machine_info(aec: Path, plan: Plan) -> list[str]:
    aec_python = aec.parent / "python"
    ours = Path(sys.executable)
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; {platform.platform()}",
        f"- aws-sso-tray: Python {platform.python_version()}, "
        f"boto3 {package_version(ours, 'boto3')} (`{' '.join(our_command())}`)",
        f"- aws-export-credentials {package_version(aec_python, 'aws-export-credentials')}: "
        f"Python {interpreter_version(aec_python)}, boto3 {package_version(aec_python, 'boto3')}",
        f"- runs: {plan.runs} per credential-process variant after {plan.warmup} warm-up, "
        f"{plan.sync_reps} sync repetitions each",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}; load average at the end "
        f"{os.getloadavg()[0]:.1f} (other work on the machine inflates every number)",
    ]


def render(rows: Sequence[Row], info: Sequence[str], quick: bool) -> str:
    header = "| benchmark | aws-sso-tray | the other tool (or serial) | ratio | target | met? |"
    lines = [
        "# aws-sso-tray benchmarks" + (" (--quick: smoke check only)" if quick else ""),
        "",
        header,
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.benchmark} | {r.ours} | {r.theirs} | {r.ratio} | {r.target} | {r.met} |"
        for r in rows
    ]
    return "\n".join([*lines, "", *info, CHECKS, ""])


def run_idle(quick: bool) -> str:
    """The daemon's idle cost, measured by benchmarks/idle.py when it exists."""
    script = HERE / "idle.py"
    if not script.exists():
        return "\n## Idle cost\n\nbenchmarks/idle.py not found: skipped.\n"
    # idle.py has no --quick; a half-minute idle period is its smoke check.
    cmd = [sys.executable, str(script), *(["--minutes", "0.5"] if quick else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return f"\n## Idle cost\n\n{proc.stdout.strip()}\n" + (
        f"\n(idle.py exited {proc.returncode})\n" if proc.returncode else ""
    )


def run_bigfile(quick: bool) -> str:
    """A 50 MB credentials file: our one-section edit vs botocore's parse (bigfile.py)."""
    cmd = [sys.executable, str(HERE / "bigfile.py"), *(["--quick"] if quick else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout.strip() or proc.stderr.strip()
    return f"\n## A huge credentials file\n\n{output}\n" + (
        f"\n(bigfile.py exited {proc.returncode})\n" if proc.returncode else ""
    )


def run_script(name: str, title: str, quick: bool) -> str:
    """Another benchmark script beside this one, its table rows under `title`."""
    cmd = [sys.executable, str(HERE / name), *(["--quick"] if quick else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout.strip() or proc.stderr.strip()
    return f"\n## {title}\n\n{output}\n" + (
        f"\n({name} exited {proc.returncode})\n" if proc.returncode else ""
    )


# --- main -------------------------------------------------------------------------------------


def run_scale(quick: bool) -> str:
    """`list`, `status` and the idle daemon at 20, 200 and 1000 profiles (scale.py)."""
    quick_args = ["--profiles", "20,200", "--runs", "1", "--idle", "15"] if quick else []
    proc = subprocess.run(
        [sys.executable, str(HERE / "scale.py"), *quick_args],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"\n## At scale\n\n{proc.stdout.strip() or proc.stderr.strip()}\n" + (
        f"\n(scale.py exited {proc.returncode})\n" if proc.returncode else ""
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-check run")
    parser.add_argument(
        "--profiles",
        type=int,
        default=ACCOUNTS * ROLES_PER_ACCOUNT,
        metavar="N",
        help="profiles in the config, all of them synced (default %(default)s)",
    )
    parser.add_argument(
        "--aec",
        type=Path,
        default=DEFAULT_AEC,
        metavar="PATH",
        help=f"aws-export-credentials 0.18 executable (default {DEFAULT_AEC}, created if missing)",
    )
    parser.add_argument("--idle", action="store_true", help="also run benchmarks/idle.py")
    parser.add_argument(
        "--bigfile", action="store_true", help="also run benchmarks/bigfile.py (a 50 MB file)"
    )
    parser.add_argument("--burst", action="store_true", help="also run benchmarks/burst.py")
    parser.add_argument("--coldpath", action="store_true", help="also run benchmarks/coldpath.py")
    parser.add_argument("--traymem", action="store_true", help="also run benchmarks/traymem.py")
    parser.add_argument("--chained", action="store_true", help="also run benchmarks/chained.py")
    parser.add_argument("--scale", action="store_true", help="also run benchmarks/scale.py")
    parser.add_argument("--menu", action="store_true", help="also run benchmarks/menu.py")
    parser.add_argument("--configure", action="store_true", help="also run benchmarks/configure.py")
    parser.add_argument("--dashboard", action="store_true", help="also run benchmarks/dashboard.py")
    return parser.parse_args(argv)


def run_all(bench: Bench, plan: Plan) -> tuple[list[Row], list[str]]:
    """The table's rows, and notes for below it."""
    rows, floor = bench_credential_process(bench, plan)
    notes = [f"- Python start-up alone (`python -c pass`): {floor.cell()}"]
    print("credential-process done", file=sys.stderr)
    cold_rows, cold_notes = bench_cold(bench, plan)
    rows += cold_rows
    notes += cold_notes
    print("cold credential-process done", file=sys.stderr)
    sync_row, ours = bench_sync(bench, plan)
    rows.append(sync_row)
    print("sync done", file=sys.stderr)
    if plan.aec_sync:
        rows.append(bench_aec_sync(bench, ours))
    return rows, notes


def find_peers() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """aws-sso-util (its venv created when missing) and Debian's AWS CLI when installed."""
    sso_util = peers.ensure_aws_sso_util()
    aws_cli = peers.aws_cli()
    if aws_cli is None:
        print(f"{peers.AWS_CLI} missing: `{peers.AWS_CLI_INSTALL}`; skipped", file=sys.stderr)
    return (str(sso_util),), (str(aws_cli),) if aws_cli else ()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    try:
        aec = ensure_aec(args.aec.resolve() if args.aec != DEFAULT_AEC else DEFAULT_AEC)
        found = find_peers()
        accounts = make_accounts(args.profiles)
        with (
            tempfile.TemporaryDirectory(prefix="aws-sso-tray-bench-") as tmp,
            Emulator(EmulatorConfig(accounts=accounts)) as emu,
        ):
            home = Path(tmp) / "home"
            profiles = write_config(home, accounts)
            env = bench_env(home, emu.url)
            log_in(emu, env)
            peers.copy_token_for_start_url(home, SESSION, START_URL)
            bench = Bench(
                emu,
                home,
                env,
                our_command(),
                (str(aec),),
                profiles,
                *found,
            )
            rows, notes = run_all(bench, plan)
            info = [*machine_info(aec, plan), *peer_info(bench), *notes]
    except (BenchError, peers.PeerError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report = render(rows, info, args.quick)
    if args.idle:
        report += run_idle(args.quick)
    if args.bigfile:
        report += run_bigfile(args.quick)
    if args.burst:
        report += run_script("burst.py", "A burst on a cold cache", args.quick)
    if args.coldpath:
        report += run_script("coldpath.py", "Cold credential-process", args.quick)
    if args.traymem:
        report += run_script("traymem.py", "The tray's memory", quick=False)
    if args.chained:
        report += run_script("chained.py", "Roles chained on SSO", args.quick)
    if args.scale:
        report += run_scale(args.quick)
    if args.menu:
        report += run_script("menu.py", "The tray menu with 500 profiles", args.quick)
    if args.configure:
        report += run_script("configure.py", "500 generated profiles", args.quick)
    if args.dashboard:
        report += run_script("dashboard.py", "The dashboard in headless Chromium", args.quick)
    print(report)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
