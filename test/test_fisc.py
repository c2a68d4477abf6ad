"""FISC-like fluid outer loop: kernel, estimates, per-agent == batched, and channel flows.

Tolerances are stated where they are used; the steady runs are shared (module fixtures) and take
a few seconds each.
"""
import math
import re

import numpy as np
import pytest

from sim.channel import Channel
from swarm_ros.control.fisc_swarm import FiscChannelSim, steady_run
from swarm_ros.control import fisc_kernel as K
from swarm_ros.control.contract import Neighbours, Observations
from swarm_ros.control.fisc import FiscParams, Limits, fisc_step_agent, fisc_step_batched
from swarm_ros.control.fisc_controller import FiscController, FiscSetup
from swarm_ros.core.sensing import Sensing
from swarm_ros.core.platforms import PLATFORMS

CF = PLATFORMS["crazyflie_2.1"]
LIM = Limits.of(CF)
WIDE = dict(inlet_width=40.0, throat_width=40.0, outlet_width=40.0, inlet_length=10.0, converge_length=5.0,
            throat_length=5.0, diverge_length=5.0, outlet_length=10.0)


@pytest.mark.parametrize("dim", [2, 3])
def test_kernel_integrates_to_one_and_wall_fraction_bounds(dim):
    h = 0.7
    r = np.linspace(0.0, h, 20001)
    shell = 2 * math.pi * r if dim == 2 else 4 * math.pi * r * r
    assert np.trapezoid(K.kernel(r, h, dim) * shell, r) == pytest.approx(1.0, abs=1e-6)
    assert K.wall_fraction(np.array([0.0, 1.0, 2.0]), dim) == pytest.approx([0.5, 0.0, 0.0], abs=1e-9)
    q = np.linspace(0, 1, 50)
    assert (np.diff(K.wall_fraction(q, dim)) <= 0).all()
    # the slope table is minus the derivative of the fraction table
    num = -np.gradient(K.wall_fraction(q, dim), q)
    assert np.abs(num[2:-2] - K.wall_fraction_slope(q, dim)[2:-2]).max() < 2e-2


@pytest.mark.parametrize("dim,smoothing,tol", [(2, 2.5, 0.02), (3, 2.5, 0.02), (2, 3.0, 0.006), (3, 3.0, 0.006)])
def test_kernel_density_of_a_uniform_lattice_is_the_lattice_density(dim, smoothing, tol):
    """Interior agents (more than h from the lattice edge): within 2% at h = 2.5 spacings, 0.6% at 3."""
    p = FiscParams(smoothing=smoothing)
    ch = Channel(**WIDE, height=None if dim == 2 else 12.0)
    axes = [np.arange(12, 22, p.spacing), np.arange(-4, 4, p.spacing)]
    axes += [np.arange(3, 9, p.spacing)] if dim == 3 else []
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
    lo, hi = pts.min(0) + p.h, pts.max(0) - p.h
    inner = np.all((pts > lo) & (pts < hi), axis=1)
    _, f = fisc_step_batched(pts, np.zeros_like(pts), ch, p, LIM)
    assert inner.sum() > 50
    assert np.abs(f.rho[inner] / p.spacing ** -dim - 1).max() < tol
    assert np.allclose(f.T[inner], 0.0) and np.allclose(f.u[inner], 0.0)


def test_a_wall_does_not_read_as_a_density_deficit():
    """The mirror reservoir: a lattice filling the channel reads 1-4% over rho0 up to the wall."""
    p, ch = FiscParams(), Channel()
    pts = ch.lattice(p.spacing)
    _, f = fisc_step_batched(pts, np.zeros_like(pts), ch, p, LIM)
    mid = (pts[:, 0] > 3) & (pts[:, 0] < 5)
    ratio = f.rho[mid] / p.rho0(2)
    assert ratio.min() > 1.0 and ratio.max() < 1.05


