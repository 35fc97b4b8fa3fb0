-- +goose Up
-- Staff accounts. A consultant account is tied to its consultant, so the
-- portal shows that person's bookings and hours only.
CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               text NOT NULL CHECK (position('@' IN email) > 1),
    name                text NOT NULL DEFAULT '',
    role                text NOT NULL CHECK (role IN ('admin', 'sales', 'consultant')),
    consultant_id       uuid REFERENCES consultants (id) ON DELETE SET NULL,
    -- argon2id in the PHC string format: $argon2id$v=19$m=...,t=...,p=...$salt$hash
    password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    disabled_at         timestamptz,
    last_login_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'consultant' OR consultant_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_consultant_key ON users (consultant_id) WHERE consultant_id IS NOT NULL;

-- Sessions, shared by every instance (alexedwards/scs postgresstore).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Failed sign-ins, counted per account and per network across instances.
-- device is the id of a device that signed in to that account before: its
-- failures are counted on their own, so a stranger's guessing never locks
-- the owner out of the devices they use.
CREATE TABLE login_failures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    network    text NOT NULL,
    device     text NOT NULL DEFAULT '',
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, failed_at);
CREATE INDEX login_failures_network_idx ON login_failures (network, failed_at);

-- What staff did, who, when and from where; admins read it.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    ip          inet,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);

CREATE TABLE lead_notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id    uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    author     text NOT NULL,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_notes_lead_idx ON lead_notes (lead_id, created_at);

-- The inbox: how sure the recommendation was, when sales first reached the
-- person, the latest thing that happened, and erasure on request.
ALTER TABLE leads ADD COLUMN confidence numeric(4, 3) NOT NULL DEFAULT 0.5 CHECK (confidence BETWEEN 0 AND 1);
ALTER TABLE leads ADD COLUMN first_contacted_at timestamptz;
ALTER TABLE leads ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE leads ADD COLUMN erased_at timestamptz;
UPDATE leads l SET confidence = a.confidence
FROM inquiries i JOIN assessments a ON a.id = i.assessment_id
WHERE i.id = l.id;
UPDATE leads l SET last_activity_at = greatest(l.created_at,
    (SELECT max(i.created_at) FROM inquiries i WHERE i.lead_id = l.id),
    (SELECT max(b.updated_at) FROM bookings b WHERE b.lead_id = l.id));

-- Search over name, email and company, fast at tens of thousands of leads.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX leads_search_idx ON leads USING gin ((lower(name || ' ' || email || ' ' || company)) gin_trgm_ops);
CREATE INDEX leads_activity_idx ON leads (last_activity_at DESC, id DESC);
CREATE INDEX leads_waiting_idx ON leads (created_at) WHERE first_contacted_at IS NULL;

-- A consultation the prospect did not attend.
ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
    CHECK (status IN ('held', 'pending_payment', 'confirmed', 'cancelled', 'expired', 'no_show'));
ALTER TABLE bookings ADD COLUMN no_show_at timestamptz;
CREATE INDEX bookings_lead_start_idx ON bookings (lead_id, starts_at DESC);

-- +goose Down
DROP INDEX bookings_lead_start_idx;
ALTER TABLE bookings DROP COLUMN no_show_at;
ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
    CHECK (status IN ('held', 'pending_payment', 'confirmed', 'cancelled', 'expired'));
DROP INDEX leads_waiting_idx;
DROP INDEX leads_activity_idx;
DROP INDEX leads_search_idx;
ALTER TABLE leads DROP COLUMN erased_at;
ALTER TABLE leads DROP COLUMN last_activity_at;
ALTER TABLE leads DROP COLUMN first_contacted_at;
ALTER TABLE leads DROP COLUMN confidence;
DROP TABLE lead_notes;
DROP TABLE audit_log;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
