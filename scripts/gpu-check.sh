#!/usr/bin/env bash
# The GPU check of the CUDA backend (fp16 and int8), for a bare GPU machine holding a copy
# of this repo: builds the engine with RWKV5_CUDA=ON for sm_90, runs the gpu
# tier (engine/tests/gpu, CTest label "gpu": goldens within the fp16
# tolerances, batch == singles, GPU -> CPU -> GPU state round trips, device
# sampling == host sampling on >= 10,000 cases), writes a random model of the
# 12B chat model's shape on this machine and benchmarks it
# (engine/bench/bench_cuda.cpp: 1-slot decode vs the bandwidth roof, 8/32/64/128
# slots, prefill 512/4096 with the fraction of the tensor-core peak, device
# memory with 8 slots; then again with int8 weights), runs `npm run bench -- runtime` on the GPU at 64
# conversations when Node and node_modules are there, then prints one table.
# Logs go to $OUT (the device tool's folder) or build/gpu-check. Needs cmake,
# nvcc 12+ and cuBLAS (from the toolkit, or the nvidia-cublas Python wheel
# next to PyTorch); Node only for the runtime bench.
#
#   scripts/gpu-check.sh            build + gpu tests + benchmark
#   GPU_CHECK_BENCH=0 scripts/gpu-check.sh   skip the benchmarks
#
# Env: CUDA_ARCH (default 90), RWKV5_CUBLAS_ROOT (folder with include/cublas_v2.h
# and lib/libcublas.so*), BENCH_MODEL (path of the random model; default
# /dev/shm when it has room, else build/).
# Exit: 0 all passed, 1 build failed, 2 no GPU (after the build), 3 gpu tests
# failed, 4 a benchmark floor missed or a benchmark failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/build/gpu-check}
mkdir -p "$out"
jobs=$(nproc 2>/dev/null || echo 2)
say() { printf '[gpu-check] %s\n' "$*"; }
results=()

# ---- toolchain ----
# The toolkit folder: CUDA_HOME, /usr/local/cuda, or the one of the nvcc on PATH
# (which may be a wrapper script, as on the build machine).
cuda_home=""
for cand in "${CUDA_HOME:-}" /usr/local/cuda "$(dirname "$(dirname "$(readlink -f "$(command -v nvcc || echo /nonexistent)")")")"; do
    if [ -n "$cand" ] && [ -x "$cand/bin/nvcc" ] && [ -f "$cand/include/cuda_runtime.h" ]; then
        cuda_home=$(cd "$cand" && pwd -P)
        break
    fi
done
if [ -z "$cuda_home" ]; then
    say "FAIL: no CUDA toolkit (nvcc + include/cuda_runtime.h) in CUDA_HOME, /usr/local/cuda or on PATH"
    exit 1
fi
say "nvcc: $("$cuda_home/bin/nvcc" --version | tail -1) ($cuda_home)"

cublas_root=${RWKV5_CUBLAS_ROOT:-}
if [ -z "$cublas_root" ] && [ ! -f "$cuda_home/include/cublas_v2.h" ]; then
    for py in python3 /opt/torch/.venv/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        cand=$("$py" - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for base in (spec.submodule_search_locations if spec else []):
    for sub in ("cu13", "cublas", "cu12"):
        d = os.path.join(base, sub)
        if os.path.isfile(os.path.join(d, "include", "cublas_v2.h")):
            print(d); raise SystemExit
PY
)
        if [ -n "$cand" ]; then cublas_root=$cand; break; fi
    done
    if [ -z "$cublas_root" ]; then
        say "FAIL: no cuBLAS: $cuda_home/include/cublas_v2.h is missing and no nvidia-cublas wheel was found; set RWKV5_CUBLAS_ROOT"
        exit 1
    fi
fi
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DRWKV5_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}"
            "-DCMAKE_CUDA_COMPILER=$cuda_home/bin/nvcc")
if [ -n "$cublas_root" ]; then
    say "cuBLAS: $cublas_root"
    cmake_args+=("-DRWKV5_CUBLAS_ROOT=$cublas_root")
    export LD_LIBRARY_PATH="$cublas_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
    say "cuBLAS: $cuda_home"
fi

