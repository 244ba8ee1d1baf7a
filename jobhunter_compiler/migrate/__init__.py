"""`jobhunter migrate`: writing Beanie migrations for the schema changes the compiler
classifies (evolve/), and running them against the project's database."""
