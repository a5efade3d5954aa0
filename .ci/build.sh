#!/usr/bin/env bash
# Configures and builds Flatwall into build/ (Release with debug info), with both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
