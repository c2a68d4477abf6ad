"""`swarm-ros deploy` against simulated vehicles: preflight, one-line errors with nothing armed,
Ctrl-C lands every vehicle, and the mixed first_flight mission (4 Crazyflies through cflib, 2
X500s through MAVLink, drone nodes over real rclpy/DDS) flies end to end without a collision."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from hwutil import FIRST_FLIGHT, free_ports, loopback_links, pair_mission, wait_for, write_links
from sim.vehicles.autopilot import Failsafe
from sim.vehicles.server import VehicleServer
from swarm_ros.hardware.px4 import Px4Backend
from swarm_ros.launching import ISOLATION
from swarm_ros.mission import load_mission


@pytest.fixture(scope="module")
def mission():
    return load_mission(FIRST_FLIGHT)


def run_main(argv) -> int:
    from swarm_ros.cli import main
    previous = signal.getsignal(signal.SIGTERM)
    try:
        return main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def deploy_args(links_file, *extra):
    return ["deploy", str(FIRST_FLIGHT), "--backend", "mixed", "--links", str(links_file), "--connect-timeout", "2",
            *extra]


def served(mission, links, **kw):
    return VehicleServer(mission, links, Failsafe(land_speed=1.0), **kw)


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error: preflight: ")]


def test_dry_run_checks_every_vehicle_and_arms_nothing(mission, tmp_path, capsys):
    links = loopback_links(mission.fleet.names)
    with served(mission, links) as server:
        code = run_main(deploy_args(write_links(tmp_path / "links.yaml", links), "--dry-run"))
        summary = server.summary()
    out = capsys.readouterr().out
    assert code == 0 and "preflight passed; dry run: nothing armed" in out
    assert all(name in out for name in mission.fleet.names) and "FAIL" not in out
    assert summary["ever_armed"] == [] and all(d["mode"] == "idle" for d in summary["drones"])


def test_unreachable_vehicle_fails_preflight_in_one_line_and_nothing_arms(mission, tmp_path, capsys):
    links = loopback_links(mission.fleet.names)
    wrong = dict(links, cf3=f"udp://127.0.0.1:{free_ports(1)[0]}")      # nobody answers there
    with served(mission, links) as server:
        code = run_main(deploy_args(write_links(tmp_path / "links.yaml", wrong)))     # not a dry run
        summary = server.summary()
    out, err = capsys.readouterr()
    assert code == 1
    assert "nan" not in out and "unreachable" in next(line for line in out.splitlines() if "cf3" in line), out
    assert error_lines(err) == [f"error: preflight: cf3 ({wrong['cf3']}): no vehicle answers there (connection refused)"]
    assert "no vehicle was armed" in err
    assert summary["ever_armed"] == []


def test_low_battery_and_swapped_links_fail_preflight(mission, tmp_path, capsys):
    links = loopback_links(mission.fleet.names)
    swapped = dict(links, cf1=links["cf2"], cf2=links["cf1"])   # each link reaches the other vehicle
    with served(mission, links, battery={"x2": 12.0}) as server:
        code = run_main(deploy_args(write_links(tmp_path / "links.yaml", swapped)))
        summary = server.summary()
    lines = error_lines(capsys.readouterr().err)
    assert code == 1 and len(lines) == 3
    assert any(line.startswith(f"error: preflight: x2 ({links['x2']}): battery 12 %") for line in lines)
    for name in ("cf1", "cf2"):
        assert any(line.startswith(f"error: preflight: {name} ") and "1.00 m from its start pad" in line for line in lines)
    assert summary["ever_armed"] == []


def test_swapped_px4_links_fail_preflight_on_the_mavlink_system_id(mission, tmp_path, capsys):
    """PX4 reports positions from its own pad, so a swapped vehicle looks on-pad; its system id does not."""
    links = loopback_links(mission.fleet.names)
    swapped = dict(links, x1=links["x2"], x2=links["x1"])
    with served(mission, links) as server:
        code = run_main(deploy_args(write_links(tmp_path / "links.yaml", swapped)))     # not a dry run
        summary = server.summary()
    lines = error_lines(capsys.readouterr().err)
    assert code == 1 and len(lines) == 2, lines
    for name, other, heard, expected in (("x1", "x2", 2, 1), ("x2", "x1", 1, 2)):
        assert any(line.startswith(f"error: preflight: {name} ({links[other]}): heartbeat from MAVLink system {heard} "
                                   f"({other}'s), expected {name}'s {expected}: wrong vehicle") for line in lines), lines
    assert summary["ever_armed"] == []


@pytest.mark.parametrize("entry, problem", [
    ({"cf1": "radio://0/80/2M/E7E7E7"}, "cf1: 'radio://0/80/2M/E7E7E7' is not a link URI"),
    ({"x1": "radio://0/80/2M/E7E7E7E701"}, "x1: 'radio://0/80/2M/E7E7E7E701': a Crazyradio URI, but the drone is a px4_x500"),
    ({"cf9": "udp://127.0.0.1:19850"}, "cf9: drone 'cf9' is not in fleet 'mixed_lab'"),
    ({"cf1": "udpin://127.0.0.1:14540"}, "cf1: 'udpin://127.0.0.1:14540': a MAVLink listening link, but the drone is a "
                                         "crazyflie_2.1"),
])
def test_bad_link_map_is_a_one_line_error_naming_file_and_drone(tmp_path, capsys, entry, problem):
    links = write_links(tmp_path / "links.yaml", entry)
    assert run_main(deploy_args(links, "--dry-run")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {links}: {problem}") and "\n" not in err


def test_backend_must_match_every_drone(capsys):
    assert run_main(["deploy", str(FIRST_FLIGHT), "--backend", "crazyflie", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--backend crazyflie cannot fly x1 (px4_x500), x2 (px4_x500)" in err and "\n" not in err


def odometry_in_bag(bag_dir) -> dict[str, list[float]]:
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    (mcap_file,) = bag_dir.glob("*.mcap")
    out: dict[str, list[float]] = {}
    with open(mcap_file, "rb") as f:
        for _s, channel, _m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            if channel.topic.endswith("/odom"):
                out.setdefault(channel.topic.split("/")[1], []).append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
    return out


def start_deploy(links_file, tmp_path, ros_env, *extra):
    return subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", *deploy_args(links_file, "--run-dir", str(tmp_path / "run"),
                                                                                  "--json", str(tmp_path / "deploy.json"), *extra)],
                            env=ros_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout: float) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()                      # this test's own child, by its pid
        out, _ = proc.communicate()
    return proc.returncode, out


def test_ctrl_c_lands_every_vehicle(mission, tmp_path, ros_env):
    links = loopback_links(mission.fleet.names)
    with served(mission, links) as server:
        proc = start_deploy(write_links(tmp_path / "links.yaml", links), tmp_path, ros_env)
        try:
            airborne = wait_for(lambda: (server.ap.position[:, 2] > 0.5).all(), 60.0, step=0.1)
        finally:
            os.kill(proc.pid, signal.SIGINT)
        code, out = finish(proc, 60)
        summary = server.summary()
    assert airborne, out[-3000:]
    assert code == 130, out[-3000:]
    assert "interrupted: landing every vehicle" in out
    for d in summary["drones"]:
        kinds = [e for _, e in d["events"]]
        assert d["landed"] and not d["armed"] and "land" in kinds and "stopped" not in kinds, d
    deployed = json.loads((tmp_path / "deploy.json").read_text())
    assert deployed["outcome"] == "interrupted" and deployed["mission_time"] < mission.phases.task_end


class FaultyPx4(Px4Backend):
    """A driver fault that is not a LinkError: velocity setpoints raise once the vehicle is up."""
    def velocity(self, v) -> None:
        if self.state().position[2] - self.start[2] > 0.3:
            raise RuntimeError("driver fault (injected)\nsecond line")
        super().velocity(v)


def test_unexpected_fault_in_flight_still_lands_every_armed_vehicle(tmp_path, ros_domain, monkeypatch):
    """Not only link errors: any exception in the mission loop (here raised in the bridge's callback,
    out of the executor's spin) lands every vehicle before the links close."""
    import io
    from rich.console import Console
    from swarm_ros.deploy import close_all, fly, make_backends, preflight
    from swarm_ros.hardware.preflight import Limits
    for key, value in ISOLATION.items():
        monkeypatch.setenv(key, value)                   # fly() sets these; put them back afterwards
    pair = load_mission(pair_mission(tmp_path / "pair"))
    links = loopback_links(pair.fleet.names)
    with served(pair, links) as server:
        backends = make_backends(pair, "mixed", links)
        backends["x1"] = FaultyPx4(pair.fleet.by_name("x1"), links["x1"])
        try:
            _checks, problems = preflight(pair, backends, Limits(connect_timeout=5.0))
            assert problems == []
            out = io.StringIO()
            summary = fly(pair, backends, console=Console(file=out, width=200), domain_id=ros_domain,
                          run_dir=tmp_path / "run", record=False)
        finally:
            close_all(backends)
        truth = server.summary()
    assert summary["outcome"] == "failed: RuntimeError: driver fault (injected)", out.getvalue()[-2000:]
    assert "driver fault (injected)" in (tmp_path / "run" / "logs" / "deploy_error.log").read_text()
    for d in truth["drones"]:
        kinds = [e for _, e in d["events"]]
        assert "velocity" in kinds and "land" in kinds and "stopped" not in kinds, d     # flew, then landed
        assert d["landed"] and not d["armed"], d


def test_link_lost_in_flight_lands_the_others_and_the_lost_vehicle_lands_by_its_failsafe(tmp_path, ros_domain,
                                                                                        monkeypatch):
    """The radio to x1 goes out in flight: deploy ends as failed naming x1, lands the vehicle it can
    still reach through its own landing, and x1 (unreachable) hovers then lands on its failsafe.
    Drone nodes run one process per vehicle here (`--per-drone-processes`), as on a companion computer."""
    import io
    import threading
    from rich.console import Console
    from swarm_ros.deploy import close_all, fly, make_backends, preflight
    from swarm_ros.hardware.preflight import Limits
    for key, value in ISOLATION.items():
        monkeypatch.setenv(key, value)
    pair = load_mission(pair_mission(tmp_path / "pair"))
    links = loopback_links(pair.fleet.names)
    with served(pair, links) as server:
        k = server.names.index("x1")
        up = lambda: server.ap.position[k, 2] > 0.5          # noqa: E731
        cutter = threading.Thread(target=lambda: wait_for(up, 30.0, step=0.05) and server.cut("x1"), daemon=True)
        backends = make_backends(pair, "mixed", links)
        try:
            _checks, problems = preflight(pair, backends, Limits(connect_timeout=5.0))
            assert problems == []
            cutter.start()
            out = io.StringIO()
            summary = fly(pair, backends, console=Console(file=out, width=200), domain_id=ros_domain,
                          per_drone_processes=True, run_dir=tmp_path / "run", record=False)
        finally:
            close_all(backends)
        cutter.join(timeout=1.0)
        assert wait_for(lambda: server.summary()["drones"][k]["landed"], 20.0), server.summary()["drones"][k]
        truth = {d["name"]: d for d in server.summary()["drones"]}
    assert summary["outcome"] == "failed: link lost to x1", out.getvalue()[-2000:]
    cf, x = ([e for _, e in truth[n]["events"]] for n in ("cf1", "x1"))
    assert "land" in cf and "stopped" not in cf and truth["cf1"]["landed"] and not truth["cf1"]["armed"], truth["cf1"]
    assert "hover" in x and "land" in x and "stopped" not in x, truth["x1"]        # its own failsafe, in that order
    assert x.index("hover") < x.index("land") and truth["x1"]["landed"], truth["x1"]
    assert "velocity" in cf and "velocity" in x                 # both flown by their own drone-node process
    assert len(list((tmp_path / "run" / "logs").glob("*drone*.log"))) == 2


def test_mixed_mission_flies_end_to_end_without_collisions(mission, tmp_path, ros_env):
    """With the firmware bindings installed the Crazyflies fly the firmware's Mellinger controller."""
    from sim.vehicles.cf_firmware import STAND_IN, firmware
    links = loopback_links(mission.fleet.names)
    with served(mission, links) as server:
        assert server.cf_flight == ("firmware mellinger" if firmware() else STAND_IN)
        proc = start_deploy(write_links(tmp_path / "links.yaml", links), tmp_path, ros_env)
        code, out = finish(proc, 120)
        summary = server.summary()
    assert code == 0, out[-3000:]
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0
    assert summary["bad_packets"] == []
    deployed = json.loads((tmp_path / "deploy.json").read_text())
    assert deployed["outcome"] == "completed" and deployed["collisions"] == 0
    for d in summary["drones"]:
        assert d["landed"] and not d["armed"] and d["distance"] > 3.0, d     # up, around the ring, down
        assert "velocity" in [e for _, e in d["events"]], d                  # flown by the drone node's setpoints
    assert (tmp_path / "run" / "logs" / "00_drones.log").is_file()           # the drone nodes ran as processes
    odom = odometry_in_bag(tmp_path / "run" / "bag")                         # read by mcap, not by us
    for name in mission.fleet.names:
        stamps = sorted(odom[name])
        assert len(stamps) > 0.8 * mission.ticks and stamps[-1] >= mission.duration - 0.5, name
    # late ticks depend on the machine's load: counted and reported, not a pass mark (no timing in tests)
    assert all(isinstance(d["late_ticks"], int) and 0 <= d["late_ticks"] <= mission.ticks for d in deployed["drones"])


def test_vehicles_serves_a_fleet_and_writes_the_link_map_and_ground_truth(mission, tmp_path, capsys):
    ports = free_ports(2)
    overrides = write_links(tmp_path / "in.yaml", {"x1": f"udp://127.0.0.1:{ports[0]}", "x2": f"udp://127.0.0.1:{ports[1]}"})
    base = free_ports(1)[0]
    out_map, truth = tmp_path / "links.yaml", tmp_path / "truth.json"
    code = run_main(["vehicles", str(FIRST_FLIGHT), "--links", str(overrides), "--port-base", str(base),
                     "--links-out", str(out_map), "--duration", "0.3", "--json", str(truth)])
    assert code == 0
    import yaml
    served_map = yaml.safe_load(out_map.read_text())
    assert served_map["cf1"] == f"udp://127.0.0.1:{base}" and served_map["cf4"] == f"udp://127.0.0.1:{base + 3}"
    assert served_map["x2"] == f"udp://127.0.0.1:{ports[1]}"
    summary = json.loads(truth.read_text())
    assert summary["collisions"] == 0 and [d["name"] for d in summary["drones"]] == mission.fleet.names


def test_vehicles_bad_input_is_one_line(mission, tmp_path, capsys):
    assert run_main(["vehicles", str(FIRST_FLIGHT), "--battery", "cf9=50", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --battery 'cf9=50': expected DRONE=LEVEL") and "\n" not in err
    links = loopback_links(mission.fleet.names)
    with served(mission, links):                 # the ports are taken
        code = run_main(["vehicles", str(FIRST_FLIGHT), "--links", str(write_links(tmp_path / "l.yaml", links)),
                         "--duration", "0.1"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == f"error: cannot serve cf1 at {links['cf1']}: Address already in use"


def test_radio_links_without_a_reachable_crazyflie_fail_in_one_line_each(mission, tmp_path, capsys):
    """The fleet's own radio:// URIs: no dongle here (or, with one, no Crazyflie answering)."""
    ports = free_ports(2)
    links = write_links(tmp_path / "links.yaml", {"x1": f"udp://127.0.0.1:{ports[0]}", "x2": f"udp://127.0.0.1:{ports[1]}"})
    assert run_main(["deploy", str(FIRST_FLIGHT), "--backend", "mixed", "--links", str(links), "--dry-run",
                     "--connect-timeout", "1"]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 6
    for d in mission.fleet.drones:
        uri = d.uri if d.uri.startswith("radio://") else f"udp://127.0.0.1:{ports[d.index - 4]}"
        assert any(line.startswith(f"error: preflight: {d.name} ({uri}): ") for line in lines), d.name


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_vehicles_with_real_px4_but_no_px4_build_says_where_to_get_it(tmp_path, capsys, monkeypatch, how):
    nowhere = tmp_path / "no-px4"
    extra = ["--px4-dir", str(nowhere)] if how == "flag" else []
    monkeypatch.setenv("PX4_SIH_DIR", str(nowhere if how == "environment" else tmp_path / "unused"))
    assert run_main(["vehicles", str(FIRST_FLIGHT), "--px4", "sih", "--duration", "0.1", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no PX4 SITL build at {nowhere}: build PX4-Autopilot v1.16") and "\n" not in err
    assert "--px4-dir" in err and "PX4_SIH_DIR" in err
