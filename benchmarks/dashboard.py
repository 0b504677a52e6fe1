"""The dashboard page with 500 profiles in headless Chromium: first paint and the keystroke filter.

    python benchmarks/dashboard.py [--quick]

One emulator on 127.0.0.1 with 100 accounts x 5 roles, a temporary HOME whose AWS config has a
profile for each, signed in with a device-code login, and a real `aws-sso-tray daemon` serving
the dashboard. Debian's chromium and chromium-driver (through Selenium, the test extra) open a
fresh single-use link (`aws-sso-tray dashboard --print`) per load and report:

- first paint and first contentful paint: `performance.getEntriesByType('paint')`;
- all 500 rows rendered: `performance.now()` when the first state was drawn (the page records
  it in `window.dashboardRenderedAt`);
- each keystroke's filter: `performance.now()` around the page's `input` handler
  (`window.dashboardFilterMs`), typing account names, ids and roles one key at a time.

Prints markdown rows in benchmarks/run.py's table format. Not part of the tests.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # benchmarks/run.py: the shared set-up and the table format

from aws_sso_tray.emulator import Account, Emulator, EmulatorConfig

ACCOUNTS, ROLES = 100, ("Admin", "ReadOnly", "PowerUser", "Billing", "Audit")
PAINT_TARGET, FILTER_TARGET = 0.300, 0.050  # seconds: issue 15 §1
LOADS, QUICK_LOADS = 15, 3
QUERIES = ("acct42 admin", "555555555", "readonly", "acct7", "billing acct9")


def accounts() -> tuple[Account, ...]:
    return tuple(
        Account(f"{100000000000 + i}", f"acct{i}", f"acct{i}@example.com", ROLES)
        for i in range(ACCOUNTS)
    )


def start_daemon(bench: run.Bench) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*bench.ours, "daemon"], env=bench.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    published = bench.home / ".local" / "state" / "aws-sso-tray" / "dashboard.json"
    deadline = time.monotonic() + 60
    while not published.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise run.BenchError("the daemon did not publish its dashboard")
        time.sleep(0.05)
    return proc


def link(bench: run.Bench) -> str:
    done = subprocess.run(
        [*bench.ours, "dashboard", "--print"],
        env=bench.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise run.BenchError(f"`dashboard --print` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def browser(profile_dir: Path) -> object:
    from selenium import webdriver

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise run.BenchError("needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))


def wait_js(driver: object, script: str, what: str, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)  # type: ignore[attr-defined]
        if value:
            return value
        time.sleep(0.01)
    raise run.BenchError(f"timed out waiting for {what}")


def measure(bench: run.Bench, driver: object, loads: int) -> tuple[list[float], ...]:
    first_paint, contentful, rendered, keystrokes = [], [], [], []
    for _ in range(loads):
        driver.get(link(bench))  # type: ignore[attr-defined]
        wait_js(
            driver,
            "return window.dashboardRenderedAt !== undefined && "
            "document.querySelectorAll('.row[data-profile]').length === 500",
            "500 rows",
        )
        paints = driver.execute_script(  # type: ignore[attr-defined]
            "return Object.fromEntries(performance.getEntriesByType('paint')"
            ".map(e => [e.name, e.startTime]))"
        )
        first_paint.append(paints["first-paint"] / 1000)
        contentful.append(paints["first-contentful-paint"] / 1000)
        rendered.append(driver.execute_script("return window.dashboardRenderedAt") / 1000)  # type: ignore[attr-defined]
        search = driver.switch_to.active_element  # type: ignore[attr-defined]
        for query in QUERIES:
            search.clear()
            for key in query:
                search.send_keys(key)
                keystrokes.append(driver.execute_script("return window.dashboardFilterMs") / 1000)  # type: ignore[attr-defined]
    return first_paint, contentful, rendered, keystrokes


def cell(samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"{statistics.median(samples) * 1000:.1f} ms median (p90 {p90 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms, n={len(samples)})"
    )


def rows(results: tuple[list[float], ...]) -> list[run.Row]:
    first_paint, contentful, rendered, keystrokes = results
    met = lambda samples, target: "yes" if statistics.median(samples) < target else "NO"  # noqa: E731
    return [
        run.Row(
            "dashboard, 500 profiles: first paint",
            cell(first_paint),
            "-",
            "-",
            "< 300 ms",
            met(first_paint, PAINT_TARGET),
        ),
        run.Row(
            "dashboard, 500 profiles: first contentful paint",
            cell(contentful),
            "-",
            "-",
            "< 300 ms",
            met(contentful, PAINT_TARGET),
        ),
        run.Row("dashboard, 500 profiles: every row drawn", cell(rendered), "-", "-", "-", "-"),
        run.Row(
            "dashboard, 500 profiles: filter per keystroke",
            cell(keystrokes),
            "-",
            "-",
            "< 50 ms",
            "yes" if max(keystrokes) < FILTER_TARGET else "NO",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-check run")
    parser.add_argument(
        "--screenshots", type=Path, metavar="DIR", help="also save light and dark screenshots"
    )
    args = parser.parse_args(argv)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aws-sso-tray-dash-") as tmp,
            Emulator(EmulatorConfig(accounts=accounts())) as emu,
        ):
            home = Path(tmp) / "home"
            profiles = run.write_config(home, accounts())
            env = run.bench_env(home, emu.url)
            env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the daemon's notices go to its log
            run.log_in(emu, env)
            bench = run.Bench(emu, home, env, run.our_command(), (), profiles)
            daemon = start_daemon(bench)
            driver = browser(Path(tmp) / "chromium")
            try:
                results = measure(bench, driver, QUICK_LOADS if args.quick else LOADS)
                if args.screenshots is not None:
                    screenshots(bench, driver, args.screenshots)
            finally:
                driver.quit()  # type: ignore[attr-defined]
                daemon.terminate()
                daemon.wait(30)
    except run.BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    for row in rows(results):
        print(
            f"| {row.benchmark} | {row.ours} | {row.theirs} | {row.ratio} | {row.target} "
            f"| {row.met} |"
        )
    print(f"\n- {len(profiles)} profiles; headless Chromium {chromium_version()}")
    return 0


def screenshots(bench: run.Bench, driver: object, folder: Path) -> None:
    """dashboard-light.png and dashboard-dark.png: a search narrowed to one account."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1280, 720)  # type: ignore[attr-defined]
    for scheme in ("light", "dark"):
        driver.execute_cdp_cmd(  # type: ignore[attr-defined]
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        driver.get(link(bench))  # type: ignore[attr-defined]
        wait_js(driver, "return window.dashboardRenderedAt !== undefined", "the rows")
        driver.switch_to.active_element.send_keys("acct4")  # type: ignore[attr-defined]
        driver.save_screenshot(str(folder / f"dashboard-{scheme}.png"))  # type: ignore[attr-defined]


def chromium_version() -> str:
    done = subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().removeprefix("Chromium ").split(" ")[0] or "?"


if __name__ == "__main__":
    sys.exit(main())
