"""`python -m swarm_ros.cli` is the `swarm-ros` command."""
from . import main

raise SystemExit(main())
