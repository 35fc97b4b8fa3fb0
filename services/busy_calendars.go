package services

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"consultd/internal/ical"
)

// BusyConfig tunes reading consultants' own calendars.
type BusyConfig struct {
	Every       time.Duration // between two downloads of one calendar, ±20%; default 10m
	HorizonDays int           // the booking horizon: busy time is read one day past it
	Fetch       ical.FetchConfig
	SecretKey   string        // seals the stored addresses
	RefreshGap  time.Duration // least time between two downloads on demand; default 20s, negative for none
	FreshFor    time.Duration // how long validators are sent before a full download; default 6h
	Logger      *slog.Logger  // one line per download, without the address; default slog.Default()
}

// BusyCalendars keeps each consultant's external calendar (an ICS address)
// and the busy blocks read from it, which availability treats like time off.
type BusyCalendars struct {
	db      *sqlx.DB
	cfg     BusyConfig
	fetcher *ical.Fetcher
	sealer  *TokenSealer
	now     func() time.Time
}

// NewBusyCalendars returns the busy calendar service.
func NewBusyCalendars(db *sqlx.DB, cfg BusyConfig, now func() time.Time) (*BusyCalendars, error) {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Minute
	}
	if cfg.HorizonDays <= 0 {
		cfg.HorizonDays = 30
	}
	if cfg.RefreshGap < 0 {
		cfg.RefreshGap = 0
	} else if cfg.RefreshGap == 0 {
		cfg.RefreshGap = 20 * time.Second
	}
	if cfg.FreshFor <= 0 {
		cfg.FreshFor = 6 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sealer, err := newAddressSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	return &BusyCalendars{db: db, cfg: cfg, fetcher: ical.NewFetcher(cfg.Fetch), sealer: sealer, now: now}, nil
}

