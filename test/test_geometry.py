import numpy as np
import pytest

from swarm_ros.core import geometry as g
from swarm_ros.core.neighbours import pairs_within


def test_box_distance_outside_inside_and_on_edge():
    p = np.array([[2.0, 0, 0], [0, 0, 0], [2.0, 2.0, 0], [1.0, 0.5, 0]])
    d = g.sdf_box(p, center=(0, 0, 0), half=(1, 1, 1))
    assert d == pytest.approx([1.0, -1.0, np.sqrt(2), 0.0])


def test_vertical_cylinder_distance():
    p = np.array([[3.0, 0, 1], [0, 0, 1], [0, 0, 5], [2.0, 0, 4]])
    d = g.sdf_vertical_cylinder(p, center_xy=(0, 0), radius=1.0, z_min=0.0, z_max=3.0)
    assert d == pytest.approx([2.0, -1.0, 2.0, np.sqrt(2)])


def test_sphere_and_ring_distance():
    assert g.sdf_sphere(np.array([[0, 0, 3.0]]), (0, 0, 1), 1.0) == pytest.approx([1.0])
    ring = g.sdf_ring(np.array([[2.0, 0, 1], [3.0, 0, 1], [0, 0, 1]]), (0, 0, 1), 2.0)
    assert ring == pytest.approx([0.0, 1.0, 2.0])


def test_gradient_points_away_from_surface():
    p = np.array([[3.0, 0, 1], [0, 2.5, 1], [0, 0, 4.0]])
    val, grad = g.sdf_and_gradient(lambda q: g.sdf_sphere(q, (0, 0, 1), 1.0), p)
    assert val == pytest.approx([2.0, 1.5, 2.0])
    assert grad == pytest.approx(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1.0]]), abs=1e-6)


def test_gradient_of_multi_obstacle_sdf_has_one_normal_per_obstacle():
    sdf = lambda q: np.stack([g.sdf_sphere(q, (0, 0, 0), 1.0), g.sdf_sphere(q, (5, 0, 0), 1.0)], axis=1)  # noqa: E731
    val, grad = g.sdf_and_gradient(sdf, np.array([[2.5, 0, 0]]))
    assert val.shape == (1, 2) and grad.shape == (1, 2, 3)
    assert grad[0] == pytest.approx(np.array([[1, 0, 0], [-1, 0, 0.0]]), abs=1e-6)


def test_pairs_within_matches_brute_force():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 10, size=(300, 3))
    i, j = pairs_within(p, 1.2)
    got = set(zip(i.tolist(), j.tolist()))
    d = np.linalg.norm(p[:, None] - p[None], axis=2)
    want = {(a, b) for a in range(300) for b in range(a + 1, 300) if d[a, b] <= 1.2}
    assert got == want and len(want) > 50
