"""Compiled twin (numba) of the safety layer's neighbour pass, for whole swarms at once.

At a few hundred drones and more, a drone hears ~100 beacons, and numpy spends the safety
layer's time building (E, 3) temporaries for every beacon although only the few within the
separation margin contribute. This loop computes each beacon's clearance without temporaries
and keeps only the contacts inside the margin, in the same order and with the same arithmetic
as safety.neighbour_contacts (numpy, the reference, and what runs for small groups such as a
drone node's own step, or without numba): test/test_controllers.py checks they agree.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available
from swarm_ros.core.verlet import farthest_move

MIN_BATCH = 64    # fewer drones than this: numpy (no compiler in a drone node's own step)


def use_compiled(n: int) -> bool:
    return n >= MIN_BATCH and numba_available()


SKIN = 0.5     # m: a beacon list keeps the beacons within reach + SKIN of their drone


def near_contacts(obs, radius: np.ndarray, max_extrapolation: float, margin: float):
    """(receiver, unit vector away, clearance) of the neighbour contacts with clearance < margin.

    A neighbour memory holds the same beacons for a beacon period (several ticks), and almost
    all of them are far beyond the margin. The first pass over a memory keeps, per drone, the
    beacons within reach + SKIN; later ticks test only those while no drone has moved, and no
    extrapolated beacon could have moved, SKIN / 2 since (a Verlet list). The kept beacons get
    the same exact test in the same order, so the contacts are those of a full pass."""
    nb = obs.neighbours
    rows, src = beacon_rows(nb)
    t, pos = float(obs.t), np.ascontiguousarray(obs.position, float)
    args = (np.asarray(obs.ids, np.int64), np.asarray(nb.offsets, np.int64), np.asarray(nb.sender, np.int64),
            np.asarray(nb.stamp, float), rows[:, 0:3], rows[:, 3:6], rows[:, 6], src, np.asarray(radius, float),
            float(max_extrapolation), float(margin))
    # strided views (columns of the beacon rows) go in as they are: no copies per tick
    held = vars(nb).get("_near_list")
    if held is not None and held[0] == (float(max_extrapolation), float(margin)) and np.array_equal(held[1], args[8]):
        _, _, p0, t0, vmax, cand = held
        ok, rcv, away, clear = _near_listed(t, pos, p0, t0, vmax, 0.5 * SKIN, cand, *args)
        if ok:
            return rcv, away, clear
    rcv, away, clear, cand, vmax = _near_listing(t, pos, SKIN, *args)
    vars(nb)["_near_list"] = ((float(max_extrapolation), float(margin)), args[8].copy(), pos.copy(), t, vmax, cand)
    return rcv, away, clear


def beacon_rows(nb):
    """(rows, src): beacon k's numbers are rows[src[k]], from the memory's store where it keeps
    one (StoredNeighbours) or from the neighbour arrays."""
    if getattr(nb, "src", None) is not None:
        return np.asarray(nb.store, float), np.asarray(nb.src, np.int64)
    rows = np.empty((len(nb.stamp), 8))
    rows[:, 0:3], rows[:, 3:6], rows[:, 6], rows[:, 7] = nb.position, nb.velocity, nb.radius, nb.group
    return rows, np.arange(len(nb.stamp))


def _beacon_contact(t, px, py, pz, ri, me, k, sender, stamp, nb_pos, nb_vel, nb_radius, b, max_extrap, margin, skin):
    """Beacon k (row b) against drone (px, py, pz), radius ri, fleet id `me`: (listed: within
    reach + skin, contact: clearance < margin, unit vector away, clearance)."""
    age = min(max(t - stamp[k], 0.0), max_extrap)
    dx = px - (nb_pos[b, 0] + nb_vel[b, 0] * age)
    dy = py - (nb_pos[b, 1] + nb_vel[b, 1] * age)
    dz = pz - (nb_pos[b, 2] + nb_vel[b, 2] * age)
    d2 = dx * dx + dy * dy + dz * dz
    # most beacons are far beyond the margin: told from the square, with room to spare
    # for rounding, before the root; those near it get the exact test below
    reach = (margin + ri + nb_radius[b]) * (1.0 + 1e-6) + 1e-9
    if d2 > reach * reach:
        wide = reach + skin
        return d2 <= wide * wide, False, 0.0, 0.0, 0.0, 0.0
    dist = np.sqrt(d2)
    c = dist - ri - nb_radius[b]
    if not c < margin:
        return True, False, 0.0, 0.0, 0.0, 0.0
    if dist > 1e-9:
        return True, True, dx / dist, dy / dist, dz / dist, c
    # coincident: a horizontal direction fixed by the pair of fleet ids
    other = sender[k]
    ang = (min(me, other) * 7919 + max(me, other)) * 2.399963
    sense = 1.0 if me < other else -1.0
    return True, True, np.cos(ang) * sense, np.sin(ang) * sense, 0.0, c


def _near_listing_impl(t, pos, skin, ids, offsets, sender, stamp, nb_pos, nb_vel, nb_radius, src, radius, max_extrap,
                       margin):
    """The full pass: contacts, and the beacons within reach + skin (their indices, in order)
    with the fastest beacon's speed."""
    e = len(stamp)
    rcv = np.empty(e, np.int64)
    away = np.empty((e, 3))
    clear = np.empty(e)
    cand = np.empty(e, np.int64)
    m = n_cand = 0
    vmax = 0.0      # over every row held, not only those referred to: a bound all the same
    for b in range(len(nb_vel)):
        vmax = max(vmax, nb_vel[b, 0] * nb_vel[b, 0] + nb_vel[b, 1] * nb_vel[b, 1] + nb_vel[b, 2] * nb_vel[b, 2])
    for i in range(len(offsets) - 1):
        px, py, pz, ri = pos[i, 0], pos[i, 1], pos[i, 2], radius[i]
        for k in range(offsets[i], offsets[i + 1]):
            listed, hit, ax, ay, az, c = _beacon_contact(t, px, py, pz, ri, ids[i], k, sender, stamp, nb_pos, nb_vel,
                                                         nb_radius, src[k], max_extrap, margin, skin)
            if not listed:
                continue
            cand[n_cand] = k
            n_cand += 1
            if hit:
                rcv[m] = i
                away[m, 0], away[m, 1], away[m, 2] = ax, ay, az
                clear[m] = c
                m += 1
    # the candidates as CSR runs per drone: offsets into cand, so the listed pass keeps drone order
    starts = np.empty(len(offsets), np.int64)
    q = 0
    for i in range(len(offsets) - 1):
        starts[i] = q
        while q < n_cand and cand[q] < offsets[i + 1]:
            q += 1
    starts[len(offsets) - 1] = q
    return rcv[:m], away[:m], clear[:m], (starts, cand[:n_cand].copy()), np.sqrt(vmax)


