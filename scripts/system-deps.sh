#!/usr/bin/env bash
# The Debian packages the tests need beyond Python: Debian's Chromium for the browser tests,
# the PostgreSQL client for pg_isready. Installs what is missing (as root), or says what to run.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pg_isready >/dev/null || need+=(postgresql-client)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]} — install them with: sudo apt-get install --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "installing ${need[*]} …"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
