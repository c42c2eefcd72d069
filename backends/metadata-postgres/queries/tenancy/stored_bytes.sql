-- Objects not yet collected count too: they are stored until they are deleted.
SELECT COALESCE(SUM(size), 0)::BIGINT AS bytes FROM objects WHERE tenant = $1
