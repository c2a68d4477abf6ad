"""The controller contract: per-drone step == batched step, and what each controller does."""
import numpy as np
import pytest

from sim.world import Box, Cylinder, World
from swarm_ros.control.beacons import BeaconTable
from swarm_ros.control.contract import Neighbours, Observations, make_beacon
from swarm_ros.control.formation import FormationController, FormationParams
from swarm_ros.control.mission_controller import MissionController
from swarm_ros.control.safety import SafetyParams
from swarm_ros.control.waypoint import WaypointController, WaypointParams
from swarm_ros.core.platforms import PLATFORMS

CF, X500 = PLATFORMS["crazyflie_2.1"], PLATFORMS["px4_x500"]
WORLD = World("w", (-10, -10, 0), (10, 10, 6), [Box("b", (0, 0, 1), (1, 1, 2)), Cylinder("c", (3, 0), 0.3, 0, 4)])


def random_swarm(n, rng):
    """Positions, velocities and a random set of received beacons (some dropped, some stale)."""
    p = rng.uniform([-4, -4, 0.3], [4, 4, 3], size=(n, 3))
    v = rng.normal(scale=0.3, size=(n, 3))
    table = BeaconTable(n, timeout=1.0)
    radius = np.where(np.arange(n) % 3 == 0, X500.body_radius, CF.body_radius)
    for r in range(n):
        for s in range(n):
            if s != r and rng.random() < 0.7:
                stamp = 10.0 - rng.uniform(0, 0.4)
                table.add(r, s, stamp, make_beacon(p[s] + rng.normal(scale=0.05, size=3), v[s], radius[s], s % 2))
    return p, v, table


def observations(t, p, v, table, vehicles):
    return Observations(t, p, v, table.neighbours(t), WORLD.sense(p, [veh.sensing_range for veh in vehicles]))


def per_drone_equals_batched(make, n=9, steps=15, t0=10.0, seed=0):
    rng = np.random.default_rng(seed)
    vehicles = [X500 if k % 3 == 0 else CF for k in range(n)]
    home = rng.uniform([-4, -4, 0], [4, 4, 0], size=(n, 3))
    batch = make(vehicles, home)
    singles = [make([vehicles[k]], home[k:k + 1]) for k in range(n)]
    checked = 0
    for step in range(steps):
        p, v, table = random_swarm(n, rng)
        obs = observations(t0 + step * 0.02, p, v, table, vehicles)
        together = batch.step_batch(obs)
        alone = np.array([singles[k].step(obs.rows([k])) for k in range(n)])
        np.testing.assert_allclose(alone, together, rtol=0, atol=1e-12)
        checked += np.count_nonzero(np.linalg.norm(together, axis=1) > 1e-6)
    assert checked > steps * n // 2   # the comparison was not between zeros


def test_formation_per_drone_equals_batched():
    params = FormationParams(shape="ring", center=(0, 0, 1.5), radius=3.0, spacing=4.0)
    per_drone_equals_batched(lambda veh, home: FormationController(params, veh, home, group=1))


@pytest.mark.parametrize("shape", ["sphere", "box"])
def test_formation_shapes_per_drone_equals_batched(shape):
    params = FormationParams(shape=shape, center=(0, 0, 2.0), radius=2.5, size=(3, 3, 2), spacing=3.0)
    per_drone_equals_batched(lambda veh, home: FormationController(params, veh, home, group=0), seed=4)


def test_waypoint_per_drone_equals_batched():
    params = WaypointParams(waypoints=((0, 0, 1), (1, 1, 1.5), (-1, 0, 2)), relative=True, speed=0.8, tolerance=1.0)
    per_drone_equals_batched(lambda veh, home: WaypointController(params, veh, home), seed=2)


@pytest.mark.parametrize("t", [1.0, 10.0, 36.0])
def test_mission_controller_per_drone_equals_batched(rings_mission, t):
    drones = rings_mission.fleet.drones
    rng = np.random.default_rng(5)
    batch = MissionController(rings_mission, drones)
    singles = [MissionController(rings_mission, [d]) for d in drones]
    vehicles = [d.vehicle for d in drones]
    for step in range(5):
        p, v, table = random_swarm(len(drones), rng)
        obs = observations(t + 0.02 * step, p, v, table, vehicles)
        together = batch.step_batch(obs)
        alone = np.array([s.step(obs.rows([k])) for k, s in enumerate(singles)])
        np.testing.assert_allclose(alone, together, rtol=0, atol=1e-12)
        assert np.abs(together).max() > 1e-3


