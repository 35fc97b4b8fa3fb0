-- +goose Up
-- A version of everything slots are computed from, so each instance may
-- cache slots and know, with one cheap query, whether anything changed.
-- Every statement that writes a schedule table adds a row here, committed
-- with it; the version is rows ever committed: the pruned ones counted in
-- schedule_versions plus those still here. It grows with every commit and
-- only then, whichever writer made it.
CREATE TABLE schedule_changes (
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE schedule_versions (
    pruned bigint NOT NULL DEFAULT 0 CHECK (pruned >= 0)
);
INSERT INTO schedule_versions DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO schedule_changes DEFAULT VALUES;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER bookings_schedule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bookings
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
CREATE TRIGGER consultants_schedule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consultants
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
CREATE TRIGGER consultant_hours_schedule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consultant_hours
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
CREATE TRIGGER consultant_time_off_schedule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consultant_time_off
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
CREATE TRIGGER consultant_busy_schedule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consultant_busy
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();

-- +goose Down
DROP TRIGGER consultant_busy_schedule_changed ON consultant_busy;
DROP TRIGGER consultant_time_off_schedule_changed ON consultant_time_off;
DROP TRIGGER consultant_hours_schedule_changed ON consultant_hours;
DROP TRIGGER consultants_schedule_changed ON consultants;
DROP TRIGGER bookings_schedule_changed ON bookings;
DROP FUNCTION schedule_changed();
DROP TABLE schedule_versions;
DROP TABLE schedule_changes;
