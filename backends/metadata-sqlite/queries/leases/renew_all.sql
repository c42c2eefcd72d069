-- Every unexpired lease of one holder, extended in one statement: an agent's renewal.
UPDATE leases SET expires_at_ms = ?2 + ?3
WHERE holder = ?1 AND expires_at_ms > ?2
RETURNING tenant, topic_id, partition, holder, epoch, expires_at_ms
