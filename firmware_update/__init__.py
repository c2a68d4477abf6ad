"""SwarmSync model-patch dissemination (planned: issue 6). Nothing is implemented here yet."""
