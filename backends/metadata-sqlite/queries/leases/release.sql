-- Expire rather than delete: the epoch must survive so the next holder's is higher.
UPDATE leases SET expires_at_ms = 0
WHERE topic_id = ?1 AND partition = ?2 AND holder = ?3 AND epoch = ?4