def _near_listed_impl(t, pos, p0, t0, vmax, limit, cand, ids, offsets, sender, stamp, nb_pos, nb_vel, nb_radius, src,
                      radius, max_extrap, margin):
    """The listed beacons only, while no drone moved and no extrapolated beacon could have
    moved `limit` since the list was made; (False, ...) when one may have."""
    starts, ks = cand
    n = len(offsets) - 1
    moved = farthest_move(pos, p0)
    e = len(ks)
    rcv = np.empty(e, np.int64)
    away = np.empty((e, 3))
    clear = np.empty(e)
    if not moved + vmax * abs(t - t0) <= limit:
        return False, rcv[:0], away[:0], clear[:0]
    m = 0
    for i in range(n):
        px, py, pz, ri = pos[i, 0], pos[i, 1], pos[i, 2], radius[i]
        for q in range(starts[i], starts[i + 1]):
            k = ks[q]
            _, hit, ax, ay, az, c = _beacon_contact(t, px, py, pz, ri, ids[i], k, sender, stamp, nb_pos, nb_vel,
                                                    nb_radius, src[k], max_extrap, margin, 0.0)
            if hit:
                rcv[m] = i
                away[m, 0], away[m, 1], away[m, 2] = ax, ay, az
                clear[m] = c
                m += 1
    return True, rcv[:m], away[:m], clear[:m]


def _near_numpy(*args):
    raise RuntimeError("safety_jit needs numba; use safety.neighbour_contacts")


if numba_available():
    _beacon_contact = jit(_beacon_contact, inline="always")   # array arguments: no call, no refcounts
    _near_listing = jit(_near_listing_impl)
    _near_listed = jit(_near_listed_impl)
else:
    _near_listing = _near_listed = _near_numpy


def fusable(v: np.ndarray) -> bool:
    """`corrected` follows numpy's order of additions for velocities held by rows or by columns
    (numpy's einsum adds a row's three products as (x + z) + y when rows are contiguous, as
    (x + y) + z when columns are); other layouts take the numpy path."""
    return v.dtype == np.float64 and v.ndim == 2 and (v.flags.c_contiguous or v.flags.f_contiguous)


