-- +goose Up
-- A lead is one person (one email) for the sales team. Every submission of
-- the contact form is an inquiry, kept exactly as typed with its assessment
-- and consent. A browser only ever holds the id of its own inquiry, so a
-- stranger who types a known email reaches nothing of the lead's.
CREATE TABLE inquiries (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id        uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    assessment_id  uuid REFERENCES assessments (id) ON DELETE SET NULL,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    email          text NOT NULL CHECK (position('@' IN email) > 1),
    company        text NOT NULL CHECK (length(company) BETWEEN 1 AND 200),
    region         text NOT NULL CHECK (region IN ('canada', 'usa')),
    timezone       text NOT NULL,
    message        text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    team           text NOT NULL CHECK (team IN ('django', 'nodejs')),
    utm            jsonb NOT NULL DEFAULT '{}',
    referrer       text NOT NULL DEFAULT '',
    -- The email already held an upcoming consultation when this inquiry
    -- came in; its page offers no second one and the address on file was
    -- mailed the existing manage link instead.
    existing_booking_mailed_at timestamptz,
    -- When sales staff copied this inquiry's details onto the lead.
    accepted_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inquiries_lead_idx ON inquiries (lead_id, created_at DESC);
CREATE INDEX inquiries_assessment_idx ON inquiries (assessment_id);

-- Every existing lead becomes its own first inquiry under the same id, so
-- links already sent (/leads/{id}) and API clients holding the id go on
-- working. The lead's latest assessment is the one its details came with.
INSERT INTO inquiries (id, lead_id, assessment_id, name, email, company, region, timezone, message, team, utm, referrer, created_at)
SELECT l.id, l.id,
       (SELECT a.id FROM assessments a WHERE a.lead_id = l.id ORDER BY a.created_at DESC LIMIT 1),
       l.name, l.email, l.company, l.region, l.timezone, l.message, l.team, l.utm, l.referrer, l.created_at
FROM leads l;

ALTER TABLE lead_consents ADD COLUMN inquiry_id uuid REFERENCES inquiries (id) ON DELETE CASCADE;
UPDATE lead_consents SET inquiry_id = lead_id;
ALTER TABLE lead_consents ALTER COLUMN inquiry_id SET NOT NULL;
CREATE INDEX lead_consents_inquiry_idx ON lead_consents (inquiry_id);

-- A booking keeps the inquiry it was made from, with the team, region and
-- zone of that moment: later submissions never alter it.
ALTER TABLE bookings ADD COLUMN inquiry_id uuid REFERENCES inquiries (id) ON DELETE CASCADE;
ALTER TABLE bookings ADD COLUMN team text;
ALTER TABLE bookings ADD COLUMN region text;
UPDATE bookings b SET inquiry_id = b.lead_id, team = l.team, region = l.region FROM leads l WHERE l.id = b.lead_id;
ALTER TABLE bookings ALTER COLUMN inquiry_id SET NOT NULL;
ALTER TABLE bookings ALTER COLUMN team SET NOT NULL;
ALTER TABLE bookings ALTER COLUMN region SET NOT NULL;
ALTER TABLE bookings ADD CONSTRAINT bookings_team_check CHECK (team IN ('django', 'nodejs'));
ALTER TABLE bookings ADD CONSTRAINT bookings_region_check CHECK (region IN ('canada', 'usa'));
CREATE INDEX bookings_inquiry_idx ON bookings (inquiry_id);

-- Moves made through the manage link, capped per booking.
ALTER TABLE bookings ADD COLUMN reschedules integer NOT NULL DEFAULT 0 CHECK (reschedules >= 0);

-- Who a message is for: mail to prospects is capped per address and day,
-- mail to consultants and staff never is. "capped" keeps a message that the
-- daily cap held back, so staff can still read it.
ALTER TABLE outbox ADD COLUMN audience text NOT NULL DEFAULT 'prospect'
    CHECK (audience IN ('prospect', 'consultant', 'staff'));
UPDATE outbox SET audience = 'consultant' WHERE kind LIKE 'consultant%';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'kept', 'superseded', 'capped'));
CREATE INDEX outbox_prospect_address_idx ON outbox (lower(to_address), created_at) WHERE audience = 'prospect';

-- +goose Down
DROP INDEX outbox_prospect_address_idx;
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'kept', 'superseded'));
ALTER TABLE outbox DROP COLUMN audience;
ALTER TABLE bookings DROP COLUMN reschedules;
ALTER TABLE bookings DROP COLUMN region;
ALTER TABLE bookings DROP COLUMN team;
ALTER TABLE bookings DROP COLUMN inquiry_id;
ALTER TABLE lead_consents DROP COLUMN inquiry_id;
DROP TABLE inquiries;
