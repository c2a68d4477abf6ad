"""Analysis of recorded runs (`swarm-ros analyze`): rosbag2 -> metrics, plots and a report.

ROS-free: bags are read with the `rosbags` library, so it runs where no ROS is installed.
bag (stream the bag) -> context (world, radii) -> grid (common time grid) -> safety, order,
coverage, radiostats -> metrics (one run) -> plots, report (HTML), compare (two runs).
"""
