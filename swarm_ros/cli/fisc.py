"""`swarm-ros fisc ...`: FISC-like swarm flows through a nozzle.

    channel    fly a steady stream, write its fields and plots (and the OpenFOAM comparison)
    headless   fly a FISC swarm file (1,000+ agents) in this process and print its safety summary
    launch     fly it with the fisc_swarm node over ROS 2 (PoseArray + MarkerArray) and summarise
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..core.configfile import ConfigError

GEOMETRY = ("inlet_width", "throat_width", "outlet_width", "inlet_length", "converge_length", "throat_length",
            "diverge_length", "outlet_length", "inlet_zone", "outlet_zone")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return value


def _channel(args):
    from sim.channel import Channel
    given = {f: getattr(args, f) for f in GEOMETRY if getattr(args, f) is not None}
    try:
        return Channel(**given, height=args.height if args.dim == 3 else None)
    except ValueError as err:
        # Channel's messages start "channel <field> ..."
        field = str(err).split()[1]
        raise ConfigError("command line", "--" + field.replace("_", "-"), str(err),
                          "every size > 0, zones no longer than the inlet/outlet lengths") from None


def cmd_channel(args, console) -> int:
    import numpy as np
    from swarm_ros.control.fisc_swarm import FiscChannelSim, steady_run
    from swarm_ros.control.fisc import FiscParams
    from swarm_ros.core.platforms import PLATFORMS
    from ..analysis import fisc_cfd
    from ..launching import fresh_run_dir
    channel = _channel(args)
    out = fresh_run_dir(args.out, f"fisc_channel_{channel.dim}d", "--out", args.force)
    if args.cfd and channel.dim != 2:
        raise ConfigError("command line", "--cfd", "the CFD reference is 2-D", "--cfd with --dim 2")
    if args.cfd and not fisc_cfd.available():
        raise ConfigError("command line", "--cfd", "OpenFOAM (blockMesh, simpleFoam, postProcess) is not on PATH",
                          "install it (Debian: apt-get install openfoam) or leave out --cfd")
    params = FiscParams(spacing=args.spacing, inlet_compression=args.inlet_compression)
    sim = FiscChannelSim(channel, params, PLATFORMS["crazyflie_2.1"], seed=args.seed)
    t0 = time.perf_counter()
    with console.status(f"FISC-like flow, {channel.dim}-D channel, {sim.n} agents"):
        binner, sep, clear = steady_run(sim, args.warmup, args.duration, cell=args.cell)
    seconds = time.perf_counter() - t0
    fields, prof = binner.result(), binner.profile()
    s = channel.stations

    def mean_u(lo, hi):
        sel = (prof["x"] > lo) & (prof["x"] < hi)
        return float(np.nanmean(prof["ux"][sel]))
    speeds = {"inlet": mean_u(channel.inlet_zone + params.h, s[1]), "throat": mean_u(s[2], s[3]),
              "outlet": mean_u(s[4], channel.length - channel.outlet_zone)}
    summary = {"dim": channel.dim, "channel": {f: getattr(channel, f) for f in (*GEOMETRY, "height")},
               "params": params.__dict__, "agents_now": sim.n, "spawned": sim.spawned, "exited": sim.exited,
               "warmup_s": args.warmup, "sampled_s": args.duration, "wall_seconds": seconds,
               "flux_agents_per_s": dict(zip(("inlet", "throat", "outlet"), sim.flux().tolist())),
               "mean_axial_speed_m_s": speeds, "min_separation_m": sep, "min_wall_clearance_m": clear,
               "profile": {k: _finite_or_none(v) for k, v in prof.items()},
               "fields": {k: _finite_or_none(v) for k, v in fields.as_dict().items()}}
    flux = summary["flux_agents_per_s"]
    console.print(f"{channel.dim}-D channel, {sim.n} agents in flight, {args.duration:g} s sampled after "
                  f"{args.warmup:g} s ({seconds:.1f} s wall)")
    console.print("  flux (agents/s) inlet {inlet:.2f}, throat {throat:.2f}, outlet {outlet:.2f}".format(**flux))
    ratio = channel.inlet_width / channel.throat_width
    console.print("  mean axial speed (m/s) inlet {inlet:.3f}, throat {throat:.3f}, outlet {outlet:.3f}; "
                  .format(**speeds) + f"width ratio inlet/throat {ratio:.2f}")
    console.print(f"  min separation {sep:.3f} m, min wall clearance {clear:.3f} m")
    try:
        out.mkdir(parents=True, exist_ok=True)
        if args.cfd:
            with console.status("OpenFOAM reference (simpleFoam)"):
                summary["cfd"] = cfd = fisc_cfd.reference(binner, params, out / "openfoam_case")
            console.print(f"  OpenFOAM nRMSE on {cfd['cells']} cells: velocity {cfd['velocity']:.3f}, "
                          f"pressure {cfd['pressure']:.3f}, density {cfd['density']:.3f} "
                          "(normalisation: swarm_ros/analysis/fisc_cfd.py compare)")
        (out / "fisc_fields.json").write_text(json.dumps(summary))
    except OSError as err:
        raise ConfigError(str(out), "", f"cannot write the results ({err.strerror})") from None
    except RuntimeError as err:     # an OpenFOAM step failed: its log is named in the message
        raise ConfigError(str(out / "openfoam_case"), "", str(err)) from None
    from sim.fisc_plot import plot_fields
    console.print(f"  plots: {plot_fields(fields, channel, out / 'fisc_fields.png')}")
    console.print(f"  fields: {out / 'fisc_fields.json'}")
    return 0


def _swarm_file(name_or_path: str):
    from ..fisc_swarm_file import load_swarm_file
    from ..core.resources import find_named, share_dir
    return load_swarm_file(find_named(name_or_path, share_dir() / "config" / "fisc", ".yaml", "FISC swarm file"))


def _print_summary(console, s: dict) -> None:
    flux = s["flux_agents_per_s"]
    console.print(f"FISC swarm {s['swarm']}: {s['sim_time']:.1f} s simulated in {s['steps']} steps, "
                  f"{s['agents_now']} agents in flight ({s['spawned']} spawned, {s['exited']} left at the exit)")
    console.print(f"  min separation {s['min_separation']:.3f} m (contact below {s['contact_distance']:.2f} m: "
                  f"{'CONTACT' if s['contacts'] else 'none'}), min wall clearance {s['min_wall_clearance']:.3f} m "
                  f"({'LEFT THE CHANNEL' if s['left_channel'] else 'all inside'})")
    console.print("  flux (agents/s) inlet {inlet:.2f}, throat {throat:.2f}, outlet {outlet:.2f}".format(**flux))


def _finish(args, console, summary: dict) -> int:
    _print_summary(console, summary)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(summary, indent=2))
        except OSError as err:
            raise ConfigError(args.json, "", f"cannot write the summary ({err.strerror})") from None
    return 3 if summary["contacts"] or summary["left_channel"] else 0


def cmd_headless(args, console) -> int:
    from swarm_ros.control.fisc_swarm import SafetyWatch
    spec = _swarm_file(args.file)
    sim = spec.make_sim()
    watch = SafetyWatch(sim)
    duration = args.duration or spec.duration
    with console.status(f"FISC swarm {spec.name}: {sim.n} agents, {duration:g} s"):
        for _ in range(int(round(duration * spec.rate))):
            sim.step(watch.sample)
    return _finish(args, console, watch.summary(spec.name))


def cmd_launch(args, console) -> int:
    import os
    from ..launching import NodeSpec, ProcessGroup, fresh_run_dir, log_tail, ros_environment
    spec = _swarm_file(args.file)
    run_dir = fresh_run_dir(args.run_dir, spec.name, "--run-dir")
    params = {"swarm_file": spec.file, "summary_path": str((run_dir / "summary.json").resolve())}
    if args.speed is not None:
        params["speed"] = float(args.speed)
    if args.duration:
        params["duration"] = float(args.duration)
    domain = args.domain_id if args.domain_id is not None else int(os.environ.get("ROS_DOMAIN_ID", "0"))
    group = ProcessGroup(ros_environment(domain), run_dir / "logs")
    try:
        proc = group.start(NodeSpec("fisc_swarm", "fisc_swarm", "/swarm", params), 0)
        with console.status(f"FISC swarm {spec.name} over ROS 2 (domain {domain}), logs in {run_dir / 'logs'}"):
            proc.wait()
    finally:
        group.stop()
    summary_file = run_dir / "summary.json"
    if not summary_file.exists():
        _, code, log = (group.failed() or [(None, proc.returncode, group.procs[0][2])])[0]
        console.print(f"[red]error:[/] the fisc_swarm node ended (code {code}) without a summary:\n{log_tail(log)}")
        return 1
    return _finish(args, console, json.loads(summary_file.read_text()))


def _finite_or_none(values):
    """Numbers as JSON lists, with NaN (cells without samples) as null."""
    import numpy as np
    a = np.asarray(values, float)
    return np.where(np.isfinite(a), a, None).tolist()


def add_parser(sub) -> None:
    fisc = sub.add_parser("fisc", help="FISC-like fluid-pressure swarm flows (design from fluid mechanics)")
    fisc_sub = fisc.add_subparsers(dest="fisc_command", required=True)
    p = fisc_sub.add_parser("channel", help="fly a steady stream through a converging-diverging channel")
    p.add_argument("--dim", type=int, choices=(2, 3), default=2, help="2-D channel or 3-D extruded (default 2)")
    p.add_argument("--height", type=_positive, default=1.2, help="3-D channel height in m (default 1.2)")
    for f in GEOMETRY:
        p.add_argument("--" + f.replace("_", "-"), dest=f, type=_positive, help="m (default: sim/channel.py)")
    p.add_argument("--spacing", type=_positive, default=0.4, help="rest spacing of agents in m (default 0.4)")
    p.add_argument("--inlet-compression", type=_positive, default=0.15, help="inlet pressure as rho0 c^2 x this")
    p.add_argument("--warmup", type=_positive, default=40.0, help="seconds before sampling (default 40)")
    p.add_argument("--duration", type=_positive, default=60.0, help="seconds sampled (default 60)")
    p.add_argument("--cell", type=_positive, default=0.5, help="field cell size in m (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cfd", action="store_true", help="also run the OpenFOAM reference and print normalised RMSE")
    p.add_argument("--out", help="folder for fisc_fields.json and .png (default: a new runs/fisc_channel_<dim>d_<time>/)")
    p.add_argument("--force", action="store_true", help="write into an --out folder that already holds files")
    p.set_defaults(func=cmd_channel)
    for name, func, text in (("headless", cmd_headless, "fly a FISC swarm file in this process (no ROS)"),
                             ("launch", cmd_launch, "fly a FISC swarm file with the fisc_swarm node over ROS 2")):
        p = fisc_sub.add_parser(name, help=text)
        p.add_argument("file", help="FISC swarm file, or the name of an installed one (e.g. fisc_thousand)")
        p.add_argument("--duration", type=_positive, help="simulated seconds (default: the file's)")
        p.add_argument("--json", help="also write the summary to this JSON file")
        if name == "launch":
            p.add_argument("--speed", type=float, help="real-time factor (0: as fast as it goes; default: the file's)")
            p.add_argument("--run-dir", help="folder for logs and summary.json (default runs/<name>_<time>)")
            p.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID (default: $ROS_DOMAIN_ID or 0)")
        p.set_defaults(func=func)
