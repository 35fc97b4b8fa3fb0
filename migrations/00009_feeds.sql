-- +goose Up
-- Private calendar feeds: one per consultant (their own bookings) and one
-- per team (every booking of the team, for sales managers). The secret in
-- the feed's URL is stored as a SHA-256 for lookup and sealed with a key
-- derived from SECRET_KEY, so the portal and the admin page can show the
-- URL again while the database alone never reveals it. Rotating replaces
-- both in place, so the old URL stops working at once.
CREATE TABLE calendar_feeds (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultant_id uuid REFERENCES consultants (id) ON DELETE CASCADE,
    team          text CHECK (team IN ('django', 'nodejs')),
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    token_sealed  bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    rotated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((consultant_id IS NULL) <> (team IS NULL))
);
CREATE UNIQUE INDEX calendar_feeds_consultant_key ON calendar_feeds (consultant_id) WHERE consultant_id IS NOT NULL;
CREATE UNIQUE INDEX calendar_feeds_team_key ON calendar_feeds (team) WHERE team IS NOT NULL;

-- A team feed reads the team's bookings by start, as a consultant's feed
-- reads theirs through bookings_consultant_start_idx.
CREATE INDEX bookings_team_start_idx ON bookings (team, starts_at);

-- +goose Down
DROP INDEX bookings_team_start_idx;
DROP TABLE calendar_feeds;
