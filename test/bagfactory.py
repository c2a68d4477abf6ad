"""Bags with known contents for the analysis tests, written with rosbags' Writer as the recorder
does (version 9, MCAP or sqlite3, our custom metadata when asked)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from swarm_ros.nodes.cdr import encode_odometry

STORE = get_typestore(Stores.ROS2_KILTED)
PLUGINS = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
WALL0 = 1_700_000_000_000_000_000     # log times: a wall clock, offset from the header stamps


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def string_cdr(text: str) -> bytes:
    return STORE.serialize_cdr(STORE.types["std_msgs/msg/String"](data=text), "std_msgs/msg/String")


def multiarray_cdr(labels, numbers_per_label: int = 3) -> bytes:
    T = STORE.types
    dims = [T["std_msgs/msg/MultiArrayDimension"](label=s, size=numbers_per_label, stride=numbers_per_label)
            for s in labels]
    msg = T["std_msgs/msg/Float64MultiArray"](layout=T["std_msgs/msg/MultiArrayLayout"](dim=dims, data_offset=0),
                                              data=np.arange(numbers_per_label * len(labels), dtype=float))
    return STORE.serialize_cdr(msg, "std_msgs/msg/Float64MultiArray")


def write_bag(path: Path, t: np.ndarray, pos: dict, storage: str = "mcap", metadata: dict | None = None,
              extra: list | None = None) -> Path:
    """Odometry of each drone (name -> (T, 3) positions at times t), plus extra messages
    [(topic, type, time s, cdr bytes)]. Log times are wall-like and a little late."""
    w = Writer(Path(path), version=9, storage_plugin=PLUGINS[storage])
    for key, value in (metadata or {}).items():
        w.set_custom_data(f"swarm_ros.{key}", value if isinstance(value, str) else json.dumps(value))
    w.open()
    conns, rows = {}, []
    for name, p in pos.items():
        topic = f"/{name}/odom"
        conns[topic] = w.add_connection(topic, "nav_msgs/msg/Odometry", typestore=STORE)
        for k, tk in enumerate(t):
            if np.isnan(p[k]).any():
                continue
            data = encode_odometry(_ns(tk), "world", f"{name}/base_link", p[k], (0.0, 0.0, 0.0))
            rows.append((WALL0 + _ns(tk) + 1_000_000, topic, data))
    for topic, type_name, tk, data in extra or []:
        if topic not in conns:
            conns[topic] = w.add_connection(topic, type_name, typestore=STORE)
        rows.append((WALL0 + _ns(tk) + 1_000_000, topic, data))
    for log, topic, data in sorted(rows, key=lambda r: r[0]):
        w.write(conns[topic], log, data)
    w.close()
    return Path(path)


def drones_metadata(names_platforms: dict, mission_file: str = "") -> dict:
    drones = [{"name": n, "type": p.split("_")[0], "platform": p, "role": "r"} for n, p in names_platforms.items()]
    meta = {"mission": "synthetic", "fleet": "synthetic", "world": "none", "drones": drones}
    if mission_file:
        meta["mission_file"] = mission_file
    return meta