def test_step_rejects_a_batch():
    ctrl = WaypointController(WaypointParams(), [CF, CF], np.zeros((2, 3)))
    obs = Observations(0.0, np.zeros((2, 3)), np.zeros((2, 3)), Neighbours.empty(2), WORLD.sense(np.zeros((2, 3)), [4, 4]))
    with pytest.raises(ValueError):
        ctrl.step(obs)


def closed_loop(controller_for, starts, vehicles, seconds, world=WORLD, dt=0.02):
    """Fly drones with ideal radio (everyone hears everyone each tick); returns positions over time."""
    from sim.pointmass import PointMassSwarm
    phys = PointMassSwarm(vehicles, starts)
    ctrl = controller_for(vehicles, np.array(starts, float))
    radius = np.array([v.body_radius for v in vehicles])
    track = []
    n = len(vehicles)
    for k in range(int(seconds / dt)):
        t = k * dt
        table = BeaconTable(n, 1.0)
        for r in range(n):
            for s in range(n):
                if r != s:
                    table.add(r, s, t, make_beacon(phys.position[s], phys.velocity[s], radius[s], 0))
        obs = Observations(t, phys.position.copy(), phys.velocity.copy(), table.neighbours(t),
                           world.sense(phys.position, [v.sensing_range for v in vehicles]))
        phys.step(ctrl.step_batch(obs), dt / 4, 4)
        track.append(phys.position.copy())
    return np.array(track)


def test_safety_layer_keeps_head_on_drones_apart():
    empty = World("open", (-10, -10, 0), (10, 10, 6))
    params = WaypointParams(waypoints=((4, 0, 1), (-4, 0, 1)), relative=False, speed=1.0)
    starts = [(-4, 0, 1), (4, 0, 1)]

    def make(veh, home):
        c = WaypointController(params, veh, home)
        c.targets = np.array([[[4, 0, 1]], [[-4, 0, 1]]], float)   # swap places, head-on
        return c
    track = closed_loop(make, starts, [CF, CF], 16.0, world=empty)
    sep = np.linalg.norm(track[:, 0] - track[:, 1], axis=1)
    assert sep.min() > 2 * CF.body_radius + 0.2
    assert np.linalg.norm(track[-1, 0] - [4, 0, 1]) < 0.3 and np.linalg.norm(track[-1, 1] - [-4, 0, 1]) < 0.3


def test_safety_layer_steers_around_an_obstacle():
    params = WaypointParams(waypoints=((0, 4, 1),), relative=False, speed=1.0)
    world = World("pillar", (-10, -10, 0), (10, 10, 6), [Cylinder("p", (0, 0), 0.5, 0, 4)])
    track = closed_loop(lambda veh, home: WaypointController(params, veh, home), [(0, -4, 1)], [CF], 20.0, world)
    clearance = world.clearance(track[:, 0]) - CF.body_radius
    assert clearance.min() > 0.1
    assert np.linalg.norm(track[-1, 0] - [0, 4, 1]) < 0.3


