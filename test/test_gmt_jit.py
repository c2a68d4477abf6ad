"""The compiled (numba) GMT* parts give what the numpy reference gives, bit for bit."""
import numpy as np
import pytest

from swarm_ros.planning import gmt_jit, obstacles_jit, roadmap_jit
from swarm_ros.planning.backend import get_backend
from swarm_ros.planning.gmt import march, plan
from swarm_ros.planning.obstacles import ObstacleSet
from swarm_ros.planning.roadmap import csr_from_pairs, edge_lengths, geometric_roadmap, with_endpoints

pytest.importorskip("numba")

T1 = ([[0.05, 0.20], [0.70, 0.30], [0.30, 0.60]], [[0.45, 0.35], [0.90, 0.50], [0.80, 0.75]])


def field_3d(m_boxes: int, m_cyl: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    c, h = rng.uniform(0, 1, (m_boxes, 3)), rng.uniform(0.02, 0.08, (m_boxes, 3))
    keep = np.all(np.abs(c - 0.05) > h + 0.02, axis=1) & np.all(np.abs(c - 0.95) > h + 0.02, axis=1)
    c, h = c[keep], h[keep]
    return dict(bounds_lo=[0, 0, 0], bounds_hi=[1, 1, 1], box_lo=c - h, box_hi=c + h,
                cyl_center=rng.uniform(0.2, 0.8, (m_cyl, 2)), cyl_radius=rng.uniform(0.02, 0.06, m_cyl),
                cyl_z=np.c_[rng.uniform(0.1, 0.3, m_cyl), rng.uniform(0.6, 0.9, m_cyl)])


def twins(**kw) -> tuple[ObstacleSet, ObstacleSet]:
    """The same obstacles twice: numpy tests only, and compiled tests."""
    ref, fast = ObstacleSet(**kw), ObstacleSet(**kw)
    ref.compiled = False
    assert fast.compiled and fast.cell == ref.cell
    return ref, fast


PROBLEMS = {
    "2-D three boxes (no grid)": (dict(bounds_lo=[0, 0], bounds_hi=[1, 1], box_lo=T1[0], box_hi=T1[1]),
                                  [0.1, 0.1], [0.9, 0.9], 2000),
    "2-D free": (dict(bounds_lo=[0, 0], bounds_hi=[1, 1]), [0.1, 0.1], [0.9, 0.9], 1500),
    "2-D wall, no path": (dict(bounds_lo=[0, 0], bounds_hi=[1, 1], box_lo=[[0.45, -0.1]], box_hi=[[0.55, 1.1]]),
                          [0.1, 0.1], [0.9, 0.9], 1500),
    "3-D boxes and cylinders (grid)": (field_3d(60, 12), [0.05] * 3, [0.95] * 3, 3000),
    "3-D few shapes (no grid)": (field_3d(5, 2, seed=1), [0.05] * 3, [0.95] * 3, 2000),
}


@pytest.mark.parametrize("name", list(PROBLEMS))
@pytest.mark.parametrize("lam", [0.5, 0.05])
def test_compiled_march_gives_the_numpy_tree(name, lam):
    kw, start, goal, n = PROBLEMS[name]
    ref_obs, fast_obs = twins(**kw)
    rm = geometric_roadmap(kw["bounds_lo"], kw["bounds_hi"], n, seed=3)
    graph = with_endpoints(rm, start, goal)
    pts = graph.points
    valid = ~ref_obs.points_in(pts)
    s, g = graph.n - 2, graph.n - 1
    ref = march(graph, s, g, valid, lam, rm.radius, lambda p, c, _: ~ref_obs.segments_hit(pts[p], pts[c]),
                get_backend("numpy"))
    got = gmt_jit.march(graph, s, g, valid, lam, rm.radius, fast_obs, pts)
    assert (got.found, got.iterations, got.checks) == (ref.found, ref.iterations, ref.checks)
    assert ref.found == (name != "2-D wall, no path") and ref.checks > 100
    for field in ("cost", "parent", "edge"):
        a, b = getattr(ref, field), getattr(got, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field


def test_plan_runs_the_compiled_march_where_it_applies():
    kw, start, goal, n = PROBLEMS["3-D boxes and cylinders (grid)"]
    ref_obs, fast_obs = twins(**kw)
    rm = geometric_roadmap(kw["bounds_lo"], kw["bounds_hi"], n, seed=3)
    ref = plan(rm, ref_obs, start, goal, compiled=False)
    got = plan(rm, fast_obs, start, goal)
    assert got.found and got.cost == ref.cost and np.array_equal(got.nodes, ref.nodes)
    with pytest.raises(ValueError, match="compiled march requested"):
        plan(rm, fast_obs, start, goal, lam=0.0, compiled=True)


@pytest.mark.parametrize("kw", [field_3d(60, 12), field_3d(5, 2, seed=1),
                                dict(bounds_lo=[0, 0], bounds_hi=[1, 1], box_lo=T1[0], box_hi=T1[1])],
                         ids=["3-D grid", "3-D no grid", "2-D no grid"])
def test_compiled_obstacle_tests_answer_as_numpy(kw):
    ref, fast = twins(**kw)
    d = len(kw["bounds_lo"])
    rng = np.random.default_rng(7)
    a = rng.uniform(-0.1, 1.1, (4000, d))
    b = a + rng.normal(0, 0.3, (4000, d))
    b[:500, 0] = a[:500, 0]                     # axis-parallel segments: the slab's d == 0 branch
    b[500:700] = a[500:700]                     # zero-length segments
    b[700:900] = np.round(b[700:900] * 32) / 32  # ends on grid lines
    a[900:1100] = np.round(a[900:1100] * 32) / 32
    corners = np.asarray(kw["box_lo"], float)       # starts on box corners and faces
    a[1100:1300] = corners[np.arange(200) % len(corners)]
    a[1300:1500, 1:] = np.asarray(kw["box_hi"], float)[np.arange(200) % len(corners), 1:]
    hit = ref.segments_hit(a, b)
    assert 100 < hit.sum() < 3900
    assert np.array_equal(fast.segments_hit(a, b), hit)
    assert np.array_equal(fast.points_in(a), ref.points_in(a))
    assert np.array_equal(fast.points_in(b), ref.points_in(b))


def test_compiled_roadmap_csr_is_the_scipy_one():
    pts = np.random.default_rng(2).random((3000, 3))
    from scipy.spatial import cKDTree
    pairs = cKDTree(pts).query_pairs(0.08, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    c = edge_lengths(pts, i, j)
    ref = csr_from_pairs(len(pts), np.r_[i, j], np.r_[j, i], np.r_[c, c])
    got = roadmap_jit.symmetric_csr(len(pts), i, j, pts)
    for a, b in zip(ref, got):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    with pytest.raises(ValueError, match="distinct"):
        roadmap_jit.symmetric_csr(len(pts), np.r_[i, i[:1]], np.r_[j, j[:1]], pts)


def test_without_numba_the_numpy_code_runs_and_agrees(monkeypatch):
    kw, start, goal, n = PROBLEMS["2-D three boxes (no grid)"]
    rm = geometric_roadmap(kw["bounds_lo"], kw["bounds_hi"], n, seed=3)
    fast = plan(rm, ObstacleSet(**kw), start, goal)
    monkeypatch.setattr(obstacles_jit, "numba_available", lambda: False)
    monkeypatch.setattr(roadmap_jit, "numba_available", lambda: False)
    obs = ObstacleSet(**kw)
    assert not obs.compiled and not roadmap_jit.usable(n)
    slow = plan(rm, obs, start, goal)
    assert slow.found and slow.cost == fast.cost and np.array_equal(slow.nodes, fast.nodes)
    with pytest.raises(ValueError, match="compiled march requested"):
        plan(rm, obs, start, goal, compiled=True)
