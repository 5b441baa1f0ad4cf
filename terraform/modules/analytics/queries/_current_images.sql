-- Each image's latest exported change; images whose latest change is a removal (TTL, the retention audit) or
-- whose expiry has passed are left out. Every report reads this, as {{current_images}}.
SELECT *
FROM (
  SELECT
    changes.*,
    row_number() OVER (PARTITION BY image_id ORDER BY length(sequence) DESC, sequence DESC) AS change_rank
  FROM {{changes}} AS changes
) AS latest
WHERE change_rank = 1 AND event = 'upsert' AND expires_at > {{now_epoch}}
