#!/usr/bin/env bash
# Builds the flatwall-agent container image offline: stages a root filesystem holding the
# built binaries (flatwall-agent, flatwall; their BPF programs are embedded skeletons), the
# init container's mount-bpffs script with sh, mount and sleep, and exactly the shared
# libraries all of them load (from ldd, as installed by Debian) — then checks inside the
# staged tree (chroot) that every library resolves and every binary starts, and imports it
# with `podman build` FROM scratch (deploy/Containerfile). The tag is the VERSION file's.
#
# usage: deploy/build-image.sh [--build-dir DIR] [--repository REPO] [--stage-only DIR]
#   --build-dir DIR     where the binaries were built (default: build)
#   --repository REPO   image name without tag (default: flatwall/flatwall-agent)
#   --stage-only DIR    stage and check the root filesystem in DIR (must not exist); no podman
# Prints the image reference (REPO:VERSION) on the last line. Run as root (chroot).
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_root/build
repository=flatwall/flatwall-agent
stage_only=
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --repository) repository=$2; shift 2 ;;
    --stage-only) stage_only=$2; shift 2 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
version=$(tr -d '[:space:]' < "$repo_root/VERSION")

# The programs the image runs: ours (stripped of debug info) and, for the init container
# and tooling, Debian's.
our_binaries=("$build_dir/agent/flatwall-agent" "$build_dir/agent/cli/flatwall")
system_binaries=(/usr/bin/dash /usr/bin/mount /usr/bin/sleep)
for binary in "${our_binaries[@]}" "${system_binaries[@]}"; do
  [[ -x $binary ]] || { echo "build-image: $binary is missing (build it first)" >&2; exit 1; }
done

if [[ -n $stage_only ]]; then
  stage=$stage_only
  [[ ! -e $stage ]] || { echo "build-image: $stage exists" >&2; exit 1; }
  mkdir -p "$stage"
else
  stage=$(mktemp -d /tmp/flatwall-image-XXXXXX)
  trap 'rm -rf "$stage"' EXIT
fi

# Debian 12's merged-/usr layout, so the paths ldd prints (/lib/..., /lib64/...) exist.
mkdir -p "$stage"/usr/{bin,lib/x86_64-linux-gnu,lib64,lib/flatwall} "$stage"/{etc,tmp,proc,sys,dev,run}
chmod 1777 "$stage/tmp"
ln -s usr/bin "$stage/bin"
ln -s usr/bin "$stage/sbin"
ln -s usr/lib "$stage/lib"
ln -s usr/lib64 "$stage/lib64"

for binary in "${our_binaries[@]}"; do
  strip --strip-debug -o "$stage/usr/bin/$(basename "$binary")" "$binary"
done
for binary in "${system_binaries[@]}"; do
  cp "$binary" "$stage/usr/bin/"
done
ln -s dash "$stage/usr/bin/sh"
install -m 0755 "$repo_root/deploy/mount-bpffs.sh" "$stage/usr/lib/flatwall/mount-bpffs"

# Every library ldd resolves for any of the binaries (ldd lists the whole closure), copied
# as a file under the name the loader looks for. An unresolved one fails the build.
libraries=$(
  for binary in "${our_binaries[@]}" "${system_binaries[@]}"; do
    ldd "$binary" | awk -v binary="$binary" '
      /not found/ { print "build-image: " binary ": " $1 " not found" > "/dev/stderr"; exit 1 }
      $2 == "=>" && $3 ~ /^\// { print $3 }
      $1 ~ /^\// { print $1 }'
  done | sort -u)
for library in $libraries; do
  cp -L "$library" "$stage$library"
done

# Proof from inside the tree: the loader resolves every library there, and each binary runs.
loader=/lib64/ld-linux-x86-64.so.2
for binary in /usr/bin/flatwall-agent /usr/bin/flatwall /usr/bin/dash /usr/bin/mount /usr/bin/sleep; do
  if ! listing=$(chroot "$stage" "$loader" --list "$binary") || grep -q 'not found' <<< "$listing"; then
    echo "build-image: $binary does not resolve its libraries in the image:" >&2
    echo "$listing" >&2
    exit 1
  fi
done
chroot "$stage" /usr/bin/flatwall-agent --help > /dev/null
chroot "$stage" /usr/bin/flatwall --help > /dev/null
chroot "$stage" /usr/bin/sh -c 'mount --version' > /dev/null

if [[ -n $stage_only ]]; then
  echo "staged $(du -sh "$stage" | cut -f1) in $stage"
  exit 0
fi

reference=$repository:$version
podman build --quiet --no-cache --layers=false --network none --build-arg "VERSION=$version" \
  -f "$repo_root/deploy/Containerfile" -t "$reference" "$stage" > /dev/null
echo "$reference"
