"""Rewrite a damaged MCAP bag as a complete, indexed rosbag2 bag (metadata.yaml beside it).

What is kept is exactly what `mcap_salvage` reads as intact; `describe` says what was lost in one
line, which both `swarm-ros analyze` (as a note) and `swarm-ros bag repair` print.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .mcap_salvage import Salvage, Scan, end_is_intact

ZERO_HASH = "RIHS01_" + "0" * 64      # a type whose definition the bag lacks still gets a connection


class RepairError(Exception):
    """One line: why a bag cannot be repaired."""


def damaged_mcap(bag: Path) -> Path | None:
    """The MCAP file of `bag` (a .mcap file or a folder holding one) when its end is missing."""
    if bag.is_file():
        return bag if bag.suffix == ".mcap" and not end_is_intact(bag) else None
    files = sorted(bag.glob("*.mcap")) if bag.is_dir() else []
    return files[0] if len(files) == 1 and not end_is_intact(files[0]) else None


def _rihs01(msgtype: str, msgdef: str) -> str:
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore
    try:
        store = get_typestore(Stores.EMPTY)
        store.register(get_types_from_msg(msgdef, msgtype))
        return store.hash_rihs01(msgtype)
    except Exception:                 # a definition rosbags cannot parse: keep the bytes anyway
        return ZERO_HASH


def _custom(scan: Scan) -> dict:
    """The rosbag2 custom metadata, when the cut left the writer's own metadata record."""
    import yaml
    from ..core.configfile import load_bounded
    try:
        info = load_bounded(scan.metadata.get("rosbag2", {}).get("serialized_metadata", "")) or {}
        custom = info["rosbag2_bagfile_information"].get("custom_data") or {}
        return {str(k): str(v) for k, v in custom.items()}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return {}


def rewrite(src: Path, out: Path, custom: dict | None = None) -> Scan:
    """Write the intact messages of the MCAP file `src` into a new rosbag2 folder `out`."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    salvage = Salvage(src)
    writer = Writer(out, version=9, storage_plugin=StoragePlugin.MCAP)
    conns: dict = {}
    try:
        writer.open()
        for channel, log_ns, data in salvage.messages():
            conn = conns.get(channel.id)
            if conn is None:
                conn = conns[channel.id] = writer.add_connection(
                    channel.topic, channel.msgtype or "unknown/msg/Unknown", msgdef=channel.msgdef,
                    rihs01=_rihs01(channel.msgtype, channel.msgdef), serialization_format=channel.encoding or "cdr")
            writer.write(conn, log_ns, data)
        for key, value in {**(custom or {}), **_custom(salvage.scan)}.items():
            writer.set_custom_data(key, value)
        writer.set_custom_data("swarm_ros.repaired", json.dumps(
            {"from": str(src), "intact_bytes": salvage.scan.intact, "lost_bytes": salvage.scan.lost_bytes}))
        writer.close()
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return salvage.scan


def describe(scan: Scan, flown: float | None = None) -> str:
    """One line: how much was read and what was lost. `flown`: the simulated seconds the read
    odometry covers (header stamps), when known; the recording's own span is in log (wall) time."""
    span = f"{scan.seconds:.1f} s of recording" + (f", {flown:.1f} s of flight" if flown is not None else "")
    if scan.complete:
        return f"bag index missing: read all {scan.messages} messages ({span}); nothing lost"
    lost = f"the index and the last {scan.lost_bytes} bytes were lost" if scan.lost_bytes else "the index was lost"
    cut = ", the last chunk read up to the cut" if scan.partial_chunk else ""
    return f"bag truncated: read {scan.messages} messages ({span}){cut}; {lost}"


def repair(bag: str | Path, out: str | Path | None = None, overwrite: bool = False) -> tuple[Path, Scan]:
    """Repair `bag` (a rosbag2 folder or a lone .mcap) into `out` (default: `<bag>_repaired`).
    With `overwrite`, the repaired bag replaces the damaged one (only after it was written whole)."""
    from .mcap_salvage import SalvageError
    src = Path(bag)
    if not src.exists():
        raise RepairError(f"{src}: no such file or folder")
    mcap = damaged_mcap(src)
    if mcap is None:
        files = [src] if src.is_file() else sorted(src.glob("*.mcap"))
        if len(files) != 1 or files[0].suffix != ".mcap":
            raise RepairError(f"{src}: not an MCAP bag (expected a .mcap file or a folder with one .mcap)")
        mcap = files[0]
    if overwrite and not src.is_dir():
        raise RepairError(f"{src}: --in-place works on a rosbag2 folder; a lone .mcap is repaired into a new folder")
    folder = src if src.is_dir() else src.parent
    if overwrite:
        target = folder.with_name(folder.name + ".repairing")
    else:
        target = Path(out) if out else folder.with_name((src.stem if src.is_file() else src.name) + "_repaired")
    if target.exists():
        raise RepairError(f"{target}: already exists (choose another --out)")
    try:
        scan = rewrite(mcap, target)
    except SalvageError as err:
        raise RepairError(str(err)) from None
    except OSError as err:
        raise RepairError(f"cannot write {target}: {err.strerror or err}") from None
    if overwrite:                       # swap only once the repaired bag is whole
        old = folder.with_name(folder.name + ".damaged")
        src.rename(old)
        target.rename(src)
        shutil.rmtree(old)
        target = src
    return target, scan
