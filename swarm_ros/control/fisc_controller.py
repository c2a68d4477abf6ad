"""The FISC-like law (fisc.py) on the controller contract, for fleets that run it drone by drone.

Each drone computes its command from its own state and the agents listed in its Observations'
neighbours: their positions and velocities, all the law uses of other agents. In this stack
those rows arrive as beacons of the simulated radio; a FISC mission should give them the
reach of an on-board relative-position sensor (radio range >= 2h, no loss), and the beacons then
stand in for what each drone would sense: no agent state beyond that is used. In a 2-D channel
the drones fly the plane at `altitude` (z is held by a proportional term); in a 3-D channel all
three axes follow the law. Mission files:

    roles:
      fluid:
        controller: fisc
        params:
          channel: {inlet_width: 2.4, throat_width: 1.2, ...}   # sim/channel.py fields (m)
          spacing: 0.4            # and any other FiscParams field (control/fisc.py)
          altitude: 1.0           # m, flight level in a 2-D channel

The channel is fixed in the world frame: its back wall at x = 0, symmetric about y = 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from sim.channel import Channel
from swarm_ros.core.configfile import ConfigError, Number, Section
from .contract import Controller, Observations
from .fisc import FiscParams, Limits, ParamError, fisc_step_agent

CHANNEL_FIELDS = tuple(f.name for f in fields(Channel))


@dataclass(frozen=True)
class FiscSetup:
    channel: Channel = field(default_factory=Channel)
    fisc: FiscParams = field(default_factory=FiscParams)
    altitude: float = 1.0            # m, flight level in a 2-D channel

    @classmethod
    def read(cls, sec: Section) -> "FiscSetup":
        ch = sec.section("channel", required=False)
        given = {f: ch.get(f, Number(0, lo_open=True)) for f in CHANNEL_FIELDS if ch.has(f)}
        ch.finish()
        try:
            channel = Channel(**given)
        except ValueError as err:       # Channel's messages start "channel <field> ..."
            raise ch.error(str(err).split()[1], str(err).split(" ", 2)[2],
                           "sizes > 0, zones no longer than the inlet/outlet lengths") from None
        law = {f.name: sec.get(f.name, Number(0), getattr(FiscParams, f.name)) for f in fields(FiscParams)
               if sec.has(f.name)}
        try:
            fisc = FiscParams(**law)
        except ParamError as err:
            raise sec.error(err.field, f"got {err.value:g}", err.allowed) from None
        altitude = sec.get("altitude", Number(0, lo_open=True), cls.altitude)
        sec.finish()
        if channel.height is not None and altitude >= channel.height:
            raise sec.error("altitude", f"got {altitude:g}", f"below the channel height {channel.height:g}")
        return cls(channel, fisc, altitude)


class FiscController(Controller):
    Params = FiscSetup

    @classmethod
    def bind(cls, params: FiscSetup, role) -> FiscSetup:
        """Drones start inside their channel, and what they receive reaches two smoothing lengths."""
        ch, reach, radio = params.channel, 2.0 * params.fisc.h, role.radio
        need = (f"at least 2h = {reach:g} m: the fisc law of role {role.name!r} needs the agents within two "
                "smoothing lengths")
        if radio.range is not None and radio.range < reach:
            raise role.top.error("radio.range", f"got {radio.range:g}", need)
        for d in role.drones:
            at = [d.start[0], d.start[1]] + ([0.5 * ch.height] if ch.dim == 3 else [])
            if float(ch.clearance(np.array([at], float))[0]) < d.vehicle.body_radius:
                raise ConfigError(role.fleet.file, f"drones.{d.name}.start", f"{list(d.start)} is outside the "
                                  f"channel of role {role.name!r}", "a start inside the channel, the body radius "
                                  "from its walls")
            if d.vehicle.radio_range < reach:
                raise ConfigError(role.fleet.file, f"drones.{d.name}.radio_range", f"got {d.vehicle.radio_range:g}",
                                  need)
        return params

    def step_batch(self, obs: Observations) -> np.ndarray:
        setup: FiscSetup = self.params
        dim = setup.channel.dim
        out = np.zeros((obs.n, 3))
        nb = obs.neighbours
        for i in range(obs.n):
            rows = slice(nb.offsets[i], nb.offsets[i + 1])
            v = self.vehicles[i]
            lim = Limits(v.max_speed, v.max_accel, v.response_time, v.max_climb, v.max_descent)
            cmd, _ = fisc_step_agent(obs.position[i, :dim], obs.velocity[i, :dim], nb.position[rows, :dim],
                                     nb.velocity[rows, :dim], setup.channel, setup.fisc, lim)
            out[i, :dim] = cmd
            if dim == 2:
                out[i, 2] = np.clip((setup.altitude - obs.position[i, 2]) / (2.0 * v.response_time),
                                    -v.max_descent, v.max_climb)
        return out
