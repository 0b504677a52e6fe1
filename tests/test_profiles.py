"""profiles.py against real config files in the test's HOME, cross-checked with botocore/boto3."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aws_sso_tray.aws import profiles
from aws_sso_tray.aws.profiles import (
    NotSsoProfileError,
    ProfileNotFoundError,
    SsoProfile,
    SsoSession,
)
from aws_sso_tray.errors import ConfigError, ExitCode

WriteConfig = Callable[[str], Path]

CORP = SsoSession(
    name="corp",
    start_url="https://corp.awsapps.com/start",
    region="eu-west-1",
    registration_scopes=("sso:account:access", "codecatalyst:read_write"),
)
LEGACY = SsoSession(name=None, start_url="https://d-123abc.awsapps.com/start", region="us-east-1")

GOOD = """\
# a comment line, and a blank one

[default]
region = eu-north-1
output = json

[profile legacy]
sso_start_url = https://d-123abc.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-central-1

[profile dev]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Developer

[profile "with space"]
sso_session = corp
sso_region = eu-west-1
sso_account_id = 333333333333
sso_role_name = ReadOnly

[profile static]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = notreallyasecret
s3 =
  addressing_style = path

[profile chained]
source_profile = does-not-exist
role_arn = arn:aws:iam::444444444444:role/X

[profile codecatalyst]
sso_session = corp
region = us-west-2

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access, codecatalyst:read_write ,

[sso-session unused]
sso_start_url = https://unused.awsapps.com/start
sso_region = ap-southeast-2
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# ---------------------------------------------------------------------------------------------
# Discovery


def test_legacy_and_session_profiles_in_config_order(aws_config: WriteConfig) -> None:
    aws_config(GOOD)

    assert profiles.load_profiles() == [
        SsoProfile("legacy", LEGACY, "111111111111", "Admin", "eu-central-1"),
        SsoProfile("dev", CORP, "222222222222", "Developer", None),
        SsoProfile("with space", CORP, "333333333333", "ReadOnly", None),
    ]
    assert profiles.config_problems() == []


def test_session_values() -> None:
    assert CORP.cache_key == "corp"
    assert CORP.display_name == "corp"
    assert LEGACY.cache_key == "https://d-123abc.awsapps.com/start"
    assert LEGACY.display_name == "d-123abc"
    odd = SsoSession(name=None, start_url="not a url", region="us-east-1")
    assert odd.display_name == "not a url"
    assert hash(CORP) == hash(
        SsoSession(CORP.name, CORP.start_url, CORP.region, CORP.registration_scopes)
    )


def test_config_knows_every_session_and_the_other_profiles(aws_config: WriteConfig) -> None:
    aws_config(GOOD)
    config = profiles.read_config()

    unused = SsoSession("unused", "https://unused.awsapps.com/start", "ap-southeast-2")
    assert config.sessions == (CORP, unused, LEGACY)
    assert config.other_profiles == ("default", "static", "chained", "codecatalyst")
    assert profiles.get_session("unused") == unused
    assert profiles.get_session("corp") == CORP
    # A legacy session has no name: it is found by its cache key, the start URL.
    assert profiles.get_session("https://d-123abc.awsapps.com/start") == LEGACY


def test_default_profile_can_be_an_sso_profile(aws_config: WriteConfig) -> None:
    aws_config(
        dedent("""
        [default]
        sso_start_url = https://d-123abc.awsapps.com/start
        sso_region = us-east-1
        sso_account_id = 111111111111
        sso_role_name = Admin
        """)
    )
    assert profiles.get_profile("default") == SsoProfile(
        "default", LEGACY, "111111111111", "Admin", None
    )


def test_aws_config_file_overrides_home(
    aws_config: WriteConfig, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_config("[profile elsewhere]\nregion = us-east-1\n")
    other = home / "work" / "aws.ini"
    other.parent.mkdir()
    other.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))

    assert [p.name for p in profiles.load_profiles()] == ["legacy", "dev", "with space"]
    with pytest.raises(ProfileNotFoundError) as info:
        profiles.get_profile("elsewhere")
    assert str(info.value) == (
        "no profile 'elsewhere' in ~/work/aws.ini (SSO profiles: legacy, dev, with space); "
        "check the name or run `aws-sso-tray configure` (or `aws configure sso`)"
    )


