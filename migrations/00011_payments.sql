-- +goose Up
-- What a prospect can book. The free 30-minute consultation is the default;
-- a type with a price for the prospect's region goes through Stripe
-- Checkout (CAD in Canada, USD in the USA).
CREATE TABLE session_types (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    price_cad_cents  integer CHECK (price_cad_cents > 0 AND price_cad_cents <= 10000000),
    price_usd_cents  integer CHECK (price_usd_cents > 0 AND price_usd_cents <= 10000000),
    active           boolean NOT NULL DEFAULT true,
    position         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The free consultation has a fixed id, so it can be every booking's default.
INSERT INTO session_types (id, slug, name, description, position)
VALUES ('00000000-0000-4000-8000-000000000001', 'consultation', 'Free 30-minute consultation',
        'A video call with a consultant of the team the assessment recommends.', 0);

ALTER TABLE bookings ADD COLUMN session_type_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001'
    REFERENCES session_types (id);

-- The price a booking was made at, and where its payment stands:
-- none (free), pending (checkout open), paid, failed, refund_due (a refund
-- is owed and not yet confirmed by Stripe), refunded.
ALTER TABLE bookings ADD COLUMN amount_cents integer NOT NULL DEFAULT 0 CHECK (amount_cents >= 0);
ALTER TABLE bookings ADD COLUMN currency text NOT NULL DEFAULT '' CHECK (currency IN ('', 'cad', 'usd'));
ALTER TABLE bookings ADD COLUMN payment_status text NOT NULL DEFAULT 'none'
    CHECK (payment_status IN ('none', 'pending', 'paid', 'failed', 'refund_due', 'refunded'));
ALTER TABLE bookings ADD COLUMN checkout_session_id text UNIQUE;
ALTER TABLE bookings ADD COLUMN checkout_url text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN payment_intent_id text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN paid_at timestamptz;
ALTER TABLE bookings ADD COLUMN refund_cents integer NOT NULL DEFAULT 0 CHECK (refund_cents >= 0);
ALTER TABLE bookings ADD COLUMN refunded_at timestamptz;
ALTER TABLE bookings ADD COLUMN refund_reason text NOT NULL DEFAULT '';
CREATE INDEX bookings_hold_expiry_idx ON bookings (hold_expires_at) WHERE status = 'pending_payment';
CREATE INDEX bookings_refund_due_idx ON bookings (updated_at) WHERE payment_status = 'refund_due';

-- Every Stripe event handled, written in the same transaction as its
-- effect: a repeated delivery finds its id and does nothing twice.
CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    booking_id  uuid REFERENCES bookings (id) ON DELETE SET NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE stripe_events;
DROP INDEX bookings_refund_due_idx;
DROP INDEX bookings_hold_expiry_idx;
ALTER TABLE bookings DROP COLUMN refund_reason, DROP COLUMN refunded_at, DROP COLUMN refund_cents, DROP COLUMN paid_at,
    DROP COLUMN payment_intent_id, DROP COLUMN checkout_url, DROP COLUMN checkout_session_id, DROP COLUMN payment_status,
    DROP COLUMN currency, DROP COLUMN amount_cents, DROP COLUMN session_type_id;
DROP TABLE session_types;