# ---- build ----
build=build/engine-cuda
say "configure + build ($build, sm_${CUDA_ARCH:-90}, -j$jobs)"
if ! { cmake -S engine -B "$build" "${cmake_args[@]}" &&
       cmake --build "$build" -j "$jobs" --target test_gpu_forward test_gpu_sampling bench_cuda; } >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log"
    say "FAIL: build (full log: $out/build.log)"
    exit 1
fi
grep -E "ptxas info|spill" "$out/build.log" >"$out/resource-usage.txt" || true
say "build OK"

# ---- device ----
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >"$out/nvidia-smi.txt" 2>&1; then
    say "NO GPU: the CUDA build succeeded, but this machine has no usable NVIDIA device; gpu tests and benchmark not run"
    exit 2
fi
cat "$out/nvidia-smi.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv >>"$out/nvidia-smi.txt" 2>&1 || true

# ---- gpu tier ----
say "gpu tests"
if ctest --test-dir "$build" -L gpu --output-on-failure >"$out/gpu-tests.log" 2>&1; then
    if grep -q "SKIP test_gpu_" "$out/gpu-tests.log"; then
        results+=("| gpu tests (engine/tests/gpu) | SKIPPED (no usable device) |")
    else
        results+=("| gpu tests (engine/tests/gpu) | PASS |")
    fi
    sampling_line=$(grep -m1 "device sampling == host sampling" "$out/gpu-tests.log" || true)
    [ -z "$sampling_line" ] || results+=("| ${sampling_line%%:*} | ${sampling_line#*: } |")
    tests_ok=1
else
    results+=("| gpu tests (engine/tests/gpu) | FAIL (see gpu-tests.log) |")
    tests_ok=0
fi
cat "$out/gpu-tests.log"

# ---- benchmark ----
bench_ok=1
if [ "${GPU_CHECK_BENCH:-1}" != 0 ]; then
    model=${BENCH_MODEL:-}
    if [ -z "$model" ]; then
        shm_free=$(df -k --output=avail /dev/shm 2>/dev/null | tail -1 | tr -d ' ')
        if [ -n "$shm_free" ] && [ "$shm_free" -gt $((26 * 1024 * 1024)) ]; then
            model=/dev/shm/rwkv5-random-12b.pth
        else
            model=$root/build/rwkv5-random-12b.pth
        fi
    fi
    say "benchmark (model file $model)"
    "$build/bench_cuda" --random-12b "$model" 2>&1 | tee "$out/bench.log"
    [ "${PIPESTATUS[0]}" = 0 ] || bench_ok=0
    say "benchmark, int8 weights"
    "$build/bench_cuda" --random-12b "$model" --int8 2>&1 | tee "$out/bench-int8.log"
    [ "${PIPESTATUS[0]}" = 0 ] || bench_ok=0
    [ -n "${BENCH_MODEL:-}" ] || rm -f "$model"

    # The whole bot on the GPU: the runtime bench with chat sampling, 64 conversations.
    if command -v node >/dev/null 2>&1 && [ -d node_modules ]; then
        say "runtime bench on the GPU (npm run build:cuda, then BENCH_BACKEND=cuda npm run bench -- runtime)"
        if { npm run -s build:cuda -- ${cublas_root:+--CDRWKV5_CUBLAS_ROOT="$cublas_root"} --CDCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" \
               --CDCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" &&
             BENCH_BACKEND=cuda npm run -s bench -- runtime; } >"$out/runtime-bench.log" 2>&1; then
            runtime_line=$(grep -E "^(PASS|FAIL) " "$out/runtime-bench.log" | tail -1)
            results+=("| runtime bench, chat sampling in the engine | ${runtime_line:-no verdict (see runtime-bench.log)} |")
            case "$runtime_line" in PASS*) ;; *) bench_ok=0 ;; esac
        else
            results+=("| runtime bench, chat sampling in the engine | FAIL (see runtime-bench.log) |")
            bench_ok=0
        fi
        cat "$out/runtime-bench.log"
    else
        results+=("| runtime bench, chat sampling in the engine | NOT RUN (no node or node_modules on this machine) |")
    fi
fi

# ---- table ----
echo
say "summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1))"
echo "| check | result |"
echo "|---|---|"
printf '%s\n' "${results[@]}"
grep -hE '^\|' "$out/bench.log" "$out/bench-int8.log" 2>/dev/null || true
[ "$tests_ok" = 1 ] || exit 3
[ "$bench_ok" = 1 ] || exit 4
say "all passed"
