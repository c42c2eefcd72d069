UPDATE leases SET expires_at_ms = streamhouse_now_ms() + $5
WHERE topic_id = $1 AND partition = $2 AND holder = $3 AND epoch = $4
RETURNING expires_at_ms
