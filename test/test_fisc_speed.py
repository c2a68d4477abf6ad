"""The fast paths of the FISC-like step give the reference numbers.

- Verlet list: a flow with spawns and exits, pairs from a list rebuilt only when stale, flies
  bit for bit like one whose pairs are rebuilt every step (skin 0);
- numba twins (law, channel walls, cell-list pairs) against numpy: commands and fields to
  1e-12, pairs and walls exactly; skipped where numba is not installed;
- CuPy against numpy: skipped without a CUDA device.
"""
import numpy as np
import pytest

from sim.channel import Channel
from swarm_ros.control.fisc_swarm import FiscChannelSim
from swarm_ros.control.fisc import FiscParams, Limits, fisc_command
from swarm_ros.core import compiled
from swarm_ros.core.verlet import VerletPairs, sorted_pairs_within
from swarm_ros.core.compiled import cuda_available
from swarm_ros.core.platforms import PLATFORMS

CF = PLATFORMS["crazyflie_2.1"]
SHORT = Channel(inlet_width=4.0, throat_width=2.0, outlet_width=4.0, inlet_length=2.5, converge_length=2.0,
                throat_length=1.0, diverge_length=2.0, outlet_length=2.5, inlet_zone=1.0, outlet_zone=1.0)
needs_numba = pytest.mark.skipif(not compiled.numba_available(), reason="numba is not installed")
BACKENDS = ["numpy", pytest.param("numba", marks=needs_numba)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_verlet_list_flies_exactly_like_pairs_rebuilt_every_step(backend):
    lazy = FiscChannelSim(SHORT, skin=0.4, backend=backend, seed=2)
    fresh = FiscChannelSim(SHORT, skin=0.0, backend=backend, seed=2)
    p = lazy.params
    for _ in range(120):
        pi, pj = lazy.neighbours.pairs(lazy.pos)
        d = np.linalg.norm(lazy.pos[pi] - lazy.pos[pj], axis=1)
        exact = sorted_pairs_within(lazy.pos, p.h, "numpy")
        assert np.count_nonzero(d <= p.h) == len(exact[0])        # a superset of the pairs within h
        lazy.step()
        fresh.step()
        assert np.array_equal(lazy.pos, fresh.pos) and np.array_equal(lazy.vel, fresh.vel)
    assert lazy.exited > 0 and lazy.spawned > 0                     # the index bookkeeping was used
    assert lazy.neighbours.builds < 0.5 * fresh.neighbours.builds  # and the list was reused


def test_verlet_list_rebuilds_when_two_agents_have_closed_the_skin():
    v = VerletPairs(1.0, 0.2)
    pos = np.array([[0.0, 0.0], [1.25, 0.0], [5.0, 0.0]])
    assert len(v.pairs(pos)[0]) == 0 and v.builds == 1
    pos[0, 0] += 0.09
    pos[1, 0] -= 0.09                                               # closed 0.18 < skin: kept
    assert len(v.pairs(pos)[0]) == 0 and v.builds == 1
    pos[1, 0] -= 0.03                                               # 0.21 > skin: rebuilt
    assert list(zip(*v.pairs(pos))) == [(0, 1)] and v.builds == 2


def _state(ch, n, seed):
    rng = np.random.default_rng(seed)
    pts = ch.lattice(0.4, margin=0.15)
    pos = pts[rng.choice(len(pts), min(n, len(pts)), replace=False)] + rng.uniform(-0.15, 0.15, (min(n, len(pts)), ch.dim))
    return pos, rng.normal(0.0, 0.6, pos.shape)


@needs_numba
def test_compiled_flow_follows_the_numpy_flow():
    """Whole steps (law, walls, pair lists, response, probes, exits, spawns): 120 steps apart by
    rounding only, with the same agents spawned, exited and counted at the probes."""
    a, b = FiscChannelSim(SHORT, backend="numpy", seed=2), FiscChannelSim(SHORT, backend="numba", seed=2)
    for _ in range(120):
        a.step()
        b.step()
    assert a.exited > 0 and (a.spawned, a.exited, a.n) == (b.spawned, b.exited, b.n)
    assert np.array_equal(a.crossings, b.crossings) and np.abs(a.pos - b.pos).max() < 1e-9


@needs_numba
@pytest.mark.parametrize("height", [None, 1.6])
def test_numba_twin_gives_the_numpy_numbers(height):
    ch, p = Channel(height=height), FiscParams()
    pos, vel = _state(ch, 900, seed=4)
    pos[:5, 1] = 0.5 * ch.width(pos[:5, 0]) + 0.05                 # a few just outside a side wall
    pi, pj = sorted_pairs_within(pos, 1.3 * p.h, "numpy")          # a superset, as a Verlet list gives
    n = len(pos)
    limits = [Limits.of(CF), Limits(np.full(n, 1.0), np.linspace(2.0, 4.0, n), np.full(n, 0.25), 0.8, 0.6)]
    for lim in limits:
        v0, f0 = fisc_command(pos, vel, pi, pj, ch, p, lim, backend="numpy")
        v1, f1 = fisc_command(pos, vel, pi, pj, ch, p, lim, backend="numba")
        assert np.abs(v0).max() > 0.3
        assert np.abs(v1 - v0).max() < 1e-12
        for name in ("rho", "u", "T", "P"):
            assert np.abs(getattr(f1, name) - getattr(f0, name)).max() < 1e-12 * max(1.0, np.abs(getattr(f0, name)).max())


@needs_numba
@pytest.mark.parametrize("height", [None, 1.6])
def test_numba_walls_and_cell_list_pairs_equal_numpy(height):
    ch = Channel(height=height)
    rng = np.random.default_rng(7)
    lo, hi = [-1.0, -6.0, -0.5][:ch.dim], [ch.length + 1.0, 6.0, 2.1][:ch.dim]
    pts = rng.uniform(lo, hi, (4000, ch.dim))
    for reach in (1.0, np.inf):
        d0, n0 = ch.walls(pts, reach, backend="numpy")
        d1, n1 = ch.walls(pts, reach, backend="numba")
        assert np.abs(d1 - d0).max() < 1e-12 and np.abs(n1 - n0).max() < 1e-12
    for radius in (0.7, 1.3):
        a, b = sorted_pairs_within(pts, radius, "numpy"), sorted_pairs_within(pts, radius, "numba")
        assert len(a[0]) > 1000 and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_backend_choice_errors_are_one_line(monkeypatch):
    with pytest.raises(ValueError, match="allowed: numpy, numba, cupy"):
        compiled.backend_name("fortran")
    if not cuda_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            compiled.backend_name("cupy")
    monkeypatch.delenv(compiled.ENV_VAR, raising=False)
    monkeypatch.setattr(compiled, "numba_available", lambda: False)
    with pytest.raises(ValueError, match="numba is not installed"):
        compiled.backend_name("numba")
    assert compiled.backend_name(small=True) == "numpy"
    if not cuda_available():
        assert compiled.backend_name() == "numpy"


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device")
def test_cupy_step_gives_the_numpy_numbers():
    ch, p = Channel(), FiscParams()
    pos, vel = _state(ch, 900, seed=6)
    pi, pj = sorted_pairs_within(pos, p.h, "numpy")
    v0, f0 = fisc_command(pos, vel, pi, pj, ch, p, Limits.of(CF), backend="numpy")
    v1, f1 = fisc_command(pos, vel, pi, pj, ch, p, Limits.of(CF), backend="cupy")
    assert isinstance(v1, np.ndarray) and np.abs(v1 - v0).max() < 1e-12
    assert np.abs(f1.rho - f0.rho).max() < 1e-9 and np.abs(f1.P - f0.P).max() < 1e-9
