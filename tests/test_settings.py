"""settings.toml: defaults, round trips, every bad value, broken files, locking across processes."""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from aws_sso_tray.errors import ExitCode
from aws_sso_tray.files import settings as st
from aws_sso_tray.files.settings import (
    DEFAULTS,
    RECENT_LIMIT,
    ConsoleBrowser,
    ProfileLabel,
    SessionSettings,
    Settings,
    SettingsError,
    SyncTarget,
)


@pytest.fixture
def settings_path(home: Path) -> Path:
    return home / ".config" / "aws-sso-tray" / "settings.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults and location ----------------------------------------------------------------------


def test_defaults_when_no_file(settings_path: Path) -> None:
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings == Settings()
    assert settings.refresh_before == timedelta(minutes=10)
    assert settings.min_remaining == timedelta(minutes=15)
    assert settings.warn_before == timedelta(minutes=15)
    assert settings.auto_login is True
    assert settings.login_flow == "auto"
    assert settings.notifications is True
    assert settings.left_click == "dashboard"
    assert settings.session_duration_for("corp") == timedelta(hours=8)
    assert settings.auto_sync == () and settings.favorites == () and settings.recent == ()
    assert not settings_path.exists()  # reading never creates the file


def test_xdg_config_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform != "linux":
        pytest.skip("XDG_CONFIG_HOME applies on Linux")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere))
    assert st.settings_file() == elsewhere / "aws-sso-tray" / "settings.toml"
    st.add_auto_sync("dev")
    assert (elsewhere / "aws-sso-tray" / "settings.toml").is_file()
    assert st.list_auto_sync() == [SyncTarget("dev", "dev")]


# --- round trip ---------------------------------------------------------------------------------


def test_round_trip_of_every_field(settings_path: Path) -> None:
    original = Settings(
        auto_sync=(SyncTarget("dev", "default"), SyncTarget("prod", "prod-ro")),
        refresh_before=timedelta(minutes=5),
        min_remaining=timedelta(seconds=90),
        warn_before=timedelta(hours=1),
        auto_login=False,
        login_flow="device",
        notifications=False,
        session_duration=timedelta(hours=4),
        sessions=(SessionSettings("corp", timedelta(hours=12)),),
        favorites=("prod", "dev"),
        recent=("dev",),
        left_click="menu",
    )
    st.save_settings(original)
    text = settings_path.read_text(encoding="utf-8")
    assert text.startswith("# aws-sso-tray settings")
    assert 'refresh_before = "5m"' in text
    assert 'min_remaining = "90s"' in text
    assert 'warn_before = "1h"' in text
    assert "[sessions.corp]" in text and 'session_duration = "12h"' in text
    assert '[[auto_sync]]\nprofile = "dev"\nsection = "default"\n' in text
    assert 'left_click = "menu"' in text
    loaded, warnings = st.load_settings()
    assert warnings == []
    assert loaded == original


def test_hand_written_file_is_read(settings_path: Path) -> None:
    write(
        settings_path,
        """
        # my notes
        refresh_before = "20m"
        warn_before = 600            # plain numbers are seconds
        login_flow = "pkce"
        favorites = ["a", "b", "a"]

        [auto_sync]
        dev = "default"
        "team.prod" = "prod"

        [sessions."my.corp"]
        session_duration = "1d"
        """.replace("\n        ", "\n"),
    )
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.refresh_before == timedelta(minutes=20)
    assert settings.warn_before == timedelta(minutes=10)
    assert settings.login_flow == "pkce"
    assert settings.favorites == ("a", "b")
    assert settings.auto_sync_map() == {"dev": "default", "team.prod": "prod"}
    assert settings.sync_section("team.prod") == "prod"
    assert settings.sync_section("other") is None
    assert settings.session_duration_for("my.corp") == timedelta(days=1)
    assert settings.session_duration_for("other") == timedelta(hours=8)


def test_save_is_0600_and_atomic_leaves_no_temp(settings_path: Path) -> None:
    st.save_settings(DEFAULTS)
    assert stat.S_IMODE(settings_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in settings_path.parent.iterdir()) == ["settings.toml"]


