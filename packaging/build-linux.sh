#!/usr/bin/env bash
# Build the Linux bundle dist/aws-sso-tray/ (PyInstaller onedir) and prove that it works.
#
#   bash packaging/build-linux.sh            # PYTHON=python3.11 to choose the interpreter
#
# 1. a throwaway venv (build/linux/venv) with PyInstaller and aws-sso-tray[gtk] installed from
#    this checkout as a wheel would be (so missing package data shows up here);
# 2. pyinstaller packaging/linux/aws-sso-tray.spec -> dist/aws-sso-tray/aws-sso-tray;
# 3. from the bundle alone, with a temporary HOME: --version, --help, `list` of an sso-session
#    config, then against the emulator (run from the build venv): a browser login, the
#    credential-process JSON, a sync into the credentials file, an export of a static profile,
#    and logout; plus the packaged .desktop files and icon install.
# Any failure stops the script with "build-linux: FAILED: ..." and a non-zero exit.
# Needs: python3 with venv, and (for PyGObject) libgirepository1.0-dev libcairo2-dev pkg-config
# gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1, as in .ci/run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
build=$root/build/linux
dist=$root/dist
venv=$build/venv
app=$dist/aws-sso-tray/aws-sso-tray
started=$SECONDS

fail() { echo "build-linux: FAILED: $*" >&2; exit 1; }
step() { echo "== build-linux: $* ($((SECONDS - started))s)"; }

step "fresh venv with PyInstaller and aws-sso-tray[gtk] ($("$python" --version 2>&1))"
rm -rf "$build" "$dist/aws-sso-tray"
mkdir -p "$build"
"$python" -m venv "$venv" || fail "cannot create a venv with $python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install "pyinstaller>=6.10,<7" "$root[gtk]" >"$build/pip.log" 2>&1 \
  || { tail -30 "$build/pip.log" >&2
       fail "pip install of pyinstaller and aws-sso-tray[gtk] (PyGObject needs the -dev packages above)"; }
version=$("$venv/bin/python" -c 'import aws_sso_tray; print(aws_sso_tray.__version__)')

