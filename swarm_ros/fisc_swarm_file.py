"""FISC swarm files: a large FISC-like swarm (1,000+ agents) flown in one process, read strictly.

    name: fisc_thousand
    agents: 1000              # scale the channel so that a rest-density fill holds about this many
    channel: {inlet_width: 8, throat_width: 4, height: 1.2}   # sim/channel.py fields (base sizes)
    law: {spacing: 0.4, inlet_compression: 0.15}             # FiscParams fields (control/fisc.py)
    platform: crazyflie_2.1
    rate: 20                  # steps per simulated second
    duration: 60              # s of simulated time
    speed: 1.0                # real-time factor (0: as fast as it goes)
    view_rate: 5              # PoseArray/MarkerArray per simulated second (ROS node)
    altitude: 1.0             # m, z of a 2-D channel's agents in the published poses
    seed: 0

Flown by the fisc_swarm node (`swarm-ros fisc launch`) or in this process (`swarm-ros fisc
headless`). A fleet mission cannot hold this: one process steps every agent with the batched law,
where a mission runs a controller per drone fed by the simulated radio.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from sim.channel import Channel
from .core.configfile import Choice, ConfigError, Name, Number, Text, load_yaml
from .control.fisc import FiscParams, ParamError
from .core.platforms import PLATFORMS, VehicleParams

POSITIVE = Number(0, lo_open=True)


@dataclass(frozen=True)
class FiscSwarmSpec:
    name: str
    file: str
    channel: Channel
    params: FiscParams
    vehicle: VehicleParams
    rate: float
    duration: float
    speed: float
    view_rate: float
    altitude: float
    seed: int

    def make_sim(self):
        from swarm_ros.control.fisc_swarm import FiscChannelSim
        return FiscChannelSim(self.channel, self.params, self.vehicle, dt=1.0 / self.rate, seed=self.seed)


def load_swarm_file(path: str | Path) -> FiscSwarmSpec:
    top = load_yaml(path, "FISC swarm file")
    name = top.get("name", Name())
    top.get("description", Text(), "")
    law_sec = top.section("law", required=False)
    law = {f.name: law_sec.get(f.name, Number(0)) for f in fields(FiscParams) if law_sec.has(f.name)}
    law_sec.finish()
    try:
        params = FiscParams(**law)
    except ParamError as err:
        raise law_sec.error(err.field, f"got {err.value:g}", err.allowed) from None
    ch_sec = top.section("channel", required=False)
    given = {f.name: ch_sec.get(f.name, POSITIVE) for f in fields(Channel) if ch_sec.has(f.name)}
    ch_sec.finish()
    try:
        channel = Channel(**given)
        agents = top.get("agents", Number(50, 1_000_000, integer=True), None)
        if agents is not None:
            channel = channel.scaled_to(agents, params.spacing)
    except ValueError as err:        # Channel's messages start "channel <field> ..."
        raise ch_sec.error(str(err).split()[1], str(err).split(" ", 2)[2],
                           "sizes > 0, zones no longer than the inlet/outlet lengths") from None
    platform = top.get("platform", Choice(PLATFORMS), "crazyflie_2.1")
    rate = top.get("rate", Number(1, 1000), 20.0)
    spec = FiscSwarmSpec(name, str(Path(path).resolve()), channel, params, PLATFORMS[platform], rate,
                         top.get("duration", POSITIVE), top.get("speed", Number(0), 1.0),
                         top.get("view_rate", Number(0, rate), 5.0), top.get("altitude", POSITIVE, 1.0),
                         top.get("seed", Number(0, integer=True), 0))
    top.finish()
    if channel.height is not None and spec.altitude >= channel.height:
        raise top.error("altitude", f"got {spec.altitude:g}", f"below the channel height {channel.height:g}")
    return spec


def swarm_file_or_exit(path: str) -> FiscSwarmSpec:
    """For nodes: a bad file ends the process with the one-line error (exit code 2)."""
    import sys
    try:
        return load_swarm_file(path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
