"""Vehicle links: the URI each drone is reached at, and how the simulated vehicles serve them.

A drone's link is its fleet entry's `uri`, unless a link map (YAML `{drone: uri}`, passed with
`--links`) overrides it. Allowed forms:
  radio://<dongle>/<channel 0-125>/<250K|1M|2M>/<address, 10 hex digits>  Crazyflie over Crazyradio
  udp://<host>:<port>   Crazyflie: cflib's UDP driver; PX4: the port its MAVLink instance listens on
  udpin://<host>:<port> PX4: listen where the vehicle sends (PX4 answers only the first address that
                        wrote to it, so a ground station that comes back on a new port must listen)
Simulated vehicles (`swarm-ros vehicles`) listen on each udp:// link as given; a radio:// link
cannot be served by software, so the simulator serves it at udp://127.0.0.1:<port_base + fleet
index> and writes the map it serves for `swarm-ros deploy --links`.
"""
from __future__ import annotations

from pathlib import Path

from ..core.configfile import ConfigError, Text, load_yaml
from ..core.uri import RADIO, UDP, UDPIN
from . import BackendError, backend_class, require_backends

ALLOWED = "radio://<dongle>/<channel 0-125>/<250K|1M|2M>/<10 hex digits>, udp://<host>:<port> or udpin://<host>:<port>"
DEFAULT_PORT_BASE = 19850      # cflib's UDP driver scans 19850-19859


def check_uri(uri: str, drone) -> str | None:
    """The problem with `uri` for `drone` (its autopilot's backend says which links it takes), or None."""
    try:
        cls = backend_class(drone.autopilot)
    except BackendError:           # reported by require_backends, with the platform file
        cls = None
    m = RADIO.match(uri)
    if m:
        if cls is None or "radio" not in cls.link_schemes:
            return (f"{uri!r}: a Crazyradio URI, but the drone is a {drone.platform} "
                    f"(autopilot {drone.autopilot}: udp://<host>:<port>)")
        return None if int(m.group(2)) <= 125 else f"{uri!r}: radio channel {m.group(2)} is above 125"
    m = UDPIN.match(uri)
    if m and (cls is None or "udpin" not in cls.link_schemes):
        return (f"{uri!r}: a MAVLink listening link, but the drone is a {drone.platform} "
                f"(autopilot {drone.autopilot}: udp://<host>:<port>)")
    m = m or UDP.match(uri)
    if m:
        return None if 0 < int(m.group(2)) < 65536 else f"{uri!r}: port {m.group(2)} is not in 1..65535"
    return f"{uri!r} is not a link URI"


def load_link_map(path: str | Path, fleet) -> dict[str, str]:
    """{drone: uri} from a link-map file; every drone named must be in the fleet, every URI valid."""
    top = load_yaml(path, "link map")
    links = {}
    for name in top.keys():
        if name not in fleet.names:
            raise top.error(name, f"drone {name!r} is not in fleet {fleet.name!r}", "drones " + ", ".join(fleet.names))
        uri = top.get(name, Text())
        problem = check_uri(uri, fleet.by_name(name))
        if problem:
            raise top.error(name, problem, ALLOWED)
        links[name] = uri
    top.finish()
    return links


def fleet_links(fleet, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every drone's link; a drone with none, or of an autopilot no backend flies, is an error."""
    require_backends(fleet)
    overrides = overrides or {}
    out = {}
    for d in fleet.drones:
        uri = overrides.get(d.name, d.uri)
        if not uri:
            raise ConfigError(fleet.file, f"drones.{d.name}.uri", "missing: the drone has no link", ALLOWED)
        problem = check_uri(uri, d)
        if problem:
            raise ConfigError(fleet.file, f"drones.{d.name}.uri", problem, ALLOWED)
        out[d.name] = uri
    return out


def served_links(fleet, overrides: dict[str, str] | None = None, port_base: int = DEFAULT_PORT_BASE) -> dict[str, str]:
    """The udp:// link the simulator serves for each drone (radio links moved to loopback ports)."""
    links = fleet_links(fleet, overrides)
    return {d.name: links[d.name] if UDP.match(links[d.name]) else f"udp://127.0.0.1:{port_base + d.index}"
            for d in fleet.drones}


def write_link_map(path: str | Path, links: dict[str, str]) -> None:
    Path(path).write_text("".join(f"{name}: \"{uri}\"\n" for name, uri in links.items()))
