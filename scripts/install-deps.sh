#!/usr/bin/env bash
# Installs the Debian packages swift-mmm's build, tests and sandbox need, if any is missing (needs root then).
set -euo pipefail
PACKAGES=(mariadb-server mariadb-client libmariadb-dev pkg-config iproute2 arping iputils-ping util-linux procps openssl)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0
echo "installing ${missing[*]}"
[[ $(id -u) == 0 ]] || { echo "error: run as root to install ${missing[*]} (or install them first)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d may refuse to start the packaged mariadb service in containers; the bench runs its own servers.
apt-get install -y -qq --no-install-recommends "${missing[@]}"
