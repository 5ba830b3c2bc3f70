#!/usr/bin/env bash
# Installs what a fresh machine lacks to build Joule: libclang (RocksDB's bindgen) and the
# wasm32-unknown-unknown target (example jobs). Safe to run again; does nothing when all is there.
set -euo pipefail

have_libclang() {
  ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' ||
    ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1
}

if ! have_libclang; then
  echo "setup: installing libclang-dev (needed by RocksDB's bindgen)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target (example jobs)" >&2
  rustup target add wasm32-unknown-unknown
fi