def test_formation_spreads_drones_evenly_over_a_ring():
    n = 6
    params = FormationParams(shape="ring", center=(0, 0, 2), radius=3.0, spacing=4.0)
    starts = [(-1.25 + 0.5 * k, -6, 1) for k in range(n)]
    empty = World("open", (-10, -10, 0), (10, 10, 6))
    track = closed_loop(lambda veh, home: FormationController(params, veh, home), starts, [CF] * n, 40.0, empty)
    end = track[-1]
    off_ring = np.hypot(np.hypot(end[:, 0], end[:, 1]) - 3.0, end[:, 2] - 2)
    assert off_ring.max() < 0.2
    angles = np.sort(np.arctan2(end[:, 1], end[:, 0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    assert gaps.min() > 0.6 * (2 * np.pi / n)   # no clumping: every gap at least 60% of the even spacing


def test_safety_params_are_read_with_defaults():
    from swarm_ros.core.configfile import Section
    p = SafetyParams.read(Section("f.yaml", "safety", {"separation_margin": 1.0}))
    assert p.separation_margin == 1.0 and p.obstacle_margin == SafetyParams().obstacle_margin


def test_coincident_drones_separate_in_opposite_directions_alone_or_batched():
    """Two drones at the same point (e.g. after a position-estimate jump) must not both push the
    same way, and the per-drone and batched answers must agree."""
    p = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [4.0, -3.0, 1.0]])
    v = np.zeros((3, 3))
    ids = np.array([7, 2, 5])              # fleet ids differ from batch rows on purpose
    table = BeaconTable(3, 1.0)
    for r in range(3):
        for s in range(3):
            if r != s:
                table.add(r, ids[s], 10.0, make_beacon(p[s], v[s], CF.body_radius, 0))
    empty = World("open", (-10, -10, 0), (10, 10, 6))
    obs = Observations(10.0, p, v, table.neighbours(10.0), empty.sense(p, [4, 4, 4]), ids)
    params = WaypointParams(waypoints=((0, 0, 0),), relative=True, speed=1.0)
    batch = WaypointController(params, [CF] * 3, p).step_batch(obs)
    alone = np.array([WaypointController(params, [CF], p[k:k + 1]).step(obs.rows([k])) for k in range(3)])
    np.testing.assert_allclose(alone, batch, rtol=0, atol=1e-12)
    assert np.linalg.norm(batch[0]) > 0.5 and np.dot(batch[0], batch[1]) < 0   # apart, not together


def _table_contents(nb):
    return (nb.offsets.tolist(), nb.sender.tolist(), nb.stamp.tolist(),
            np.hstack([nb.position, nb.velocity, nb.radius[:, None], nb.group[:, None], nb.payload]).tolist())


def test_beacon_memory_in_bulk_equals_one_beacon_at_a_time(monkeypatch):
    """Bulk adds (sorted deliveries, the compiled merge) and single adds (a drone node) keep the
    same beacons: newest per sender, on equal stamps the one heard last, stale ones forgotten."""
    rng = np.random.default_rng(11)
    n, t = 60, 0.0
    single, bulk = BeaconTable(n, 0.35), BeaconTable(n, 0.35)
    from swarm_ros.control import beacons_jit
    monkeypatch.setattr(beacons_jit, "MIN_ROWS", 8)
    merged = 0
    for step in range(12):
        t += 0.1
        m = 900
        key = np.unique(rng.integers(0, n * n, m))
        rcv, snd = key // n, key % n
        stamp = t - rng.choice([0.0, 0.1, 0.2], len(key))    # late and early arrivals, equal stamps
        rows = rng.normal(size=(len(key), 8))
        rows[:, 7] = rng.integers(0, 3, len(key))
        for k in range(len(key)):
            single.add(int(rcv[k]), int(snd[k]), float(stamp[k]), rows[k])
        bulk.add_many(rcv, snd, stamp, rows)
        merged += len(bulk._pending) and beacons_jit.usable(len(bulk._key) + len(key))
        assert _table_contents(single.neighbours(t)) == _table_contents(bulk.neighbours(t))
    assert merged >= 10 and len(bulk.neighbours(t).sender) > 1000
    before = len(bulk.neighbours(t).sender)
    for later in (0.05, 0.2, 0.3):     # nothing new arrives: only stale beacons leave
        assert _table_contents(single.neighbours(t + later)) == _table_contents(bulk.neighbours(t + later))
    assert 0 < len(bulk.neighbours(t + 0.3).sender) < before


def test_beacon_memory_fed_whole_radio_rounds_equals_one_beacon_at_a_time(monkeypatch):
    """Radio rounds handed over as the packets sent and each beacon's row in them (no copy per
    receiver) leave the same memory as single adds, round after round, and the rows kept stay
    bounded by the live beacons, not by the rounds heard."""
    rng = np.random.default_rng(12)
    n, t = 40, 0.0
    single, bulk = BeaconTable(n, 0.15), BeaconTable(n, 0.15)
    from swarm_ros.control import beacons_jit
    monkeypatch.setattr(beacons_jit, "MIN_ROWS", 8)
    sizes, earlier = [], []
    for step in range(80):
        t += 0.1
        sent = rng.normal(size=(n, 8))                      # one packet per sender this round
        sent[:, 7] = rng.integers(0, 3, n)
        heard = rng.random((n, n)) < (0.9 if step < 20 else 0.1)   # fewer links later: old rows linger
        np.fill_diagonal(heard, False)
        rcv, snd = np.nonzero(heard)                        # by receiver, then sender
        for r, s_ in zip(rcv.tolist(), snd.tolist()):
            single.add(r, s_, t, sent[s_])
        bulk.add_many(rcv, snd, np.full(len(rcv), t), sent, row=snd)
        nb = bulk.neighbours(t)
        assert _table_contents(single.neighbours(t)) == _table_contents(nb)
        sizes.append((len(bulk._store), len(nb.sender)))
        if step % 10 == 0:
            earlier.append((nb, nb.position.copy(), nb.velocity.copy()))
    for nb, position, velocity in earlier:      # lists handed out rounds ago still read their beacons
        vars(nb).pop("_rows", None)
        np.testing.assert_array_equal(nb.position, position)
        np.testing.assert_array_equal(nb.velocity, velocity)
    rows, live = np.array(sizes).T
    assert (np.diff(rows) < 0).any()                        # rows nobody refers to were dropped
    assert rows.max() <= max(16 * n, 2 * live.max()) + 1024 + n and live[-1] > 100


def _dense_swarm(rng, n):
    """A crowded swarm (contacts inside the margins, a coincident pair) and its observations."""
    pytest.importorskip("numba")
    p = rng.uniform([-3, -3, 0.3], [3, 3, 2], size=(n, 3))
    p[5] = p[6]                                         # coincident pair
    v = rng.normal(scale=0.3, size=(n, 3))
    table = BeaconTable(n, 1.0)
    radius = np.full(n, CF.body_radius)
    for r in range(n):
        for s in rng.choice(n, 40, replace=False):
            if s != r:
                table.add(r, int(s), 10.0 - rng.uniform(0, 0.6), make_beacon(p[s], v[s], radius[s], 0))
    obs = observations(10.0, p, v, table, [CF] * n)
    return p, v, obs, radius


def test_compiled_safety_layer_equals_numpy(monkeypatch):
    """The compiled neighbour pass (whole swarms) gives the numpy safety layer's numbers."""
    from swarm_ros.control import safety_jit
    from swarm_ros.control.safety import safe_velocity
    rng = np.random.default_rng(7)
    p, v, obs, radius = _dense_swarm(rng, 120)
    n = len(p)
    v_des = rng.normal(scale=0.5, size=(n, 3))
    params = SafetyParams()
    assert safety_jit.use_compiled(n)
    compiled = safe_velocity(obs, v_des, radius, np.full(n, 1.0), params)
    monkeypatch.setattr(safety_jit, "use_compiled", lambda n: False)
    reference = safe_velocity(obs, v_des, radius, np.full(n, 1.0), params)
    assert np.abs(compiled - v_des).max() > 0.1            # contacts were found and corrected
    np.testing.assert_allclose(compiled, reference, rtol=0, atol=1e-12)


def test_safety_beacon_list_gives_the_contacts_of_a_full_pass():
    """Later ticks on the same neighbour memory test only the beacons its first pass listed
    (a Verlet list): the contacts equal, bit for bit, a full pass over every beacon, while the
    drones drift a little, and after one moved beyond the list's skin (the list is made anew)."""
    from swarm_ros.control import safety_jit
    rng = np.random.default_rng(11)
    p, v, obs, radius = _dense_swarm(rng, 120)
    nb, params = obs.neighbours, SafetyParams()
    args = (radius, params.max_extrapolation, params.separation_margin)
    safety_jit.near_contacts(obs, *args)
    first = vars(nb)["_near_list"]
    kept = []
    for step in range(1, 10):
        pos = p + rng.normal(scale=0.002 * step, size=p.shape)
        t = 10.0 + 0.01 * step
        if step == 7:        # drone 3 flies next to the farthest beacon it holds: one the list left out
            k = nb.offsets[3] + int(np.argmax(np.linalg.norm(nb.position[nb.offsets[3]:nb.offsets[4]] - p[3], axis=1)))
            pos[3] = nb.position[k] + nb.velocity[k] * min(t - nb.stamp[k], params.max_extrapolation) + (0.2, 0, 0)
        o = Observations(t, pos, v, nb, obs.sensing, obs.ids)
        listed = safety_jit.near_contacts(o, *args)
        held = vars(nb).pop("_near_list")
        full = safety_jit.near_contacts(o, *args)          # no list held: every beacon tested
        vars(nb)["_near_list"] = held
        assert len(full[0]) > 20 and (step != 7 or (full[0] == 3).any())
        for a, b in zip(listed, full):
            np.testing.assert_array_equal(a.view(np.int64) if a.dtype == float else a,
                                          b.view(np.int64) if b.dtype == float else b)
        kept.append(held is first)
    assert kept == [True] * 6 + [False] * 3


def test_fused_safety_pass_equals_the_compiled_neighbours_with_numpy_corrections(monkeypatch):
    """The one-pass obstacle, fence and correction step (whole swarms) gives, bit for bit, what
    the compiled neighbour pass followed by numpy's corrections and speed clip gives, for
    velocities held by rows and by columns (numpy adds in a different order for each)."""
    from swarm_ros.control import safety_jit
    from swarm_ros.control.safety import safe_velocity
    rng = np.random.default_rng(9)
    p, v, obs, radius = _dense_swarm(rng, 120)
    n = len(p)
    for v_des in (rng.normal(scale=0.7, size=(n, 3)), np.asfortranarray(rng.normal(scale=0.7, size=(n, 3)))):
        max_speed = np.full(n, 1.0)
        assert safety_jit.fusable(v_des)
        fused = safe_velocity(obs, v_des, radius, max_speed, SafetyParams())
        with monkeypatch.context() as m:
            m.setattr(safety_jit, "fusable", lambda v: False)
            stepwise = safe_velocity(obs, v_des, radius, max_speed, SafetyParams())
        np.testing.assert_array_equal(fused.view(np.int64), stepwise.view(np.int64))   # -0.0 too
        assert fused.flags.f_contiguous == stepwise.flags.f_contiguous
        moved = np.abs(fused - v_des).max(axis=1) > 1e-9
        assert moved.sum() > n // 4                        # contacts and clips changed many rows
    s = obs.sensing
    assert ((s.obstacle_clearance - radius[:, None]) < SafetyParams().obstacle_margin).any()
    assert ((s.fence_clearance - radius[:, None]) < SafetyParams().fence_margin).any()


def test_formation_beacon_list_gives_the_pushes_of_a_full_pass():
    """The spread term's beacon list (made on a memory's first pass, used while no drone moved
    far) gives, bit for bit, the pushes of a full pass over every beacon, also after a drone
    flew next to a beacon the list left out (the list is made anew)."""
    from swarm_ros.control import formation_jit
    rng = np.random.default_rng(13)
    p, v, obs, radius = _dense_swarm(rng, 150)
    nb = obs.neighbours
    normal = rng.normal(size=p.shape)
    normal /= np.linalg.norm(normal, axis=1)[:, None]
    kept, first = [], None
    for step in range(8):
        pos = p + rng.normal(scale=0.002 * step, size=p.shape)
        if step == 6:
            k = nb.offsets[3] + int(np.argmax(np.linalg.norm(nb.position[nb.offsets[3]:nb.offsets[4]] - p[3], axis=1)))
            pos[3] = nb.position[k] + (0.3, 0, 0)
        o = Observations(10.0, pos, v, nb, obs.sensing, obs.ids)
        listed = formation_jit.spread(o, normal, 0, 1.5, 0.6)
        held = vars(nb).pop("_spread_lists")
        full = formation_jit.spread(o, normal, 0, 1.5, 0.6)     # no list held: every beacon
        vars(nb)["_spread_lists"] = held
        np.testing.assert_array_equal(listed.view(np.int64), full.view(np.int64))
        assert (np.abs(full).sum(axis=1) > 0).sum() > 50 and (step != 6 or np.abs(full[3]).sum() > 0)
        first = first or held[(0, 1.5)]
        kept.append(held[(0, 1.5)] is first)
    assert kept == [True] * 6 + [False] * 2


def test_compiled_formation_equals_numpy(monkeypatch):
    """The compiled spread term (whole swarms) gives the numpy formation's numbers."""
    from swarm_ros.control import safety_jit
    rng = np.random.default_rng(8)
    p, v, obs, radius = _dense_swarm(rng, 150)
    params = FormationParams(shape="sphere", center=(0, 0, 1.2), radius=2.0, spacing=1.5)
    ctrl = FormationController(params, [CF] * len(p), p, group=0)
    assert safety_jit.use_compiled(len(p))
    compiled = ctrl.step_batch(obs)
    monkeypatch.setattr(safety_jit, "use_compiled", lambda n: False)
    reference = ctrl.step_batch(obs)
    no_spread = FormationController(FormationParams(shape="sphere", center=(0, 0, 1.2), radius=2.0, spacing=1e-6),
                                    [CF] * len(p), p, group=0).step_batch(obs)
    assert np.abs(reference - no_spread).max() > 0.1      # the spread term mattered
    np.testing.assert_allclose(compiled, reference, rtol=0, atol=1e-12)
