#!/bin/sh
# One-time setup for building joule-vm on a fresh machine: the example jobs and the guest SDK
# compile for wasm32-unknown-unknown (vm/build.rs), which needs that target's standard library.
set -eu
rustup target add wasm32-unknown-unknown
