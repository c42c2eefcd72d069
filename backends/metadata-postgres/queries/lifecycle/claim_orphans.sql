-- Orphans found in the bucket, claimed for deletion: each candidate whose key time is at
-- least $5 ms old gets a row, unreferenced since long ago, so the next collection deletes
-- it. An object the store knows is left alone; a commit inserting the same key at this
-- moment is waited for, and wins if it commits.
INSERT INTO objects (key, tenant, size, writer, created_at_ms, unreferenced_at_ms)
SELECT c.k, $1, c.sz, 'orphan-collection', streamhouse_now_ms(), 0
FROM UNNEST($2::TEXT[], $3::BIGINT[], $4::BIGINT[]) AS c(k, sz, t)
WHERE c.t <= streamhouse_now_ms() - $5
ON CONFLICT (key) DO NOTHING
RETURNING key
