"""`aws-sso-tray console`: the access portal's shortcut link, the federation sign-in against the
emulator's sign-in endpoint (its landing page names the account and role), the partition's
endpoints, and the settings' browser command run without a shell, the URL one argument."""

from __future__ import annotations

import json
import shlex
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray import api
from aws_sso_tray.aws import console
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.aws.rolecreds import RoleCredentials
from aws_sso_tray.emulator.signin import CONSOLE_PAGE_TITLE
from aws_sso_tray.errors import ConfigError, ServiceError
from aws_sso_tray.files import paths
from sso_helpers import device_login, session_config

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
CN = SsoSession("china", "https://start.home.awsapps.cn/directory/d-90", "cn-north-1")
PORTAL = "https://d-1234567890.awsapps.com/start/#/console"
PROD = (
    "\n[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\n"
    "sso_role_name = ReadOnly\n"
    "\n[profile odd]\nsso_session = corp\nsso_account_id = 333333333333\n"
    "sso_role_name = Power+User@ops\n"
    "\n[profile static]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n"
)


@pytest.fixture
def config(aws_config: WriteConfig) -> None:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly") + PROD)


@pytest.fixture
def logged_in(emulator: Emulator, config: None, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    device_login(emulator, SESSION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", emulator.url)
    return emulator


def console_print(cli: RunCli, *args: str) -> str:
    done = cli("console", *args, "--print")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1
    return done.stdout.strip()


# --- the portal's shortcut link ----------------------------------------------------------------


def test_print_is_the_portal_shortcut_link_and_needs_no_credentials(
    cli: RunCli, config: None, emulator: Emulator
) -> None:
    assert console_print(cli, "dev") == f"{PORTAL}?account_id=111111111111&role_name=ReadOnly"
    assert console_print(cli, "prod") == f"{PORTAL}?account_id=222222222222&role_name=ReadOnly"
    assert console_print(cli, "odd") == (
        f"{PORTAL}?account_id=333333333333&role_name=Power%2BUser%40ops"
    )
    assert emulator.requests == []  # no sign-in, no portal call: the browser's portal does it


def test_a_destination_is_url_encoded_and_a_region_lands_on_its_console_home(
    cli: RunCli, config: None
) -> None:
    s3 = "https://console.aws.amazon.com/s3/home?region=eu-west-1#/buckets"
    assert console_print(cli, "dev", "--destination", s3) == (
        f"{PORTAL}?account_id=111111111111&role_name=ReadOnly&destination="
        "https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-1%23%2Fbuckets"
    )
    assert console_print(cli, "dev", "--region", "eu-west-1") == (
        f"{PORTAL}?account_id=111111111111&role_name=ReadOnly&destination="
        "https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1"
    )


def test_the_portal_link_of_a_china_session_lands_on_the_china_console(
    cli: RunCli, aws_config: WriteConfig
) -> None:
    aws_config(session_config(CN, "cn", "444444444444", "ReadOnly"))
    assert console_print(cli, "cn", "--region", "cn-northwest-1") == (
        "https://start.home.awsapps.cn/directory/d-90/#/console?account_id=444444444444"
        "&role_name=ReadOnly&destination="
        "https%3A%2F%2Fconsole.amazonaws.cn%2Fconsole%2Fhome%3Fregion%3Dcn-northwest-1"
    )


def test_bad_input_is_one_line_with_its_exit_code(cli: RunCli, config: None) -> None:
    cases = [
        (["dev", "--destination", "s3/home"], 2, "is not a console URL"),
        (["dev", "--region", "eu west 1"], 2, "is not an AWS region code"),
        (["nobody"], 3, "nobody"),
        (["static"], 3, "use --federated"),
    ]
    for args, code, words in cases:
        done = cli("console", *args, "--print")
        assert done.returncode == code, (args, done.stderr)
        assert words in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert done.stdout == ""


# --- federation --------------------------------------------------------------------------------


def follow(url: str) -> tuple[str, str]:
    """Open `url` as a browser would (following the redirect): the final URL and the page."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.geturl(), answer.read().decode()


def test_federated_url_signs_in_to_the_emulators_console_as_the_profiles_role(
    cli: RunCli, logged_in: Emulator
) -> None:
    url = console_print(cli, "dev", "--federated")
    prefix = (
        f"{logged_in.url}/federation?Action=login"
        "&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken="
    )
    assert url.startswith(prefix)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["SigninToken"][0]
    assert token in logged_in.issued_secrets()
    assert logged_in.count("Federation") == 1  # GetSigninToken; the login is the browser's
    assert logged_in.count("GetRoleCredentials") == 1
    landed, page = follow(url)
    assert landed.startswith(f"{logged_in.url}/console?session=")
    assert CONSOLE_PAGE_TITLE in page
    assert "Signed in to account 111111111111 as role ReadOnly" in page
    assert "destination: https://console.aws.amazon.com/" in page

    # Cached credentials are reused; --destination and --region choose the landing page.
    s3 = "https://console.aws.amazon.com/s3/home"
    _landed, page = follow(console_print(cli, "dev", "--federated", "--destination", s3))
    assert f"destination: {s3}" in page
    _landed, page = follow(console_print(cli, "prod", "--federated", "--region", "eu-west-1"))
    assert "account 222222222222 as role ReadOnly" in page
    assert "destination: https://console.aws.amazon.com/console/home?region=eu-west-1" in page
    assert logged_in.count("GetRoleCredentials") == 2


def test_a_china_session_signs_in_on_the_china_console(
    cli: RunCli, emulator: Emulator, aws_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_config(session_config(CN, "cn", "111111111111", "Admin"))
    device_login(emulator, CN)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", emulator.url)
    url = console_print(cli, "cn", "--federated")
    assert "&Destination=https%3A%2F%2Fconsole.amazonaws.cn%2F&" in url
    _landed, page = follow(url)
    assert "account 111111111111 as role Admin" in page


def test_the_emulator_refuses_credentials_it_did_not_issue_or_that_expired(
    logged_in: Emulator,
) -> None:
    endpoint = f"{logged_in.url}/federation"
    forged = RoleCredentials("ASIAFORGED0000000000", "secret", "token", None)
    with pytest.raises(ServiceError, match=r"refused the credentials of profile 'dev' \(HTTP 400"):
        console.signin_token(forged, endpoint, profile="dev")
    real = api.sso_credentials("dev")
    wrong = RoleCredentials(real.access_key_id, "not-the-secret", real.session_token, None)
    with pytest.raises(ServiceError, match="refused"):
        console.signin_token(wrong, endpoint)
    assert console.signin_token(real, endpoint) in logged_in.issued_secrets()
    logged_in.advance(logged_in.config.credential_ttl + 1)
    with pytest.raises(ServiceError, match="refused"):
        console.signin_token(real, endpoint)
    with pytest.raises(ConfigError, match="long-term keys"):
        console.signin_token(RoleCredentials("AKIAEXAMPLE", "s", None, None), endpoint)

    # The login takes only a token it issued; the landing page only a session it made.
    for query in ("Action=login&SigninToken=nope&Destination=https%3A%2F%2Fx.example%2F",):
        with pytest.raises(urllib.error.HTTPError) as refused:
            follow(f"{endpoint}?{query}")
        assert refused.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as no_session:
        follow(f"{logged_in.url}/console?session=nope")
    assert no_session.value.code == 403


def test_an_unreachable_signin_endpoint_is_a_network_error_without_secrets(
    cli: RunCli, logged_in: Emulator
) -> None:
    done = cli(
        "console",
        "dev",
        "--federated",
        "--print",
        env={"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9"},
    )
    assert done.returncode == 7, done.stderr
    assert "cannot reach the AWS sign-in service (127.0.0.1:9)" in done.stderr
    assert done.stdout == ""
    for secret in logged_in.issued_secrets():
        assert secret not in done.stderr


def test_partitions_follow_botocores_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "us-east-1": ("aws", "https://signin.aws.amazon.com/federation"),
        "eu-central-2": ("aws", "https://signin.aws.amazon.com/federation"),
        "cn-north-1": ("aws-cn", "https://signin.amazonaws.cn/federation"),
        "cn-northwest-1": ("aws-cn", "https://signin.amazonaws.cn/federation"),
        "us-gov-west-1": ("aws-us-gov", "https://signin.amazonaws-us-gov.com/federation"),
        "us-gov-east-1": ("aws-us-gov", "https://signin.amazonaws-us-gov.com/federation"),
        "xx-nowhere-9": ("aws", "https://signin.aws.amazon.com/federation"),  # botocore's default
    }
    monkeypatch.delenv("AWS_ENDPOINT_URL_SIGNIN", raising=False)
    for region, (name, endpoint) in expected.items():
        partition = console.partition_of(region)
        assert (partition.name, console.signin_endpoint(partition)) == (name, endpoint), region
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL_SIGNIN"):
        console.partition_of("us-iso-east-1")

    aws = console.PARTITIONS["aws"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:4566/")
    assert console.signin_endpoint(aws) == "http://127.0.0.1:4566/federation"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert console.signin_endpoint(aws) == "https://signin.aws.amazon.com/federation"


# --- the browser -------------------------------------------------------------------------------

RECORDER = """
import json, sys
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[2:]) + "\\n")
"""


def write_settings(text: str) -> None:
    folder = paths.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    (folder / "settings.toml").write_text(text, encoding="utf-8")


def recorder(tmp_path: Path, *words: str) -> tuple[str, Path]:
    """A browser command template running the recorder with `words`; and its log."""
    script, log = tmp_path / "recorder.py", tmp_path / "opened.jsonl"
    script.write_text(RECORDER)
    prefix = " ".join(shlex.quote(w) for w in (sys.executable, str(script), str(log)))
    return f"{prefix} {' '.join(words)}", log


def opened(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def toml(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def test_the_console_browser_of_the_profile_or_its_session_gets_the_url_as_one_argument(
    cli: RunCli, config: None, tmp_path: Path
) -> None:
    dev_browser, log = recorder(tmp_path, "-P", "dev", "%s", ";", "touch", "pwned")
    session_browser, _ = recorder(tmp_path, "--session", "%s")
    write_settings(
        f"console_browser = {toml('false %s')}\n"
        f"[sessions.corp]\nconsole_browser = {toml(session_browser)}\n"
        f"[profiles.dev]\nconsole_browser = {toml(dev_browser)}\n"
    )
    assert api.console_browser("dev") == dev_browser
    assert api.console_browser("prod") == session_browser
    assert api.console_browser("static") == "false %s"  # no session: the global command
    for profile in ("dev", "prod"):
        done = cli("console", profile, env={"BROWSER": "false"})  # $BROWSER is not asked
        assert done.returncode == 0, done.stderr
    dev_url = f"{PORTAL}?account_id=111111111111&role_name=ReadOnly"
    prod_url = f"{PORTAL}?account_id=222222222222&role_name=ReadOnly"
    # No shell: `;` and what follows are words handed to the browser, and nothing ran them.
    assert opened(log) == [["-P", "dev", dev_url, ";", "touch", "pwned"], ["--session", prod_url]]
    assert not list(tmp_path.rglob("pwned"))


def test_without_a_console_browser_the_default_browser_opens_it(
    cli: RunCli, config: None, tmp_path: Path
) -> None:
    command, log = recorder(tmp_path, "%s")
    done = cli("console", "dev", "--region", "eu-west-1", env={"BROWSER": command})
    assert done.returncode == 0, done.stderr
    [[url]] = opened(log)
    assert url == console_print(cli, "dev", "--region", "eu-west-1")


def test_a_browser_that_fails_says_so_and_a_federated_link_stays_out_of_the_message(
    cli: RunCli, logged_in: Emulator
) -> None:
    write_settings(f"console_browser = {toml('false')}\n")
    done = cli("console", "dev")
    assert done.returncode == 1
    assert "the console of dev did not open (the browser command 'false' exited" in done.stderr
    assert f"open {PORTAL}?account_id=111111111111&role_name=ReadOnly" in done.stderr

    done = cli("console", "dev", "--federated")
    assert done.returncode == 1
    assert "`aws-sso-tray console dev --federated --print` prints the link" in done.stderr
    assert "SigninToken" not in done.stderr
    for secret in logged_in.issued_secrets():
        assert secret not in done.stderr


def test_the_readmes_console_browser_example_is_read_without_a_warning(config: None) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### The AWS console\n", 1)[1].split("\n## ", 1)[0]
    write_settings(section.split("```toml\n", 1)[1].split("```", 1)[0])
    from aws_sso_tray.files.settings import load_settings

    assert load_settings()[1] == []
    assert api.console_browser("prod") == "firefox -P prod %s"
    assert api.console_browser("dev") == "firefox -P work %s"


def test_debug_logging_of_a_federated_sign_in_shows_no_secret(
    cli: RunCli, logged_in: Emulator
) -> None:
    done = cli("--debug", "console", "dev", "--federated", "--print")
    assert done.returncode == 0, done.stderr
    assert "got a sign-in token" in done.stderr  # DEBUG was on
    for secret in logged_in.issued_secrets():  # the sign-in token is only on stdout
        assert secret not in done.stderr
