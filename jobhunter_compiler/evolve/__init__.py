"""Schema evolution: the snapshot of the models' stored shape that a project commits, and
the classification of each change since it as safe or needing a migration of the data."""
