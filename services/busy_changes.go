package services

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/ical"
)

// errReadMomentsAgo refuses a refresh right after another download.
var errReadMomentsAgo = Conflict("This calendar was read moments ago. Wait 20 seconds before refreshing it again.")

// SaveFor sets a consultant's calendar address and reads it at once. The
// same address again keeps what was read from it; a new one starts afresh,
// its predecessor's busy blocks gone with it. A new address that replaces
// a calendar read successfully must read first: a mistyped address would
// otherwise drop busy times that still hold, and let prospects book them.
func (b *BusyCalendars) SaveFor(ctx context.Context, consultantID, rawURL string) (BusyCalendar, error) {
	address, hint, err := b.checkURL(rawURL)
	if err != nil {
		return BusyCalendar{}, err
	}
	if err := b.probeReplacement(ctx, consultantID, address); err != nil {
		return BusyCalendar{}, err
	}
	var id int64
	var same bool
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		id, same, err = b.store(ctx, tx, consultantID, address, hint)
		return err
	})
	if err != nil {
		return BusyCalendar{}, err
	}
	// A new address is read whatever the time; the same one again no more
	// often than a refresh. A claim held by a worker this instant means that
	// worker reads it.
	gap := time.Duration(-1)
	if same {
		gap = b.cfg.RefreshGap
	}
	if err := b.fetchNow(ctx, id, gap); err != nil && !errors.Is(err, errReadMomentsAgo) {
		return BusyCalendar{}, err
	}
	return getBusyCalendar(ctx, b.db, "b.id = $1", id)
}

// probeReplacement reads address when it would replace another address
// whose calendar was read successfully, and refuses it if it does not read.
func (b *BusyCalendars) probeReplacement(ctx context.Context, consultantID, address string) error {
	cur, err := b.For(ctx, consultantID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.LastSuccessAt == nil {
		return nil
	}
	var sealed []byte
	if err := b.db.GetContext(ctx, &sealed, `SELECT url_sealed FROM busy_calendars WHERE id = $1`, cur.ID); err != nil {
		return fmt.Errorf("read busy calendar address: %w", err)
	}
	if prev, err := b.sealer.open(sealed); err == nil && prev == address {
		return nil
	}
	if reason := b.readProblem(ctx, address, cur.Timezone); reason != "" {
		return Invalid(map[string]string{"url": "This address could not be read (" + reason + "). Your current calendar is kept, and its busy times still block your slots."})
	}
	return nil
}

// readProblem downloads and parses address as a scheduled read would, and
// returns the safe reason it fails, or "".
func (b *BusyCalendars) readProblem(ctx context.Context, address, zone string) string {
	res, err := b.fetcher.Fetch(ctx, ical.FetchRequest{URL: address})
	var fetchErr *ical.FetchError
	switch {
	case errors.As(err, &fetchErr):
		return fetchErr.Message
	case err != nil:
		return "the download failed"
	}
	loc, err := LoadZone(zone)
	if err != nil {
		loc = time.UTC
	}
	now := b.now()
	_, err = ical.ParseBusy(bytes.NewReader(res.Body), ical.ParseOptions{From: now.Add(-24 * time.Hour), To: now.AddDate(0, 0, b.cfg.HorizonDays+1), Loc: loc})
	var parseErr *ical.ParseError
	switch {
	case errors.As(err, &parseErr):
		return parseErr.Message
	case err != nil:
		return "the calendar could not be read"
	}
	return ""
}

// store writes the address, sealed, with the consultant's row locked so two
// saves apply one after the other, and records it in the audit log; same
// reports that the address was already the one saved.
func (b *BusyCalendars) store(ctx context.Context, tx *sqlx.Tx, consultantID, address, hint string) (id int64, same bool, err error) {
	var one int
	err = tx.GetContext(ctx, &one, `SELECT 1 FROM consultants WHERE id = $1 FOR UPDATE`, consultantID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, ErrNotFound
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock consultant: %w", err)
	}
	var old struct {
		ID     int64  `db:"id"`
		Sealed []byte `db:"url_sealed"`
	}
	err = tx.GetContext(ctx, &old, `SELECT id, url_sealed FROM busy_calendars WHERE consultant_id = $1`, consultantID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("read busy calendar: %w", err)
	}
	if prev, openErr := b.sealer.open(old.Sealed); err == nil && openErr == nil && prev == address {
		return old.ID, true, b.auditSaved(ctx, tx, consultantID, old.ID, address, "unchanged")
	}
	err = tx.GetContext(ctx, &id, `
		INSERT INTO busy_calendars (consultant_id, url_sealed, url_hint, next_fetch_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (consultant_id) DO UPDATE SET
			url_sealed = EXCLUDED.url_sealed, url_hint = EXCLUDED.url_hint, etag = '', last_modified = '',
			attempt = busy_calendars.attempt + 1, last_attempt_at = NULL, last_success_at = NULL, last_parsed_at = NULL,
			last_outcome = '', last_error = '', failures = 0, block_count = 0, skipped_events = 0, problems = '',
			next_fetch_at = EXCLUDED.next_fetch_at, updated_at = now()
		RETURNING id`, consultantID, b.sealer.seal(address), hint, b.now())
	if err != nil {
		return 0, false, fmt.Errorf("save busy calendar: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM consultant_busy WHERE calendar_id = $1`, id); err != nil {
		return 0, false, fmt.Errorf("drop old busy blocks: %w", err)
	}
	return id, false, b.auditSaved(ctx, tx, consultantID, id, address, "new")
}

// auditSaved names the calendar's host, never its secret address.
func (b *BusyCalendars) auditSaved(ctx context.Context, tx *sqlx.Tx, consultantID string, id int64, address, state string) error {
	host := ""
	if u, err := url.Parse(address); err == nil {
		host = u.Host
	}
	return audit(ctx, tx, "busy_calendar_saved", "consultant", consultantID, map[string]string{
		"calendar_id": strconv.FormatInt(id, 10), "host": host, "address": state,
	})
}

// RemoveFor forgets a consultant's calendar; its busy blocks go with it.
func (b *BusyCalendars) RemoveFor(ctx context.Context, consultantID string) error {
	return inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `DELETE FROM busy_calendars WHERE consultant_id = $1 RETURNING id`, consultantID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("remove busy calendar: %w", err)
		}
		return audit(ctx, tx, "busy_calendar_removed", "consultant", consultantID, map[string]string{"calendar_id": strconv.FormatInt(id, 10)})
	})
}

