#!/usr/bin/env bash
# Installs the Debian packages the tests need when any of their commands is missing:
# Chromium for Playwright, iproute2/nftables/tc for the dataplane, real clients for checks (rdisc6
# and dhclient -6 for the nodes' router advertisements and DHCPv6), and pyroute2 for the agent's
# python helpers, QEMU for the real-VM test (tests/vm/; large, but CI
# needs it too), xorriso for cloud-init ISOs, netplan to validate their network-config, Prometheus (promtool and a real scrape of /metrics) and PostgreSQL.
set -euo pipefail
declare -A pkg_of=(
  [chromium]=chromium [ip]=iproute2 [tc]=iproute2 [nft]=nftables [ping]=iputils-ping
  [iperf3]=iperf3 [iptables-restore]=iptables [dnsmasq]=dnsmasq-base [conntrack]=conntrack [dig]=dnsutils [udhcpc]=udhcpc
  [arping]=arping [rdisc6]=ndisc6 [dhclient]=isc-dhcp-client [nsenter]=util-linux [python3]=python3 [openssl]=openssl [systemd-analyze]=systemd
  [qemu-system-x86_64]=qemu-system-x86 [dpkg-deb]=dpkg [xorriso]=xorriso [netplan]=netplan.io
  [promtool]=prometheus [prometheus]=prometheus
)
missing=()
for cmd in "${!pkg_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
# The agent's python helpers (agent/dataplane/links/nlhelper.py, nft/ct-delete.py) need pyroute2, under the
# interpreter the agent runs them with (agent/dataplane/run.ts PYTHON): BRIDGEHEAD_PYTHON, else
# Debian's /usr/bin/python3, else python3 on PATH.
python="${BRIDGEHEAD_PYTHON:-python3}"
[ -z "${BRIDGEHEAD_PYTHON:-}" ] && [ -x /usr/bin/python3 ] && python=/usr/bin/python3
pyroute2_missing() { ! "$python" -c 'import pyroute2' >/dev/null 2>&1; }
if ! command -v "$python" >/dev/null 2>&1 || pyroute2_missing; then missing+=(python3-pyroute2); fi
# PostgreSQL (db/schema-parity.test.ts, db/migrate-to.test.ts start a throwaway cluster): its
# programs live under /usr/lib/postgresql/<major>/bin, not on PATH.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "ensure-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if command -v "$python" >/dev/null 2>&1 && pyroute2_missing; then
  echo "ensure-deps: python3-pyroute2 is installed but $python cannot import pyroute2; set BRIDGEHEAD_PYTHON to Debian's python3 (the agent falls back to ip and conntrack -R meanwhile)" >&2
fi
