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
# --- Crazyflie firmware flight code (optional, GPL-3.0, never copied in) -------------------------
# The simulated Crazyflie flies the firmware's own commander and controllers when the `cffirmware`
# bindings are installed. They come as a wheel in the shared folder next to the checkout
# (SWARM_ROS_SHARED overrides where that is); without it the point-mass stand-in flies.
CF_WHEELS="${SWARM_ROS_SHARED:-$ROOT/../shared}/cffirmware"
if compgen -G "$CF_WHEELS/cffirmware-*.whl" >/dev/null && ! "$VENV/bin/python" -c "import cffirmware" 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet --no-index "$CF_WHEELS"/cffirmware-*.whl >&2
fi
# --- end Crazyflie firmware ---------------------------------------------------------------------
# Simulation and tests never send DDS traffic beyond loopback.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
