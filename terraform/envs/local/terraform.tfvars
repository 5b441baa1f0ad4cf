# Local stack against the embedded emulator. endpoint_url is usually passed as TF_VAR_endpoint_url by the
# Makefile (it picks the emulator port); the default is http://127.0.0.1:4566.
project             = "imgpipe"
environment         = "local"
region              = "us-east-1"
retention_days      = 7
lambda_architecture = "arm64"
