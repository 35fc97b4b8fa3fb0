package services_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"consultd/services"
)

type feedFixture struct {
	bookingFixture
	feeds *services.Feeds
}

func newFeedFixture(t *testing.T) feedFixture {
	t.Helper()
	f := feedFixture{bookingFixture: newBookingFixture(t, 0)}
	sealer, err := services.NewFeedTokenSealer("test-secret")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://consult.example.com")
	f.feeds = services.NewFeeds(f.db, sealer, services.FeedsConfig{BaseURL: base, SiteName: "Stackpoint Consulting", HorizonDays: 30}, f.clock.Now)
	return f
}

// mustBook books the inquiry at start and returns the booking and its manage token.
func (f feedFixture) mustBook(t *testing.T, in services.Inquiry, start time.Time) (services.Booking, string) {
	t.Helper()
	bk, token, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: in.ID, Start: start})
	if err != nil {
		t.Fatalf("book %s at %s: %v", in.Email, start, err)
	}
	return bk, token
}

// feedToken is the secret in a feed URL.
func feedToken(t *testing.T, link services.FeedLink) string {
	t.Helper()
	token, ok := strings.CutSuffix(strings.TrimPrefix(link.URL, "https://consult.example.com/feeds/"), ".ics")
	if !ok || link.Webcal != "webcal://consult.example.com/feeds/"+token+".ics" {
		t.Fatalf("feed link %+v", link)
	}
	return token
}

// mustCalendar fetches and decodes the feed a token opens.
func (f feedFixture) mustCalendar(t *testing.T, token string) ([]byte, map[string]goical.Event) {
	t.Helper()
	b, err := f.feeds.Calendar(context.Background(), token)
	if err != nil {
		t.Fatalf("Calendar: %v", err)
	}
	cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	events := map[string]goical.Event{}
	for _, e := range cal.Events() {
		uid, _ := e.Props.Text(goical.PropUID)
		events[uid] = e
	}
	return b, events
}

// eventText is a property's value, unescaped when it is text.
func eventText(e goical.Event, name string) string {
	if name == goical.PropURL {
		if p := e.Props.Get(name); p != nil {
			return p.Value
		}
		return ""
	}
	s, _ := e.Props.Text(name)
	return s
}

func TestFeedShowsTheConsultantsOwnBookingsAndNoSecrets(t *testing.T) {
	f := newFeedFixture(t)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	mine, manage := f.mustBook(t, f.mustLead(t, "pat@acme.example.com", "django"), f.at(8, 10, 0))
	theirs, _ := f.mustBook(t, f.mustLead(t, "sam@prairie.example.com", "django"), f.at(8, 10, 0))
	if mine.ConsultantID != ana.ID || theirs.ConsultantID == ana.ID {
		t.Fatalf("bookings went to %s and %s", mine.ConsultantName, theirs.ConsultantName)
	}
	link, err := f.feeds.RotateConsultant(context.Background(), "ANA@consult.example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, events := f.mustCalendar(t, feedToken(t, link))
	if len(events) != 1 {
		t.Fatalf("ana's feed holds %d events, want her one booking:\n%s", len(events), raw)
	}
	e, ok := events[mine.UID]
	if !ok {
		t.Fatalf("the feed's UID is not the invite's %s:\n%s", mine.UID, raw)
	}
	if status, _ := e.Status(); status != goical.EventConfirmed {
		t.Fatalf("STATUS = %q", status)
	}
	if got, want := eventText(e, goical.PropSummary), "Ana Silva (Acme)"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	if got, want := eventText(e, goical.PropURL), "https://consult.example.com/admin/leads/"+mine.LeadID; got != want {
		t.Fatalf("URL = %q, want the lead page %q", got, want)
	}
	if got := eventText(e, goical.PropLocation); got != "https://meet.example.com/ana" {
		t.Fatalf("LOCATION = %q, want the meeting link", got)
	}
	desc := eventText(e, goical.PropDescription)
	for _, want := range []string{"Django consultation with Ana Silva (Acme).", "Meeting link: https://meet.example.com/ana", "Lead page: https://consult.example.com/admin/leads/"} {
		if !strings.Contains(desc, want) {
			t.Fatalf("DESCRIPTION %q lacks %q", desc, want)
		}
	}
	for _, secret := range []string{"pat@acme.example.com", manage, "/b/", "ATTENDEE", "ORGANIZER", "METHOD", theirs.UID} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the feed carries %q:\n%s", secret, raw)
		}
	}
	again, _ := f.mustCalendar(t, feedToken(t, link))
	if !bytes.Equal(raw, again) {
		t.Fatal("two fetches with nothing changed gave different bytes")
	}
}