// Refresh reads the actor's own calendar now, unless it was read moments ago.
func (b *BusyCalendars) Refresh(ctx context.Context) (BusyCalendar, error) {
	id, err := consultantOf(ctx)
	if err != nil {
		return BusyCalendar{}, err
	}
	c, err := b.For(ctx, id)
	if err != nil {
		return BusyCalendar{}, err
	}
	return b.refreshAudited(ctx, c)
}

// RefreshCalendar reads any consultant's calendar now, for staff.
func (b *BusyCalendars) RefreshCalendar(ctx context.Context, id int64) (BusyCalendar, error) {
	if !ActorFrom(ctx).Staff() {
		return BusyCalendar{}, ErrForbidden
	}
	c, err := getBusyCalendar(ctx, b.db, "b.id = $1", id)
	if err != nil {
		return BusyCalendar{}, err
	}
	return b.refreshAudited(ctx, c)
}

// refreshAudited downloads now and records who asked and how it went.
func (b *BusyCalendars) refreshAudited(ctx context.Context, c BusyCalendar) (BusyCalendar, error) {
	if err := b.fetchNow(ctx, c.ID, b.cfg.RefreshGap); err != nil {
		return BusyCalendar{}, err
	}
	after, err := getBusyCalendar(ctx, b.db, "b.id = $1", c.ID)
	if err != nil {
		return BusyCalendar{}, err
	}
	return after, audit(ctx, b.db, "busy_calendar_refreshed", "consultant", c.ConsultantID, map[string]string{
		"calendar_id": strconv.FormatInt(c.ID, 10), "outcome": after.LastOutcome, "error": after.LastError,
	})
}
