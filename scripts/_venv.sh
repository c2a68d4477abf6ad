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
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]" >&2
    touch "$VENV/.installed"
fi
# --- swarm_ros_interfaces: the project's messages, built against the rosidl wheels (a no-op
# when up to date; see scripts/build-interfaces) ---------------------------------------------
"$ROOT/scripts/build-interfaces" "$VENV"
# --- end swarm_ros_interfaces ---------------------------------------------------------------
# Simulation and tests never send DDS traffic beyond loopback.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
