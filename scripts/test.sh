#!/usr/bin/env bash
# The README's test command: set up the machine, then run every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/joule-target}"
scripts/setup.sh
cargo test --workspace --locked "$@"
