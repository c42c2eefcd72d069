-- Later topics get ids above every restored one: ids are never reused.
SELECT setval(pg_get_serial_sequence('topics', 'id'), (SELECT max(id) FROM topics))
