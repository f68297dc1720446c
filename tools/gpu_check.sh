#!/usr/bin/env bash
# The device checks, as one prepared run for a GPU machine that already has torch
# with CUDA, pytest and numpy (no internet: nothing is installed here).
#
#     bash tools/gpu_check.sh [OUT]        # OUT: where logs and grades go (default: gpu-check/)
#
# Prints the GPU and torch version, runs the test suite with CUDA (test files whose
# imports are missing on the machine, such as nbclient or scikit-learn, are reported
# as collection errors and the rest goes on), then grades the reference solutions and
# the untouched stubs on every device. Record what it prints, with the date, in
# docs/MEASUREMENTS.md. Not yet run: no GPU machine was lent to the sessions so far.
set -u
out=${1:-${OUT:-gpu-check}}
mkdir -p "$out"
py=${PYTHON:-python3}

"$py" - <<'EOF' | tee "$out/device.txt"
import platform, torch
print("date:", __import__("datetime").date.today())
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda)
print("gpu:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none visible")
for name in ("numpy", "pytest", "sklearn", "nbclient", "jsonschema", "matplotlib"):
    try:
        __import__(name)
        print(f"  {name}: present")
    except ImportError:
        print(f"  {name}: missing (tests that need it are not collected)")
EOF

# The whole suite but the notebooks (minutes of CPU each, nothing CUDA-specific).
timeout 420 "$py" -m pytest -q -p no:cacheprovider --continue-on-collection-errors \
    --ignore-glob='tests/test_notebook_*.py' -rs 2>&1 | tail -40 | tee "$out/pytest.txt"

# The reference must earn full marks, and the stubs zero, on the CPU and the GPU.
timeout 240 "$py" -m autograder grade solutions assignments --out "$out/grades" --device all \
    --jobs 1 2>&1 | tail -15 | tee "$out/grade.txt"
