"""What PX4 (v1.16) does when a swarm link goes quiet, from its failsafe parameters.

A link that goes out stops both the setpoint stream and the ground-station heartbeats, so two
PX4 failsafes follow each other: offboard loss after COM_OF_LOSS_T s (action COM_OBL_RC_ACT), and
data-link loss after COM_DL_LOSS_T s (action NAV_DLL_ACT). PX4 holds for COM_FAIL_ACT_T s
before a land action. Measured on PX4 v1.16 SIH: with COM_OBL_RC_ACT = 0 (position mode) and
no RC, PX4 descends and lands while its heartbeat still says POSCTL; with 5 it holds.

Preflight accepts settings that hold or land where the vehicle is, and refuses those that drop
the vehicle (terminate, disarm), leave it to sticks nobody holds (stabilized) or fly it home at
RTL_RETURN_ALT across the swarm (return).
"""
from __future__ import annotations

import math

FAILSAFE_PARAMS = ("COM_OF_LOSS_T", "COM_OBL_RC_ACT", "COM_DL_LOSS_T", "NAV_DLL_ACT", "COM_FAIL_ACT_T")
INT_PARAMS = {"COM_OBL_RC_ACT", "COM_DL_LOSS_T", "NAV_DLL_ACT", "MAV_SYS_ID"}

OFFBOARD_LOSS = {0: "position mode", 1: "altitude mode", 2: "stabilized", 3: "return", 4: "land", 5: "hold",
                 6: "terminate", 7: "disarm"}
LINK_LOSS = {0: "disabled", 1: "hold", 2: "return", 3: "land", 5: "terminate", 6: "disarm"}
OFFBOARD_LANDS = {0, 1, 4}      # without RC, position/altitude mode descend and land (measured)
OFFBOARD_OK = {0, 1, 4, 5}
LINK_LANDS = {3}
LINK_OK = {0, 1, 3}
FIX = "set COM_OBL_RC_ACT=5 (hold) or 4 (land) and NAV_DLL_ACT=3 (land)"


def failsafe_timeouts(p: dict) -> tuple[float, float]:
    """(hold after, land after) in s of link loss; inf where PX4 would not land."""
    of_t, fail_t = p.get("COM_OF_LOSS_T", math.nan), p.get("COM_FAIL_ACT_T", 0.0)
    obl, dll = p.get("COM_OBL_RC_ACT"), p.get("NAV_DLL_ACT")
    if obl in OFFBOARD_LANDS:
        return of_t, of_t + (fail_t if obl == 4 else 0.0)
    if dll in LINK_LANDS:
        return of_t, p.get("COM_DL_LOSS_T", math.nan) + fail_t
    return of_t, math.inf


def failsafe_problems(p: dict) -> list[str]:
    """One line per failsafe setting that would not hold or land the vehicle where it is."""
    out = []
    missing = [n for n in FAILSAFE_PARAMS if n not in p]
    if missing:
        return [f"failsafe parameters {', '.join(missing)} not readable (not a PX4 v1.14+ autopilot?)"]
    obl, dll = int(p["COM_OBL_RC_ACT"]), int(p["NAV_DLL_ACT"])
    if obl not in OFFBOARD_OK:
        out.append(f"offboard-loss action COM_OBL_RC_ACT={obl} ({OFFBOARD_LOSS.get(obl, 'unknown')}) would not hold "
                   f"or land the vehicle where it is: {FIX}")
    if dll not in LINK_OK:
        out.append(f"data-link-loss action NAV_DLL_ACT={dll} ({LINK_LOSS.get(dll, 'unknown')}) would not hold "
                   f"or land the vehicle where it is: {FIX}")
    return out
