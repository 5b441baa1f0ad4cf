"""Building and deploying: deterministic Lambda zips (package), Terraform per env (tf), plan summaries,
the state backend (bootstrap) and release tags."""
