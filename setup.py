"""swarm_ros: an ament_python ROS 2 package that also installs with pip (ROS 2 wheels from PyPI)."""
import sys
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.dist import Distribution

install_data = Distribution().get_command_class("install_data")   # its module moved between setuptools versions

PACKAGE = "swarm_ros"
# The real folder of this file: `colcon build --symlink-install` runs a symlink to it from build/,
# where README.md is not linked.
HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
sys.path.insert(0, str(HERE))
from swarm_ros.ament_index import write_launchers  # noqa: E402  (the package's own, dependency-free)
NODE_EXECUTABLES = ("simulator", "drone", "recorder", "swarm_view", "objective", "planner", "fisc_swarm", "update_server",
                    "gz_odom_adapter")   # = swarm_ros.nodes.NODE_EXECUTABLES


def data_tree(folder: str, patterns=("*.yaml", "*.py", "*.sdf", "*.urdf")):
    """(install dir, files) pairs that copy `folder` into share/swarm_ros/ keeping its layout."""
    out = {}
    for pattern in patterns:
        for f in glob(f"{folder}/**/{pattern}", recursive=True):
            if "__pycache__" in f or f.endswith("__init__.py"):
                continue
            out.setdefault(str(Path("share", PACKAGE, Path(f).parent)), []).append(f)
    return sorted(out.items())


class install_data_and_node_launchers(install_data):
    """Also put each executable where launch_ros and `ros2 run` look: <prefix>/lib/swarm_ros/.

    colcon's `setup.py install` installs the console scripts there already (setup.cfg) and they
    are left alone; pip puts them in <prefix>/bin, so a launcher in lib/swarm_ros runs that one
    (a wheel keeps the launcher's mode: pip installs it executable).
    """

    def run(self):
        super().run()
        if not self.dry_run:
            self.outfiles += [str(p) for p in write_launchers(Path(self.install_dir))]


ROS_WHEELS = [  # a real rclpy and Fast DDS from PyPI; on a ROS 2 machine the distro's are used
    "ros-rclpy[fastrtps]", "ros-std-msgs", "ros-geometry-msgs", "ros-nav-msgs", "ros-sensor-msgs",
    "ros-visualization-msgs", "ros-builtin-interfaces",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Decentralized control of heterogeneous drone swarms (Crazyflie + PX4) on ROS 2",
    long_description=README.read_text() if README.is_file() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["swarm_ros", "swarm_ros.*", "sim", "sim.*", "firmware_update",
                                    "firmware_update.*"]),
    package_data={"firmware_update": ["models/*.safetensors"],    # the shipped perception models
                  "swarm_ros": ["dds_profile.xml", "dds_profile_loopback.xml"]},   # the processes' Fast DDS profiles
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        # sim/ is also a Python package: only its worlds are data (its modules install as code)
        *data_tree("launch"), *data_tree("config", ("*.yaml", "*.safetensors", "*.json", "*.rviz")), *data_tree("sim/worlds"),
    ],
    install_requires=[
        "numpy>=1.24", "scipy>=1.10", "pyyaml>=6", "rich>=13", "rosbags>=0.10.10", "matplotlib>=3.6",
        "cflib>=0.1.34", "pymavlink>=2.4.40",   # hardware backends; cflib 0.1.34: checksum-free UDP driver
        "safetensors>=0.4", "cryptography>=41",  # model patches: tensors without pickle, Ed25519
        # software in the loop: rigid-body physics, MPC, RL environments (single- and multi-agent)
        "pybullet>=3.2", "casadi>=3.6", "gymnasium>=1.0", "pettingzoo>=1.24",
        *ROS_WHEELS,
    ],
    extras_require={
        # wheel: lets the packaging test build with --no-build-isolation (offline) on setuptools < 70.1
        # numba: the test suite checks the compiled FISC step against numpy
        # mavsdk-grpc: MAVSDK with its mavsdk_server binary, the independent MAVLink client of the tests
        # colcon-core, colcon-ros, colcon-bash: the colcon workspace build the install-route test does
        # foxglove-sdk, websockets, protobuf: the live view, and the WebSocket client that checks it
        # (protobuf decodes its scenes from the schema the server advertises)
        # ray: the sweep and distributed-training tests run on a local (loopback) Ray
        # pytest-xdist: the whole suite runs its test files in parallel (scripts/run-tests)
        "test": ["ray>=2.9", "pytest>=7", "pytest-xdist>=3.5", "ruff>=0.5", "mcap>=1.1", "mcap-ros2-support>=0.5", "wheel", "numba>=0.59",
                 "mavsdk-grpc>=4; sys_platform == 'linux' and platform_machine in 'x86_64 aarch64'",
                 "colcon-core>=0.15", "colcon-ros>=0.5", "colcon-bash>=0.4",
                 "foxglove-sdk>=0.30", "websockets>=12", "protobuf>=4"],
        # `--view foxglove`: the live view over the Foxglove WebSocket protocol
        "view": ["foxglove-sdk>=0.30"],
        # the compiled FISC-like step (swarm_ros/control/fisc_jit.py); numpy runs it otherwise
        "fast": ["numba>=0.59"],
        # `swarm-ros sweep` and `policy train --ray` on Ray (locally or a cluster); pyarrow: a Parquet table
        "sweep": ["ray>=2.9", "pyarrow>=12"],
        # the comparison peer of bench/bench_plan.py (OMPL's FMT*)
        "bench": ["ompl>=2"],
        # the documentation site (docs/): Sphinx with MyST Markdown; test/test_docs.py builds it
        "docs": ["sphinx>=7", "myst-parser>=2"],
        # examples/rl_sb3_ppo.py: Stable-Baselines3 PPO on the Gymnasium environment. Install torch's
        # CPU build first (pip install torch==2.13.0, as scripts/_venv.sh does): with no torch
        # installed, this range would pull the CUDA build of several GB
        "rl": ["torch>=2.3", "stable-baselines3>=2.3"],
    },
    cmdclass={"install_data": install_data_and_node_launchers},
    zip_safe=True,
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "swarm-ros = swarm_ros.cli:main",
            *[f"{exe} = swarm_ros.nodes.{exe}:main" for exe in NODE_EXECUTABLES],
        ],
        # plugins found by name; the built-ins register like any installed package
        "swarm_ros.physics": ["pointmass = swarm_ros.physics:PointMass", "pybullet = swarm_ros.physics:PyBullet"],
        "swarm_ros.hardware": ["crazyflie = swarm_ros.hardware.crazyflie:CrazyflieBackend",
                               "px4 = swarm_ros.hardware.px4:Px4Backend"],
        "swarm_ros.controllers": [
            "waypoint = swarm_ros.control.waypoint:WaypointController",
            "formation = swarm_ros.control.formation:FormationController",
            "cao = swarm_ros.control.cao_controller:CAOController",
            "planned = swarm_ros.control.planned:PlannedController",
            "fisc = swarm_ros.control.fisc_controller:FiscController",
            "policy = swarm_ros.control.policy_role:PolicyRoleController",
        ],
        "swarm_ros.objectives": [
            "surveillance = swarm_ros.control.cao_objectives:Surveillance",
            "persistent_coverage = swarm_ros.control.cao_objectives:PersistentCoverage",
        ],
    },
)
