"""Radio model: range (the shorter of the two radios), per-link loss, latency."""
import numpy as np
import pytest

from sim.radio import Radio, RadioSpec


def deliveries(radio, t):
    out = []
    for d in radio.due(t):
        out += list(zip(d.receiver.tolist(), d.sender.tolist()))
    return out


def test_range_is_the_shorter_radio_and_capped_by_the_mission():
    pos = np.array([[0, 0, 0], [4, 0, 0], [9, 0, 0.0]])
    radio = Radio([10.0, 10.0, 5.0], RadioSpec(range=None), np.random.default_rng(0))
    radio.broadcast(0.0, pos, [0, 1, 2], [np.zeros(8)] * 3)
    got = set(deliveries(radio, 0.0))
    # 0-1 at 4 m: both radios reach; 1-2 at 5 m: the 5 m radio just reaches; 0-2 at 9 m: 5 m radio does not
    assert got == {(1, 0), (0, 1), (2, 1), (1, 2)}
    capped = Radio([10.0, 10.0, 10.0], RadioSpec(range=3.0), np.random.default_rng(0))
    capped.broadcast(0.0, pos, [0, 1, 2], [np.zeros(8)] * 3)
    assert deliveries(capped, 0.0) == []


def test_latency_delays_delivery():
    pos = np.array([[0, 0, 0], [1, 0, 0.0]])
    radio = Radio([10.0, 10.0], RadioSpec(latency=0.05), np.random.default_rng(0))
    radio.broadcast(1.0, pos, [0], [np.arange(8.0)])
    assert deliveries(radio, 1.04) == []
    due = radio.due(1.05)
    assert len(due) == 1 and due[0].sent_at.tolist() == [1.0] and due[0].packet[0].tolist() == list(range(8))


def test_loss_rate_matches_the_configured_probability():
    pos = np.array([[0, 0, 0], [1, 0, 0.0]])
    radio = Radio([10.0, 10.0], RadioSpec(loss=0.2), np.random.default_rng(1))
    n = 20000
    for k in range(n):
        radio.broadcast(float(k), pos, [0], [np.zeros(8)])
    got = len(deliveries(radio, float(n)))
    sigma = np.sqrt(n * 0.2 * 0.8)
    assert abs((n - got) - 0.2 * n) < 4 * sigma
    assert radio.stats.lost == n - got and radio.stats.sent == n


def test_loss_grows_towards_the_edge_of_range():
    near, far = np.array([[0, 0, 0], [1, 0, 0.0]]), np.array([[0, 0, 0], [9.9, 0, 0.0]])
    rates = []
    for pos in (near, far):
        radio = Radio([10.0, 10.0], RadioSpec(loss=0.0, loss_at_range=0.8), np.random.default_rng(2))
        for k in range(4000):
            radio.broadcast(float(k), pos, [0], [np.zeros(8)])
        rates.append(1 - len(deliveries(radio, 1e9)) / 4000)
    assert rates[0] < 0.02 and rates[1] == pytest.approx(0.8 * 0.99 ** 2, abs=0.04)


def test_loss_draws_do_not_depend_on_the_order_packets_arrive_in():
    pos = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0.0]])
    got = []
    for order in ([0, 1, 2], [2, 0, 1]):
        radio = Radio([10.0] * 3, RadioSpec(loss=0.5), np.random.default_rng(9))
        for k in range(50):
            radio.broadcast(float(k), pos, order, [np.full(8, s) for s in order])
        got.append([(r, s, p[0]) for d in radio.due(1e9) for r, s, p in zip(d.receiver, d.sender, d.packet)])
    assert got[0] == got[1] and 0 < len(got[0]) < 300


def test_compiled_links_are_the_kd_tree_links_in_the_same_order(monkeypatch):
    """The cell-list links (numba) and the KD-tree links agree link for link and in order, which
    the loss draws follow; coincident drones and mixed radio ranges included."""
    pytest.importorskip("numba")
    from sim import radio_jit
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 25, (300, 3))
    pos[7] = pos[8]
    radio = Radio(rng.uniform(3, 7, 300), RadioSpec(range=6.5), rng)
    for senders in (np.sort(rng.choice(300, 220, replace=False)), np.arange(300)):   # some drones, or all
        compiled = radio.links(pos, senders)
        assert radio_jit.links(pos, senders, radio.range) is not None      # the cell list ran
        with monkeypatch.context() as m:
            m.setattr(radio_jit, "numba_available", lambda: False)
            tree = radio.links(pos, senders)
        assert len(tree[0]) > 1000
        for a, b in zip(compiled, tree):
            np.testing.assert_array_equal(a, b)


def test_compiled_delivery_equals_the_numpy_delivery(monkeypatch):
    """Whole-swarm broadcasts regrouped by receiver in the compiled pass deliver the same
    packets, senders, receivers and loss counts, in the same order, as the numpy sort."""
    pytest.importorskip("numba")
    from sim import radio_jit
    pos = np.random.default_rng(5).uniform(0, 20, (400, 3))
    packets = np.random.default_rng(6).normal(size=(400, 8))
    got = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(radio_jit, "numba_available", lambda: False)
        radio = Radio(np.random.default_rng(1).uniform(4, 7, 400), RadioSpec(loss=0.1, loss_at_range=0.6),
                      np.random.default_rng(2))
        for k in range(3):
            radio.broadcast(float(k), pos, np.arange(400)[::-1], packets[::-1])
        got.append(([(d.receiver.tolist(), d.sender.tolist(), d.sent_at.tolist(), d.packet.tolist())
                     for d in radio.due(1e9)], radio.stats.as_dict()))
    assert got[0] == got[1] and got[0][1]["lost"] > 100 and got[0][1]["delivered"] > 10000


