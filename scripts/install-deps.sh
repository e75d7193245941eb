#!/usr/bin/env bash
# Installs what polaris needs to build, test and run, from Debian 12 packages.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  nats-server libnats-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev libyaml-cpp-dev libmicrohttpd-dev
  libcrypt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl
  # The package tests: the man page checked with groff, the .deb built by cpack (dpkg-shlibdeps).
  groff-base dpkg-dev
  # scripts/fuzz.sh: clang with libFuzzer (libclang_rt.fuzzer comes with libclang-rt-dev).
  clang libclang-rt-dev
  # The web console's browser tests (tests/console): headless Chromium driven by puppeteer-core.
  chromium
)
# Node.js runs the MCP test peers (npm packages). A machine may already have it from elsewhere,
# whose packages would conflict with Debian's: install Debian's only when it is missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
