"""Real browsers for the dashboard's tests, behind one small interface (`Browser`): Debian's
chromium through Selenium and chromium-driver, and Debian's firefox-esr through its own
Marionette protocol (PyPI `marionette-driver`), since Debian ships no geckodriver and nothing
may be downloaded at run time. Both run headless, as root, with a fresh profile, and skip with
the reason when the browser or its driver is missing.

Firefox gets preferences that turn its background networking off (updates, telemetry, the
captive portal check, safe browsing, remote settings, prefetching) and a proxy that records
every request Firefox would send anywhere but 127.0.0.1: `outside` lists them, and a test
asserts it stays empty."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from waiting import wait_for

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
NAMES = ("chromium", "firefox")


class Element(Protocol):
    @property
    def text(self) -> str: ...
    def click(self) -> None: ...
    def clear(self) -> None: ...
    def send_keys(self, *value: str) -> None: ...
    def get_attribute(self, name: str) -> str | None: ...


class Browser(Protocol):
    """The part of Selenium's WebDriver the dashboard's tests use."""

    def get(self, url: str) -> None: ...
    def refresh(self) -> None: ...
    def execute_script(self, script: str, *args: Any) -> Any: ...
    def find_element(self, by: str, value: str) -> Element: ...
    def active_element(self) -> Element: ...
    def get_cookies(self) -> list[dict[str, Any]]: ...


class SeleniumBrowser:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def get(self, url: str) -> None:
        self.driver.get(url)

    def refresh(self) -> None:
        self.driver.refresh()

    def execute_script(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def find_element(self, by: str, value: str) -> Element:
        element: Element = self.driver.find_element(by, value)
        return element

    def active_element(self) -> Element:
        element: Element = self.driver.switch_to.active_element
        return element

    def get_cookies(self) -> list[dict[str, Any]]:
        return list(self.driver.get_cookies())


class MarionetteElement:
    def __init__(self, element: Any) -> None:
        self.element = element

    @property
    def text(self) -> str:
        return str(self.element.text)

    def click(self) -> None:
        self.element.click()

    def clear(self) -> None:
        self.element.clear()

    def send_keys(self, *value: str) -> None:
        self.element.send_keys("".join(value))

    def get_attribute(self, name: str) -> str | None:
        value = self.element.get_attribute(name)
        return None if value is None else str(value)


class MarionetteBrowser:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, url: str) -> None:
        self.client.navigate(url)

    def refresh(self) -> None:
        self.client.refresh()

    def execute_script(self, script: str, *args: Any) -> Any:
        # the page's own window (no sandbox), so globals a test sets stay between calls
        return self.client.execute_script(script, script_args=list(args), sandbox=None)

    def find_element(self, by: str, value: str) -> Element:
        return MarionetteElement(self.client.find_element(by, value))

    def active_element(self) -> Element:
        return MarionetteElement(self.client.get_active_element())

    def get_cookies(self) -> list[dict[str, Any]]:
        return list(self.client.get_cookies())


@contextlib.contextmanager
def chromium(folder: Path) -> Iterator[Browser]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install both)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={folder / 'chromium'}")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        yield SeleniumBrowser(driver)
    finally:
        driver.quit()


class OutsideRequests(socketserver.ThreadingTCPServer):
    """Firefox's proxy: records the first line of every request and answers nothing."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), Recorder)


class Recorder(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, OutsideRequests)
        self.server.seen.append(self.rfile.readline(2048).decode(errors="replace").strip())


def firefox_prefs(proxy_port: int) -> dict[str, object]:
    off = "http://127.0.0.1:9/"  # the discard port: a URL that never leaves the machine
    return {
        "marionette.port": 0,  # any free port, written to MarionetteActivePort
        "app.update.disabledForTesting": True,
        "app.update.auto": False,
        "app.normandy.enabled": False,
        "app.shield.optoutstudies.enabled": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.unified": False,
        "toolkit.telemetry.server": off,
        "browser.ping-centre.telemetry": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.blockedURIs.enabled": False,
        "browser.safebrowsing.provider.mozilla.updateURL": off,
        "browser.safebrowsing.provider.google4.updateURL": off,
        "services.settings.server": off,
        "messaging-system.rsexperimentloader.enabled": False,
        "extensions.update.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        "extensions.blocklist.enabled": False,
        "media.gmp-manager.url": off,
        # Media plugins: Widevine comes from Google's update server (update.googleapis.com) a
        # minute or so after start, past the gmp-manager URL above.
        "media.gmp-manager.updateEnabled": False,
        "media.gmp-manager.chromium-update-url": off,
        "media.gmp-widevinecdm.enabled": False,
        "media.gmp-widevinecdm.allow-chromium-update": False,
        "media.gmp-gmpopenh264.enabled": False,
        "browser.search.update": False,
        "browser.region.network.url": off,
        "geo.provider.network.url": off,
        "network.trr.mode": 5,
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.http.speculative-parallel-limit": 0,
        "browser.newtabpage.enabled": False,
        "browser.startup.page": 0,
        "browser.shell.checkDefaultBrowser": False,
        # whatever is left goes to the recorder (127.0.0.1 itself is never proxied)
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
    }


def user_js(prefs: dict[str, object]) -> str:
    def literal(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int) else f'"{value}"'

    return "".join(f'user_pref("{name}", {literal(v)});\n' for name, v in prefs.items())


@contextlib.contextmanager
def firefox(folder: Path) -> Iterator[tuple[Browser, list[str]]]:
    """Firefox and the requests it tried to send outside 127.0.0.1."""
    if FIREFOX is None:
        pytest.skip("needs Debian's firefox-esr (apt-get install firefox-esr)")
    marionette = pytest.importorskip(
        "marionette_driver.marionette", reason="needs marionette-driver (test extra)"
    )
    profile = folder / "firefox"
    profile.mkdir()
    with OutsideRequests() as outside:
        threading.Thread(target=outside.serve_forever, daemon=True).start()
        (profile / "user.js").write_text(user_js(firefox_prefs(outside.server_address[1])))
        proc = subprocess.Popen(
            [FIREFOX, "--marionette", "--headless", "--no-remote", "--profile", str(profile)],
            # Firefox honours services.settings.server only with this variable set
            env={**os.environ, "MOZ_HEADLESS": "1", "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port_file = profile / "MarionetteActivePort"
            wait_for(
                lambda: (
                    (port_file.exists() and port_file.read_text().strip() != "")
                    or proc.poll() is not None
                ),
                "Firefox's Marionette port",
            )
            assert proc.poll() is None, f"firefox exited with {proc.returncode}"
            client = marionette.Marionette(host="127.0.0.1", port=int(port_file.read_text()))
            client.start_session()
            try:
                yield MarionetteBrowser(client), outside.seen
            finally:
                client.delete_session()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            outside.shutdown()
