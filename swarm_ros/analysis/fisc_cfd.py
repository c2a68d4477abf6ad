"""A CFD reference for the channel flow: an OpenFOAM case written, run and read back by the project.

Model: steady, incompressible, laminar Navier-Stokes (simpleFoam) in the same 2-D channel, one
cell thick (front and back `empty`). The swarm's own physics set the case:
- kinematic viscosity nu = viscosity_rate x <r^2>/(2 dim), the viscosity that the swarm's
  relaxation towards its kernel-mean velocity amounts to (<r^2>: the kernel's second moment);
- the swarm's drag to still air as a Darcy porosity over every cell, d = drag / nu;
- inlet at x = 0: uniform velocity equal to the swarm's measured mean inlet speed (the swarm's
  inlet is a pressure zone, so the flow rate is what the swarm flew); outlet: p = 0, velocity
  zero-gradient; side walls: slip (the swarm's walls exert no friction).
Mesh: blockMesh, five blocks (inlet, contraction, throat, expansion, outlet) with `cells_per_m`
cells along x and `ny` across every block.

Fields are compared on the swarm's cells (CFD cells averaged into them) between the inlet and
outlet zones; see `compare` for the normalisation of each RMSE.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from swarm_ros.control import fisc_kernel as K
from swarm_ros.control.fisc import FiscParams
from sim.channel import Channel

FOAM_DIR = "/usr/share/openfoam"
HEADER = """FoamFile
{{
    version 2.0;
    format ascii;
    class {cls};
    object {obj};
}}
"""


def available() -> bool:
    """OpenFOAM's tools on PATH (Debian: apt-get install openfoam)."""
    return all(shutil.which(tool) for tool in ("blockMesh", "simpleFoam", "postProcess"))


def reference(binner, params: FiscParams, folder: Path, **mesh) -> dict:
    """Write and run the case for the flow `binner` sampled, then compare (see `compare`)."""
    ch = binner.channel
    prof = binner.profile()
    x = prof["x"]
    inlet = (x > ch.inlet_zone + params.h) & (x < ch.stations[1])
    u_in = float(np.nanmean(prof["ux"][inlet]))
    nu = swarm_viscosity(params, ch.dim)
    write_case(folder, ch, u_in, nu, params.drag, **mesh)
    result = compare(binner, params, run_case(folder))
    result.update({"inlet_speed": u_in, "nu": nu, "darcy_d": params.drag / nu, "case": str(folder)})
    return result


def swarm_viscosity(params: FiscParams, dim: int = 2) -> float:
    """nu (m^2/s) of the relaxation term: viscosity x <r^2>/(2 dim), <r^2> of the kernel."""
    r = np.linspace(0.0, 1.0, 20001)
    shell = 2 * np.pi * r if dim == 2 else 4 * np.pi * r * r
    second = np.trapezoid(r * r * K.kernel(r, 1.0, dim) * shell, r) * params.h ** 2
    return params.viscosity * second / (2 * dim)