def test_update_without_change_does_not_rewrite(settings_path: Path) -> None:
    st.add_auto_sync("dev")
    before = settings_path.stat().st_mtime_ns
    os.utime(settings_path, ns=(before - 10**9, before - 10**9))
    earlier = st.settings_mtime()
    st.add_auto_sync("dev")  # already there
    assert st.settings_mtime() == earlier
    st.add_auto_sync("prod")
    assert st.settings_mtime() != earlier


def test_settings_mtime_none_without_file(settings_path: Path) -> None:
    assert st.settings_mtime() is None
    st.save_settings(DEFAULTS)
    assert st.settings_mtime() == settings_path.stat().st_mtime_ns


# --- bad values: one warning naming key and file, default for that key only -----------------------


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ('refresh_before = "ten minutes"', "refresh_before", "duration"),
        ('min_remaining = "0m"', "min_remaining", "from 1s to 365d"),
        ("warn_before = -5", "warn_before", "from 1s to 365d"),
        ('refresh_before = "99999999999999d"', "refresh_before", "from 1s to 365d"),
        ("warn_before = 1e300", "warn_before", "from 1s to 365d"),
        ("session_duration = inf", "session_duration", "from 1s to 365d"),
        ("min_remaining = nan", "min_remaining", "from 1s to 365d"),
        ("session_duration = true", "session_duration", "duration"),
        ("refresh_before = [1]", "refresh_before", "duration"),
        ('auto_login = "yes"', "auto_login", "true or false"),
        ("notifications = 1", "notifications", "true or false"),
        ('login_flow = "saml"', "login_flow", '"auto", "pkce", "device"'),
        ('left_click = "middle"', "left_click", '"dashboard", "menu"'),
        ("left_click = true", "left_click", '"dashboard", "menu"'),
        ('favorites = "dev"', "favorites", "list of profile names"),
        ("recent = [1, 2]", "recent", "list of profile names"),
        ('auto_sync = "dev"', "auto_sync", "table"),
        ('sessions = "corp"', "sessions", "table"),
    ],
)
def test_each_bad_value_warns_and_falls_back(
    settings_path: Path, line: str, key: str, fragment: str
) -> None:
    # a good value next to the bad one still counts
    other = 'warn_before = "2m"' if key != "warn_before" else 'refresh_before = "2m"'
    write(settings_path, f"{other}\n{line}\n")
    settings, warnings = st.load_settings()
    assert len(warnings) == 1, warnings
    (message,) = warnings
    assert str(settings_path) in message
    assert key in message
    assert fragment in message
    assert "default" in message
    assert getattr(settings, key) == getattr(DEFAULTS, key)
    other_key = other.split(" ")[0]
    assert getattr(settings, other_key) == timedelta(minutes=2)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('[auto_sync]\ndev = "a]b"\n', "may not contain"),
        ('[auto_sync]\ndev = ""\n', "empty"),
        ("[auto_sync]\ndev = 3\n", "section name string"),
        ('[auto_sync]\ndev = "x"\nprod = "x"\n', "already used by 'dev'"),
        ('[sessions.corp]\nsession_duration = "forever"\n', "duration"),
        ('[sessions.corp]\ncolour = "blue"\n', "not a known session setting"),
        ("[sessions]\ncorp = 5\n", "must be a table"),
    ],
)
def test_bad_table_entries(settings_path: Path, table: str, fragment: str) -> None:
    write(settings_path, table)
    settings, warnings = st.load_settings()
    assert len(warnings) == 1, warnings
    assert fragment in warnings[0]
    assert str(settings_path) in warnings[0]
    if "already used" in fragment:
        assert settings.auto_sync == (SyncTarget("dev", "x"),)
    else:
        assert settings.auto_sync == ()
        assert settings.session_duration_for("corp") == timedelta(hours=8)


def test_unknown_key_warns_and_is_kept_on_rewrite(settings_path: Path) -> None:
    write(settings_path, 'theme = "dark"\n\n[future_table]\nx = 1\n')
    settings, warnings = st.load_settings()
    assert settings == DEFAULTS
    assert len(warnings) == 2
    assert any("unknown setting 'theme'" in w and str(settings_path) in w for w in warnings)
    assert any("'future_table'" in w for w in warnings)
    st.add_auto_sync("dev")
    text = settings_path.read_text(encoding="utf-8")
    assert 'theme = "dark"' in text and "[future_table]" in text
    settings, warnings = st.load_settings()
    assert settings.auto_sync == (SyncTarget("dev", "dev"),)
    assert len(warnings) == 2


