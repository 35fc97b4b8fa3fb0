-- +goose Up
-- Token buckets for the per-network rate limits, shared by every instance:
-- N instances allow the limit once, not N times. Unlogged: after a crash
-- the buckets start full again, which only forgives.
CREATE UNLOGGED TABLE rate_buckets (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    allowed    boolean NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE rate_buckets;
