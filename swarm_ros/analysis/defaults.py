"""Default thresholds of the analysis, each with its reason (the CLI shows them without
importing the numeric modules)."""

NEAR_MISS_MARGIN = 0.3   # m of surface gap: half the safety layer's default separation margin (0.6 m)
MIN_SPEED = 0.1          # m/s: slower drones hover and have no heading (about a tenth of a Crazyflie's
                         # top speed; a hovering drone's position noise stays below it)
FOOTPRINT = 1.0          # m: coverage footprint radius (a 90-degree downward camera at 1 m altitude)