def test_explicit_config_file_argument(tmp_path: Path) -> None:
    path = tmp_path / "cfg"
    path.write_text(GOOD, encoding="utf-8")
    assert profiles.get_profile("dev", path).account_id == "222222222222"
    assert profiles.load_profiles() == []  # ~/.aws/config itself does not exist


def test_missing_file_is_empty_not_an_error() -> None:
    assert profiles.load_profiles() == []
    assert profiles.config_problems() == []
    assert profiles.config_mtime() is None
    assert profiles.find_profile("dev") is None
    for lookup in (profiles.get_profile, profiles.get_session):
        with pytest.raises(ConfigError) as info:
            lookup("dev")
        assert str(info.value) == (
            "no AWS config at ~/.aws/config: run `aws-sso-tray configure` (or `aws configure sso`)"
        )
        assert info.value.exit_code == ExitCode.CONFIG


def test_non_sso_profiles_have_their_own_error_type(aws_config: WriteConfig) -> None:
    aws_config(GOOD)

    # find_profile: None means "let boto3 resolve it" (static keys, role chains, creds file).
    assert profiles.find_profile("static") is None
    assert profiles.find_profile("not-in-config") is None
    assert profiles.find_profile("dev") == profiles.get_profile("dev")

    with pytest.raises(NotSsoProfileError) as info:
        profiles.get_profile("static")
    assert str(info.value) == (
        "~/.aws/config line 25: profile 'static' is not an SSO profile (no sso_session or "
        "sso_start_url, sso_account_id, sso_role_name); run `aws configure sso --profile static` "
        "to make it one, or set up SSO profiles with `aws-sso-tray configure`"
    )
    with pytest.raises(NotSsoProfileError) as info:
        profiles.get_profile("codecatalyst")
    assert str(info.value) == (
        "~/.aws/config line 35: profile 'codecatalyst' uses sso_session 'corp' for tokens only "
        "(no sso_account_id / sso_role_name); add them, run "
        "`aws configure sso --profile codecatalyst`, or set up role profiles with "
        "`aws-sso-tray configure`"
    )
    with pytest.raises(ProfileNotFoundError):
        profiles.get_profile("not-in-config")
    assert issubclass(NotSsoProfileError, ConfigError)
    assert issubclass(ProfileNotFoundError, ConfigError)


def test_unknown_session(aws_config: WriteConfig) -> None:
    aws_config(GOOD)
    with pytest.raises(ConfigError) as info:
        profiles.get_session("nope")
    assert str(info.value) == (
        "no [sso-session nope] section in ~/.aws/config (sessions: corp, unused, d-123abc); "
        "add it or run `aws-sso-tray configure` (or `aws configure sso`)"
    )


def test_sessions_and_grouping_in_config_order(aws_config: WriteConfig) -> None:
    aws_config(
        GOOD
        + dedent("""
        [profile legacy-again]
        sso_start_url = https://d-123abc.awsapps.com/start
        sso_region = us-west-2
        sso_account_id = 555555555555
        sso_role_name = Admin
        """)
    )
    loaded = profiles.load_profiles()

    # Same start URL = same token file, so one session even though the regions differ.
    assert profiles.sessions(loaded) == [LEGACY, CORP]
    grouped = profiles.profiles_by_session(loaded)
    assert list(grouped) == [LEGACY, CORP]
    assert [p.name for p in grouped[LEGACY]] == ["legacy", "legacy-again"]
    assert [p.name for p in grouped[CORP]] == ["dev", "with space"]
    assert profiles.sessions([]) == []


def test_botocore_semantics_default_section_and_quoted_names(aws_config: WriteConfig) -> None:
    # configparser's [DEFAULT] is inherited by every section, and botocore keeps it that way.
    aws_config(
        dedent("""
        [DEFAULT]
        sso_region = eu-west-1

        [profile plain]
        output = json

        [profile 'quoted name']
        sso_start_url = https://d-123abc.awsapps.com/start
        sso_account_id = 111111111111
        sso_role_name = Admin ; not a comment for botocore
        """)
    )
    assert profiles.load_profiles() == [
        SsoProfile(
            "quoted name",
            SsoSession(None, "https://d-123abc.awsapps.com/start", "eu-west-1"),
            "111111111111",
            "Admin ; not a comment for botocore",
            None,
        )
    ]
    assert profiles.config_problems() == []  # `plain` inherits only sso_region: not SSO