def test_bad_value_survives_an_unrelated_rewrite_but_not_its_own(settings_path: Path) -> None:
    write(settings_path, 'refresh_before = "soon"\n[auto_sync]\ndev = "a]"\n')
    st.update_settings(lambda s: s.with_favorite("dev"))
    text = settings_path.read_text(encoding="utf-8")
    assert 'refresh_before = "soon"' in text  # the user's typo stays visible, still warned about
    assert 'profile = "dev"\nsection = "a]"' in text  # now as [[auto_sync]], still visible
    assert len(st.load_settings()[1]) == 2
    st.update_settings(lambda s: s.replace(refresh_before=timedelta(minutes=3)))
    st.add_auto_sync("dev", "dev-creds")
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.refresh_before == timedelta(minutes=3)
    assert settings.auto_sync_map() == {"dev": "dev-creds"}


# --- broken files -------------------------------------------------------------------------------


def test_broken_toml_gives_one_warning_with_line_and_all_defaults(settings_path: Path) -> None:
    write(settings_path, 'refresh_before = "5m"\nauto_login = true\nwarn_before = "15m\n')
    settings, warnings = st.load_settings()
    assert settings == DEFAULTS
    assert len(warnings) == 1
    assert str(settings_path) in warnings[0]
    assert "not valid TOML" in warnings[0]
    assert "line 3" in warnings[0]


def test_broken_toml_is_never_overwritten(settings_path: Path) -> None:
    broken = "refresh_before = \n[auto_sync\n"
    write(settings_path, broken)
    with pytest.raises(SettingsError) as info:
        st.add_auto_sync("dev")
    assert "line 1" in info.value.message and "fix or delete it" in info.value.message
    assert info.value.exit_code == ExitCode.CONFIG
    with pytest.raises(SettingsError):
        st.save_settings(DEFAULTS)
    assert settings_path.read_text(encoding="utf-8") == broken


def test_non_utf8_file(settings_path: Path) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_bytes(b'login_flow = "\xff"\n')
    settings, warnings = st.load_settings()
    assert settings == DEFAULTS
    assert len(warnings) == 1 and "UTF-8" in warnings[0]


def test_a_bom_is_named_with_the_fix_and_the_file_never_rewritten(settings_path: Path) -> None:
    # tomllib only says "Invalid statement (at line 1, column 1)" of a file an editor saved
    # with a byte-order mark, which nobody can see in the file.
    original = '\ufeffrefresh_before = "5m"\n'.encode()
    settings_path.parent.mkdir(parents=True)
    settings_path.write_bytes(original)
    settings, warnings = st.load_settings()
    assert settings == DEFAULTS
    assert warnings == [
        f"settings file {settings_path} line 1: the file starts with a byte-order mark "
        "(U+FEFF), which TOML does not allow: save it as UTF-8 without BOM: using default "
        "settings until it is fixed"
    ]
    with pytest.raises(SettingsError, match="byte-order mark"):
        st.add_auto_sync("dev")
    assert settings_path.read_bytes() == original


def test_unreadable_file(settings_path: Path) -> None:
    # A directory where the file should be: unreadable even for root, which ignores mode bits.
    settings_path.mkdir(parents=True)
    settings, warnings = st.load_settings()
    assert settings == DEFAULTS
    assert len(warnings) == 1 and "cannot read" in warnings[0] and str(settings_path) in warnings[0]


# --- update helpers -----------------------------------------------------------------------------


def test_auto_sync_add_retarget_remove(settings_path: Path) -> None:
    st.add_auto_sync("dev")
    st.add_auto_sync("prod", "default")
    assert st.list_auto_sync() == [SyncTarget("dev", "dev"), SyncTarget("prod", "default")]
    st.add_auto_sync("dev", "dev2")
    assert st.list_auto_sync() == [SyncTarget("dev", "dev2"), SyncTarget("prod", "default")]
    with pytest.raises(SettingsError, match="already kept fresh for profile 'prod'"):
        st.add_auto_sync("dev", "default")
    assert st.remove_auto_sync("dev") is True
    assert st.remove_auto_sync("dev") is False
    assert st.list_auto_sync() == [SyncTarget("prod", "default")]


