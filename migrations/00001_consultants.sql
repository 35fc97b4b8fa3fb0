-- +goose Up
-- btree_gist lets one exclusion constraint mix equality on ids with range
-- overlap (bookings); created once per database, never per schema.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE consultants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    email       text NOT NULL CHECK (position('@' IN email) > 1),
    team        text NOT NULL CHECK (team IN ('django', 'nodejs')),
    regions     text[] NOT NULL CHECK (cardinality(regions) > 0 AND regions <@ ARRAY['canada', 'usa']),
    timezone    text NOT NULL,
    meeting_url text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX consultants_email_key ON consultants (lower(email));
CREATE INDEX consultants_team_idx ON consultants (team) WHERE active;

-- Weekly hours are wall-clock ranges in the consultant's own zone; minutes
-- since local midnight, weekday 0 = Sunday as in Go's time.Weekday.
CREATE TABLE consultant_hours (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultant_id uuid NOT NULL REFERENCES consultants (id) ON DELETE CASCADE,
    weekday       smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute  integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute    integer NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    CHECK (start_minute < end_minute)
);
CREATE INDEX consultant_hours_consultant_idx ON consultant_hours (consultant_id);

CREATE TABLE consultant_time_off (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultant_id uuid NOT NULL REFERENCES consultants (id) ON DELETE CASCADE,
    period        tstzrange NOT NULL CHECK (NOT isempty(period)),
    reason        text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consultant_time_off_period_idx ON consultant_time_off USING gist (consultant_id, period);

-- +goose Down
DROP TABLE consultant_time_off;
DROP TABLE consultant_hours;
DROP TABLE consultants;
