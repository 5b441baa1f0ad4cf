-- Images and bytes by source, format and status.
SELECT source, format, status, count(*) AS images, sum(size_bytes) AS bytes
FROM {{current_images}} AS current_images
GROUP BY source, format, status
ORDER BY source, format, status
