-- Why images were rejected, by source.
SELECT reject_reason, source, count(*) AS images
FROM {{current_images}} AS current_images
WHERE status = 'REJECTED'
GROUP BY reject_reason, source
ORDER BY images DESC, reject_reason, source
