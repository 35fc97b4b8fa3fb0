-- +goose Up
-- Every booking, lead and completion adds to today's count of its stage
-- in its own transaction, so one row per day and stage made concurrent
-- writers queue behind each other's commits. Counts now spread over
-- shards (one per database session, pg_backend_pid() % 64); readers sum.
ALTER TABLE funnel_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0 AND shard < 64);
ALTER TABLE funnel_counts DROP CONSTRAINT funnel_counts_pkey;
ALTER TABLE funnel_counts ADD PRIMARY KEY (day, stage, shard);

-- +goose Down
CREATE TEMPORARY TABLE funnel_counts_merged AS
    SELECT day, stage, sum(count)::bigint AS count FROM funnel_counts GROUP BY day, stage;
DELETE FROM funnel_counts;
ALTER TABLE funnel_counts DROP CONSTRAINT funnel_counts_pkey;
ALTER TABLE funnel_counts DROP COLUMN shard;
ALTER TABLE funnel_counts ADD PRIMARY KEY (day, stage);
INSERT INTO funnel_counts (day, stage, count) SELECT day, stage, count FROM funnel_counts_merged;
DROP TABLE funnel_counts_merged;
