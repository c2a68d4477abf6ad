"""A drone's obstacle sensing: the compiled whole-swarm pass against the numpy reference."""
import numpy as np
import pytest

from sim import sense_jit
from sim.world import Box, Cylinder, World


def test_compiled_sensing_equals_numpy(monkeypatch):
    """Signed distances, clearances and normals of boxes and cylinders (one appearing later, some beyond sensing
    range, drones inside obstacles and on their axes) are the numpy reference's, number for number."""
    pytest.importorskip("numba")
    world = World("w", (-20, -20, 0), (20, 20, 10),
                  [Box("b", (3, 0, 2), (2, 4, 4)), Cylinder("c", (-4, 2), 1.0, 0.0, 6.0),
                   Cylinder("late", (0, -6), 0.5, 1.0, 3.0, appear_at=5.0), Box("flat", (0, 8, 0.5), (6, 1, 1))])
    rng = np.random.default_rng(8)
    p = rng.uniform([-10, -10, 0], [10, 10, 8], (500, 3))
    p[:4] = [[3, 0, 2], [-4, 2, 3], [0, -6, 2], [-4, 2, 7]]       # centres, on the axis, above the top
    ranges = rng.uniform(1.0, 8.0, 500)
    for t in (None, 1.0, 6.0):
        fast = world.sense(p, ranges, t)
        assert sense_jit.usable(len(p))
        with monkeypatch.context() as m:
            m.setattr(sense_jit, "usable", lambda n: False)
            ref = world.sense(p, ranges, t)
            ref_sdf = world.obstacle_sdf(p, t)
        np.testing.assert_array_equal(world.obstacle_sdf(p, t), ref_sdf)
        np.testing.assert_array_equal(fast.obstacle_clearance, ref.obstacle_clearance)
        np.testing.assert_array_equal(fast.obstacle_normal, ref.obstacle_normal)
        np.testing.assert_array_equal(fast.fence_clearance, ref.fence_clearance)
        sensed = np.isfinite(ref.obstacle_clearance)
        assert 100 < sensed.sum() < sensed.size
        assert (np.linalg.norm(ref.obstacle_normal[4:], axis=2)[sensed[4:]] > 0.99).all()   # flat but at centres