def test_recent_is_bounded_most_recent_first() -> None:
    settings = DEFAULTS
    for i in range(RECENT_LIMIT + 5):
        settings = settings.with_recent(f"p{i}")
    settings = settings.with_recent("p7")
    assert len(settings.recent) == RECENT_LIMIT
    assert settings.recent[0] == "p7"
    assert settings.recent.count("p7") == 1
    assert "p0" not in settings.recent


def test_recent_in_file_is_truncated(settings_path: Path) -> None:
    names = [f"p{i}" for i in range(RECENT_LIMIT + 3)]
    write(settings_path, f"recent = {names!r}\n".replace("'", '"'))
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.recent == tuple(names[:RECENT_LIMIT])


def test_favorites_and_sessions_helpers() -> None:
    settings = DEFAULTS.with_favorite("a").with_favorite("b").with_favorite("a")
    assert settings.favorites == ("a", "b")
    assert settings.without_favorite("a").favorites == ("b",)
    settings = settings.with_session_duration("corp", timedelta(hours=12))
    assert settings.session_duration_for("corp") == timedelta(hours=12)
    assert settings.with_session_duration("corp", None).session_duration_for("corp") == timedelta(
        hours=8
    )
    with pytest.raises(SettingsError):
        settings.with_session_duration("corp", timedelta(0))


def test_update_settings_rejects_a_non_settings_result(settings_path: Path) -> None:
    with pytest.raises(TypeError):
        st.update_settings(lambda s: None)  # type: ignore[arg-type, return-value]
    assert not settings_path.exists()


# --- PROFILE[:SECTION] --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("dev", ("dev", "dev")),
        ("dev:default", ("dev", "default")),
        ("dev: default ", ("dev", "default")),
        ("a:b:c", ("a", "b:c")),
        ("team.prod:prod creds", ("team.prod", "prod creds")),
    ],
)
def test_parse_target(spec: str, expected: tuple[str, str]) -> None:
    assert st.parse_target(spec) == expected


@pytest.mark.parametrize("spec", ["", ":x", "dev:", "dev:a]b", "dev:[x", "dev:a\nb", "dev:a\rb"])
def test_parse_target_rejects(spec: str) -> None:
    with pytest.raises(SettingsError) as info:
        st.parse_target(spec)
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(600, "10m"), (90, "90s"), (28800, "8h"), (86400 * 2, "2d"), (5400, "90m")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert st.format_duration(timedelta(seconds=seconds)) == text


# --- concurrency across processes ---------------------------------------------------------------


def _add_many(args: tuple[str, str, int]) -> None:
    home, prefix, count = args
    # Each worker process points the library at the same HOME / XDG folders as the test.
    os.environ["HOME"] = home
    os.environ["XDG_CONFIG_HOME"] = str(Path(home) / ".config")
    os.environ["XDG_STATE_HOME"] = str(Path(home) / ".local" / "state")
    from aws_sso_tray.files import settings as worker_settings

    for i in range(count):
        worker_settings.add_auto_sync(f"{prefix}{i}")

        def favorite(s: Settings, i: int = i) -> Settings:
            return s.with_favorite(f"{prefix}{i}")

        worker_settings.update_settings(favorite)


def test_concurrent_updates_from_several_processes_lose_nothing(home: Path) -> None:
    workers, each = 4, 8
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pool.map(_add_many, [(str(home), f"w{w}-", each) for w in range(workers)])
    settings, warnings = st.load_settings()
    assert warnings == []
    expected = {f"w{w}-{i}" for w in range(workers) for i in range(each)}
    assert set(settings.auto_sync_map()) == expected
    assert set(settings.favorites) == expected


# --- the documented format, and the one older versions wrote ------------------------------------


