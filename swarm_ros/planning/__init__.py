"""GMT* motion planning: cached roadmaps (roadmap.py, kinodynamic.py), the group march
(gmt.py), exact obstacle checks (obstacles.py), the numpy/CuPy backend (backend.py); ROS-free."""
