"""Stream a bag (rosbag2 MCAP or sqlite3, ours or anyone's) into per-drone sample arrays.

The reader (rosbags' AnyReader) yields one message at a time and only from the topics we ask
for; each message is reduced to a few numbers appended to `array.array` columns, so memory
grows with the odometry samples kept (32 bytes each), never with the bag's size. Every way a
bag can be unreadable becomes one BagError line that names the file.
"""
from __future__ import annotations

import json
import re
import tempfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from rosbags.highlevel import AnyReader

from swarm_ros import topics

from .cdrfields import multiarray_labels, odometry_stamp_position, packets_senders, string_data

ODOMETRY = "nav_msgs/msg/Odometry"
MULTIARRAY = "std_msgs/msg/Float64MultiArray"     # radio before the typed messages
STRING = "std_msgs/msg/String"                      # status, summary, update status before them
BEACON = topics.TYPES[topics.RADIO_TX]
PACKETS = topics.TYPES[topics.RADIO_RX]
UPDATE_STATUS = topics.TYPES[topics.UPDATE_STATUS]
SUMMARY = topics.TYPES[topics.SUMMARY]
RADIO_TYPES = (MULTIARRAY, BEACON, PACKETS)
META = "swarm_ros."              # prefix of our keys in the bag's custom metadata
PROGRESS_EVERY = 4096            # messages between progress callbacks
MAGIC = {b"\x89MCAP": "MCAP", b"SQLite format 3": "SQLite", b"#ROSBAG": "ROS 1 bag"}
_DRONE_ODOM = re.compile(r"^/([^/]+)/odom$")


class BagError(Exception):
    """A bag that cannot be analysed; str() is one line naming the file and what is wrong."""


@dataclass
class Track:
    """One drone's odometry: header stamps, log (receive) times, positions; in arrival order."""
    stamp: array = field(default_factory=lambda: array("q"))
    log: array = field(default_factory=lambda: array("q"))
    xyz: array = field(default_factory=lambda: array("d"))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.frombuffer(self.stamp, np.int64), np.frombuffer(self.log, np.int64),
                np.frombuffer(self.xyz, float).reshape(-1, 3))


@dataclass
class Recording:
    """What the analysis takes from a bag."""
    path: str
    storage: str
    custom: dict                       # the bag's custom metadata (ours: swarm_ros.* keys)
    drones: list[str]
    info: dict                         # name -> {"type", "platform", "role"} when the bag says
    tracks: dict                       # name -> Track
    radio_recorded: bool = False
    tx_log: dict = field(default_factory=dict)       # name -> array('q') of log times, one per packet
    rx_from: dict = field(default_factory=dict)      # receiver -> {sender: packets}
    updates: dict = field(default_factory=dict)      # name -> [(log ns, version)]; key absent: not recorded
    summary: dict | None = None                      # our /swarm/summary, when recorded
    topics: dict = field(default_factory=dict)       # every topic in the bag -> type
    messages_read: int = 0
    lost: str = ""                                   # what a damaged bag lost, one line; "" when whole


def resolve(path: str | Path) -> Path:
    """The path rosbags should open: a rosbag2 folder, or a lone .mcap / .db3 file."""
    p = Path(path)
    if not p.exists():
        raise BagError(f"{p}: no such file or folder")
    if p.is_file() and (p.parent / "metadata.yaml").is_file() and p.suffix in (".mcap", ".db3"):
        return p.parent
    if p.is_dir():
        if (p / "metadata.yaml").is_file():
            return p
        files = sorted([*p.glob("*.mcap"), *p.glob("*.db3")])
        if len(files) == 1:
            return files[0]
        raise BagError(f"{p}: not a rosbag2 folder (no metadata.yaml"
                       + (f", and {len(files)} storage files)" if files else ", and no .mcap or .db3 file)"))
    head = p.read_bytes()[:16] if p.stat().st_size else b""
    kind = next((name for magic, name in MAGIC.items() if head.startswith(magic)), None)
    if p.suffix not in (".mcap", ".db3"):
        what = f"a {kind} file named without .mcap/.db3" if kind else "not a bag (no MCAP or SQLite header)"
        raise BagError(f"{p}: {what}; expected a rosbag2 folder, a .mcap or a .db3 file")
    if kind is None:
        raise BagError(f"{p}: not a bag: {'empty file' if not head else 'no MCAP or SQLite header'}")
    return p


