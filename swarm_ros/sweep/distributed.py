"""Scoring a trainer's candidates on a sweep engine (Ray or a process pool): the population is
cut into one chunk per worker, each chunk a task, and the scores come back in candidate order,
so the trainer sees exactly what its serial loop would have computed."""
from __future__ import annotations


class ChunkedScorer:
    """`scorer(cfg, candidates, seeds) -> scores`, with `job_fn((cfg, chunk, seeds)) -> scores`
    run as `engine.map` tasks."""

    def __init__(self, engine, job_fn):
        self.engine, self.job_fn = engine, job_fn

    def __call__(self, cfg, candidates: list, seeds) -> list[float]:
        parts = min(self.engine.workers, len(candidates))
        chunks = [candidates[k::parts] for k in range(parts)]
        scores = [None] * len(candidates)
        for k, got in enumerate(self.engine.map(self.job_fn, [(cfg, chunk, seeds) for chunk in chunks])):
            scores[k::parts] = got
        return scores
