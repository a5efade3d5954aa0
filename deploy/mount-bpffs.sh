#!/bin/sh
# The DaemonSet's init container: mounts bpffs at /sys/fs/bpf when the node has none there,
# so the agent's pins outlive its pods. The container sees the host's /sys/fs/bpf through
# a hostPath volume with Bidirectional mount propagation, so a mount made here appears on
# the host (which is why this container, unlike the agent's, must be privileged).
# Needs only the shell and mount(8): /proc/mounts is read with the shell's own `read`.
set -eu
target=/sys/fs/bpf
while read -r _device mount_point fs_type _rest; do
  if [ "$mount_point" = "$target" ] && [ "$fs_type" = bpf ]; then
    echo "bpffs already mounted at $target"
    exit 0
  fi
done < /proc/mounts
mount -t bpf bpf "$target"
echo "mounted bpffs at $target"
