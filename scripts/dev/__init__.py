"""Developer tools: lint, generated docs, the demo, the BI report, benchmarks and the cost model."""
