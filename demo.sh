#!/bin/sh
# Build the wasock host and the tcp-echo guest, then run the guest under a
# policy that lets it listen on loopback and lets loopback peers in.
# Usage: ./demo.sh [ADDR]   (default 127.0.0.1:0: an ephemeral port)
set -e
cd "$(dirname "$0")"
rustup target add wasm32-wasip2
cargo build --release -p wasock-host
cargo build --release --target wasm32-wasip2 -p tcp-echo
exec target/release/wasock run \
    --allow 'tcp-bind=127.0.0.1:*' \
    --allow 'tcp-accept=127.0.0.0/8:*' \
    target/wasm32-wasip2/release/tcp-echo.wasm "${1:-127.0.0.1:0}"
