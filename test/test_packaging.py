"""Packaging: what `pip install` and colcon (ament_python) put where.

One wheel is built per session from a copy of the checkout (so no build/ or egg-info lands in
the working tree, and stale build/lib files cannot leak into it) and its contents are checked:
modules, data files under share/swarm_ros, the ament index marker, console scripts. The wheel
is then unpacked into a fake install prefix to check that an installed swarm_ros finds its
missions in <prefix>/share/swarm_ros with no checkout around.
"""
from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from swarm_ros.nodes import NODE_EXECUTABLES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "swarm_ros"
CODE_PACKAGES = ("swarm_ros", "sim", "firmware_update")
DATA_DIRS = ("launch", "config", "sim/worlds")      # copied into share/swarm_ros keeping their layout
REQUIRED_DATA = ("launch/swarm.launch.py", "config/missions/rings.yaml", "config/fleets/mixed_lab.yaml",
                 "sim/worlds/pillar_field.yaml", "package.xml")
COPY_IGNORE = shutil.ignore_patterns(".git", "build", "install", "log", "runs", "*.egg-info", "__pycache__",
                                     "*.pyc", ".pytest_cache", ".venv", "results", "test")


def _package_xml() -> ET.Element:
    return ET.parse(REPO / "package.xml").getroot()


def _source_files(folder: str, suffixes=None) -> set[str]:
    """Files under REPO/folder as repo-relative posix paths (no caches)."""
    root = REPO / folder
    return {p.relative_to(REPO).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
            and (suffixes is None or p.suffix in suffixes)}


def _offline_build_possible() -> bool:
    """bdist_wheel is importable here: setuptools >= 70.1 has it, older ones need `wheel`."""
    return (importlib.util.find_spec("setuptools") is not None
            and (importlib.util.find_spec("wheel") is not None
                 or importlib.util.find_spec("setuptools.command.bdist_wheel") is not None))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built with the test's own interpreter from a clean copy of the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, out = tmp / "src", tmp / "dist"
    shutil.copytree(REPO, src, ignore=COPY_IGNORE)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
           "-w", str(out), str(src)]
    offline = _offline_build_possible()
    if offline:
        cmd.insert(4, "--no-build-isolation")      # uses this environment's setuptools: no network
    env = dict(os.environ, PIP_NO_INPUT="1")
    run = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    log = run.stdout + run.stderr
    if run.returncode != 0:
        if not offline and ("No matching distribution found" in log or "Could not find a version" in log):
            pytest.skip("cannot build a wheel offline: this environment has no bdist_wheel "
                        "(pip install wheel, or setuptools>=70.1) and the package index is unreachable")
        pytest.fail(f"pip wheel failed ({'no ' if offline else ''}build isolation):\n{log[-4000:]}")
    wheels = list(out.glob(f"{PACKAGE}-*.whl"))
    assert len(wheels) == 1, f"expected one {PACKAGE} wheel in {out}, found {wheels}\n{log[-2000:]}"
    with zipfile.ZipFile(wheels[0]) as zf:
        yield zf


def _dist_prefix(zf: zipfile.ZipFile) -> str:
    """'swarm_ros-0.1.0' from the wheel's .dist-info folder."""
    (info,) = {n.split("/")[0] for n in zf.namelist() if n.split("/")[0].endswith(".dist-info")}
    return info[: -len(".dist-info")]


def _data_files(zf: zipfile.ZipFile) -> dict[str, str]:
    """Install path (relative to the prefix) -> wheel member, for everything in .data/data/."""
    head = f"{_dist_prefix(zf)}.data/data/"
    return {n[len(head):]: n for n in zf.namelist() if n.startswith(head) and not n.endswith("/")}


# --- metadata that must agree across setup.py, package.xml and the code -----------------------

def _setup_py_constant(name: str):
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py defines no {name}")


def test_setup_py_node_executables_match_the_nodes_package():
    assert tuple(_setup_py_constant("NODE_EXECUTABLES")) == tuple(NODE_EXECUTABLES)


