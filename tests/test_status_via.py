"""`status` marks a role chained on SSO as `list` does: `ROLE via SOURCE`, and `"via"` in JSON.

The real CLI in a subprocess against the emulator (its STS for the chained roles), without an
engine (a snapshot built from the files), with a real daemon running (the snapshot it publishes
to the status file), and with a status file an older engine wrote, without the field.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_sso_tray.engine import statusfile
from aws_sso_tray.engine.lock import InstanceLock
from aws_sso_tray.files import settings
from aws_sso_tray.snapshot import Snapshot
from test_chained import chain  # noqa: F401 (the fixture: dev, deploy via dev, admin via deploy)
from test_daemon import start_daemon, stop_daemon
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli


def status_json(cli: RunCli) -> dict[str, Any]:
    done = cli("status", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in data["profiles"]}


def row(text: str, profile: str) -> list[str]:
    """The cells of `profile`'s row of the profiles table (split on blanks)."""
    found = next(
        (line.split() for line in text.splitlines() if line.startswith(profile + " ")), None
    )
    assert found is not None, text
    return found


def test_status_without_an_engine_names_each_chained_roles_source(
    chain: Emulator,  # noqa: F811
    cli: RunCli,
) -> None:
    chain.clear_requests()
    data = status_json(cli)
    assert data["engine_running"] is False
    profiles = by_name(data)
    assert profiles["deploy"]["via"] == "dev" and profiles["admin"]["via"] == "deploy"
    assert profiles["dev"]["via"] is None
    assert (profiles["admin"]["account_id"], profiles["admin"]["role_name"]) == (
        "333333333333",
        "Admin",
    )
    assert "mfa" not in profiles  # refused: a problem line, not a row, as in `list`
    text = cli("status", timeout=60)
    assert text.returncode == 0, text.stderr
    assert row(text.stdout, "PROFILE")[:3] == ["PROFILE", "ROLE", "STATUS"], text.stdout
    assert row(text.stdout, "deploy")[:4] == ["deploy", "Deployer", "via", "dev"]
    assert row(text.stdout, "admin")[:4] == ["admin", "Admin", "via", "deploy"]
    assert row(text.stdout, "dev")[:3] == ["dev", "ReadOnly", "idle"]
    # the same words as `list`'s role column
    listed = cli("list").stdout
    assert row(listed, "admin")[3:6] == ["Admin", "via", "deploy"]
    assert chain.requests == []  # status read files only


def test_status_of_a_running_daemon_names_the_source_of_the_role_it_keeps_fresh(
    chain: Emulator,  # noqa: F811
    cli: RunCli,
) -> None:
    settings.add_auto_sync("deploy")
    proc = start_daemon("--refresh-before", "10s")
    try:
        wait_for(
            lambda: (
                (s := status_json(cli))["engine_running"]
                and by_name(s)["deploy"]["status"] == "fresh"
            ),
            "the daemon to keep deploy fresh",
            timeout=60,
            interval=0.3,
        )
        profiles = by_name(status_json(cli))
        assert profiles["deploy"]["via"] == "dev" and profiles["deploy"]["synced_section"]
        assert profiles["admin"]["via"] == "deploy" and profiles["dev"]["via"] is None
        text = cli("status", timeout=60)
        assert text.returncode == 0, text.stderr
        assert "engine: running" in text.stdout, text.stdout
        deploy = row(text.stdout, "deploy")
        assert deploy[:5] == ["deploy", "Deployer", "via", "dev", "fresh"], text.stdout
        assert chain.count("AssumeRole") >= 1
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err


def test_a_status_file_from_an_engine_without_via_still_loads(
    chain: Emulator,  # noqa: F811
    cli: RunCli,
) -> None:
    """An engine from before `via` left a status file without it: status shows plain roles."""
    with InstanceLock():  # "an engine runs": status reads the file rather than the config
        published = json.loads(_published_without_via())
        statusfile.snapshot_file().parent.mkdir(parents=True, exist_ok=True)
        statusfile.snapshot_file().write_text(json.dumps(published), encoding="utf-8")
        data = status_json(cli)
        text = cli("status", timeout=60)
    assert data["engine_running"] is True
    assert all(p["via"] is None for p in data["profiles"])
    assert {p["name"] for p in data["profiles"]} >= {"dev", "deploy", "admin"}
    assert text.returncode == 0, text.stderr
    assert row(text.stdout, "deploy")[:3] == ["deploy", "Deployer", "idle"], text.stdout


def test_a_status_file_from_a_newer_engine_with_fields_unknown_here_still_loads(
    chain: Emulator,  # noqa: F811
    cli: RunCli,
) -> None:
    """A newer engine's status file has a field this version does not know: status still reads
    it as the running engine's view (not the config's), the known fields intact."""
    published = json.loads(_published_without_via())
    for profile in published["snapshot"]["profiles"]:
        profile["via"] = "dev" if profile["name"] == "deploy" else None
        profile["colour_of_tomorrow"] = "teal"
    for session in published["snapshot"]["sessions"]:
        session["colour_of_tomorrow"] = "teal"
        session["last_error"] = "written by the newer engine"
    with InstanceLock():
        statusfile.snapshot_file().parent.mkdir(parents=True, exist_ok=True)
        statusfile.snapshot_file().write_text(json.dumps(published), encoding="utf-8")
        data = status_json(cli)
    assert data["engine_running"] is True
    assert {s["last_error"] for s in data["sessions"]} == {"written by the newer engine"}
    assert by_name(data)["deploy"]["via"] == "dev"
    assert all("colour_of_tomorrow" not in p for p in data["profiles"])


def _published_without_via() -> str:
    """The status file an older engine would have written for this config: no `via` keys."""
    from aws_sso_tray import api

    snapshot = api.offline_snapshot()
    encoded = snapshot.to_dict()
    assert {p["name"]: p["via"] for p in encoded["profiles"]}["deploy"] == "dev"
    for profile in encoded["profiles"]:
        del profile["via"]
    return json.dumps({"version": 1, "snapshot": encoded})


def test_via_survives_the_status_files_round_trip(chain: Emulator) -> None:  # noqa: F811
    from aws_sso_tray import api

    snapshot = api.offline_snapshot()
    again = Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict())))
    assert again.profiles == snapshot.profiles  # (times lose their microseconds on the way)
    deploy = again.profile("deploy")
    assert deploy is not None and deploy.via == "dev"