# ---------------------------------------------------------------------------------------------
# Malformed files: fatal, one line, with the line number


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[default]\nregion = us-east-1\n\n# comment\n\n\nthis is not ini\n",
            "~/.aws/config line 7: 'this is not ini' is not `key = value` or a [section] header; "
            "fix or remove that line",
        ),
        (
            "region = us-east-1\n[default]\n",
            "~/.aws/config line 1: 'region = us-east-1' comes before any [section] header; "
            "move it under a [profile NAME] or [default] section, or remove it",
        ),
        (
            "[profile dev]\nregion = a\n\n[profile other]\n[profile dev]\n",
            "~/.aws/config line 5: [profile dev] appears twice (first at line 1); "
            "merge the two sections or remove one",
        ),
        (
            "[profile dev]\nsso_region = a\nSSO_Region = b\n",
            "~/.aws/config line 3: sso_region is set twice in [profile dev]; remove one of them",
        ),
        (
            "[profile dev]\ns3 =\n  addressing_style = path\n  oops\n",
            "~/.aws/config line 4: 'oops' is inside an indented block under `key =` but is not "
            "`key = value`; fix it, or unindent it if it is a setting of its own",
        ),
    ],
    ids=["not-ini", "before-header", "duplicate-section", "duplicate-key", "nested-block"],
)
def test_malformed_file_names_the_line(aws_config: WriteConfig, text: str, message: str) -> None:
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    path = aws_config(text)
    with pytest.raises(ConfigParseError):
        raw_config_parse(str(path))  # fatal for the SDK too
    with pytest.raises(ConfigError) as info:
        profiles.load_profiles()
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"^~/\.aws/config line"):
        profiles.get_profile("dev")


def test_not_utf8(home: Path) -> None:
    (home / ".aws" / "config").write_bytes(b"[default]\nregion = us-east-1\n# caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        profiles.load_profiles()
    assert str(info.value) == (
        "~/.aws/config line 3: byte 0xe9 is not valid UTF-8 text; "
        "save the file as UTF-8 or remove that character"
    )


def test_config_path_is_a_directory(home: Path) -> None:
    (home / ".aws" / "config").mkdir()
    with pytest.raises(ConfigError) as info:
        profiles.load_profiles()
    assert str(info.value) == (
        "~/.aws/config is a directory, not a file: move it away or point AWS_CONFIG_FILE at a file"
    )


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file regardless of mode"
)
def test_unreadable_file(aws_config: WriteConfig) -> None:
    path = aws_config(GOOD)
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as info:
            profiles.load_profiles()
    finally:
        path.chmod(0o600)
    assert str(info.value) == (
        "cannot read ~/.aws/config: Permission denied; fix its permissions "
        "(chmod 600 ~/.aws/config)"
    )


# ---------------------------------------------------------------------------------------------
# Broken SSO profiles: recorded, skipped, raised by get_profile

BROKEN = GOOD + dedent("""
    [profile typo]
    sso_session = crop
    sso_account_id = 666666666666
    sso_role_name = Admin

    [profile half]
    sso_start_url = https://d-123abc.awsapps.com/start
    sso_account_id = 777777777777

    [profile no-role]
    sso_session = corp
    sso_account_id = 888888888888

    [profile conflict]
    sso_session = corp
    sso_start_url = https://elsewhere.awsapps.com/start
    sso_account_id = 999999999999
    sso_role_name = Admin

    [profile empty-session]
    sso_session =
    sso_account_id = 999999999999
    sso_role_name = Admin

    [profile on-broken-session]
    sso_session = nourl
    sso_account_id = 101010101010
    sso_role_name = Admin

    [profile also-on-broken-session]
    sso_session = nourl
    sso_account_id = 121212121212
    sso_role_name = Admin

    [sso-session nourl]
    sso_region = us-east-1
    """)

