"""imgpipe — the project's library, shipped inside every Lambda package.

Domain code (validation, image operations, metadata rules) takes plain values and never imports boto3;
AWS access lives in small adapters. Handlers in lambdas/ stay thin and call into here.
"""

__version__ = "0.1.0"