def corrected(obs, v_des: np.ndarray, contacts, radius: np.ndarray, max_speed: np.ndarray, p, walls,
              fence_normal: np.ndarray) -> np.ndarray:
    """safe_velocity's remainder for whole swarms: obstacle and fence contacts, the corrections
    of all contacts (`contacts`: near_contacts' neighbour ones) and the speed clip, in one pass
    with safety.py's arithmetic and order (see `fusable`; bincount adds each drone's
    corrections in contact order from 0.0). The result has v_des' layout, as numpy's has."""
    rcv, away, clear = contacts
    s = obs.sensing
    by_columns = not v_des.flags.c_contiguous
    v = _corrected(np.ascontiguousarray(v_des, float), by_columns, rcv, away, clear,
                      np.asarray(s.obstacle_clearance, float), np.asarray(s.obstacle_normal, float),
                      np.asarray(s.fence_clearance, float), np.asarray(radius, float),
                      _per_drone(max_speed, len(v_des)), np.asarray(walls, np.int64),
                      np.asarray(fence_normal, float), float(p.separation_margin), float(p.obstacle_margin),
                      float(p.fence_margin), float(p.push_speed), float(p.sidestep))
    return np.asfortranarray(v) if by_columns else v


def _per_drone(x, n: int) -> np.ndarray:
    x = np.asarray(x, float)
    return x if x.shape == (n,) else np.broadcast_to(x, (n,))


def _correction(out, vx, vy, vz, ax, ay, az, clearance, margin, sidestep, push_speed):
    """Add one contact's correction to out (3,), as safety._corrections computes it."""
    depth = min(max(1.0 - clearance / margin, 0.0), 1.0)
    closing = (vx * ax + vz * az) + vy * ay
    remove = (-closing if closing < 0 else 0.0) * min(1.0, 2.0 * depth)
    push = push_speed * depth
    step = sidestep * push / max(np.sqrt(ax * ax + ay * ay), 1e-9)
    k = remove + push
    out[0] += ax * k + (ay + abs(az) * ax) * step
    out[1] += ay * k + (-ax + abs(az) * ay) * step
    out[2] += az * k + 0.0


def _corrected_impl(v_des, by_columns, rcv, away, clear, obst_clear, obst_normal, fence_clear, radius, max_speed, walls,
                    fence_normal, sep_margin, obst_margin, fence_margin, push_speed, sidestep):
    n = len(v_des)
    corr = np.zeros((n, 3))
    found = len(rcv) > 0
    e = 0
    for i in range(n):
        vx, vy, vz = v_des[i, 0], v_des[i, 1], v_des[i, 2]
        out = corr[i]
        while e < len(rcv) and rcv[e] == i:        # neighbour contacts come sorted by drone
            _correction(out, vx, vy, vz, away[e, 0], away[e, 1], away[e, 2], clear[e], sep_margin, sidestep,
                        push_speed)
            e += 1
        for j in range(obst_clear.shape[1]):
            oc = obst_clear[i, j] - radius[i]
            if oc < obst_margin:
                found = True
                _correction(out, vx, vy, vz, obst_normal[i, j, 0], obst_normal[i, j, 1], obst_normal[i, j, 2], oc,
                            obst_margin, sidestep, push_speed)
        for w in walls:
            fc = fence_clear[i, w] - radius[i]
            if fc < fence_margin:
                found = True
                _correction(out, vx, vy, vz, fence_normal[w, 0], fence_normal[w, 1], fence_normal[w, 2], fc,
                            fence_margin, 0.0, push_speed)
    v = np.empty((n, 3))
    for i in range(n):
        x, y, z = v_des[i, 0], v_des[i, 1], v_des[i, 2]
        if found:                                  # numpy adds the (zero) corrections to every row
            x, y, z = x + corr[i, 0], y + corr[i, 1], z + corr[i, 2]
        norm = np.sqrt((x * x + y * y) + z * z) if by_columns else np.sqrt((x * x + z * z) + y * y)
        scale = min(1.0, max_speed[i] / max(norm, 1e-12))
        v[i, 0], v[i, 1], v[i, 2] = x * scale, y * scale, z * scale
    return v


if numba_available():
    _correction = jit(_correction)
    _corrected = jit(_corrected_impl)
