-- Every lease of one holder, expired in one statement (graceful shutdown). Expired rather
-- than deleted: the epochs must survive so the next holders' are higher.
UPDATE leases SET expires_at_ms = 0
WHERE holder = $1 AND expires_at_ms > 0
