#!/usr/bin/env bash
# Installs every Debian package Flatwall needs to build, test and run the lab, skipping
# those already present, then makes sure bpffs is mounted. Idempotent; run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  clang llvm libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev
  nlohmann-json3-dev libcpprest-dev libssl-dev libboost-dev
  libabsl-dev libgtest-dev libgmock-dev libyaml-cpp-dev libbenchmark-dev
  iproute2 iptables procps
  podman  # deploy/build-image.sh and the image test (tests/deploy)
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
  mkdir -p /sys/fs/bpf
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "setup: warning: could not mount bpffs at /sys/fs/bpf"
fi
