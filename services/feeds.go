package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
)

// FeedRefresh is how often calendar apps are asked to fetch a feed again.
const FeedRefresh = 15 * time.Minute

// FeedLink is a feed's address in the two forms calendar apps take. Both
// are empty when the stored copy no longer opens (SECRET_KEY changed): the
// feed still works where it was subscribed, and rotating shows a new one.
type FeedLink struct {
	URL       string    // https://consult.example.com/feeds/<token>.ics
	Webcal    string    // webcal://consult.example.com/feeds/<token>.ics: opens the calendar app
	RotatedAt time.Time // when this address was issued
	Created   bool      // set by a rotation that issued the owner's first feed
}

// TeamFeed is a team's feed as admins see it; Link is nil until one is issued.
type TeamFeed struct {
	Team string
	Link *FeedLink
}

// FeedsConfig is what feeds need to know about the deployment.
type FeedsConfig struct {
	BaseURL     *url.URL // feed and lead page links
	SiteName    string   // in each calendar's name
	HorizonDays int      // feeds reach as far ahead as bookings can be made
}

// Feeds publishes bookings as private iCalendar feeds, one per consultant
// and one per team, each behind a secret URL that can be replaced.
type Feeds struct {
	db     *sqlx.DB
	sealer *TokenSealer
	cfg    FeedsConfig
	now    func() time.Time
}

// NewFeeds returns the calendar feed service; sealer keeps feed tokens
// (NewFeedTokenSealer).
func NewFeeds(db *sqlx.DB, sealer *TokenSealer, cfg FeedsConfig, now func() time.Time) *Feeds {
	return &Feeds{db: db, sealer: sealer, cfg: cfg, now: now}
}

// feedOwner is whose bookings a feed publishes: a consultant or a team.
type feedOwner struct {
	ConsultantID sql.NullString `db:"consultant_id"`
	Team         sql.NullString `db:"team"`
	Name         string         `db:"name"` // the consultant's name; "" for a team
}

// column is the calendar_feeds column naming the owner, and its value.
func (o feedOwner) column() (string, string) {
	if o.ConsultantID.Valid {
		return "consultant_id", o.ConsultantID.String
	}
	return "team", o.Team.String
}

// Calendar renders the feed a token opens. An unknown token is
// ErrNotFound; the lookup is by the token's hash, so its time says nothing
// about how close a guess came.
func (f *Feeds) Calendar(ctx context.Context, token string) ([]byte, error) {
	if !validToken(token) {
		return nil, ErrNotFound
	}
	var owner feedOwner
	err := f.db.GetContext(ctx, &owner, `
		SELECT f.consultant_id, f.team, COALESCE(c.name, '') AS name
		FROM calendar_feeds f LEFT JOIN consultants c ON c.id = f.consultant_id
		WHERE f.token_hash = $1`, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find feed: %w", err)
	}
	return f.render(ctx, owner)
}

// Mine returns the signed-in consultant's feed, or nil before they have one.
func (f *Feeds) Mine(ctx context.Context) (*FeedLink, error) {
	a := ActorFrom(ctx)
	if a.Role != RoleConsultant || a.ConsultantID == "" {
		return nil, ErrForbidden
	}
	return f.link(ctx, feedOwner{ConsultantID: sql.NullString{String: a.ConsultantID, Valid: true}})
}

// RotateMine gives the signed-in consultant a new feed URL; the old one
// stops at once.
func (f *Feeds) RotateMine(ctx context.Context) (FeedLink, error) {
	a := ActorFrom(ctx)
	if a.Role != RoleConsultant || a.ConsultantID == "" {
		return FeedLink{}, ErrForbidden
	}
	return f.rotate(ctx, feedOwner{ConsultantID: sql.NullString{String: a.ConsultantID, Valid: true}})
}

