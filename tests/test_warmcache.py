"""warmcache.py: credential-process's fast path gives exactly what the full modules give.

Each shortcut (the plain-config reader, the C JSON scanner and encoder, AWS CLI timestamps by
arithmetic) is compared with the module it stands in for, on generated inputs; the import budget
keeps the gain (what the fast path loads beyond a bare interpreter).
"""

from __future__ import annotations

import calendar
import configparser
import hashlib
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import aws_sso_tray
from aws_sso_tray import clock
from aws_sso_tray.aws import formats, profiles, rolecreds, warmcache

UTC = timezone.utc

# What the fast path may import beyond `python -S -c pass`: our own light modules and two C
# modules. Before issue 13 it was 62 modules, `re`, `enum`, `json`, `datetime` and
# `configparser` among them.
IMPORT_BUDGET = {
    # what site imports anyway in `python -c pass` (this test runs `python -S`)
    *("os", "os.path", "posixpath", "ntpath", "nt", "genericpath", "stat", "_stat"),
    "_collections_abc",
    "__future__",
    "_json",
    "_sha1",
    "aws_sso_tray",
    "aws_sso_tray.launch",
    "aws_sso_tray.aws",
    "aws_sso_tray.aws.warmcache",
    "aws_sso_tray.aws.formats",
    "aws_sso_tray.files",
    "aws_sso_tray.files.paths",
}

_ini_word = st.text(alphabet="abcdeprofil_-. 0123456789", min_size=0, max_size=12)
_ini_line = st.one_of(
    st.builds(lambda n: f"[{n}]", _ini_word),
    st.builds(lambda n: f"[profile {n}]", _ini_word),
    st.builds(
        lambda k, s, v: f"{k}{s}{v}", _ini_word, st.sampled_from(["=", " = ", ":", "= "]), _ini_word
    ),
    st.sampled_from(
        ["", "  ", "# comment", "; comment", "  # indented", "[DEFAULT]", "x = [y]", "  a = b"]
    ),
    st.sampled_from(["[a] b", "[", "]", "[]", "no separator", "= value", "k = v = w", "k: v"]),
    st.text(alphabet="[]=:#; \tab\r", max_size=8),
    st.text(max_size=6),
)


def configparser_sections(text: str) -> dict[str, dict[str, str]] | None:
    """`text` as botocore reads it from a file: opened with universal newlines, so a lone `\r`
    ends a line too (read_string alone would keep it inside the line)."""
    config = configparser.RawConfigParser()
    try:
        config.read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        return None
    return {name: dict(config.items(name)) for name in config.sections()}


@given(st.lists(_ini_line, max_size=12), st.sampled_from(["\n", "\r\n"]))
@example(["[profile p]", "a = 1", "", "  b"], "\n")
@example(["[s]", "A = 1", "a = 2"], "\n")
@example(["[profile ]", "]:\r;"], "\n")  # a lone \r: a line break for a file's reader
def test_the_plain_config_reader_reads_as_configparser_does(lines: list[str], end: str) -> None:
    text = end.join(lines)
    ours = warmcache.simple_sections(text)
    if ours is not None:  # None: not sure, RawConfigParser itself reads it
        assert ours == configparser_sections(text)


def test_the_plain_config_reader_takes_the_usual_files() -> None:
    text = (
        "# mine\n[default]\nregion = eu-west-1\n\n[sso-session corp]\n"
        "sso_start_url = https://corp.awsapps.com/start\nsso_region=us-east-1\n"
        "[profile dev]\r\nsso_session = corp\r\nSSO_Account_Id: 111111111111\r\n"
    )
    assert warmcache.simple_sections(text) == configparser_sections(text)
    assert warmcache.simple_sections(text) is not None


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(8999, 12, 31, 23, 59, 59)))
def test_aws_cli_timestamps_by_arithmetic_are_clocks(moment: datetime) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert warmcache.iso_epoch_seconds(text) == calendar.timegm(moment.timetuple())
    assert clock.format_time(clock.parse_time(text)) == text