step "pyinstaller packaging/linux/aws-sso-tray.spec"
(cd "$build" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$build/work" "$root/packaging/linux/aws-sso-tray.spec") \
  >"$build/pyinstaller.log" 2>&1 || { tail -40 "$build/pyinstaller.log" >&2; fail "pyinstaller"; }
[ -x "$app" ] || fail "$app was not built"
echo "bundle: $(du -sh "$dist/aws-sso-tray" | cut -f1), botocore data: $(du -sh "$dist/aws-sso-tray/_internal/botocore/data" | cut -f1)"

# --- everything below runs the bundle with a HOME of its own --------------------------------
sandbox=$(mktemp -d "${TMPDIR:-/tmp}/aws-sso-tray-bundle.XXXXXX")
emulator_pid=""
pids=()  # the desktop's processes (Xvfb, D-Bus, trayer), stopped by id at exit
cleanup() {
  local pid
  for pid in "${pids[@]}" $emulator_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" $emulator_pid; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$sandbox"
}
trap cleanup EXIT
export HOME=$sandbox/home
export XDG_CONFIG_HOME=$HOME/.config XDG_STATE_HOME=$HOME/.local/state \
  XDG_CACHE_HOME=$HOME/.cache XDG_DATA_HOME=$HOME/.local/share
for var in AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
  AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_DEFAULT_REGION AWS_REGION AWS_ENDPOINT_URL \
  AWS_ENDPOINT_URL_SSO AWS_ENDPOINT_URL_SSO_OIDC AWS_CA_BUNDLE AWS_SSO_TRAY_HOME BROWSER; do
  unset "$var"
done
export AWS_EC2_METADATA_DISABLED=true NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
mkdir -p "$HOME/.aws"

run() {  # run NAME ARGS...: the bundle, output kept in $sandbox/NAME.out / .err, 120 s at most
  local name=$1; shift
  if ! timeout 120 "$app" "$@" >"$sandbox/$name.out" 2>"$sandbox/$name.err"; then
    cat "$sandbox/$name.out" "$sandbox/$name.err" >&2
    fail "aws-sso-tray $* (exit status above)"
  fi
}

step "bundle: --version and --help"
run version --version
[ "$(cat "$sandbox/version.out")" = "aws-sso-tray $version" ] \
  || fail "--version printed '$(cat "$sandbox/version.out")', expected 'aws-sso-tray $version'"
run help --help
grep -q "credential-process" "$sandbox/help.out" || fail "--help does not list credential-process"

step "bundle: list with an sso-session config"
cat >"$HOME/.aws/config" <<'EOF'
[sso-session corp]
sso_start_url = https://bundle-check.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[profile static]
region = eu-west-1
EOF
cat >"$HOME/.aws/credentials" <<'EOF'
[static]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
EOF
run list list
grep -q "dev" "$sandbox/list.out" || fail "list does not show profile dev: $(cat "$sandbox/list.out")"

step "emulator (from the build venv) and a browser login from the bundle"
"$venv/bin/python" -m aws_sso_tray.emulator >"$sandbox/emulator.out" 2>"$sandbox/emulator.err" &
emulator_pid=$!
url=""
for _ in $(seq 100); do
  url=$(head -n1 "$sandbox/emulator.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$sandbox/emulator.err" >&2; fail "emulator exited"; }
  sleep 0.1
done
[[ $url == http://127.0.0.1:* ]] || fail "emulator printed no URL: '$url'"
export AWS_ENDPOINT_URL_SSO=$url AWS_ENDPOINT_URL_SSO_OIDC=$url
# The "browser" presses Allow on the emulator's page; it also records the library path it was
# started with, which must be the user's, not the bundle's (rthooks/pyi_rth_child_env.py).
cat >"$sandbox/browser" <<EOF
#!/bin/sh
printf '%s' "\${LD_LIBRARY_PATH-}" >"$sandbox/browser-ld-path"
exec "$venv/bin/python" -m aws_sso_tray.emulator.browser "\$@"
EOF
chmod +x "$sandbox/browser"
BROWSER="$sandbox/browser %s" run login login dev --timeout 60s
if grep -q "$dist/aws-sso-tray" "$sandbox/browser-ld-path" 2>/dev/null; then
  fail "the browser was started with LD_LIBRARY_PATH into the bundle: $(cat "$sandbox/browser-ld-path")"
fi
[ -f "$sandbox/browser-ld-path" ] || fail "login did not start the browser"

step "bundle: credential-process, sync, export, logout"
run credproc credential-process --profile dev
"$venv/bin/python" - "$sandbox/credproc.out" <<'EOF' || fail "credential-process output is not credential_process JSON"
import json, sys
data = json.load(open(sys.argv[1]))
assert data["Version"] == 1, data.keys()
assert data["AccessKeyId"].startswith("ASIA"), "not temporary keys"
assert data["SecretAccessKey"] and data["SessionToken"] and data["Expiration"]
EOF
run sync sync dev:dev-synced
grep -q '^\[dev-synced\]' "$HOME/.aws/credentials" || fail "sync wrote no [dev-synced] section"
grep -q '^aws_session_token' "$HOME/.aws/credentials" || fail "sync wrote no session token"
run export export --profile static --env
grep -q "AKIAIOSFODNN7EXAMPLE" "$sandbox/export.out" || fail "export of a static profile"
token_file=$HOME/.aws/sso/cache/$(printf '%s' corp | sha1sum | cut -d' ' -f1).json
[ -f "$token_file" ] || fail "login left no token at $token_file (the AWS CLI's cache name)"
run logout logout
if [ -f "$token_file" ]; then fail "logout left the token in $token_file"; fi

step "packaged .desktop files and icons"
"$venv/bin/python" "$root/packaging/linux/desktop_files.py" --check || fail "packaged .desktop files are stale"
"$venv/bin/python" "$root/packaging/linux/desktop_files.py" --install "$sandbox/prefix" --exec "$app" \
  >/dev/null || fail "desktop_files.py --install"
[ -f "$sandbox/prefix/share/icons/hicolor/48x48/apps/aws-sso-tray.png" ] || fail "no 48x48 icon installed"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$sandbox/prefix/share/applications/aws-sso-tray.desktop" \
    "$root/packaging/linux/aws-sso-tray.desktop" "$root/packaging/linux/autostart/aws-sso-tray.desktop" \
    || fail "desktop-file-validate"
fi

step "bundle: the tray docks in a system tray (gtk and appindicator backends) and stops on SIGTERM"
desktop_tools=(Xvfb dbus-daemon trayer xdotool xwininfo)
missing=()
for tool in "${desktop_tools[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  # CI installs them (.ci/run); a developer's machine may not have them.
  [ "${CI:-}" = true ] && fail "tray check needs ${missing[*]} (apt-get install xvfb dbus trayer xdotool x11-utils)"
  echo "build-linux: SKIPPED the tray check: ${missing[*]} not installed (xvfb dbus trayer xdotool x11-utils)" >&2
else
  # shellcheck source=packaging/tray-desktop.sh
  source "$root/packaging/tray-desktop.sh"
  tray_desktop_start "$sandbox" || fail "the virtual desktop (Xvfb, D-Bus, trayer) did not start"
  pids+=("${tray_desktop_pids[@]}")
  for backend in gtk appindicator; do
    PYSTRAY_BACKEND=$backend "$app" tray --debug >"$sandbox/tray-$backend.log" 2>&1 &
    tray_pid=$!
    if ! tray_wait_docked "$tray_pid" "$sandbox/tray-$backend.log" "the tray ($backend)"; then
      kill -9 "$tray_pid" 2>/dev/null || true
      fail "the tray ($backend) did not dock in the system tray"
    fi
    kill -TERM "$tray_pid"
    for _ in $(seq 100); do kill -0 "$tray_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$tray_pid" 2>/dev/null; then
      kill -9 "$tray_pid"; cat "$sandbox/tray-$backend.log" >&2; fail "the tray ($backend) ignored SIGTERM"
    fi
    rc=0; wait "$tray_pid" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$sandbox/tray-$backend.log" >&2; fail "the tray ($backend) exited $rc on SIGTERM"; }
    # The icons come from the bundled assets (importlib.resources), not drawn for want of them.
    if grep -q "not shipped" "$sandbox/tray-$backend.log"; then
      cat "$sandbox/tray-$backend.log" >&2; fail "the tray ($backend) found no bundled icon"
    fi
    echo "tray ($backend): docked, icons from the bundle, stopped cleanly"
  done
fi

step "OK: $app works ($(du -sh "$dist/aws-sso-tray" | cut -f1)) in $((SECONDS - started))s"
