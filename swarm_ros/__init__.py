"""swarm_ros: decentralized control of heterogeneous drone swarms on ROS 2."""
import os as _os

__version__ = "0.1.0"

if _os.environ.get("SWARM_ROS_STACKS_ON_USR1"):
    # A run's processes (set by launching.ros_environment): SIGUSR1 writes every thread's Python
    # stack to the process's log, from the first import on, so a process that never connected
    # shows where it was. Registered here because a node module's own imports can be the place.
    import faulthandler as _faulthandler
    import signal as _signal
    _faulthandler.register(_signal.SIGUSR1, all_threads=True)