@pytest.mark.parametrize("height", [None, 3.0])
def test_a_lone_agent_without_boundary_forcing_holds(height):
    ch = Channel(height=height)
    p = FiscParams()
    own = np.array([[ch.throat_x, 0.3] + ([1.5] if height else [])])
    v, f = fisc_step_batched(own, np.zeros_like(own), ch, p, LIM)
    assert np.array_equal(v, np.zeros_like(own)) and f.P[0] == 0.0
    # in the inlet zone the imposed pressure does push it (downstream, from the back wall)
    own[0, 0] = 0.3
    v, _ = fisc_step_batched(own, np.zeros_like(own), ch, p, LIM)
    assert v[0, 0] > 0.1


def _random_state(ch, p, n, seed):
    rng = np.random.default_rng(seed)
    pts = ch.lattice(p.spacing, margin=0.2)
    pos = pts[rng.choice(len(pts), n, replace=False)] + rng.uniform(-0.12, 0.12, (n, ch.dim))
    pos = pos[ch.clearance(pos) > 0.05]
    return pos, rng.normal(0.0, 0.5, pos.shape)


@pytest.mark.parametrize("height", [None, 2.0])
def test_per_agent_step_equals_the_batched_step(height):
    """Every agent, from what it senses within 3h, gets the batched command to 1e-12."""
    ch, p = Channel(height=height), FiscParams()
    pos, vel = _random_state(ch, p, 700 if height is None else 1500, seed=3)
    v_all, f_all = fisc_step_batched(pos, vel, ch, p, LIM)
    assert np.abs(v_all).max() > 0.3   # not a trivial state
    for i in range(0, len(pos), 7):
        sensed = np.flatnonzero((np.linalg.norm(pos - pos[i], axis=1) < 3 * p.h) & (np.arange(len(pos)) != i))
        v, f = fisc_step_agent(pos[i], vel[i], pos[sensed], vel[sensed], ch, p, LIM)
        assert np.abs(v - v_all[i]).max() < 1e-12
        assert abs(f.rho[0] - f_all.rho[i]) < 1e-12 and abs(f.P[0] - f_all.P[i]) < 1e-12


def test_contract_controller_matches_the_batched_step():
    """FiscController.step (one drone, sensed agents as its neighbour rows) == batched numbers."""
    ch, p = Channel(), FiscParams()
    pos2, vel2 = _random_state(ch, p, 300, seed=5)
    n = len(pos2)
    v_all, _ = fisc_step_batched(pos2, vel2, ch, p, LIM)
    pos = np.column_stack([pos2, np.full(n, 1.2)])
    vel = np.column_stack([vel2, np.zeros(n)])
    setup = FiscSetup(ch, p, altitude=1.0)
    for i in (0, n // 3, n // 2, n - 1):
        sensed = np.flatnonzero((np.linalg.norm(pos2 - pos2[i], axis=1) < 2.5 * p.h) & (np.arange(n) != i))
        nb = Neighbours(np.array([0, len(sensed)]), sensed, np.zeros(len(sensed)), pos[sensed], vel[sensed],
                        np.full(len(sensed), CF.body_radius), np.zeros(len(sensed), np.intp),
                        np.zeros((len(sensed), 0)))
        obs = Observations(0.0, pos[i:i + 1], vel[i:i + 1], nb, Sensing(np.zeros((1, 0)), np.zeros((1, 0, 3)),
                                                                        np.full((1, 6), 10.0)))
        ctl = FiscController(setup, [CF], pos[i:i + 1])
        cmd = ctl.step(obs)
        assert np.abs(cmd[:2] - v_all[i]).max() < 1e-12
        assert cmd[2] < 0   # above the flight level: descends


def test_channel_geometry():
    ch = Channel()
    assert ch.length == pytest.approx(26.0) and ch.throat_x == pytest.approx(12.5)
    assert ch.width([0, 6, 8.5, 12, 17, 26]) == pytest.approx([8, 8, 6, 4, 6, 8])
    assert ch.volume() == pytest.approx(174.0)
    assert Channel(height=2.0).area(12.0) == pytest.approx(8.0)
    # side-wall distances against a dense sampling of the wall polyline
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(0, 26, 400), rng.uniform(-5, 5, 400)])
    xs = np.linspace(-5, 31, 200001)
    wall = np.column_stack([xs, 0.5 * ch.width(xs)])
    d, nrm = ch.walls(pts)
    from scipy.spatial import cKDTree
    dist, k = cKDTree(wall).query(pts)
    inside = pts[:, 1] < 0.5 * ch.width(pts[:, 0])
    assert np.abs(np.abs(d[:, 0]) - dist).max() < 1e-3
    assert (np.sign(d[:, 0]) == np.where(inside, 1, -1)).all()
    assert np.allclose(np.linalg.norm(nrm, axis=2), 1.0)
    # the inward normal points from the wall point to an inside agent
    far = inside & (dist > 0.05)
    assert np.allclose(nrm[far, 0], (pts[far] - wall[k[far]]) / dist[far, None], atol=2e-3)