func TestFeedFollowsChangesAndKeepsCancellationsThirtyDays(t *testing.T) {
	f := newFeedFixture(t)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	bk, manage := f.mustBook(t, f.mustLead(t, "pat@acme.example.com", "django"), f.at(29, 10, 0))
	link, err := f.feeds.RotateConsultant(context.Background(), "ana@consult.example.com")
	if err != nil {
		t.Fatal(err)
	}
	token := feedToken(t, link)
	before, _ := f.mustCalendar(t, token)

	f.clock.Set(fixtureNow.Add(time.Hour))
	if _, err := f.bookings.Reschedule(context.Background(), manage, f.at(30, 11, 0)); err != nil {
		t.Fatal(err)
	}
	moved, events := f.mustCalendar(t, token)
	e := events[bk.UID]
	if seq, _ := e.Props.Get(goical.PropSequence).Int(); seq != 1 || bytes.Equal(before, moved) {
		t.Fatalf("after a move SEQUENCE = %d, bytes changed %v", seq, !bytes.Equal(before, moved))
	}
	if start, _ := e.DateTimeStart(nil); !start.Equal(f.at(30, 11, 0)) {
		t.Fatalf("DTSTART = %s, want the new time", start)
	}
	if stamp, _ := e.Props.DateTime(goical.PropDateTimeStamp, nil); !stamp.Equal(fixtureNow.Add(time.Hour)) {
		t.Fatalf("DTSTAMP = %s, want when it moved", stamp)
	}

	f.clock.Set(fixtureNow.Add(2 * time.Hour))
	if _, err := f.bookings.Cancel(context.Background(), manage, "plans changed"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after   time.Duration
		present bool
	}{{0, true}, {29 * 24 * time.Hour, true}, {30*24*time.Hour + time.Minute, false}} {
		f.clock.Set(fixtureNow.Add(2*time.Hour + tc.after))
		raw, events := f.mustCalendar(t, token)
		e, ok := events[bk.UID]
		if ok != tc.present {
			t.Fatalf("%s after cancelling: in the feed %v, want %v\n%s", tc.after, ok, tc.present, raw)
		}
		if !ok {
			continue
		}
		if status, _ := e.Status(); status != goical.EventCancelled {
			t.Fatalf("STATUS = %q, want CANCELLED", status)
		}
		if seq, _ := e.Props.Get(goical.PropSequence).Int(); seq != 2 {
			t.Fatalf("SEQUENCE = %d, want 2 (booked 0, moved 1, cancelled 2)", seq)
		}
		if got := eventText(e, goical.PropSummary); !strings.HasPrefix(got, "Cancelled: ") {
			t.Fatalf("SUMMARY = %q", got)
		}
		if eventText(e, goical.PropURL) != "" || eventText(e, goical.PropLocation) != "" || eventText(e, goical.PropTransparency) != "TRANSPARENT" {
			t.Fatalf("a cancelled event keeps links or blocks time:\n%s", raw)
		}
	}
}

