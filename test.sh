#!/usr/bin/env bash
# Runs every test. Installs what the tests need (redis-server, redis-sentinel, Chromium) with apt-get when it is missing and
# this user can install packages; extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing ${missing[*]} ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# One test project at a time: the farm tests run several app processes under load and the browser tests drive
# Chromium; on a small machine they would starve each other's timeouts if run side by side.
exec dotnet test --solution Pitchly.AspNetCore.sln -c Release --max-parallel-test-modules 1 "$@"