@pytest.mark.parametrize("field,value", [("throat_width", 0.0), ("inlet_length", -1.0), ("height", -2.0)])
def test_bad_channel_dimensions_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Channel(**{field: value})


@pytest.fixture(scope="module")
def flow2d():
    ch = Channel()
    sim = FiscChannelSim(ch, FiscParams(), CF, dt=0.05)
    binner, sep, clear = steady_run(sim, warmup=30.0, duration=40.0)
    return ch, sim, binner, sep, clear


def test_no_agent_leaves_the_channel_and_none_collide(flow2d):
    ch, sim, _, sep, clear = flow2d
    assert sim.spawned > 300 and sim.exited > 300          # a stream, not a standing crowd
    assert clear >= 0.5 * sim.params.body_radius           # centres stay inside, off the walls
    assert sep > 2 * CF.body_radius                        # no two Crazyflies touch


def test_steady_throughput_is_the_same_through_inlet_throat_and_outlet(flow2d):
    """Net agents/s through three planes (inlet, throat, outlet section) agree within 5%."""
    _, sim, _, _, _ = flow2d
    flux = sim.flux()
    assert flux.min() > 5.0
    assert (flux.max() - flux.min()) / flux.mean() < 0.05


def test_continuity_speed_rises_into_the_throat_and_falls_after_it(flow2d):
    """Mean axial speed u(x) follows 1/A(x): u(x) A(x) within 15% of its mean over the channel
    between the inlet and outlet zones; throat/inlet speed ratio within 25% of A_in/A_throat."""
    ch, sim, binner, _, _ = flow2d
    pr = binner.profile()
    x, u = pr["x"], pr["ux"]
    body = (x > ch.inlet_zone + sim.params.h) & (x < ch.length - ch.outlet_zone)
    flux_line = u[body] * ch.width(x[body])
    assert np.abs(flux_line / flux_line.mean() - 1).max() < 0.15
    s = ch.stations
    u_in = u[(x > 3) & (x < s[1])].mean()
    u_th = u[(x > s[2]) & (x < s[3])].mean()
    u_out = u[(x > s[4]) & (x < ch.length - ch.outlet_zone)].mean()
    assert u_th > u_in and u_th > u_out
    assert u_th / u_in == pytest.approx(ch.inlet_width / ch.throat_width, rel=0.25)
    assert u_th / u_out == pytest.approx(ch.outlet_width / ch.throat_width, rel=0.25)
    assert u_th < CF.max_speed    # the throat is not choked by the vehicles' speed limit


def test_fields_and_plots(flow2d, tmp_path):
    ch, _, binner, _, _ = flow2d
    f = binner.result()
    throat = np.argmin(np.abs(f.x - ch.throat_x))
    inlet = np.argmin(np.abs(f.x - 4.0))
    centre = np.argmin(np.abs(f.y))
    assert f.speed[throat, centre] > 1.5 * f.speed[inlet, centre]
    assert f.mean["P"][inlet, centre] > f.mean["P"][throat, centre] > 0.0    # pressure falls along the flow
    assert np.isnan(f.speed[throat, 0])        # cells outside the throat's walls carry no samples
    nd = f.number_density[inlet, centre]
    assert nd == pytest.approx(f.mean["rho"][inlet, centre], rel=0.1)   # binned count ~ kernel estimate
    from sim.fisc_plot import plot_fields
    out = plot_fields(f, ch, tmp_path / "fields.png")
    assert out.stat().st_size > 10_000