EXPECTED_PROBLEMS = {
    "typo": (
        "~/.aws/config line 47: profile 'typo' names sso_session 'crop' but ~/.aws/config has "
        "no [sso-session crop] section; add it or run `aws-sso-tray configure` "
        "(or `aws configure sso`)"
    ),
    "half": (
        "~/.aws/config line 52: profile 'half' has sso_start_url, sso_account_id but no "
        "sso_region, sso_role_name; add them (or `sso_session = NAME` with a [sso-session NAME] "
        "section) or run `aws configure sso --profile half`"
    ),
    "no-role": (
        "~/.aws/config line 56: profile 'no-role' uses sso_session 'corp' but has no "
        "sso_role_name; add sso_role_name or run `aws configure sso --profile no-role`"
    ),
    "conflict": (
        "~/.aws/config line 60: profile 'conflict' sets sso_start_url = "
        "https://elsewhere.awsapps.com/start but its [sso-session corp] has sso_start_url = "
        "https://corp.awsapps.com/start (the AWS SDKs refuse this); remove sso_start_url from "
        "the profile or make them match"
    ),
    "empty-session": (
        "~/.aws/config line 66: profile 'empty-session' has an empty sso_session; "
        "set it or remove that line"
    ),
    "on-broken-session": (
        "~/.aws/config line 81: [sso-session nourl] has no sso_start_url; add `sso_start_url = "
        "...` to it or run `aws configure sso-session`"
    ),
}
EXPECTED_PROBLEMS["also-on-broken-session"] = EXPECTED_PROBLEMS["on-broken-session"]


def test_broken_profiles_are_skipped_and_recorded(aws_config: WriteConfig) -> None:
    aws_config(BROKEN)

    # The tray still shows every good profile...
    assert [p.name for p in profiles.load_profiles()] == ["legacy", "dev", "with space"]
    # ...and each problem once, in file order (the broken session once for its two profiles).
    problems = profiles.config_problems()
    unique = list(dict.fromkeys(EXPECTED_PROBLEMS.values()))
    assert [p.message for p in problems] == sorted(unique, key=lambda m: int(m.split()[2][:-1]))
    assert [str(p) for p in problems] == [p.message for p in problems]
    assert problems[0].profile == "typo"
    assert problems[0].session == "crop"
    assert problems[0].line == 47
    assert problems[-1].profile is None
    assert problems[-1].session == "nourl"


@pytest.mark.parametrize("name", sorted(EXPECTED_PROBLEMS))
def test_get_profile_of_a_broken_profile_raises_its_problem(
    aws_config: WriteConfig, name: str
) -> None:
    aws_config(BROKEN)
    for lookup in (profiles.get_profile, profiles.find_profile):
        with pytest.raises(ConfigError) as info:
            lookup(name)
        assert type(info.value) is ConfigError  # not "not SSO": boto3 must not take over
        assert str(info.value) == EXPECTED_PROBLEMS[name]


def test_broken_session_lookup(aws_config: WriteConfig) -> None:
    aws_config(BROKEN)
    with pytest.raises(ConfigError) as info:
        profiles.get_session("nourl")
    assert str(info.value) == EXPECTED_PROBLEMS["on-broken-session"]


def test_unused_broken_session_is_still_a_problem(aws_config: WriteConfig) -> None:
    aws_config("[sso-session lonely]\nsso_start_url = https://x.awsapps.com/start\n")
    assert [p.message for p in profiles.config_problems()] == [
        "~/.aws/config line 1: [sso-session lonely] has no sso_region; add `sso_region = ...` "
        "to it or run `aws configure sso-session`"
    ]


@pytest.mark.parametrize(
    "name", ["typo", "half", "no-role", "conflict", "empty-session", "on-broken-session"]
)
def test_botocore_refuses_what_we_call_broken(aws_config: WriteConfig, name: str) -> None:
    import botocore.session
    from botocore.credentials import SSOProvider
    from botocore.exceptions import InvalidConfigError

    aws_config(BROKEN)
    session = botocore.session.Session()
    provider = SSOProvider(
        load_config=lambda: session.full_config,
        client_creator=None,  # type: ignore[arg-type]  # load() fails before it makes a client
        profile_name=name,
    )
    with pytest.raises(InvalidConfigError):
        provider.load()


# ---------------------------------------------------------------------------------------------
# Agreement with boto3