@pytest.mark.parametrize("exe", NODE_EXECUTABLES)
def test_each_node_executable_is_a_module_with_main(exe):
    path = REPO / "swarm_ros" / "nodes" / f"{exe}.py"
    assert path.is_file(), f"NODE_EXECUTABLES names {exe!r} but {path} does not exist"
    tree = ast.parse(path.read_text())
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains, f"{path} has no top-level main() for its console script"
    args = mains[0].args
    assert len(args.args) == len(args.defaults) and None not in args.kw_defaults, \
        "main() must be callable without arguments (console scripts call main())"


def test_versions_and_names_agree():
    import swarm_ros
    xml = _package_xml()
    assert xml.findtext("name") == PACKAGE
    assert xml.findtext("export/build_type") == "ament_python"
    assert xml.findtext("version") == _setup_version() == swarm_ros.__version__


def _setup_version() -> str:
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "version":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py passes no version=")


def test_setup_cfg_puts_scripts_where_ros2_run_finds_them():
    """colcon runs setup.py install/develop: executables must land in lib/swarm_ros, not bin."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg.get("install", "install_scripts") == f"$base/lib/{PACKAGE}"
    assert cfg.get("develop", "script_dir") == f"$base/lib/{PACKAGE}"
    assert (REPO / "resource" / PACKAGE).is_file(), "ament index marker resource/swarm_ros is missing"


# --- the wheel -------------------------------------------------------------------------------

def test_wheel_holds_every_module_of_the_code_packages(wheel):
    names = set(wheel.namelist())
    for pkg in CODE_PACKAGES:
        assert f"{pkg}/__init__.py" in names, f"package {pkg} is not in the wheel"
    expected = set().union(*(_source_files(p, {".py"}) for p in CODE_PACKAGES))
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel (a folder without __init__.py?): {missing}"
    assert "swarm_ros/nodes/__init__.py" in names
    for exe in NODE_EXECUTABLES:
        assert f"swarm_ros/nodes/{exe}.py" in names
    stray = sorted(n for n in names if n.split("/")[0] in ("test", "bench", "launch", "config"))
    assert not stray, f"non-package files installed as top-level modules: {stray}"


def test_wheel_installs_data_under_share(wheel):
    data = _data_files(wheel)
    share = f"share/{PACKAGE}/"
    for rel in REQUIRED_DATA:
        assert share + rel in data, f"{share + rel} is not installed by the wheel"
    # every launch file, config file and world of the checkout is installed, byte for byte
    for folder in DATA_DIRS:
        for rel in _source_files(folder):
            assert share + rel in data, f"{rel} is not installed under {share}"
            assert wheel.read(data[share + rel]) == (REPO / rel).read_bytes(), f"{share + rel} differs"
    assert wheel.read(data[share + "package.xml"]) == (REPO / "package.xml").read_bytes()
    # sim/ is a code package too: its modules install once, as code, not again as data
    py_in_share = sorted(p for p in data if p.startswith(share) and p.endswith(".py")
                         and not p.startswith(share + "launch/"))
    assert not py_in_share, f"Python modules copied into share/ as data: {py_in_share}"


def test_wheel_registers_the_package_in_the_ament_index(wheel):
    data = _data_files(wheel)
    assert f"share/ament_index/resource_index/packages/{PACKAGE}" in data


def test_wheel_console_scripts(wheel):
    ep = configparser.ConfigParser(delimiters=("=",))
    ep.optionxform = str                                   # keep names case and '-' as they are
    ep.read_string(wheel.read(f"{_dist_prefix(wheel)}.dist-info/entry_points.txt").decode())
    scripts = {k: v.strip() for k, v in ep.items("console_scripts")}
    assert scripts.get("swarm-ros") == "swarm_ros.cli:main"
    for exe in NODE_EXECUTABLES:
        assert scripts.get(exe) == f"swarm_ros.nodes.{exe}:main", f"no console script for {exe}"


def test_wheel_metadata(wheel):
    meta = wheel.read(f"{_dist_prefix(wheel)}.dist-info/METADATA").decode()
    headers = [line.split(": ", 1) for line in meta.split("\n\n", 1)[0].splitlines() if ": " in line]
    names = [v for k, v in headers if k == "Name"]
    assert [re.sub(r"[-_.]+", "-", n).lower() for n in names] == ["swarm-ros"], names   # PEP 503 form
    assert ["Version", _package_xml().findtext("version")] in headers
    requires = [v for k, v in headers if k == "Requires-Dist"]
    assert any(r.startswith("ros-rclpy") for r in requires), requires


def test_installed_layout_finds_missions_in_share(wheel, tmp_path):
    """Unpack the wheel as `pip install --prefix P` would and use it with no checkout in sight."""
    prefix = tmp_path / "prefix"
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    head = f"{_dist_prefix(wheel)}.data/data/"
    for name in wheel.namelist():
        if name.endswith("/"):
            continue
        target = prefix / name[len(head):] if name.startswith(head) else site / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wheel.read(name))
    probe = (
        "import json, swarm_ros, sim\n"
        "from swarm_ros.core.resources import share_dir, find_mission\n"
        "from swarm_ros.mission import load_mission\n"
        "m = load_mission(find_mission('rings'))\n"
        "print(json.dumps({'pkg': swarm_ros.__file__, 'sim': sim.__file__, 'share': str(share_dir()),\n"
        "                  'mission': str(m.file), 'drones': list(m.fleet.names)}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(got["pkg"]).is_relative_to(site), f"imported the checkout, not the install: {got['pkg']}"
    assert Path(got["sim"]).is_relative_to(site)
    assert Path(got["share"]) == prefix / "share" / PACKAGE
    assert Path(got["mission"]) == prefix / "share" / PACKAGE / "config" / "missions" / "rings.yaml"
    assert got["drones"] == ["cf1", "cf2", "cf3", "cf4", "x1", "x2"]


# --- where launch_ros and `ros2 run` look for executables -------------------------------------

def test_wheel_installs_executable_launchers_in_lib(wheel):
    """pip puts console scripts in bin/; launch_ros looks in <prefix>/lib/swarm_ros/<exe>."""
    head = f"{_dist_prefix(wheel)}.data/data/lib/{PACKAGE}/"
    for exe in (*NODE_EXECUTABLES, "swarm-ros"):
        info = wheel.getinfo(head + exe)
        assert info.external_attr >> 16 & 0o111, f"{exe} launcher is not executable in the wheel"
        text = wheel.read(info).decode()
        assert text.startswith("#!/bin/sh\n") and f'"$(dirname "$0")/../../bin/{exe}"' in text


def test_launcher_runs_the_console_script_beside_it(tmp_path):
    from swarm_ros.ament_index import write_launchers
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "simulator").write_text('#!/bin/sh\necho "simulator $*"\n')
    (tmp_path / "bin" / "simulator").chmod(0o755)
    write_launchers(tmp_path)
    run = subprocess.run([str(tmp_path / "lib" / PACKAGE / "simulator"), "--ros-args", "-p", "a:=1"],
                         capture_output=True, text=True, timeout=30)
    assert run.stdout == "simulator --ros-args -p a:=1\n", run.stderr
    # an executable already there (colcon's console script) is left alone
    (tmp_path / "lib" / PACKAGE / "drone").write_text("mine")
    write_launchers(tmp_path)
    assert (tmp_path / "lib" / PACKAGE / "drone").read_text() == "mine"


def test_editable_checkout_registers_in_the_ament_index(tmp_path):
    from swarm_ros.ament_index import prefix_path, register_checkout
    register_checkout(tmp_path, REPO)
    register_checkout(tmp_path, REPO)            # again: idempotent
    assert (tmp_path / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE).is_file()
    share = tmp_path / "share" / PACKAGE
    assert (share / "package.xml").resolve() == REPO / "package.xml"
    assert {p.name for p in (share / "launch").iterdir()} == {p.name for p in (REPO / "launch").glob("*.py")}
    assert all(p.is_symlink() and p.resolve().parent == REPO / "launch" for p in (share / "launch").iterdir())
    assert (share / "config" / "missions" / "rings.yaml").is_file()
    assert os.access(tmp_path / "lib" / PACKAGE / "simulator", os.X_OK)
    assert prefix_path(tmp_path, f"/opt/ros:{tmp_path}:") == f"{tmp_path}:/opt/ros"
