# A virtual desktop with a system tray, for the checks that a tray icon docks (sourced by bash).
#
#   source packaging/tray-desktop.sh
#   tray_desktop_start "$workdir"          # Xvfb + D-Bus session bus + trayer; exports DISPLAY,
#                                          # DBUS_SESSION_BUS_ADDRESS; sets $tray_panel; adds
#                                          # the processes' ids to the array $tray_desktop_pids
#   tray_wait_docked PID LOG WHAT          # 0 when an aws-sso-tray icon sits in the panel
#   tray_desktop_stop                      # stops the processes by id
#
# Used by packaging/build-linux.sh (the bundle) and .ci/clean-setup-check (a clean clone set up
# as README.md says). Needs Xvfb, dbus-daemon, trayer, xdotool, xwininfo (x11-utils).

tray_desktop_pids=()
tray_panel=""

tray_desktop_start() {
  local work=$1 _
  Xvfb -displayfd 3 -screen 0 800x400x24 -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
  tray_desktop_pids+=($!)
  for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
  [ -s "$work/display" ] || { echo "Xvfb did not start" >&2; return 1; }
  export DISPLAY=":$(cat "$work/display")"
  dbus-daemon --session --nofork --print-address=1 >"$work/bus" 2>/dev/null &
  tray_desktop_pids+=($!)
  for _ in $(seq 100); do [ -s "$work/bus" ] && break; sleep 0.1; done
  DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$work/bus"); export DBUS_SESSION_BUS_ADDRESS
  trayer --edge top --align right --widthtype request --height 32 --SetDockType true \
    --transparent false >/dev/null 2>&1 &
  tray_desktop_pids+=($!)
  for _ in $(seq 150); do
    tray_panel=$(xdotool search --name '^panel$' 2>/dev/null | head -n1) && [ -n "$tray_panel" ] && break
    sleep 0.1
  done
  [ -n "$tray_panel" ] || { echo "trayer did not start" >&2; return 1; }
}

tray_wait_docked() {  # tray_wait_docked PID LOG WHAT
  local pid=$1 log=$2 what=$3 _
  for _ in $(seq 300); do
    if xwininfo -tree -id "$tray_panel" 2>/dev/null | grep -q '"aws-sso-tray'; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  echo "$what did not dock in the system tray" >&2
  return 1
}

tray_desktop_stop() {
  local pid
  for pid in "${tray_desktop_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${tray_desktop_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  tray_desktop_pids=()
}