def _select_drones(reader, custom: dict) -> tuple[list[str], dict, dict]:
    """Drone names, their info, and odometry topic per drone."""
    odom = {c.topic for c in reader.connections if c.msgtype == ODOMETRY}
    info = {}
    if META + "drones" in custom:
        try:
            info = {d["name"]: {k: d.get(k) for k in ("type", "platform", "role")}
                    for d in json.loads(custom[META + "drones"])}
        except (ValueError, TypeError, KeyError):
            info = {}
    if info:
        names = [n for n in info if topics.of(n, topics.ODOM) in odom]
        return names, info, {n: topics.of(n, topics.ODOM) for n in names}
    matched = {m.group(1): t for t in sorted(odom) if (m := _DRONE_ODOM.match(t))}
    if not matched:   # odometry under other names: one drone per topic
        matched = {t.strip("/"): t for t in sorted(odom)}
    return list(matched), {}, matched


class _Collector:
    """Per-connection handlers that append decoded fields to the Recording."""

    def __init__(self, reader, rec: Recording, odom_topics: dict):
        self.reader, self.rec = reader, rec
        self.cdr = reader.is2       # ROS 1 bags hold ROS 1 serialization: always the full decoder
        self.handlers: dict = {}
        by_topic = {t: n for n, t in odom_topics.items()}
        for c in reader.connections:
            name = by_topic.get(c.topic)
            if name is not None and c.msgtype == ODOMETRY:
                self.handlers[c.id, c.topic] = self._odom(rec.tracks.setdefault(name, Track()), c.msgtype)
            for drone in rec.drones:
                if c.topic == topics.of(drone, topics.RADIO_TX) and c.msgtype in RADIO_TYPES:
                    rec.radio_recorded = True
                    self.handlers[c.id, c.topic] = self._tx(rec.tx_log.setdefault(drone, array("q")), c.msgtype)
                elif c.topic == topics.of(drone, topics.RADIO_RX) and c.msgtype in RADIO_TYPES:
                    rec.radio_recorded = True
                    self.handlers[c.id, c.topic] = self._rx(rec.rx_from.setdefault(drone, {}), c.msgtype)
                elif c.topic == topics.of(drone, topics.UPDATE_STATUS) and c.msgtype in (STRING, UPDATE_STATUS):
                    self.handlers[c.id, c.topic] = self._update(rec.updates.setdefault(drone, []), c)
            if c.topic == topics.SUMMARY and c.msgtype in (STRING, SUMMARY):
                self.handlers[c.id, c.topic] = self._summary(c.msgtype)
        self.connections = [c for c in reader.connections if (c.id, c.topic) in self.handlers]

    def _full(self, raw, msgtype):
        return self.reader.deserialize(raw, msgtype)

    def _odom(self, track: Track, msgtype):
        stamp_a, log_a, xyz_a = track.stamp.append, track.log.append, track.xyz.extend

        def handle(log_ns, raw):
            got = odometry_stamp_position(raw) if self.cdr else None
            if got is None:
                m = self._full(raw, msgtype)
                p = m.pose.pose.position
                got = (m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec, p.x, p.y, p.z)
            stamp_a(got[0])
            log_a(log_ns)
            xyz_a(got[1:])
        return handle

    def _labels(self, raw, msgtype) -> list[str]:
        """Sender of each packet in a radio message."""
        if msgtype == BEACON:
            sender = string_data(raw) if self.cdr else None
            return [sender if sender is not None else self._full(raw, msgtype).sender]
        if msgtype == PACKETS:
            senders = packets_senders(raw) if self.cdr else None
            return senders if senders is not None else [b.sender for b in self._full(raw, msgtype).beacons]
        labels = multiarray_labels(raw) if self.cdr else None
        return labels if labels is not None else [d.label for d in self._full(raw, msgtype).layout.dim]

    def _tx(self, log: array, msgtype):
        def handle(log_ns, raw):
            log.extend([log_ns] * max(1, len(self._labels(raw, msgtype))))
        return handle

    def _rx(self, counts: dict, msgtype):
        def handle(log_ns, raw):
            for sender in self._labels(raw, msgtype):
                counts[sender] = counts.get(sender, 0) + 1
        return handle

    def _text(self, raw, msgtype) -> str:
        text = string_data(raw) if self.cdr else None
        return text if text is not None else self._full(raw, msgtype).data

    def _update(self, events: list, conn):
        def handle(log_ns, raw):
            try:
                if conn.msgtype == UPDATE_STATUS:
                    version = self._full(raw, conn.msgtype).version or None
                else:
                    version = json.loads(self._text(raw, conn.msgtype)).get("version")
            except (ValueError, AttributeError):
                version = None
            if version is not None and (not events or events[-1][1] != str(version)):
                events.append((log_ns, str(version)))
        return handle

    def _summary(self, msgtype):
        def handle(log_ns, raw):
            try:
                text = self._full(raw, msgtype).details if msgtype == SUMMARY else self._text(raw, msgtype)
                self.rec.summary = json.loads(text)
            except ValueError:
                pass
        return handle


