-- +goose Up
CREATE TABLE leads (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    email              text NOT NULL CHECK (position('@' IN email) > 1),
    company            text NOT NULL CHECK (length(company) BETWEEN 1 AND 200),
    region             text NOT NULL CHECK (region IN ('canada', 'usa')),
    timezone           text NOT NULL,
    message            text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    team               text NOT NULL CHECK (team IN ('django', 'nodejs')),
    status             text NOT NULL DEFAULT 'new'
                       CHECK (status IN ('new', 'contacted', 'qualified', 'booked', 'won', 'lost', 'spam')),
    consultant_id      uuid REFERENCES consultants (id) ON DELETE SET NULL,
    -- First-touch attribution: kept from the visit that created the lead.
    utm                jsonb NOT NULL DEFAULT '{}',
    referrer           text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX leads_email_key ON leads (lower(email));
CREATE INDEX leads_created_idx ON leads (created_at DESC);
CREATE INDEX leads_team_status_idx ON leads (team, status);

CREATE TABLE assessments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version         text NOT NULL,
    answers         jsonb NOT NULL,
    team            text NOT NULL CHECK (team IN ('django', 'nodejs')),
    confidence      numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    score_django    integer NOT NULL CHECK (score_django >= 0),
    score_nodejs    integer NOT NULL CHECK (score_nodejs >= 0),
    reasons         jsonb NOT NULL,
    lead_id         uuid REFERENCES leads (id) ON DELETE SET NULL,
    utm             jsonb NOT NULL DEFAULT '{}',
    referrer        text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessments_lead_idx ON assessments (lead_id, created_at DESC);

-- Every consent given, with the exact words shown, when and from where
-- (Canada's anti-spam law asks for proof of express consent).
CREATE TABLE lead_consents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id       uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    assessment_id uuid REFERENCES assessments (id) ON DELETE SET NULL,
    wording       text NOT NULL CHECK (wording <> ''),
    ip            inet,
    user_agent    text NOT NULL DEFAULT '',
    given_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_consents_lead_idx ON lead_consents (lead_id);

-- A lead's history, shown to sales staff.
CREATE TABLE lead_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    actor       text NOT NULL DEFAULT 'system',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_events_lead_idx ON lead_events (lead_id, created_at);

-- Funnel counts per day and stage, added to in batches by each instance.
CREATE TABLE funnel_counts (
    day    date NOT NULL,
    stage  text NOT NULL CHECK (stage IN ('article_viewed', 'assessment_started', 'assessment_completed', 'lead_created', 'booked')),
    count  bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (day, stage)
);

-- +goose Down
DROP TABLE funnel_counts;
DROP TABLE lead_events;
DROP TABLE lead_consents;
DROP TABLE assessments;
DROP TABLE leads;