def write_case(folder: Path, channel: Channel, u_in: float, nu: float, drag: float,
               cells_per_m: float = 8.0, ny: int = 32, iterations: int = 600) -> Path:
    if channel.dim != 2:
        raise ValueError("the CFD reference is 2-D: pass a 2-D channel")
    folder = Path(folder)
    for sub in ("system", "constant", "0"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    xs, hw = channel.stations, channel.half_widths()
    verts = []
    for z in (0.0, 0.1):
        for x, h in zip(xs, hw):
            verts += [(x, -h, z), (x, h, z)]
    m = len(xs) * 2                       # vertices per z plane

    def v(k, upper, back):
        return 2 * k + upper + (m if back else 0)

    blocks, inlet, outlet, walls, empty = [], [], [], [], []
    for k in range(len(xs) - 1):
        nx = max(2, int(round((xs[k + 1] - xs[k]) * cells_per_m)))
        # hex corners: front (z = 0) lower-left, lower-right, upper-right, upper-left, then back
        c = [v(k + dx, up, back) for back in (0, 1) for dx, up in ((0, 0), (1, 0), (1, 1), (0, 1))]
        blocks.append(f"    hex ({' '.join(map(str, c))}) channel ({nx} {ny} 1) simpleGrading (1 1 1)")
        walls += [f"({c[0]} {c[1]} {c[5]} {c[4]})", f"({c[3]} {c[7]} {c[6]} {c[2]})"]
        empty += [f"({c[0]} {c[3]} {c[2]} {c[1]})", f"({c[4]} {c[5]} {c[6]} {c[7]})"]
        if k == 0:
            inlet.append(f"({c[0]} {c[4]} {c[7]} {c[3]})")
        if k == len(xs) - 2:
            outlet.append(f"({c[1]} {c[2]} {c[6]} {c[5]})")

    def patch(name, kind, faces):
        return f"    {name} {{ type {kind}; faces ({' '.join(faces)}); }}"

    files = {
        "system/blockMeshDict": HEADER.format(cls="dictionary", obj="blockMeshDict") +
        "convertToMeters 1;\nvertices (\n" + "\n".join(f"    ({x:.9g} {y:.9g} {z:.9g})" for x, y, z in verts) +
        "\n);\nblocks (\n" + "\n".join(blocks) + "\n);\nedges ();\nboundary (\n" +
        "\n".join([patch("inlet", "patch", inlet), patch("outlet", "patch", outlet), patch("walls", "wall", walls),
                   patch("frontAndBack", "empty", empty)]) + "\n);\nmergePatchPairs ();\n",
        "system/controlDict": HEADER.format(cls="dictionary", obj="controlDict") +
        f"application simpleFoam;\nstartFrom startTime;\nstartTime 0;\nstopAt endTime;\nendTime {iterations};\n"
        f"deltaT 1;\nwriteControl timeStep;\nwriteInterval {iterations};\npurgeWrite 0;\nwriteFormat ascii;\n"
        "writePrecision 8;\nwriteCompression off;\ntimeFormat general;\ntimePrecision 6;\nrunTimeModifiable false;\n",
        "system/fvSchemes": HEADER.format(cls="dictionary", obj="fvSchemes") +
        "ddtSchemes { default steadyState; }\ngradSchemes { default Gauss linear; }\n"
        "divSchemes { default none; div(phi,U) bounded Gauss linearUpwind grad(U);"
        " div((nuEff*dev2(T(grad(U))))) Gauss linear; }\n"
        "laplacianSchemes { default Gauss linear corrected; }\ninterpolationSchemes { default linear; }\n"
        "snGradSchemes { default corrected; }\n",
        "system/fvSolution": HEADER.format(cls="dictionary", obj="fvSolution") +
        "solvers {\n p { solver GAMG; tolerance 1e-08; relTol 0.05; smoother GaussSeidel; }\n"
        " U { solver smoothSolver; smoother symGaussSeidel; tolerance 1e-08; relTol 0.1; }\n}\n"
        "SIMPLE { nNonOrthogonalCorrectors 0; consistent yes; residualControl { p 1e-6; U 1e-7; } }\n"
        "relaxationFactors { equations { U 0.9; \".*\" 0.9; } }\n",
        "constant/transportProperties": HEADER.format(cls="dictionary", obj="transportProperties") +
        f"transportModel Newtonian;\nnu {nu:.9g};\n",
        "constant/turbulenceProperties": HEADER.format(cls="dictionary", obj="turbulenceProperties") +
        "simulationType laminar;\n",
        "constant/fvOptions": HEADER.format(cls="dictionary", obj="fvOptions") +
        "swarmDrag\n{\n    type explicitPorositySource;\n    explicitPorositySourceCoeffs\n    {\n"
        "        selectionMode cellZone;\n        cellZone channel;\n        type DarcyForchheimer;\n"
        "        DarcyForchheimerCoeffs\n        {\n"
        f"            d ({drag / nu:.9g} {drag / nu:.9g} {drag / nu:.9g});\n            f (0 0 0);\n"
        "            coordinateSystem { origin (0 0 0); e1 (1 0 0); e2 (0 1 0); }\n        }\n    }\n}\n",
        "0/U": HEADER.format(cls="volVectorField", obj="U") +
        f"dimensions [0 1 -1 0 0 0 0];\ninternalField uniform ({u_in:.9g} 0 0);\nboundaryField\n{{\n"
        f"    inlet {{ type fixedValue; value uniform ({u_in:.9g} 0 0); }}\n"
        "    outlet { type zeroGradient; }\n    walls { type slip; }\n    frontAndBack { type empty; }\n}\n",
        "0/p": HEADER.format(cls="volScalarField", obj="p") +
        "dimensions [0 2 -2 0 0 0 0];\ninternalField uniform 0;\nboundaryField\n{\n"
        "    inlet { type zeroGradient; }\n    outlet { type fixedValue; value uniform 0; }\n"
        "    walls { type slip; }\n    frontAndBack { type empty; }\n}\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run_case(folder: Path, timeout: float = 300.0) -> Path:
    """blockMesh, simpleFoam, cell centres; returns the latest time folder. Logs go to log.*."""
    folder = Path(folder)
    env = dict(os.environ)
    env.setdefault("WM_PROJECT_DIR", FOAM_DIR)      # where the Debian package keeps OpenFOAM's etc/
    env["PWD"] = str(folder.resolve())
    for cmd in (["blockMesh"], ["simpleFoam"], ["postProcess", "-func", "writeCellCentres", "-latestTime"]):
        with open(folder / f"log.{cmd[0]}", "w") as log:
            done = subprocess.run(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed (exit {done.returncode}); see {folder / ('log.' + cmd[0])}")
    return latest_time(folder)


def latest_time(folder: Path) -> Path:
    times = [p for p in Path(folder).iterdir() if p.is_dir() and re.fullmatch(r"[0-9.]+", p.name) and p.name != "0"]
    if not times:
        raise RuntimeError(f"no solution written in {folder}")
    return max(times, key=lambda p: float(p.name))


def read_field(path: Path) -> np.ndarray:
    """The internalField of an ASCII OpenFOAM field file: (n,) scalars or (n, 3) vectors."""
    text = Path(path).read_text()
    m = re.search(r"internalField\s+nonuniform\s+List<(scalar|vector)>\s*(\d+)\s*\(", text)
    if not m:
        raise RuntimeError(f"{path}: no nonuniform internalField")
    n, body = int(m.group(2)), text[m.end():]
    nums = np.array(body[:_list_end(body)].replace("(", " ").replace(")", " ").split(), float)
    return nums.reshape(n, 3) if m.group(1) == "vector" else nums[:n]


def _list_end(body: str) -> int:
    depth = 1
    for k, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return k
    raise RuntimeError("unterminated list")


def on_swarm_cells(binner, centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of CFD cell values (n,) whose centres fall in each swarm cell: (nx, ny), NaN if none."""
    ix = np.clip((centres[:, 0] / binner.cell).astype(np.intp), 0, binner.nx - 1)
    iy = np.clip(((centres[:, 1] - binner.y0) / binner.cell).astype(np.intp), 0, binner.ny - 1)
    idx = ix * binner.ny + iy
    size = binner.nx * binner.ny
    count = np.bincount(idx, minlength=size)
    out = np.full(size, np.nan)
    ok = count > 0
    out[ok] = np.bincount(idx, values, size)[ok] / count[ok]
    return out.reshape(binner.nx, binner.ny)


def compare(binner, params: FiscParams, time_dir: Path, min_count: int = 50) -> dict:
    """Normalised RMSE of swarm fields against the CFD solution, over cells with both.

    Cells: between the end of the inlet zone (+h) and the start of the outlet zone, with at least
    `min_count` swarm samples and a CFD cell centre. velocity: RMSE of the velocity vector
    difference / (max - min of CFD speed). pressure: both fields in m^2/s^2 (swarm P / rho0,
    CFD kinematic p), each less its mean over the cells (pressure is known up to a constant
    in the incompressible CFD), RMSE / (max - min of CFD pressure). density: the CFD density is
    uniform, so RMSE of swarm kernel density about its own mean / that mean.
    """
    ch = binner.channel
    f = binner.result(min_count)
    C = read_field(time_dir / "C")
    U = read_field(time_dir / "U")
    p = read_field(time_dir / "p")
    cu, cv, cp = (on_swarm_cells(binner, C, v) for v in (U[:, 0], U[:, 1], p))
    xg = f.x[:, None] + 0 * f.y[None, :]
    body = (xg > ch.inlet_zone + params.h) & (xg < ch.length - ch.outlet_zone)
    ok = body & np.isfinite(f.mean["ux"]) & np.isfinite(cu)
    speed = np.hypot(cu[ok], cv[ok])
    du = np.hypot(f.mean["ux"][ok] - cu[ok], f.mean["uy"][ok] - cv[ok])
    sp = f.mean["P"][ok] / params.rho0(2)
    sp, pc = sp - sp.mean(), cp[ok] - cp[ok].mean()
    rho = f.mean["rho"][ok]
    return {"cells": int(ok.sum()),
            "velocity": float(np.sqrt(np.mean(du ** 2)) / np.ptp(speed)),
            "pressure": float(np.sqrt(np.mean((sp - pc) ** 2)) / np.ptp(pc)),
            "density": float(np.sqrt(np.mean((rho - rho.mean()) ** 2)) / rho.mean()),
            "cfd_speed_range": [float(speed.min()), float(speed.max())],
            "cfd_pressure_range": [float(pc.min()), float(pc.max())]}
