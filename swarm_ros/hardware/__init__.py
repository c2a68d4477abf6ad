"""Hardware backends, cflib and MAVLink (planned: issue 8). Nothing is implemented here yet."""
