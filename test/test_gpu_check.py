"""bench/gpu_check.py: a clear refusal without a GPU, and its comparison harness on the CPU."""
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_ros.core.compiled import cuda_available

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_check.py"


@pytest.mark.skipif(cuda_available(), reason="a CUDA GPU is present: the check would run")
def test_without_a_gpu_it_says_why_and_exits_3():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("gpu_check: nothing checked:") and len(out.stderr.strip().splitlines()) == 1


def test_cpu_dry_run_compares_and_reports_agreement(tmp_path):
    """With numpy/numba standing in for CuPy the same harness runs end to end: plans and steps
    computed twice, compared, timed, and written as JSON."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--cpu-dry-run", "--repeats", "1",
                          "--json", str(tmp_path / "g.json")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "GMT* plan" in out.stdout and "FISC-like step" in out.stdout and "all results agree" in out.stdout
    import json
    data = json.loads((tmp_path / "g.json").read_text())
    assert {r["check"] for r in data["results"]} == {"gmt", "fisc"} and all(r["same"] for r in data["results"])