def test_a_3d_extruded_channel_flows_and_keeps_agents_inside():
    ch = Channel(inlet_width=4.0, throat_width=2.0, outlet_width=4.0, inlet_length=4.0, converge_length=3.0,
                 throat_length=2.0, diverge_length=3.0, outlet_length=4.0, height=1.2, inlet_zone=1.5,
                 outlet_zone=1.5)
    sim = FiscChannelSim(ch, FiscParams(), CF, dt=0.05)
    binner, sep, clear = steady_run(sim, warmup=15.0, duration=15.0)
    flux = sim.flux()
    assert flux.min() > 2.0 and (flux.max() - flux.min()) / flux.mean() < 0.1
    assert clear >= 0.5 * sim.params.body_radius and sep > 2 * CF.body_radius
    pr = binner.profile()
    u_in = pr["ux"][(pr["x"] > 2) & (pr["x"] < 4)].mean()
    u_th = pr["ux"][(pr["x"] > 7) & (pr["x"] < 9)].mean()
    assert u_th > 1.5 * u_in


def test_cli_channel_writes_fields_and_plots(tmp_path, capsys):
    import json
    from swarm_ros.cli import main
    rc = main(["fisc", "channel", "--inlet-width", "4", "--throat-width", "2", "--outlet-width", "4",
               "--warmup", "3", "--duration", "3", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "flux (agents/s)" in out and "min separation" in out

    def no_nan(text):
        raise AssertionError(f"{text} in JSON")

    data = json.loads((tmp_path / "fisc_fields.json").read_text(), parse_constant=no_nan)
    assert data["dim"] == 2 and data["channel"]["throat_width"] == 2.0
    assert len(data["fields"]["speed"]) == len(data["fields"]["x"])
    assert data["min_wall_clearance_m"] > 0
    assert (tmp_path / "fisc_fields.png").stat().st_size > 10_000


def test_cli_channel_never_overwrites_a_run(tmp_path, capsys, monkeypatch):
    """Default: a new runs/fisc_channel_2d_<time>/ each run; an --out that holds files is refused
    in one line before any work, unless --force."""
    from swarm_ros.cli import main
    monkeypatch.chdir(tmp_path)
    short = ["--warmup", "0.5", "--duration", "0.5"]
    assert main(["fisc", "channel", *short]) == 0
    assert main(["fisc", "channel", *short]) == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(r.name.startswith("fisc_channel_2d_") for r in runs)
    assert all((r / "fisc_fields.json").is_file() for r in runs)
    capsys.readouterr()
    kept = (runs[0] / "fisc_fields.json").read_bytes()
    assert main(["fisc", "channel", *short, "--out", str(runs[0])]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: command line: --out: {runs[0]} exists and is not empty")
    assert "--force" in err and (runs[0] / "fisc_fields.json").read_bytes() == kept
    assert main(["fisc", "channel", *short, "--seed", "1", "--out", str(runs[0]), "--force"]) == 0
    assert (runs[0] / "fisc_fields.json").read_bytes() != kept


@pytest.mark.parametrize("argv,field", [(["--inlet-zone", "9"], "--inlet-zone"),
                                        (["--outlet-zone", "7", "--outlet-length", "5"], "--outlet-zone")])
def test_cli_bad_geometry_is_one_line_error(argv, field, capsys):
    from swarm_ros.cli import main
    assert main(["fisc", "channel", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: command line: " + field) and "allowed:" in err


@pytest.mark.parametrize("argv", [["--throat-width", "-1"], ["--dim", "4"], ["--duration", "x"]])
def test_cli_bad_numbers_are_refused_by_the_parser(argv, capsys):
    from swarm_ros.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["fisc", "channel", *argv])
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_cfd_case_is_written_for_the_channel(tmp_path):
    """Without OpenFOAM: the case's mesh has the channel's corners, its patches and one cell zone."""
    from swarm_ros.analysis import fisc_cfd
    ch = Channel()
    fisc_cfd.write_case(tmp_path, ch, u_in=0.3, nu=0.07, drag=0.1, cells_per_m=4, ny=8)
    mesh = (tmp_path / "system/blockMeshDict").read_text()
    assert mesh.count("hex (") == 5 and mesh.count(" channel (") == 5
    for name in ("inlet", "outlet", "walls", "frontAndBack"):
        assert f"    {name} {{" in mesh
    verts = re.search(r"vertices \((.*?)\n\);", mesh, re.S).group(1)
    pts = np.array(re.findall(r"\(([-\d.e]+) ([-\d.e]+) ([-\d.e]+)\)", verts), float)
    assert len(pts) == 24
    assert np.allclose(np.abs(pts[:12, 1]), np.repeat(ch.half_widths(), 2))
    assert "uniform (0.3 0 0)" in (tmp_path / "0/U").read_text()
    assert "d (1.42857143 1.42857143 1.42857143)" in (tmp_path / "constant/fvOptions").read_text()
    # the relaxation viscosity of the swarm: viscosity x <r^2>/(2 dim), <r^2> = 5/36 h^2 in 2-D
    p = FiscParams()
    assert fisc_cfd.swarm_viscosity(p) == pytest.approx(p.viscosity * 5 / 36 * p.h ** 2 / 4, rel=1e-6)


def test_cfd_fields_are_read_from_openfoam_ascii(tmp_path):
    from swarm_ros.analysis import fisc_cfd
    (tmp_path / "U").write_text("FoamFile\n{\n}\ninternalField   nonuniform List<vector> \n3\n(\n(1 2 0)\n"
                                "(3.5 -1 0)\n(0 0 1e-3)\n)\n;\nboundaryField\n{\n"
                                " inlet { value nonuniform List<vector> 1((9 9 9)); }\n}\n")
    (tmp_path / "p").write_text("internalField nonuniform List<scalar> 2(0.5 -0.25);\nboundaryField {}\n")
    assert fisc_cfd.read_field(tmp_path / "U").tolist() == [[1, 2, 0], [3.5, -1, 0], [0, 0, 1e-3]]
    assert fisc_cfd.read_field(tmp_path / "p").tolist() == [0.5, -0.25]


def test_swarm_fields_agree_with_openfoam(flow2d, tmp_path):
    """simpleFoam on the same channel (same viscosity, drag, inlet speed): normalised RMSE
    (see swarm_ros/analysis/fisc_cfd.compare) below 0.25 for velocity and pressure, density within 10 % of
    uniform. Measured: about 0.10, 0.09, 0.04."""
    from swarm_ros.analysis import fisc_cfd
    if not fisc_cfd.available():
        pytest.skip("OpenFOAM is not installed (apt-get install openfoam)")
    ch, sim, binner, _, _ = flow2d
    r = fisc_cfd.reference(binner, sim.params, tmp_path / "case", cells_per_m=6, ny=24)
    assert r["cells"] > 300
    assert r["velocity"] < 0.25 and r["pressure"] < 0.25 and r["density"] < 0.1


@pytest.mark.parametrize("argv,installed,problem", [(["--cfd"], False, "OpenFOAM"),
                                                    (["--cfd", "--dim", "3"], True, "2-D")])
def test_cli_cfd_refusals_are_one_line_errors(argv, installed, problem, capsys, monkeypatch):
    from swarm_ros.analysis import fisc_cfd
    from swarm_ros.cli import main
    monkeypatch.setattr(fisc_cfd, "available", lambda: installed)
    assert main(["fisc", "channel", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: command line: --cfd:") and problem in err


def test_two_close_agents_in_a_sparse_swarm_push_apart():
    """No pressure between two lone agents (density below rho0), but closer than `separation`
    spacings the collision-avoidance push separates them; farther apart they hold."""
    ch, p = Channel(), FiscParams()
    for gap, moves in ((0.1, True), (0.5, False)):
        pos = np.array([[ch.throat_x, 0.0], [ch.throat_x + gap, 0.0]])
        v, f = fisc_step_batched(pos, np.zeros_like(pos), ch, p, LIM)
        assert (f.P == 0).all()
        if moves:
            assert v[0, 0] < -0.1 and v[1, 0] > 0.1 and v[0, 0] == pytest.approx(-v[1, 0])
        else:
            assert np.array_equal(v, np.zeros_like(v))