def test_packets_as_array_rows_are_delivered_as_rows():
    pos = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0.0]])
    radio = Radio([10.0] * 3, RadioSpec(), np.random.default_rng(0))
    radio.broadcast(0.0, pos, np.array([2, 0, 1]), np.array([[2.0] * 8, [0.0] * 8, [1.0] * 8]))
    (d,) = radio.due(0.0)
    assert isinstance(d.packet, np.ndarray) and d.packet.shape == (6, 8)
    assert d.receiver.tolist() == [0, 0, 1, 1, 2, 2] and d.sender.tolist() == [1, 2, 0, 2, 0, 1]
    assert d.packet[:, 0].tolist() == d.sender.tolist()


def test_compiled_metrics_equal_the_kd_tree_metrics(monkeypatch):
    """Nearest-neighbour distances, contacts and collision counts from the compiled cell list
    equal the KD-tree's, drones far from all others (no neighbour within a cell) included."""
    pytest.importorskip("numba")
    from sim import metrics_jit
    from sim.metrics import SwarmMetrics
    from sim.world import World
    rng = np.random.default_rng(4)
    world = World("open", (-50, -50, 0), (50, 50, 20))
    p = rng.uniform([-8, -8, 0], [8, 8, 4], (200, 3))
    p[:3] = [[14, 0, 2], [-14, 5, 2], [0, 14, 6]]                  # lone drones
    p[10] = p[11] + [0.05, 0, 0]                                  # touching pair
    radius = np.full(200, 0.07)
    moves = np.cumsum(rng.normal(scale=0.05, size=(5, 200, 3)), axis=0)
    runs = []
    for compiled in (True, False):
        monkeypatch.setattr(metrics_jit, "numba_available", lambda c=compiled: c)
        m = SwarmMetrics(radius, world, p)
        for k, step in enumerate(moves):
            m.update(0.02 * (k + 1), p + step)
        runs.append(m)
    nearest, _ = metrics_jit.nearest_and_pairs(p, 2.0, 0.14)     # the cell list ran, lone drones left out
    assert np.isnan(nearest[:3]).all() and (~np.isnan(nearest[3:])).sum() > 150
    np.testing.assert_allclose(runs[0].min_separation, runs[1].min_separation, rtol=0, atol=1e-12)
    assert runs[0].collisions.tolist() == runs[1].collisions.tolist() and runs[0].collisions.sum() >= 2
    assert sorted(runs[0].collision_events) == sorted(runs[1].collision_events)


def test_metrics_pair_list_gives_the_full_cell_walk():
    """Samples that look only at the pairs listed a few samples before (a Verlet list) give,
    bit for bit, the nearest distances and close pairs (in order) of a full cell walk, while
    drones drift and after some jump onto others (the list is made anew), lone drones too."""
    pytest.importorskip("numba")
    from sim import metrics_jit
    rng = np.random.default_rng(5)
    n = 300
    p = rng.uniform([-6, -6, 0], [6, 6, 4], (n, 3))
    p[:2] = [[14, 0, 2], [-14, 5, 2]]                            # lone drones
    p[10:40] = p[40:70] + rng.uniform(-0.1, 0.1, (30, 3))        # close pairs
    fence = (np.array([-50.0, -50, 0]), np.array([50.0, 50, 20]))
    held, rebuilt = {}, []
    last_a, last_b = p.copy(), p.copy()
    dist_a, dist_b = np.zeros(n), np.zeros(n)
    for k in range(12):
        p = p + rng.normal(scale=0.004, size=p.shape)
        if k == 8:
            p[100:110] = p[200:210] + 0.05                        # far drones jump next to others
        a = metrics_jit.advance(p, last_a, dist_a, True, 2.0, 0.14, *fence, held=held)
        b = metrics_jit.advance(p, last_b, dist_b, True, 2.0, 0.14, *fence)
        np.testing.assert_array_equal(a[0], b[0])                # NaN where no drone within a cell
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])
        np.testing.assert_array_equal(dist_a, dist_b)
        assert np.isnan(a[0][:2]).all() and len(a[1]) >= 25 + 10 * (k >= 8)
        rebuilt.append(held["p0"][5, 0] == p[5, 0])
    assert rebuilt == [True] + [False] * 7 + [True] + [False] * 3


def test_cell_list_orders_drones_as_a_stable_sort_by_cell():
    """The compiled counting sort of the cell list gives a stable argsort's order and run starts
    (coincident drones, hence equal cells, included): the links and metrics depend on it."""
    pytest.importorskip("numba")
    from sim import cell_grid
    p = np.random.default_rng(12).uniform(0, 20, (1000, 3))
    p[5] = p[6]
    c, dims, order, start = cell_grid.build(p, 2.0)
    cid = (c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2]
    want = np.argsort(cid, kind="stable")
    np.testing.assert_array_equal(order, want)
    np.testing.assert_array_equal(start, np.searchsorted(cid[want], np.arange(dims.prod() + 1)))
    assert (np.diff(start) > 1).any()
