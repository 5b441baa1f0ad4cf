-- Images received per hour (UTC) and source.
SELECT substr(created_at, 1, 13) AS hour, source, count(*) AS images
FROM {{current_images}} AS current_images
GROUP BY substr(created_at, 1, 13), source
ORDER BY hour, source