func TestFeedReachesThirtyDaysBack(t *testing.T) {
	f := newFeedFixture(t)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	bk, _ := f.mustBook(t, f.mustLead(t, "pat@acme.example.com", "django"), f.at(8, 10, 0))
	link, err := f.feeds.RotateConsultant(context.Background(), "ana@consult.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for days, present := range map[int]bool{29: true, 31: false} {
		f.clock.Set(bk.End.AddDate(0, 0, days))
		if _, events := f.mustCalendar(t, feedToken(t, link)); (events[bk.UID].Component != nil) != present {
			t.Fatalf("%d days after the meeting: in the feed %v, want %v", days, !present, present)
		}
	}
}

func TestFeedRotationStopsTheOldURLAtOnce(t *testing.T) {
	f := newFeedFixture(t)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	first, err := f.feeds.RotateConsultant(ctx, "ana@consult.example.com")
	if err != nil || !first.Created {
		t.Fatalf("first feed: %+v, %v", first, err)
	}
	second, err := f.feeds.RotateConsultant(ctx, "ana@consult.example.com")
	if err != nil || second.Created {
		t.Fatalf("rotation: %+v, %v", second, err)
	}
	old, current := feedToken(t, first), feedToken(t, second)
	if len(current) < 43 || old == current {
		t.Fatalf("tokens %q then %q: want 256 random bits each", old, current)
	}
	if _, err := f.feeds.Calendar(ctx, old); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("the old URL: %v, want not found", err)
	}
	f.mustCalendar(t, current)
	for _, bad := range []string{"", "x", current + "x", strings.ToUpper(current), "../" + current} {
		if _, err := f.feeds.Calendar(ctx, bad); !errors.Is(err, services.ErrNotFound) {
			t.Fatalf("token %q: %v, want not found", bad, err)
		}
	}
	var rows, plain int
	f.db.Get(&rows, `SELECT count(*) FROM calendar_feeds WHERE consultant_id = $1 AND token_hash = sha256(convert_to($2, 'UTF8'))`, ana.ID, current)
	f.db.Get(&plain, `SELECT count(*) FROM calendar_feeds WHERE position(convert_to($1, 'UTF8') IN token_sealed) > 0`, current)
	if rows != 1 || plain != 0 {
		t.Fatalf("%d rows hold the token's hash, %d hold it in clear", rows, plain)
	}
	var actions []string
	f.db.Select(&actions, `SELECT action FROM audit_log WHERE target_type = 'consultant' AND target_id = $1 ORDER BY id`, ana.ID)
	if got := strings.Join(actions, ","); got != "feed_created,feed_rotated" {
		t.Fatalf("audit log = %s", got)
	}
	if _, err := f.feeds.RotateConsultant(ctx, "nobody@consult.example.com"); services.ErrorCode(err) != services.CodeNotFound {
		t.Fatalf("unknown consultant: %v", err)
	}
}

// After SECRET_KEY changes, the stored copy no longer opens: the page gets
// no URL to show, and the feed itself, found by its hash, goes on working.
func TestFeedURLAfterTheSecretKeyChanged(t *testing.T) {
	f := newFeedFixture(t)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	link, err := f.feeds.RotateConsultant(context.Background(), "ana@consult.example.com")
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := services.NewFeedTokenSealer("another-secret")
	base, _ := url.Parse("https://consult.example.com")
	rekeyed := services.NewFeeds(f.db, sealer, services.FeedsConfig{BaseURL: base, SiteName: "Stackpoint Consulting", HorizonDays: 30}, f.clock.Now)
	me := services.WithActor(context.Background(), services.Actor{Role: services.RoleConsultant, ConsultantID: ana.ID})
	shown, err := rekeyed.Mine(me)
	if err != nil || shown == nil || shown.URL != "" || shown.Webcal != "" || shown.RotatedAt.IsZero() {
		t.Fatalf("Mine after the key changed = %+v, %v; want a feed without a URL to show", shown, err)
	}
	if _, err := rekeyed.Calendar(context.Background(), feedToken(t, link)); err != nil {
		t.Fatalf("the feed after the key changed: %v", err)
	}
}

