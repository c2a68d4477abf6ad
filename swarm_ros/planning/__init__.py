"""GMT* motion planning (planned: issue 5). Nothing is implemented here yet."""
