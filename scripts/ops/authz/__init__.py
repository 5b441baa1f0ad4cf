"""Authorization proven offline: the matrix of every edge the architecture needs or forbids (matrix.yaml), the
policy documents of an environment (documents.py: read back from the emulator or account, or from a saved plan),
and AWS's evaluation logic over them (engine.py). `python -m scripts.ops.authz --help`."""
