UPDATE leases SET expires_at_ms = ?5
WHERE topic_id = ?1 AND partition = ?2 AND holder = ?3 AND epoch = ?4