def _readme_settings_example() -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_is_read_without_a_warning(settings_path: Path) -> None:
    example = _readme_settings_example()
    assert "[[auto_sync]]" in example
    write(settings_path, example)
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.auto_sync == (SyncTarget("dev", "dev"),)
    assert settings.session_duration_for("corp") == timedelta(hours=12)
    assert settings.min_remaining == timedelta(minutes=15)
    # and what we write is that format
    st.add_auto_sync("prod", "prod-creds")
    text = settings_path.read_text(encoding="utf-8")
    assert '[[auto_sync]]\nprofile = "dev"\nsection = "dev"\n' in text
    assert '[[auto_sync]]\nprofile = "prod"\nsection = "prod-creds"\n' in text
    assert st.load_settings() == (settings.with_auto_sync("prod", "prod-creds"), [])


def test_the_table_older_versions_wrote_is_still_read_and_rewritten_new(
    settings_path: Path,
) -> None:
    write(settings_path, '[auto_sync]\ndev = "default"\n"team.prod" = "prod"\n')
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.auto_sync_map() == {"dev": "default", "team.prod": "prod"}
    st.add_auto_sync("qa")
    text = settings_path.read_text(encoding="utf-8")
    assert text.count("\n[[auto_sync]]\n") == 3 and "\n[auto_sync]\n" not in text
    assert st.list_auto_sync() == [
        SyncTarget("dev", "default"),
        SyncTarget("team.prod", "prod"),
        SyncTarget("qa", "qa"),
    ]


def test_section_defaults_to_the_profile_name(settings_path: Path) -> None:
    write(settings_path, '[[auto_sync]]\nprofile = "dev"\n')
    assert st.load_settings() == (Settings(auto_sync=(SyncTarget("dev", "dev"),)), [])


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('[[auto_sync]]\nsection = "x"\n', "must be a table with profile"),
        ('[[auto_sync]]\nprofile = "dev"\nsection = "a]b"\n', "may not contain"),
        ('[[auto_sync]]\nprofile = "dev"\nsection = 3\n', "section name string"),
        (
            '[[auto_sync]]\nprofile = "dev"\nsection = "x"\n'
            '[[auto_sync]]\nprofile = "prod"\nsection = "x"\n',
            "already used by 'dev'",
        ),
    ],
)
def test_bad_auto_sync_entries_warn_and_stay_in_the_file(
    settings_path: Path, table: str, fragment: str
) -> None:
    write(settings_path, table)
    settings, warnings = st.load_settings()
    assert len(warnings) == 1, warnings
    assert fragment in warnings[0] and str(settings_path) in warnings[0]
    assert "auto_sync." in warnings[0]
    st.update_settings(lambda s: s.with_favorite("other"))
    assert len(st.load_settings()[1]) == 1  # still there, still warned about
    assert st.load_settings()[0].auto_sync == settings.auto_sync


def test_unknown_keys_of_an_entry_are_kept(settings_path: Path) -> None:
    write(settings_path, '[[auto_sync]]\nprofile = "dev"\nsection = "d"\nregion = "eu-west-1"\n')
    settings, warnings = st.load_settings()
    assert settings.auto_sync == (SyncTarget("dev", "d"),)
    assert len(warnings) == 1 and "'region'" in warnings[0]
    st.add_auto_sync("prod")
    text = settings_path.read_text(encoding="utf-8")
    assert 'profile = "dev"\nsection = "d"\nregion = "eu-west-1"\n' in text


# --- the console's browser command (issue 14 §1) ---------------------------------------------


def test_console_browser_per_profile_per_session_and_global(settings_path: Path) -> None:
    write(
        settings_path,
        'console_browser = "firefox %s"\n'
        '[sessions.corp]\nsession_duration = "12h"\nconsole_browser = "firefox -P work %s"\n'
        '[profiles.prod]\nconsole_browser = "firefox -P prod %s"\n',
    )
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.console_browser == "firefox %s"
    assert settings.console_browsers == (
        ConsoleBrowser("session", "corp", "firefox -P work %s"),
        ConsoleBrowser("profile", "prod", "firefox -P prod %s"),
    )
    assert settings.session_duration_for("corp") == timedelta(hours=12)  # beside it, as before
    assert settings.console_browser_for("prod", "corp") == "firefox -P prod %s"  # its own
    assert settings.console_browser_for("dev", "corp") == "firefox -P work %s"  # its session's
    assert settings.console_browser_for("dev", "other") == "firefox %s"  # the global one
    assert settings.console_browser_for("dev", None) == "firefox %s"
    assert DEFAULTS.console_browser_for("dev", "corp") is None  # the default browser