// newAddressSealer seals calendar addresses under a key of their own,
// derived from the application secret.
func newAddressSealer(secret string) (*TokenSealer, error) {
	key := sha256.Sum256([]byte("consultd busy-calendar address key\x00" + secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("address cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("address cipher: %w", err)
	}
	return &TokenSealer{aead: aead}, nil
}

// Every is how often each calendar is downloaded.
func (b *BusyCalendars) Every() time.Duration { return b.cfg.Every }

// BusyCalendar is one consultant's calendar and how fetching it went.
type BusyCalendar struct {
	ID              int64      `db:"id"`
	ConsultantID    string     `db:"consultant_id"`
	ConsultantName  string     `db:"consultant_name"`
	ConsultantEmail string     `db:"consultant_email"`
	Team            string     `db:"team"`
	Timezone        string     `db:"timezone"`
	URLHint         string     `db:"url_hint"` // scheme, host and file name only: the address is a secret
	LastAttemptAt   *time.Time `db:"last_attempt_at"`
	LastSuccessAt   *time.Time `db:"last_success_at"`
	LastOutcome     string     `db:"last_outcome"` // updated, unchanged, failed, or "" before the first try
	LastError       string     `db:"last_error"`
	Failures        int        `db:"failures"` // attempts in a row that failed
	BlockCount      int        `db:"block_count"`
	SkippedEvents   int        `db:"skipped_events"`
	Problems        string     `db:"problems"`
	NextFetchAt     time.Time  `db:"next_fetch_at"`
	CreatedAt       time.Time  `db:"created_at"`
}

const busyCalendarSelect = `
	SELECT b.id, b.consultant_id, c.name AS consultant_name, c.email AS consultant_email, c.team, c.timezone,
	       b.url_hint, b.last_attempt_at, b.last_success_at, b.last_outcome, b.last_error, b.failures,
	       b.block_count, b.skipped_events, b.problems, b.next_fetch_at, b.created_at
	FROM busy_calendars b JOIN consultants c ON c.id = b.consultant_id`

func getBusyCalendar(ctx context.Context, q sqlx.QueryerContext, where string, arg any) (BusyCalendar, error) {
	var c BusyCalendar
	err := sqlx.GetContext(ctx, q, &c, busyCalendarSelect+` WHERE `+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return BusyCalendar{}, ErrNotFound
	}
	if err != nil {
		return BusyCalendar{}, fmt.Errorf("busy calendar: %w", err)
	}
	return c, nil
}

// busyURLMax is the longest address accepted; Google's and Outlook's secret
// addresses are under 300 characters.
const busyURLMax = 2048

// checkURL reads the address a consultant pasted. webcal:// becomes
// https://, as calendar apps do; only http and https are read.
func (b *BusyCalendars) checkURL(raw string) (address, hint string, err error) {
	bad := func(msg string) (string, string, error) { return "", "", Invalid(map[string]string{"url": msg}) }
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return bad("Paste the ICS address of your calendar.")
	case len(raw) > busyURLMax:
		return bad("That address is longer than 2,048 characters; paste the calendar's ICS address.")
	case strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return bad("That address has spaces or invisible characters in it.")
	}
	for _, scheme := range []string{"webcal://", "webcals://"} {
		if len(raw) > len(scheme) && strings.EqualFold(raw[:len(scheme)], scheme) {
			raw = "https://" + raw[len(scheme):]
		}
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return bad("That is not a web address: it should start with https://.")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("Only https:// (or http://) addresses can be read.")
	case u.User != nil:
		return bad("Leave the user name and password out of the address.")
	case !b.cfg.Fetch.AllowPrivate && privateHost(u.Hostname()):
		return bad("That address is on a private or local network; use one the internet can reach.")
	}
	u.Fragment = ""
	return u.String(), busyURLHint(u), nil
}

// privateHost catches the obvious private hosts at once; the fetcher checks
// every connection it makes, whatever the name resolves to.
func privateHost(host string) bool {
	if addr, err := netip.ParseAddr(host); err == nil {
		return ical.PrivateAddr(addr)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// busyURLHint shows where a calendar lives without its secret part:
// "https://calendar.google.com/…/basic.ics".
func busyURLHint(u *url.URL) string {
	hint := u.Scheme + "://" + u.Host + "/"
	if file := path.Base(u.Path); len(file) <= 24 && strings.Contains(file, ".") && file != "." {
		return hint + "…/" + file
	}
	if strings.Trim(u.Path, "/") != "" {
		hint += "…"
	}
	return hint
}

// consultantOf is the consultant the actor in ctx works as.
func consultantOf(ctx context.Context) (string, error) {
	a := ActorFrom(ctx)
	if a.Role != RoleConsultant || a.ConsultantID == "" {
		return "", ErrForbidden
	}
	return a.ConsultantID, nil
}

// Mine returns the actor's own calendar; ErrNotFound when there is none.
func (b *BusyCalendars) Mine(ctx context.Context) (BusyCalendar, error) {
	id, err := consultantOf(ctx)
	if err != nil {
		return BusyCalendar{}, err
	}
	return b.For(ctx, id)
}

// For returns a consultant's calendar (for the command line).
func (b *BusyCalendars) For(ctx context.Context, consultantID string) (BusyCalendar, error) {
	return getBusyCalendar(ctx, b.db, "b.consultant_id = $1", consultantID)
}

// Save sets the actor's calendar address and reads it at once.
func (b *BusyCalendars) Save(ctx context.Context, rawURL string) (BusyCalendar, error) {
	id, err := consultantOf(ctx)
	if err != nil {
		return BusyCalendar{}, err
	}
	return b.SaveFor(ctx, id, rawURL)
}

// Remove forgets the actor's calendar and the busy blocks read from it.
func (b *BusyCalendars) Remove(ctx context.Context) error {
	id, err := consultantOf(ctx)
	if err != nil {
		return err
	}
	return b.RemoveFor(ctx, id)
}

// List is every consultant's calendar for staff, by consultant name.
func (b *BusyCalendars) List(ctx context.Context) ([]BusyCalendar, error) {
	if !ActorFrom(ctx).Staff() {
		return nil, ErrForbidden
	}
	list := []BusyCalendar{}
	if err := b.db.SelectContext(ctx, &list, busyCalendarSelect+` ORDER BY c.name, c.email`); err != nil {
		return nil, fmt.Errorf("list busy calendars: %w", err)
	}
	return list, nil
}
