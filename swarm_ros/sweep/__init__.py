"""Studies over many runs: a sweep file's grid of settings x seeds, run as independent tasks (on
Ray, or a local process pool), collected into one table and summarised over seeds."""