def test_console_browsers_survive_a_rewrite(settings_path: Path) -> None:
    original = Settings(
        sessions=(SessionSettings("corp", timedelta(hours=12)),),
        console_browser="chromium %s",
        console_browsers=(
            ConsoleBrowser("session", "corp", "firefox -P 'work profile' %s"),
            ConsoleBrowser("session", "lab", "firefox -P lab"),
            ConsoleBrowser("profile", "prod", "firefox -P prod %s"),
        ),
    )
    st.save_settings(original)
    text = settings_path.read_text(encoding="utf-8")
    assert "console_browser" in st.HEADER
    assert "[sessions.corp]" in text and "[profiles.prod]" in text
    assert st.load_settings() == (original, [])
    st.update_settings(lambda s: s.with_favorite("dev"))  # an unrelated change keeps them
    loaded, warnings = st.load_settings()
    assert warnings == []
    assert loaded == original.with_favorite("dev")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("console_browser = 3\n", "console_browser"),
        ('console_browser = ""\n', "console_browser"),
        ('console_browser = "firefox \'%s"\n', "console_browser"),
        ("[sessions.corp]\nconsole_browser = []\n", "sessions.corp.console_browser"),
        ('[profiles.dev]\nconsole_browser = " "\n', "profiles.dev.console_browser"),
    ],
)
def test_a_bad_console_browser_warns_and_stays_in_the_file(
    settings_path: Path, text: str, where: str
) -> None:
    write(settings_path, text)
    settings, warnings = st.load_settings()
    assert len(warnings) == 1, warnings
    assert where in warnings[0] and "browser command" in warnings[0]
    assert str(settings_path) in warnings[0]
    assert settings.console_browser_for("dev", "corp") is None
    st.update_settings(lambda s: s.with_favorite("dev"))
    assert len(st.load_settings()[1]) == 1  # the value is still there, still warned about


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[profiles.dev]\ncolour = "blue"\n', "not a known profile setting"),
        ("[profiles]\ndev = 5\n", "must be a table"),
        ('profiles = "dev"\n', "[profiles.NAME] tables"),
    ],
)
def test_bad_profile_tables_warn_and_stay_in_the_file(
    settings_path: Path, text: str, fragment: str
) -> None:
    write(settings_path, text)
    settings, warnings = st.load_settings()
    assert len(warnings) == 1 and fragment in warnings[0], warnings
    assert settings.console_browsers == ()
    st.update_settings(lambda s: s.with_favorite("dev"))
    assert st.load_settings()[1] == warnings


# --- labels -------------------------------------------------------------------------------------

LABELS = """\
[[labels]]
match = "*prod*"
label = "PROD"
color = "red"

[[labels]]
match = "prod-readonly"
label = "never: *prod* came first"

[[labels]]
match = "sandbox-?"
label = "lab"
color = "#1A2b3c"
"""


def test_labels_match_names_or_patterns_and_the_first_match_wins(settings_path: Path) -> None:
    write(settings_path, LABELS.replace("never: *prod* came first", "RO"))
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.label_for("team-prod-admin") == ProfileLabel("*prod*", "PROD", "red")
    assert settings.label_for("prod-readonly") == ProfileLabel("*prod*", "PROD", "red")
    assert settings.label_for("sandbox-1") == ProfileLabel("sandbox-?", "lab", "#1a2b3c")
    assert settings.label_for("sandbox-12") is None
    assert settings.label_for("PROD-admin") is None  # case-sensitive, as profile names are
    assert settings.label_for("dev") is None
    assert Settings().label_for("prod") is None