// RotateConsultant gives the consultant with this email a new feed URL,
// for operators at the command line.
func (f *Feeds) RotateConsultant(ctx context.Context, email string) (FeedLink, error) {
	c, err := NewConsultants(f.db).ByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return FeedLink{}, &Error{Code: CodeNotFound, Message: "No consultant has that email; see `consultd consultant list`."}
	}
	if err != nil {
		return FeedLink{}, err
	}
	return f.rotate(ctx, feedOwner{ConsultantID: sql.NullString{String: c.ID, Valid: true}})
}

// TeamFeeds lists both teams' feeds; admins only.
func (f *Feeds) TeamFeeds(ctx context.Context) ([]TeamFeed, error) {
	if !ActorFrom(ctx).Admin() {
		return nil, ErrForbidden
	}
	var out []TeamFeed
	for _, team := range []string{TeamDjango, TeamNodeJS} {
		link, err := f.link(ctx, feedOwner{Team: sql.NullString{String: team, Valid: true}})
		if err != nil {
			return nil, err
		}
		out = append(out, TeamFeed{Team: team, Link: link})
	}
	return out, nil
}

// RotateTeam issues a team's feed URL, or replaces it; admins only.
func (f *Feeds) RotateTeam(ctx context.Context, team string) (FeedLink, error) {
	if !ActorFrom(ctx).Admin() {
		return FeedLink{}, ErrForbidden
	}
	if !ValidTeam(team) {
		return FeedLink{}, ErrNotFound
	}
	return f.rotate(ctx, feedOwner{Team: sql.NullString{String: team, Valid: true}})
}

// link reads and unseals the owner's feed URL; nil when none was issued.
func (f *Feeds) link(ctx context.Context, owner feedOwner) (*FeedLink, error) {
	col, id := owner.column()
	var row struct {
		Sealed    []byte    `db:"token_sealed"`
		RotatedAt time.Time `db:"rotated_at"`
	}
	err := f.db.GetContext(ctx, &row, `SELECT token_sealed, rotated_at FROM calendar_feeds WHERE `+col+` = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	token, err := f.sealer.open(row.Sealed)
	if err != nil {
		return &FeedLink{RotatedAt: row.RotatedAt}, nil
	}
	link := f.feedLink(token, row.RotatedAt)
	return &link, nil
}

// rotate stores a new token for the owner, in place of any old one, and
// audits it in the same transaction.
func (f *Feeds) rotate(ctx context.Context, owner feedOwner) (FeedLink, error) {
	col, id := owner.column()
	token, hash := newToken()
	now := f.now()
	var created bool
	err := inTx(ctx, f.db, func(tx *sqlx.Tx) error {
		// xmax is 0 on a row this statement inserted, and set on one it updated.
		err := tx.GetContext(ctx, &created, `
			INSERT INTO calendar_feeds (`+col+`, token_hash, token_sealed, created_at, rotated_at)
			VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (`+col+`) WHERE `+col+` IS NOT NULL
			DO UPDATE SET token_hash = EXCLUDED.token_hash, token_sealed = EXCLUDED.token_sealed, rotated_at = EXCLUDED.rotated_at
			RETURNING xmax = 0`, id, hash, f.sealer.seal(token), now)
		if err != nil {
			return translatePQ(err, "That feed does not exist.", "store feed token")
		}
		action := "feed_rotated"
		if created {
			action = "feed_created"
		}
		return audit(ctx, tx, action, feedTargets[col], id, nil)
	})
	if err != nil {
		return FeedLink{}, err
	}
	link := f.feedLink(token, now)
	link.Created = created
	return link, nil
}

// feedTargets names a feed's owner in the audit log.
var feedTargets = map[string]string{"consultant_id": "consultant", "team": "team"}

// feedLink builds the two forms of a feed's URL; webcal:// asks the device
// to open its calendar app and subscribe.
func (f *Feeds) feedLink(token string, rotated time.Time) FeedLink {
	u := *f.cfg.BaseURL
	u.Path = "/feeds/" + token + ".ics"
	web := u
	web.Scheme = "webcal"
	return FeedLink{URL: u.String(), Webcal: web.String(), RotatedAt: rotated}
}
