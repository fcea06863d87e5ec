#!/usr/bin/env bash
# Run a command (normally the test suite) with a throwaway, unlocked gnome-keyring Secret Service
# on a private D-Bus session, so the tests marked `keyring` exercise a real keyring.
#
#   tests/run_with_keyring.sh .venv/bin/pytest [ARGS...]
#
# The keyring lives in a mktemp directory (XDG_DATA_HOME, XDG_RUNTIME_DIR) that is deleted
# afterwards; the developer's own keyring and session bus are never used. Without
# dbus-run-session, dbus-send and gnome-keyring-daemon the command runs directly (the keyring
# tests then skip). The exit status is the command's.
set -euo pipefail

marker_env="TV_ADAPTER_TEST_KEYRING_BUS"
keyring_password="throwaway"

say() {
    printf 'run_with_keyring: %s\n' "$*" >&2
}

secrets_owner_pid() {
    dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets \
        2>/dev/null | awk '{print $2}'
}

daemon_pid=""
stop_daemon() {
    if [[ -n "$daemon_pid" ]]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=""
    fi
}

inside_session() {
    # Runs under dbus-run-session: start the keyring, run the command, stop the keyring.
    local status=0 waited=0 owner=""
    trap stop_daemon EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '%s\n' "$keyring_password" \
        | gnome-keyring-daemon --foreground --unlock --components=secrets \
            >"$XDG_RUNTIME_DIR/gnome-keyring.log" 2>&1 &
    daemon_pid=$!
    while ((waited < 100)); do
        owner="$(secrets_owner_pid || true)"
        [[ -n "$owner" ]] && break
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
        waited=$((waited + 1))
    done
    if [[ -n "$owner" && "$owner" == "$daemon_pid" ]]; then
        export "$marker_env=$DBUS_SESSION_BUS_ADDRESS"
        say "throwaway gnome-keyring Secret Service is up: keyring tests will run"
    else
        local log
        log="$(tr '\n' ' ' <"$XDG_RUNTIME_DIR/gnome-keyring.log" || true)"
        say "gnome-keyring did not come up (${log:-no output}): keyring tests will skip"
    fi
    "$@" || status=$?
    stop_daemon
    return "$status"
}

if (($# == 0)); then
    say "usage: tests/run_with_keyring.sh COMMAND [ARGS...]"
    exit 2
fi

if [[ "$1" == "--inside-session" ]]; then
    shift
    inside_session "$@"
    exit $?
fi

for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        say "$tool is not installed: keyring tests will skip"
        exec "$@"
    fi
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/tv-adapter-keyring.XXXXXXXX")"
cleanup() {
    rm -rf -- "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -m 700 -- "$scratch/data" "$scratch/runtime"

status=0
env -u GNOME_KEYRING_CONTROL -u DBUS_SESSION_BUS_ADDRESS -u "$marker_env" \
    XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime" \
    dbus-run-session -- "$BASH" "${BASH_SOURCE[0]}" --inside-session "$@" || status=$?
exit "$status"