def test_labels_survive_a_rewrite_as_labels_tables(settings_path: Path) -> None:
    write(settings_path, LABELS.replace("never: *prod* came first", "RO"))
    before = st.load_settings()[0]
    st.update_settings(lambda s: s.with_favorite("dev"))
    text = settings_path.read_text(encoding="utf-8")
    assert '[[labels]]\nmatch = "*prod*"\nlabel = "PROD"\ncolor = "red"\n' in text
    assert "[[labels]]" in st.HEADER
    assert st.load_settings() == (before.with_favorite("dev"), [])


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ('match = "*prod*"\nlabel = "PROD"\ncolor = "crimson"\n', "color must be one of red"),
        ('match = "*prod*"\nlabel = "PROD"\ncolor = "#12345"\n', '"#rrggbb"'),
        ('match = "*prod*"\nlabel = "PROD"\ncolour = "red"\n', "unknown keys 'colour'"),
        ('label = "PROD"\n', "needs match"),
        ('match = "*prod*"\nlabel = ""\n', "needs label"),
        ('match = "*prod*"\nlabel = "a label far too long to lead a line"\n', "1 to 16"),
        ('match = "*prod*"\nlabel = "[P]"\n', "brackets"),
    ],
)
def test_a_bad_label_warns_is_ignored_and_stays_in_the_file_in_its_place(
    settings_path: Path, entry: str, fragment: str
) -> None:
    text = f'[[labels]]\n{entry}\n[[labels]]\nmatch = "*"\nlabel = "ANY"\n'
    write(settings_path, text)
    settings, warnings = st.load_settings()
    assert len(warnings) == 1 and fragment in warnings[0], warnings
    assert "labels.1" in warnings[0] and str(settings_path) in warnings[0]
    assert settings.labels == (ProfileLabel("*", "ANY"),)
    assert settings.label_for("prod") == ProfileLabel("*", "ANY")
    st.update_settings(lambda s: s.with_favorite("dev"))
    again, warned = st.load_settings()
    assert warned == warnings  # still there, still first, still warned about
    assert again.labels == settings.labels and again.favorites == ("dev",)


def test_labels_that_are_not_tables_warn_and_stay(settings_path: Path) -> None:
    write(settings_path, 'labels = "PROD"\n')
    settings, warnings = st.load_settings()
    assert len(warnings) == 1 and "[[labels]] tables" in warnings[0]
    assert settings.labels == ()
    st.update_settings(lambda s: s.with_favorite("dev"))
    assert st.load_settings()[1] == warnings


def test_api_profile_label_gives_the_dashboard_text_and_colour(settings_path: Path) -> None:
    from aws_sso_tray import api

    write(settings_path, LABELS.replace("never: *prod* came first", "RO"))
    assert api.profile_label("prod-admin") == ProfileLabel("*prod*", "PROD", "red")
    assert api.profile_label("dev") is None
    many = st.load_settings()[0]
    assert api.profile_label("sandbox-2", many) == ProfileLabel("sandbox-?", "lab", "#1a2b3c")


def test_the_readme_labels_example_is_read_without_a_warning(settings_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    example = next(
        b.split("```", 1)[0] for b in section.split("```toml\n")[1:] if "[[labels]]" in b
    )
    write(settings_path, example)
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.label_for("team-prod-admin") == ProfileLabel("*prod*", "PROD", "red")


# --- left_click: what a left click on the tray icon does -----------------------------------------


def test_left_click_is_read_and_documented_in_the_header(settings_path: Path) -> None:
    write(settings_path, 'left_click = "menu"\n')
    settings, warnings = st.load_settings()
    assert warnings == []
    assert settings.left_click == "menu"
    assert "left_click" in st.HEADER and '"dashboard"' in st.HEADER


def test_a_bad_left_click_warns_once_and_is_kept_until_fixed(settings_path: Path) -> None:
    write(settings_path, 'left_click = "double"\n')
    settings, warnings = st.load_settings()
    assert settings.left_click == "dashboard"
    assert len(warnings) == 1 and "left_click" in warnings[0]
    st.update_settings(lambda s: s.with_favorite("dev"))  # a rewrite by the tray
    settings, warnings = st.load_settings()
    assert settings.favorites == ("dev",) and settings.left_click == "dashboard"
    assert len(warnings) == 1 and "'double'" in warnings[0]  # the same one warning, still there
