-- Upload (or Kafka record) to PROCESSED, and the processor's own time, in milliseconds, by source.
SELECT
  source,
  count(*) AS images,
  approx_percentile(latency_ms, 0.5) AS latency_p50_ms,
  approx_percentile(latency_ms, 0.95) AS latency_p95_ms,
  approx_percentile(latency_ms, 0.99) AS latency_p99_ms,
  max(latency_ms) AS latency_max_ms,
  approx_percentile(processing_ms, 0.5) AS processing_p50_ms
FROM {{current_images}} AS current_images
WHERE status = 'PROCESSED'
GROUP BY source
ORDER BY source
