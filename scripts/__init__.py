"""The project's tooling, in layers; a module imports only from its own layer or the layers below it
(`make lint` enforces it with import-linter, see [tool.importlinter] in pyproject.toml):

    dev     developer tools: lint, docs, demo, report, bench, cost
    ops     operating a deployment: API keys, web users, smoke test, IAM audit and authorization, Kafka producer
    deploy  packaging and Terraform: package, tf, plan summary, bootstrap, release
    local   the local AWS runtime: the emulator and broker, the Lambda host, API gateway, event sources
    cli     the repository root and the command-line error convention
"""
