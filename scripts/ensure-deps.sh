#!/usr/bin/env bash
# Installs the Debian packages the tests need when any of their commands is missing:
# Chromium for Playwright, iproute2/nftables/tc for the dataplane, real clients for checks.
set -euo pipefail
declare -A pkg_of=(
  [chromium]=chromium [ip]=iproute2 [tc]=iproute2 [nft]=nftables [ping]=iputils-ping
  [iperf3]=iperf3 [iptables-restore]=iptables [dnsmasq]=dnsmasq-base [conntrack]=conntrack [dig]=dnsutils [udhcpc]=udhcpc
)
missing=()
for cmd in "${!pkg_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
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
