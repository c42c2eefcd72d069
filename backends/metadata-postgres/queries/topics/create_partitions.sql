INSERT INTO partitions (topic_id, partition, tenant)
SELECT $1, p, $2 FROM generate_series(0, $3 - 1) AS p
