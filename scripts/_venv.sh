# Sourced by the scripts in this folder: make .venv with swarm_ros and its test tools, once.
# Re-installs when setup.py changes. Needs python3 (3.10+) with venv; everything else is pip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "setting up $VENV (first run only) ..." >&2
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$VENV/.installed" ] || [ "$ROOT/setup.py" -nt "$VENV/.installed" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test,docs]" >&2
    touch "$VENV/.installed"
fi
# --- ROS 2 launch tooling (launch, launch_ros, launch_pytest, ros2cli) -------------------------
# Not on PyPI: where the checkout has a sibling shared/ros2-tooling/wheels (CI does), install them
# offline so `ros2 launch` works and the launch_pytest tests run; elsewhere those tests skip.
# SWARM_ROS_SHARED names another shared/ folder (e.g. for a git worktree).
install_ros2_tooling() {
    local wheels="${SWARM_ROS_SHARED:-$ROOT/../shared}/ros2-tooling/wheels"
    [ -d "$wheels" ] || return 0
    if [ ! -f "$VENV/.ros2-tooling" ] || [ "$wheels" -nt "$VENV/.ros2-tooling" ]; then
        echo "installing the ROS 2 launch tooling from $wheels ..." >&2
        "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$wheels" \
            ros-ros2launch ros-ros2run ros-ros2topic ros-ros2node ros-ros2param ros-ros2pkg \
            ros-launch-pytest ros-launch-testing-ros >&2
        touch "$VENV/.ros2-tooling"
    fi
}
install_ros2_tooling
# --- swarm_ros_interfaces: the project's messages, built against the rosidl wheels (a no-op
# when up to date; see scripts/build-interfaces) ---------------------------------------------
"$ROOT/scripts/build-interfaces" "$VENV"
# --- end swarm_ros_interfaces ---------------------------------------------------------------
# --- Crazyflie firmware flight code (optional, GPL-3.0, never copied in) -------------------------
# The simulated Crazyflie flies the firmware's own commander and controllers when the `cffirmware`
# bindings are installed. They come as a wheel in the shared folder next to the checkout
# (SWARM_ROS_SHARED overrides where that is); without it the point-mass stand-in flies.
CF_WHEELS="${SWARM_ROS_SHARED:-$ROOT/../shared}/cffirmware"
if compgen -G "$CF_WHEELS/cffirmware-*.whl" >/dev/null && ! "$VENV/bin/python" -c "import cffirmware" 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet --no-index "$CF_WHEELS"/cffirmware-*.whl >&2
fi
# --- end Crazyflie firmware ---------------------------------------------------------------------
# --- RL example (optional): torch's CPU build, then stable-baselines3 ---------------------------
# Only where pip finds the CPU wheel of torch 2.13.0 without an index (this project's machines
# keep it in pip's find-links: a 190 MB wheel, 750 MB installed; 148 s with stable-baselines3 here); a torch from
# PyPI would be the CUDA build of several GB, so elsewhere the step is left out and the example's
# test skips. Only scripts/run-tests asks for it (SWARM_ROS_RL=1; =0 there leaves it out): a
# first `scripts/run-mission` does not wait for torch.
if [ "${SWARM_ROS_RL:-0}" = 1 ] && ! "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('stable_baselines3') is None)" 2>/dev/null; then
    if "$VENV/bin/python" -m pip install --quiet --no-index --no-deps "torch==2.13.0" >/dev/null 2>&1; then
        echo "installing the RL example's torch (CPU) and stable-baselines3 ..." >&2
        "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" -e "$ROOT[rl]" >&2 \
            || echo "note: could not install the rl extra; the SB3 example test will be skipped" >&2
    fi
fi
# --- end RL example ----------------------------------------------------------------------------
# Simulation and tests never send DDS traffic beyond loopback.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