func TestMyFeedIsTheSignedInConsultants(t *testing.T) {
	f := newFeedFixture(t)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	me := services.WithActor(context.Background(), services.Actor{Email: "ana@consult.example.com", Role: services.RoleConsultant, ConsultantID: ana.ID})
	if link, err := f.feeds.Mine(me); err != nil || link != nil {
		t.Fatalf("before asking: %+v, %v", link, err)
	}
	made, err := f.feeds.RotateMine(me)
	if err != nil || !made.Created {
		t.Fatalf("RotateMine: %+v, %v", made, err)
	}
	link, err := f.feeds.Mine(me)
	if err != nil || link == nil || link.URL != made.URL {
		t.Fatalf("Mine = %+v, %v, want %s", link, err, made.URL)
	}
	sales := services.WithActor(context.Background(), services.Actor{Email: "sales@consult.example.com", Role: services.RoleSales})
	if _, err := f.feeds.Mine(sales); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("sales Mine: %v", err)
	}
	if _, err := f.feeds.RotateMine(context.Background()); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("nobody's RotateMine: %v", err)
	}
}

func TestTeamFeedNamesEachConsultant(t *testing.T) {
	f := newFeedFixture(t)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "nia@consult.example.com", "nodejs", "America/Toronto", "mon-fri 09:00-17:00")
	a, _ := f.mustBook(t, f.mustLead(t, "pat@acme.example.com", "django"), f.at(8, 10, 0))
	b, manage := f.mustBook(t, f.mustLead(t, "sam@prairie.example.com", "django"), f.at(8, 10, 0))
	n, _ := f.mustBook(t, f.mustLead(t, "kim@chat.example.com", "nodejs"), f.at(8, 10, 0))
	if _, err := f.bookings.Cancel(context.Background(), manage, ""); err != nil {
		t.Fatal(err)
	}

	admin := services.WithActor(context.Background(), services.Actor{Email: "admin@consult.example.com", Role: services.RoleAdmin})
	for role, ctx := range map[string]context.Context{
		"sales":      services.WithActor(context.Background(), services.Actor{Role: services.RoleSales}),
		"consultant": services.WithActor(context.Background(), services.Actor{Role: services.RoleConsultant, ConsultantID: a.ConsultantID}),
		"nobody":     context.Background(),
	} {
		if _, err := f.feeds.RotateTeam(ctx, "django"); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("%s issues a team feed: %v", role, err)
		}
		if _, err := f.feeds.TeamFeeds(ctx); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("%s lists team feeds: %v", role, err)
		}
	}
	if _, err := f.feeds.RotateTeam(admin, "cobol"); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("unknown team: %v", err)
	}
	link, err := f.feeds.RotateTeam(admin, "django")
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.feeds.TeamFeeds(admin)
	if err != nil || len(list) != 2 || list[0].Link == nil || list[0].Link.URL != link.URL || list[1].Team != "nodejs" || list[1].Link != nil {
		t.Fatalf("TeamFeeds = %+v, %v", list, err)
	}

	raw, events := f.mustCalendar(t, feedToken(t, link))
	if len(events) != 2 || events[n.UID].Component != nil {
		t.Fatalf("the Django feed holds %d events:\n%s", len(events), raw)
	}
	if got, want := eventText(events[a.UID], goical.PropSummary), "ana with Ana Silva (Acme)"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	cancelled := events[b.UID]
	if got, want := eventText(cancelled, goical.PropSummary), "Cancelled: ben with Ana Silva (Acme)"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	if eventText(cancelled, goical.PropURL) == "" {
		t.Fatal("a cancelled event in a team feed lost the lead page, which sales staff can read")
	}
	if !strings.Contains(string(raw), "X-WR-CALNAME:Stackpoint Consulting: Django team") {
		t.Fatalf("calendar name:\n%s", raw)
	}
	var actions []string
	f.db.Select(&actions, `SELECT action || ' ' || target_type || ' ' || target_id || ' ' || actor FROM audit_log ORDER BY id`)
	if got := strings.Join(actions, ","); got != "feed_created team django admin@consult.example.com" {
		t.Fatalf("audit log = %s", got)
	}
}