def read_bag(path: str | Path, progress: Callable[[int, int], None] | None = None) -> Recording:
    """Read the topics the analysis uses; `progress(done, total)` is called every few thousand messages.

    An MCAP bag whose end is missing (a killed recorder) is read as far as it is intact: its
    messages are rewritten to a temporary indexed bag first, and `Recording.lost` says what was lost."""
    from .bag_repair import damaged_mcap, describe, rewrite
    from .mcap_salvage import SalvageError
    bag = resolve(path)
    cut = damaged_mcap(bag)
    if cut is None:
        return _read(bag, path, progress)
    with tempfile.TemporaryDirectory(prefix="swarm_ros_salvage_") as tmp:
        try:
            scan = rewrite(cut, Path(tmp) / "bag", _folder_custom(bag))
        except SalvageError as err:
            raise BagError(str(err)) from None
        except Exception as err:      # the rosbags writer refusing a salvaged record
            raise BagError(f"{path}: cannot salvage the damaged bag: {' '.join(str(err).split())}") from None
        if not scan.messages:
            raise BagError(f"{path}: {describe(scan)}; no message survived")
        rec = _read(Path(tmp) / "bag", path, progress)
    stamps = [np.frombuffer(t.stamp, np.int64) for t in rec.tracks.values() if len(t.stamp)]
    flown = (max(int(s.max()) for s in stamps) - min(int(s.min()) for s in stamps)) / 1e9
    rec.lost = describe(scan, flown)
    return rec


def _folder_custom(bag: Path) -> dict:
    """Custom metadata from a metadata.yaml beside a damaged MCAP file, if there is one."""
    from ..core.configfile import load_bounded
    meta = (bag if bag.is_dir() else bag.parent) / "metadata.yaml"
    try:
        info = load_bounded(meta.read_text()) if meta.is_file() and meta.stat().st_size < 1 << 20 else None
        custom = info["rosbag2_bagfile_information"].get("custom_data") or {}
        return {str(k): str(v) for k, v in custom.items()}
    except Exception:                 # no usable metadata: the bag's own topics still name the drones
        return {}


def _read(bag: Path, path: str | Path, progress) -> Recording:
    try:
        with AnyReader([bag]) as reader:
            meta = getattr(reader.readers[0].storage, "metadata", None) if reader.is2 else None
            custom = dict(getattr(meta, "custom", None) or {})   # a lone .mcap/.db3 file has none
            drones, info, odom_topics = _select_drones(reader, custom)
            if not drones:
                listed = ", ".join(sorted({c.topic for c in reader.connections})[:8]) or "none"
                raise BagError(f"{path}: no nav_msgs/Odometry topics to analyse (topics: {listed})")
            storage = "ros1" if not reader.is2 else ("mcap" if any(bag.glob("*.mcap")) or bag.suffix == ".mcap"
                                                     else "sqlite3")
            rec = Recording(str(path), storage, custom, drones, info, {},
                            topics={c.topic: c.msgtype for c in reader.connections})
            col = _Collector(reader, rec, odom_topics)
            total = sum(c.msgcount for c in col.connections)
            handlers, done = col.handlers, 0
            for conn, log_ns, raw in reader.messages(connections=col.connections):
                handlers[conn.id, conn.topic](log_ns, raw)
                done += 1
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done, total)
            rec.messages_read = done
            if progress is not None:
                progress(done, max(total, done))
    except BagError:
        raise
    except Exception as err:   # rosbags, sqlite, zstd, struct, our field readers: all mean a bad bag
        text = " ".join(str(err).split()) or type(err).__name__
        raise BagError(f"{path}: cannot read the bag (corrupt or truncated?): {text}") from None
    if not any(len(t.stamp) for t in rec.tracks.values()):
        raise BagError(f"{path}: the odometry topics hold no messages")
    return rec
