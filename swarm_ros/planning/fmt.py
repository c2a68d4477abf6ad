"""Reference FMT* (Janson, Schmerling, Clark, Pavone 2015): one node at a time from a heap.

Written plainly and separately from the GMT* march (no shared loop code), so that it can check
it: GMT* with lambda -> 0 must give the same cost, and GMT* with lambda must stay within
(1 + 2 lambda) of it. Runs on host numpy over the same graph and the same edge checker.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from .roadmap import Graph


def fmt_star(graph: Graph, start: int, goal: int, valid: np.ndarray, edges_free) -> tuple[float, np.ndarray]:
    """Cost to the goal (inf if unreachable) and the parent array. `edges_free(parents, children)`."""
    n = graph.n
    cost = np.full(n, math.inf)
    parent = np.full(n, -1, np.intp)
    unvisited = np.asarray(valid, bool).copy()
    in_open = np.zeros(n, bool)
    unvisited[start], in_open[start], cost[start] = False, True, 0.0
    heap: list[tuple[float, int]] = []
    in_cost = graph.in_data["cost"]
    z = start
    while z != goal:
        xs = graph.out_idx[graph.out_ptr[z]:graph.out_ptr[z + 1]]
        xs = xs[unvisited[xs]]
        cands = []
        for x in xs:
            a, b = graph.in_ptr[x], graph.in_ptr[x + 1]
            ys, cs = graph.in_idx[a:b], in_cost[a:b]
            m = in_open[ys]
            total = cost[ys[m]] + cs[m]
            k = int(np.argmin(total))
            cands.append((int(x), int(ys[m][k]), float(total[k])))
        if cands:
            x, y, c = (np.array(v) for v in zip(*cands))
            free = edges_free(y, x)
            for xi, yi, ci in zip(x[free], y[free], c[free]):
                cost[xi], parent[xi], unvisited[xi] = ci, yi, False
                heapq.heappush(heap, (ci, int(xi)))
            in_open[x[free]] = True
        in_open[z] = False
        if not heap:
            return math.inf, parent
        _, z = heapq.heappop(heap)
    return float(cost[goal]), parent
