#!/usr/bin/env bash
# `pnpm test:keyring`: the keychain store's tests against a real Secret Service. Starts a D-Bus
# session of its own and Debian's gnome-keyring in it, unlocked with an empty password (a test
# keyring in a throwaway home), then runs vitest there. Needs dbus (dbus-run-session) and
# gnome-keyring: `apt-get install -y dbus gnome-keyring`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y dbus gnome-keyring" >&2; exit 1; }
done
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
cd "$root"
HOME="$home" XDG_DATA_HOME="$home/.local/share" dbus-run-session -- bash -c '
  eval "$(printf "\n" | gnome-keyring-daemon --unlock --components=secrets)"
  exec npx vitest run --config vitest.keyring.config.ts "$@"
' keyring-tests "$@"
