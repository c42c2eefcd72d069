SELECT b.topic_id, SUM(b.size)::BIGINT AS bytes
FROM batches b JOIN topics t ON t.id = b.topic_id
WHERE t.tenant = $1
GROUP BY b.topic_id
ORDER BY b.topic_id
