#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, when they are missing and we may install.
set -euo pipefail
# With arguments, installs those packages instead (e.g. `system-deps.sh wrk` for the benchmark).
packages=()
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || packages+=("$extra")
done
if [ $# -eq 0 ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v kamailio >/dev/null 2>&1 || packages+=(kamailio)
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
  compgen -G "/usr/lib/*/kamailio/modules/db_mysql.so" >/dev/null || packages+=(kamailio-mysql-modules)
fi
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${packages[*]}; install them as root (apt-get install ${packages[*]}) or their tests will skip" >&2
  exit 0
fi
echo "installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
