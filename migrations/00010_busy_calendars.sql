-- +goose Up
-- A consultant's own calendar, given as an ICS address (Google's or
-- Outlook's "secret address"), whose busy times block slots. The address
-- reads the whole calendar, so it is stored sealed with a key derived from
-- SECRET_KEY; url_hint names only its host and file for people to see.
CREATE TABLE busy_calendars (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultant_id    uuid NOT NULL UNIQUE REFERENCES consultants (id) ON DELETE CASCADE,
    url_sealed       bytea NOT NULL,
    url_hint         text NOT NULL,
    -- Validators of the last full download, sent back for a conditional fetch.
    etag             text NOT NULL DEFAULT '',
    last_modified    text NOT NULL DEFAULT '',
    -- Raised by every claim: a fetch's result is kept only if no later
    -- claim, new address or removal came in between.
    attempt          bigint NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    last_success_at  timestamptz,   -- the calendar answered: read in full, or not modified
    last_parsed_at   timestamptz,   -- the last full download that was read
    last_outcome     text NOT NULL DEFAULT '' CHECK (last_outcome IN ('', 'updated', 'unchanged', 'failed')),
    last_error       text NOT NULL DEFAULT '',   -- safe to show: never the server's words
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),   -- in a row
    block_count      integer NOT NULL DEFAULT 0,
    skipped_events   integer NOT NULL DEFAULT 0,
    problems         text NOT NULL DEFAULT '',
    next_fetch_at    timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX busy_calendars_due_idx ON busy_calendars (next_fetch_at);

-- Imported busy blocks belong to their calendar: a new download replaces
-- them, and removing the calendar removes them.
ALTER TABLE consultant_busy ADD COLUMN calendar_id bigint REFERENCES busy_calendars (id) ON DELETE CASCADE;
CREATE INDEX consultant_busy_calendar_idx ON consultant_busy (calendar_id);

-- +goose Down
DROP INDEX consultant_busy_calendar_idx;
ALTER TABLE consultant_busy DROP COLUMN calendar_id;
DROP TABLE busy_calendars;
