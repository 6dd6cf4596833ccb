#!/usr/bin/env bash
# Installs the Debian packages the integration tests talk to (see ../shared/PEERS.md), only when some are missing,
# so a warm machine starts its tests at once.
set -euo pipefail

packages=(python3-pymodbus python3-serial-asyncio socat mosquitto mosquitto-clients mbpoll influxdb victoria-metrics faketime chromium systemd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing test peers: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
