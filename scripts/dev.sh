#!/usr/bin/env bash
# The README's first command: set up the machine, build, and run `joule dev`
# (an authority, a provider and a demo job on an embedded RocksDB). Extra arguments go to
# `joule dev`, for example `--no-demo` or `--datadir DIR`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/joule-target}"
scripts/setup.sh
exec cargo run --locked -p joule-node --bin joule -- dev "$@"
