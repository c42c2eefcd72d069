-- Agents starting together take turns: the key is "SHMIGRAT" in ASCII. Held until the
-- migration transaction ends.
SELECT pg_advisory_xact_lock(6001131480595710292)
