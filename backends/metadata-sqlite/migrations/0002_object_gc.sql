-- Finding objects no batch references (retention, deleted topics) without a table scan.
CREATE INDEX batches_by_object ON batches (object_id);
