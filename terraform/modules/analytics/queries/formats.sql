-- What arrives: formats with their counts, mean size and mean resolution.
SELECT
  format,
  count(*) AS images,
  round(avg(size_bytes)) AS mean_bytes,
  round(avg(width * height) / 1000000.0, 2) AS mean_megapixels
FROM {{current_images}} AS current_images
WHERE format IS NOT NULL
GROUP BY format
ORDER BY images DESC, format
