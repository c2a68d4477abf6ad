"""The grammar of vehicle link URIs, shared by the hardware backends and the simulated vehicles.

  radio://<dongle>/<channel 0-125>/<250K|1M|2M>/<address, 10 hex digits>  Crazyflie over Crazyradio
  udp://<host>:<port>   Crazyflie: cflib's UDP driver; PX4: the vehicle's MAVLink UDP port
  udpin://<host>:<port> PX4: listen there for the vehicle (PX4 answers only the first address
                        that writes to it, so a backend that listens survives reconnecting)
"""
from __future__ import annotations

import re

RADIO = re.compile(r"^radio://(\d+)/(\d+)/(250K|1M|2M)/([0-9A-Fa-f]{10})$")
UDP = re.compile(r"^udp://([A-Za-z0-9.\-]+):(\d+)$")
UDPIN = re.compile(r"^udpin://([A-Za-z0-9.\-]+):(\d+)$")


def udp_address(uri: str) -> tuple[str, int] | None:
    """(host, port) of a udp:// URI, None for any other."""
    m = UDP.match(uri)
    return (m.group(1), int(m.group(2))) if m else None


def listen_address(uri: str) -> tuple[str, int] | None:
    """(host, port) of a udpin:// URI, None for any other."""
    m = UDPIN.match(uri)
    return (m.group(1), int(m.group(2))) if m else None
