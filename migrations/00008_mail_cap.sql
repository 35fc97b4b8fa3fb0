-- +goose Up
-- The daily cap on prospect mail counts one mailbox, however its address is
-- written: case and a "+tag" before the @ do not make a new one.
DROP INDEX outbox_prospect_address_idx;
CREATE INDEX outbox_prospect_mailbox_idx ON outbox (regexp_replace(lower(to_address), '\+[^@]*@', '@'), created_at)
    WHERE audience = 'prospect';

-- +goose Down
DROP INDEX outbox_prospect_mailbox_idx;
CREATE INDEX outbox_prospect_address_idx ON outbox (lower(to_address), created_at) WHERE audience = 'prospect';
