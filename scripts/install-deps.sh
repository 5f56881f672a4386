#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what building and testing clusterd needs (Debian 12, as root).
# Quiet and quick when everything is already there.
set -euo pipefail
pkgs=(
	build-essential autoconf automake pkg-config
	libnetfilter-queue-dev libmnl-dev libnftnl-dev libconfig-dev libsodium-dev libjansson-dev
	libcmocka-dev libusrsctp-dev
	nftables iptables iproute2 procps curl iperf3 python3 tcpdump socat util-linux openssl
	# promtool, which tests/netns/t_metrics.sh runs on the metrics endpoint's answer
	prometheus
	# the package stage (scripts/package-check.sh): build, lintian, systemd-analyze verify
	dpkg-dev debhelper fakeroot lintian systemd
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing ${missing[*]}; run as root" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
