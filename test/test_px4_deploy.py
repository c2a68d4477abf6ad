"""`swarm-ros vehicles --px4 sih` and `swarm-ros deploy` with the real PX4 v1.16 (SITL + SIH,
../shared/px4-sih): the mixed first_flight mission (X500s on real PX4, Crazyflies on the simulated
CRTP vehicle) flies without a collision by the simulators' ground truth, and a link cut in flight
ends the deployment as failed while PX4 holds and lands by itself."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import yaml

from hwutil import FIRST_FLIGHT, UdpRelay, pair_mission, wait_for
from swarm_ros.launching import ISOLATION
from swarm_ros.mission import load_mission

px4_sih = pytest.importorskip("sim.vehicles.px4_sih")
try:
    DIST = px4_sih.find_px4()
except px4_sih.Px4NotFound as err:
    pytest.skip(f"real PX4 not available: {err}", allow_module_level=True)


def swarm_ros(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_first_flight_with_real_px4_and_firmware_crazyflies_flies_without_collisions(tmp_path, ros_env):
    links, truth = tmp_path / "links.yaml", tmp_path / "truth.json"
    port_base = 19900 + 10 * (os.getpid() % 50)          # Crazyflie ports of this run
    vehicles = swarm_ros("vehicles", str(FIRST_FLIGHT), "--px4", "sih", "--links-out", str(links), "--json", str(truth),
                         "--run-dir", str(tmp_path / "vehicles"), "--port-base", str(port_base), env=ros_env)
    try:
        assert wait_for(links.exists, 90.0, step=0.2), "vehicles did not write the link map"
        served = yaml.safe_load(links.read_text())
        assert served["x1"].startswith("udpin://127.0.0.1:1454") and served["cf1"] == f"udp://127.0.0.1:{port_base}"
        # PX4's GPS-based estimate starts up to ~0.5 m off its pad (SIH's simulated GPS)
        deploy = swarm_ros("deploy", str(FIRST_FLIGHT), "--backend", "mixed", "--links", str(links), "--connect-timeout",
                           "10", "--pad-tolerance", "1.0", "--run-dir", str(tmp_path / "run"), "--json", str(tmp_path / "deploy.json"),
                           "--no-record", env=ros_env)
        out, _ = deploy.communicate(timeout=240)
    finally:
        vehicles.send_signal(signal.SIGINT)                  # Ctrl-C: it stops every PX4 it started
        served_out, _ = vehicles.communicate(timeout=30)
    px4_logs = "".join(f"\n--- {n}:\n" + "\n".join((tmp_path / "vehicles" / f"px4_{n}" / "px4.log").read_text(
        errors="replace").splitlines()[-15:]) for n in ("x1", "x2"))
    assert deploy.returncode == 0, out[-3000:] + px4_logs
    assert vehicles.returncode == 0, served_out[-2000:]
    from sim.vehicles.cf_firmware import STAND_IN, firmware    # the Crazyflies fly the firmware's flight code
    assert f"Crazyflies fly: {'firmware mellinger' if firmware() else STAND_IN}" in served_out, served_out[-2000:]
    deployed = json.loads((tmp_path / "deploy.json").read_text())
    assert deployed["outcome"] == "completed" and all(d["landed"] for d in deployed["drones"])
    summary = json.loads(truth.read_text())                   # SIH's truth for the X500s, the CRTP vehicles' for the rest
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0, summary["collision_events"]
    for d in summary["drones"]:
        assert d["landed"] and d["distance"] > 2.0, d        # up, into the ring, down
        assert d["autopilot"] == ("px4" if d["name"].startswith("x") else "simulated"), d
    for name in ("x1", "x2"):                                 # each PX4's working folder, in the run folder
        assert (tmp_path / "vehicles" / f"px4_{name}" / "px4.log").is_file()
        assert not list((tmp_path / "vehicles" / f"px4_{name}").rglob("*.ulg"))       # no flight logs by default
    pids = [int(p) for p in subprocess.run(["pgrep", "-f", str(tmp_path / "vehicles")], capture_output=True,
                                           text=True).stdout.split()]
    assert pids == [], "a PX4 of this test outlived `swarm-ros vehicles`"
    shutil.rmtree(tmp_path / "vehicles")                      # PX4's working folders (parameters, dataman)


def test_link_cut_in_flight_fails_the_deployment_and_px4_holds_then_lands_by_itself(tmp_path, ros_domain, monkeypatch):
    """x1 is the real PX4 behind a radio that goes out once it is up: deploy ends as failed naming x1
    and lands cf1 (simulated); PX4 holds (COM_OBL_RC_ACT = 5) and lands on data-link loss
    (NAV_DLL_ACT = 3, COM_DL_LOSS_T = 3 s, COM_FAIL_ACT_T = 5 s), by SIH's ground truth."""
    from rich.console import Console
    from sim.vehicles.server import VehicleServer
    from sim.vehicles.autopilot import Failsafe
    from swarm_ros.deploy import close_all, fly, make_backends, preflight
    from swarm_ros.hardware.preflight import Limits
    from hwutil import loopback_links
    for key, value in ISOLATION.items():
        monkeypatch.setenv(key, value)
    path = pair_mission(tmp_path / "pair")
    path.write_text(path.read_text().replace("duration: 8", "duration: 14"))    # PX4 spools up before it climbs
    pair = load_mission(path)
    x1 = pair.fleet.by_name("x1")
    fleet = px4_sih.Px4SihFleet([x1], tmp_path / "px4", params={"COM_OBL_RC_ACT": 5, "NAV_DLL_ACT": 3,
                                                                "COM_DL_LOSS_T": 3}).start()
    relay = None
    try:
        i = fleet.vehicles["x1"].instance
        relay = UdpRelay(("127.0.0.1", px4_sih.OFFBOARD_PORT + i), ("127.0.0.1", px4_sih.API_PORT + i))
        links = dict(loopback_links(["cf1"]), x1=f"udp://127.0.0.1:{relay.port}")
        truth = lambda: fleet.truth.snapshot()[0][0]            # noqa: E731
        ground = truth().copy()
        heights: list[tuple[float, float]] = []

        def cut_when_up():
            if wait_for(lambda: truth()[2] - ground[2] > 0.5, 60.0, step=0.05):
                relay.cut.set()
                t0 = time.monotonic()
                while time.monotonic() - t0 < 45.0:
                    heights.append((time.monotonic() - t0, float(truth()[2] - ground[2])))
                    time.sleep(0.1)
        only_cf = dataclasses.replace(pair, fleet=dataclasses.replace(pair.fleet, drones=(pair.fleet.by_name("cf1"),)))
        with VehicleServer(only_cf, links, Failsafe(land_speed=1.0)) as server:
            backends = make_backends(pair, "mixed", links)
            cutter = threading.Thread(target=cut_when_up, daemon=True)
            try:
                _checks, problems = preflight(pair, backends, Limits(connect_timeout=10.0))
                assert problems == []
                cutter.start()
                out = io.StringIO()
                summary = fly(pair, backends, console=Console(file=out, width=200), domain_id=ros_domain,
                              run_dir=tmp_path / "run", record=False)
            finally:
                close_all(backends)
            cf = {d["name"]: d for d in server.summary()["drones"]}["cf1"]
        cutter.join(timeout=60.0)
    finally:
        if relay is not None:
            relay.close()
        fleet.stop(remove=True)
    assert summary["outcome"] == "failed: link lost to x1", out.getvalue()[-2000:]
    assert cf["landed"] and not cf["armed"] and "land" in [e for _, e in cf["events"]], cf
    t, z = np.array(heights).T
    assert z[0] > 0.4
    assert (z[t < 3.0] > z[0] - 0.4).all(), heights          # holds: the offboard-loss action, not a fall
    assert z[-1] < 0.3, heights                              # then lands by itself, COM_DL_LOSS_T after the cut
    down = t[np.argmax(z < 0.3)]
    assert down > 3.0, heights                               # not before the data-link loss was declared
