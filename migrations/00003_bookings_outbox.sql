-- +goose Up
-- A booking holds a consultant's time. "blocked" is the meeting plus the
-- buffer that must follow it; no two live bookings of one consultant may
-- overlap there, whoever writes the row.
CREATE TABLE bookings (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id            uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    consultant_id      uuid NOT NULL REFERENCES consultants (id),
    status             text NOT NULL CHECK (status IN ('held', 'pending_payment', 'confirmed', 'cancelled', 'expired')),
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    blocked            tstzrange NOT NULL,
    timezone           text NOT NULL,
    uid                text NOT NULL UNIQUE,
    sequence           integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    manage_token_hash  bytea NOT NULL UNIQUE,
    -- The token sealed with a key derived from SECRET_KEY, so reminders can
    -- carry the manage link while the database alone never reveals it.
    manage_token_sealed bytea NOT NULL,
    hold_expires_at    timestamptz,
    cancelled_at       timestamptz,
    cancel_reason      text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (lower(blocked) = starts_at AND upper(blocked) >= ends_at AND lower_inc(blocked) AND NOT upper_inc(blocked)),
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (consultant_id WITH =, blocked WITH &&)
        WHERE (status IN ('held', 'pending_payment', 'confirmed'))
);
CREATE INDEX bookings_lead_idx ON bookings (lead_id);
CREATE INDEX bookings_consultant_start_idx ON bookings (consultant_id, starts_at);
CREATE INDEX bookings_live_start_idx ON bookings (starts_at) WHERE status = 'confirmed';

-- Busy blocks imported from a consultant's own calendar (calendar sync).
CREATE TABLE consultant_busy (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultant_id uuid NOT NULL REFERENCES consultants (id) ON DELETE CASCADE,
    period        tstzrange NOT NULL CHECK (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period)),
    source        text NOT NULL DEFAULT 'ics',
    imported_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consultant_busy_period_idx ON consultant_busy USING gist (consultant_id, period);

-- Every message leaves through this table, written in the same transaction
-- as the change it reports; a worker delivers it.
CREATE TABLE outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    booking_id       uuid REFERENCES bookings (id) ON DELETE SET NULL,
    to_address       text NOT NULL,
    subject          text NOT NULL,
    message          bytea NOT NULL,
    -- superseded: withdrawn before it left, because a later change replaced it.
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'kept', 'superseded')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_booking_idx ON outbox (booking_id);

-- One row per reminder sent: the key includes the start time, so a moved
-- booking gets fresh reminders and an old one can never be sent twice.
CREATE TABLE booking_reminders (
    booking_id  uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('24h', '1h')),
    starts_at   timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (booking_id, kind, starts_at)
);

-- Time off must have both ends; availability reads them as instants.
ALTER TABLE consultant_time_off ADD CONSTRAINT consultant_time_off_bounded
    CHECK (NOT lower_inf(period) AND NOT upper_inf(period));

-- +goose Down
ALTER TABLE consultant_time_off DROP CONSTRAINT consultant_time_off_bounded;
DROP TABLE booking_reminders;
DROP TABLE outbox;
DROP TABLE consultant_busy;
DROP TABLE bookings;