def test_every_profile_agrees_with_boto3(aws_config: WriteConfig) -> None:
    import boto3
    from botocore.credentials import SSOProvider

    aws_config(
        GOOD
        + dedent("""
        [profile legacy-no-region]
        sso_start_url = https://d-999.awsapps.com/start
        sso_region = ca-central-1
        sso_account_id = 121212121212
        sso_role_name = Viewer
        """)
    )
    loaded = profiles.load_profiles()
    assert len(loaded) == 4
    for profile in loaded:
        session = boto3.Session(profile_name=profile.name)
        scoped = session._session.get_scoped_config()
        assert scoped["sso_account_id"] == profile.account_id
        assert scoped["sso_role_name"] == profile.role_name
        assert scoped.get("region") == profile.region
        if profile.session.name is None:
            assert "sso_session" not in scoped
            sso = scoped
        else:
            assert scoped["sso_session"] == profile.session.name
            sso = session._session.full_config["sso_sessions"][profile.session.name]
        assert sso["sso_start_url"] == profile.session.start_url
        assert sso["sso_region"] == profile.session.region

        # And what botocore's own SSO credential provider resolves for it.
        def full_config(s: boto3.Session = session) -> Any:
            return s._session.full_config

        resolved = SSOProvider(
            load_config=full_config,
            client_creator=None,  # type: ignore[arg-type]  # only its config is read
            profile_name=profile.name,
        )._load_sso_config()  # type: ignore[attr-defined]  # botocore's own resolution
        assert resolved["sso_start_url"] == profile.session.start_url
        assert resolved["sso_region"] == profile.session.region
        assert resolved["sso_account_id"] == profile.account_id
        assert resolved["sso_role_name"] == profile.role_name
        assert resolved.get("sso_session") == profile.session.name


# ---------------------------------------------------------------------------------------------
# Caching and change detection


def test_cached_until_the_file_changes(aws_config: WriteConfig) -> None:
    path = aws_config(GOOD)
    first = profiles.read_config()
    assert profiles.read_config() is first  # no re-parse while unchanged
    mtime = profiles.config_mtime()
    assert mtime == path.stat().st_mtime_ns

    path.write_text(GOOD.replace("Developer", "Operator"), encoding="utf-8")
    os.utime(path, ns=(mtime + 1_000_000_000, mtime + 1_000_000_000))
    assert profiles.config_mtime() == mtime + 1_000_000_000
    assert profiles.get_profile("dev").role_name == "Operator"
    assert profiles.read_config() is not first


def test_same_mtime_and_size_but_replaced_file_is_noticed(aws_config: WriteConfig) -> None:
    # Editors and our own writer replace the file (new inode); mtime granularity can hide it.
    path = aws_config(GOOD)
    assert profiles.get_profile("dev").role_name == "Developer"
    stat = path.stat()
    tmp = path.with_name("config.tmp")
    tmp.write_text(GOOD.replace("Developer", "Developor"), encoding="utf-8")  # same size
    os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    tmp.replace(path)
    assert profiles.get_profile("dev").role_name == "Developor"


def test_config_appearing_and_disappearing(aws_config: WriteConfig) -> None:
    assert profiles.load_profiles() == []
    path = aws_config(GOOD)
    assert len(profiles.load_profiles()) == 3
    path.unlink()
    assert profiles.load_profiles() == []


def test_each_path_cached_separately(tmp_path: Path, aws_config: WriteConfig) -> None:
    aws_config(GOOD)
    other = tmp_path / "other"
    other.write_text("[profile x]\nregion = us-east-1\n", encoding="utf-8")
    assert profiles.load_profiles(other) == []
    assert len(profiles.load_profiles()) == 3
    assert profiles.load_profiles(other) == []


# ---------------------------------------------------------------------------------------------
# Import cost: credential-process runs this for every AWS command


def test_import_and_lookup_do_not_load_boto3(aws_config: WriteConfig) -> None:
    aws_config(GOOD)
    code = (
        "import sys, aws_sso_tray.aws.profiles as p\n"
        "heavy = ('boto3', 'botocore.session', 'botocore.client', 'botocore.credentials')\n"
        "assert not [m for m in heavy if m in sys.modules], 'import'\n"
        "assert p.get_profile('dev').account_id == '222222222222'\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_display_path(home: Path, tmp_path: Path) -> None:
    assert profiles.display_path(home / ".aws" / "config") == "~/.aws/config"
    assert profiles.display_path(tmp_path / "x") == str(tmp_path / "x")


def test_a_config_with_a_byte_order_mark_says_so_and_how_to_fix_it(aws_config: WriteConfig) -> None:
    path = aws_config(
        "[profile dev]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(ConfigError) as caught:
        profiles.load_profiles()
    assert "line 1" in caught.value.message and "byte-order mark" in caught.value.message
    assert "without BOM" in caught.value.message
