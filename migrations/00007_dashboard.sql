-- +goose Up
-- The dashboard counts assessments, inquiries and bookings by when they
-- were made, over up to half a year; the mail list filters by status and
-- pages by id, where failed messages are few among many sent.
CREATE INDEX assessments_created_idx ON assessments (created_at);
CREATE INDEX inquiries_created_idx ON inquiries (created_at);
CREATE INDEX bookings_created_idx ON bookings (created_at);
CREATE INDEX outbox_status_id_idx ON outbox (status, id DESC);

-- +goose Down
DROP INDEX outbox_status_id_idx;
DROP INDEX bookings_created_idx;
DROP INDEX inquiries_created_idx;
DROP INDEX assessments_created_idx;