@given(st.text(alphabet="0123456789-T:Z ", min_size=20, max_size=20))
@example("2024-02-30T00:00:00Z")
@example("2023-02-29T00:00:00Z")
@example("2024-02-29T23:59:60Z")
@example("9000-01-01T00:00:00Z")
def test_any_other_timestamp_goes_to_clock(text: str) -> None:
    seconds = warmcache.iso_epoch_seconds(text)
    if seconds is not None:
        assert seconds == clock.parse_time(text).timestamp()


def test_expirations_in_other_forms_give_the_full_paths_answer() -> None:
    for value in (
        "2030-01-01T00:00:00+00:00",
        "2030-01-01T00:00:00.5Z",
        "2030-01-01 01:00:00z",
        1893456000,
    ):
        micros, text = warmcache._expiration(value)
        parsed = clock.parse_time(value)
        assert text == clock.format_time(parsed)
        assert micros == (parsed - clock.EARLIEST) // timedelta(microseconds=1)


@given(st.text(), st.text(), st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_process_json_text_is_json_dumps(
    key: str, secret: str, token: str | None, exp: str | None
) -> None:
    document: dict[str, object] = {"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret}
    if token:
        document["SessionToken"] = token
    if exp is not None:
        document["Expiration"] = exp
    assert (
        formats.process_json_text(key, secret, token, exp) == json.dumps(document, indent=2) + "\n"
    )


@given(st.text(), st.text(), st.one_of(st.none(), st.text()), st.text())
def test_role_cache_key_is_botocores(
    account: str, role: str, session: str | None, url: str
) -> None:
    args = {"roleName": role, "accountId": account}
    if session:
        args["sessionName"] = session
    else:
        args["startUrl"] = url
    text = json.dumps(args, sort_keys=True, separators=(",", ":"))
    expected = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    assert warmcache.role_cache_key(account, role, session, url) == expected


@given(st.text(), st.text(st.characters(exclude_categories=["Cs"])))
def test_the_shared_encoders_are_json_and_hashlibs(text: str, utf8_text: str) -> None:
    """`json_string` and `sha1_hex`, which every warm path names its cache files with."""
    assert warmcache.json_string(text) == json.dumps(text)
    expected = hashlib.sha1(utf8_text.encode("utf-8"), usedforsecurity=False).hexdigest()
    assert warmcache.sha1_hex(utf8_text) == expected


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.one_of(
        _json_values.map(json.dumps),
        _json_values.map(lambda v: json.dumps(v, indent=1)),
        st.text(max_size=30),
    )
)
@example("\ufeff{}")
@example(' {"a": NaN} ')
@example('{"a": 1} x')
@example('"\\ud800"')
def test_loads_json_is_json_loads(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        try:
            warmcache.loads_json(text)
        except ValueError:
            return
        raise AssertionError(f"json.loads refuses {text!r}, loads_json took it") from None
    got = warmcache.loads_json(text)
    assert json.dumps(got) == json.dumps(expected)


CONFIG = (
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n"
    "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
)


@given(
    st.sampled_from(
        [CONFIG, CONFIG + "  s3 =\n    max_concurrent_requests = 2\n", CONFIG.replace(" = ", "=")]
    ),
    st.sampled_from(
        [
            "2099-01-01T00:00:00Z",
            "2099-01-01T00:00:00.250Z",
            "2099-01-01T00:00:00+00:00",
            "2000-01-01T00:00:00Z",
            4070908800,
            "soon",
            None,
            "2099-02-30T00:00:00Z",
        ]
    ),
    st.sampled_from(["tok", "", None, "to ken", 5]),
    st.sampled_from(["AKIA/+\u00e9", "", "a b"]),
    st.sampled_from(
        [
            "--profile dev",
            "--profile=dev --min-remaining 90s",
            "-p dev --min-remaining 1.5",
            "--profile nope",
        ]
    ),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # rewrites its files
def test_the_fast_path_answers_as_the_full_path_does(
    home: Path, config: str, expiration: Any, token: Any, key_id: str, args: str
) -> None:
    (home / ".aws" / "config").write_text(config, encoding="utf-8")
    profile = profiles.get_profile("dev")
    creds: dict[str, Any] = {
        "AccessKeyId": key_id,
        "SecretAccessKey": 's3cr"et',
        "SessionToken": token,
    }
    if expiration is not None:
        creds["Expiration"] = expiration
    path = rolecreds.cache_file(profile)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps({"ProviderType": "sso", "Credentials": creds}), encoding="utf-8")
    got = warmcache.answer(args.split())
    if got is None:
        return  # the full path answers (or explains) instead
    min_remaining = timedelta(minutes=15)
    if "--min-remaining" in args:
        min_remaining = clock.parse_duration(args.split()[-1])
    full = rolecreds.cached_credentials(profile, min_remaining=min_remaining)
    assert full is not None
    assert got == formats.process_json(full)


def test_the_fast_path_stays_within_its_import_budget(home: Path) -> None:
    (home / ".aws" / "config").write_text(CONFIG, encoding="utf-8")
    profile = profiles.get_profile("dev")
    expires = clock.format_time(clock.now() + timedelta(hours=1))
    rolecreds.write_cached(
        profile, rolecreds.RoleCredentials("ASIAX", "secret", "tok", clock.parse_time(expires))
    )
    answer, loaded = launch_credential_process("dev")
    assert answer["AccessKeyId"] == "ASIAX"
    assert loaded <= IMPORT_BUDGET, sorted(loaded - IMPORT_BUDGET)


def launch_credential_process(profile: str) -> tuple[dict[str, Any], set[str]]:
    """`credential-process --profile PROFILE` through `launch.main` in a bare interpreter: its
    JSON answer, and the modules it imported. -S: no site, so nothing a .pth file imports (an
    editable install's finder loads `re`, `pathlib`...) hides what the fast path itself loads."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(aws_sso_tray.__file__).parent.parent)!r})\n"
        "before = set(sys.modules)\n"
        f"sys.argv[1:] = ['credential-process', '--profile', {profile!r}]\n"
        "from aws_sso_tray.launch import main\n"
        "rc = main()\n"
        "print(sorted(set(sys.modules) - before), file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1].replace("'", '"')))
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer, loaded


def _clock_duration_us(text: str) -> int | None:
    try:
        return clock.parse_duration(text) // timedelta(microseconds=1)
    except ValueError:
        return None


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{1,14}[smhd]?\Z"),
        st.from_regex(r"\A\s*[0-9]{1,4}(\.[0-9]{1,3})?\s*[smhdSMHD]?\s*\Z"),
        st.text(alphabet="0123456789smhdSMHD .\u0663\u00b2x-", max_size=8),
    )
)
@example("15m")
@example("0")
@example("366d")
@example("365d")
@example("1.5h")
@example("\u0663m")  # ARABIC-INDIC DIGIT THREE: a \\d for re, not for the plain reader
@example("")
def test_the_duration_reader_agrees_with_clock(text: str) -> None:
    """`--min-remaining` read without `re` or `datetime` means what the full CLI reads."""
    assert warmcache._duration_us(text) == _clock_duration_us(text)


def test_min_remaining_in_plain_form_keeps_the_warm_path_light(tmp_path: Path) -> None:
    """`--min-remaining 15m` must not import clock (re, datetime, enum) on the warm path."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(aws_sso_tray.__file__).parent.parent)!r}); "
        "from aws_sso_tray.aws import warmcache; "
        "warmcache.parse_args(['--profile', 'p', '--min-remaining', '15m']); "
        "print(sorted(m for m in ('re', 'datetime', 'enum', 'aws_sso_tray.clock') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"
