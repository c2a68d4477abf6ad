"""Radio figures from the recorded radio/tx and radio/rx topics.

Counts are packets: a tx message is one broadcast per packet it holds, an rx message one
delivery per packet (its layout label names the sender). The delivery ratio compares
deliveries with the links that existed: for each broadcast, the other drones within link range
at send time, with link range min(range_i, range_j) as in the simulator's radio (sim/radio.py,
whose link query is reused). With ranges unknown (no mission), every other drone present counts
as a link and the ratio says so.
"""
from __future__ import annotations

import numpy as np

from sim.radio import Radio, RadioSpec

from .grid import Trajectories, event_times


def _links_per_broadcast(traj: Trajectories, ranges: np.ndarray | None, sender: np.ndarray,
                         when: np.ndarray) -> np.ndarray:
    """Receivers in range of each broadcast (sender index, time on the grid clock)."""
    step = np.clip(np.rint(when / traj.dt).astype(int), 0, len(traj.t) - 1)
    present = ~np.isnan(traj.pos[:, :, 0])
    if ranges is None:
        return present[step].sum(axis=1) - present[step, sender]
    spec, rng = RadioSpec(), np.random.default_rng(0)     # no cap: `ranges` already has it; no draws
    links = np.zeros(len(step), int)
    order = np.argsort(step, kind="stable")
    bounds = np.flatnonzero(np.diff(step[order])) + 1
    for group in np.split(order, bounds):
        s = step[group[0]]
        here = np.flatnonzero(present[s])
        if not present[s, sender[group]].all() or len(here) < 2:
            continue
        local = {d: k for k, d in enumerate(here)}
        senders = np.array([local[d] for d in sender[group]])
        slot, _, _ = Radio(ranges[here], spec, rng).links(traj.pos[s, here], senders)
        links[group] = np.bincount(slot, minlength=len(group))
    return links


def radio_stats(rec, traj: Trajectories, ranges: np.ndarray | None) -> dict:
    names = traj.names
    index = {n: k for k, n in enumerate(names)}
    sent = np.array([len(rec.tx_log.get(n, ())) for n in names])
    delivered = np.array([sum(rec.rx_from.get(n, {}).values()) for n in names])
    heard = np.array([sum(c.get(n, 0) for c in rec.rx_from.values()) for n in names])   # as sender
    sender = np.concatenate([np.full(len(rec.tx_log.get(n, ())), k) for k, n in enumerate(names)]).astype(int)
    when = event_times(traj, np.concatenate([np.frombuffer(rec.tx_log[n], np.int64) for n in names
                                             if n in rec.tx_log] or [np.zeros(0, np.int64)]))
    links = _links_per_broadcast(traj, ranges, sender, when) if len(sender) else np.zeros(0, int)
    links_from = np.bincount(sender, weights=links, minlength=len(names)).astype(int)
    per_drone = []
    for k, n in enumerate(names):
        unknown = {s: c for s, c in rec.rx_from.get(n, {}).items() if s not in index}
        per_drone.append({"name": n, "sent": int(sent[k]), "received": int(delivered[k]),
                          "sent_and_heard": int(heard[k]), "links": int(links_from[k]),
                          "delivery_ratio": float(heard[k] / links_from[k]) if links_from[k] else None,
                          **({"from_unknown_senders": unknown} if unknown else {})})
    total_links = int(links.sum())
    return {"sent": int(sent.sum()), "delivered": int(delivered.sum()), "links": total_links,
            "delivery_ratio": float(heard.sum() / total_links) if total_links else None,
            "link_range": "per-pair min(range_i, range_j) from the mission" if ranges is not None
            else "unknown: every other drone present counted as a link",
            "drones": per_drone}
