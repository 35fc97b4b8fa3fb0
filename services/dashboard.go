package services

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// DashboardRanges are the numbers of weeks the dashboard offers, and
// DefaultDashboardWeeks the one it shows when none (or another) is asked.
var DashboardRanges = []int{4, 12, 26}

// DefaultDashboardWeeks is the range of the dashboard's first view.
const DefaultDashboardWeeks = 12

// The consultant load counts live bookings starting this far ahead and
// this far back.
const (
	LoadAhead  = 14 * 24 * time.Hour
	LoadBehind = 30 * 24 * time.Hour
)

// Dashboard reads the funnel and the consultants' booking load for sales.
type Dashboard struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewDashboard returns the dashboard reader.
func NewDashboard(db *sqlx.DB, now func() time.Time) *Dashboard {
	return &Dashboard{db: db, now: now}
}

// stagePaid counts paid bookings on the dashboard; it is not a funnel stage
// of the public counters.
const stagePaid = "paid"

// FunnelCounts is how many prospects reached each stage. Views and starts
// are counted per day only; the later stages are rows with a team, and
// leads and bookings also with a region.
type FunnelCounts struct {
	Viewed    int64
	Started   int64
	Completed int64 // assessments finished
	Leads     int64 // contact-form submissions (inquiries)
	Booked    int64 // bookings made, by when they were made
	Paid      int64 // paid bookings, by when the payment came
}

// FunnelWeek is one ISO week (Monday to Sunday, UTC) of the funnel.
type FunnelWeek struct {
	Start time.Time
	FunnelCounts
}

// Label names the week the ISO way, e.g. "2026-W07".
func (w FunnelWeek) Label() string {
	y, n := w.Start.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, n)
}

// FunnelSegment is the part of the range's funnel that one team or region
// accounts for. Regions have no Completed: an assessment has no region.
type FunnelSegment struct {
	Key       string // a team or a region
	Completed int64
	Leads     int64
	Booked    int64
	Paid      int64
}

// ConsultantLoad is how many live bookings a consultant has around now.
type ConsultantLoad struct {
	ID       string `db:"id"`
	Name     string `db:"name"`
	Team     string `db:"team"`
	Active   bool   `db:"active"`
	Upcoming int64  `db:"upcoming"` // starting within LoadAhead
	Past     int64  `db:"past"`     // started within LoadBehind
}

// DashboardData is everything the dashboard shows.
type DashboardData struct {
	Weeks    int
	From     time.Time // Monday 00:00 UTC of the first week shown
	Until    time.Time // Monday 00:00 UTC after the current week
	Now      time.Time
	ByWeek   []FunnelWeek // oldest first, one per week, empty weeks included
	Total    FunnelCounts
	ByTeam   []FunnelSegment // TeamDjango, TeamNodeJS
	ByRegion []FunnelSegment // RegionCanada, RegionUSA
	Load     []ConsultantLoad
}

// Load reads the funnel of the last weeks ISO weeks, the current one
// included (DefaultDashboardWeeks unless weeks is one of DashboardRanges),
// and the booking load of every active consultant. Sales staff only.
func (d *Dashboard) Load(ctx context.Context, weeks int) (DashboardData, error) {
	if !ActorFrom(ctx).Staff() {
		return DashboardData{}, ErrForbidden
	}
	if !slices.Contains(DashboardRanges, weeks) {
		weeks = DefaultDashboardWeeks
	}
	now := d.now().UTC()
	until := weekStart(now).AddDate(0, 0, 7)
	data := DashboardData{Weeks: weeks, From: until.AddDate(0, 0, -7*weeks), Until: until, Now: now}
	rows, err := d.funnelRows(ctx, data.From, data.Until)
	if err != nil {
		return data, err
	}
	data.fold(rows)
	if data.Load, err = d.load(ctx, now); err != nil {
		return data, err
	}
	return data, nil
}

// weekStart is the Monday 00:00 UTC of t's ISO week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
}

// funnelRow is one week's count of one stage for one team and region
// ("" where the stage does not record them).
type funnelRow struct {
	Week   time.Time `db:"week"`
	Stage  string    `db:"stage"`
	Team   string    `db:"team"`
	Region string    `db:"region"`
	N      int64     `db:"n"`
}

// funnelRows counts each stage per UTC ISO week in [from, until). Views and
// starts come from the daily counters; the later stages from their rows,
// so they can be split by team and region. A booking counts when it was
// made, even if later cancelled; a hold that expired unpaid, or one still
// waiting for its payment, never was one. Paid bookings count apart, when
// the payment came.
func (d *Dashboard) funnelRows(ctx context.Context, from, until time.Time) ([]funnelRow, error) {
	var rows []funnelRow
	err := d.db.SelectContext(ctx, &rows, `
		WITH events AS (
			SELECT day::timestamp AS at, stage, '' AS team, '' AS region, count AS n
			FROM funnel_counts
			WHERE stage IN ('article_viewed', 'assessment_started')
			  AND day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date
			UNION ALL
			SELECT created_at AT TIME ZONE 'UTC', 'assessment_completed', team, '', 1
			FROM assessments WHERE created_at >= $1 AND created_at < $2
			UNION ALL
			SELECT created_at AT TIME ZONE 'UTC', 'lead_created', team, region, 1
			FROM inquiries WHERE created_at >= $1 AND created_at < $2
			UNION ALL
			SELECT created_at AT TIME ZONE 'UTC', 'booked', team, region, 1
			FROM bookings WHERE created_at >= $1 AND created_at < $2 AND status <> 'expired' AND payment_status <> 'pending'
			UNION ALL
			SELECT paid_at AT TIME ZONE 'UTC', 'paid', team, region, 1
			FROM bookings WHERE paid_at >= $1 AND paid_at < $2
		)
		SELECT date_trunc('week', at) AT TIME ZONE 'UTC' AS week, stage, team, region, sum(n)::bigint AS n
		FROM events
		GROUP BY 1, 2, 3, 4`, from, until)
	if err != nil {
		return nil, fmt.Errorf("dashboard funnel: %w", err)
	}
	return rows, nil
}

// fold adds the rows into the weeks, the total and the segments.
func (data *DashboardData) fold(rows []funnelRow) {
	data.ByWeek = make([]FunnelWeek, data.Weeks)
	for i := range data.ByWeek {
		data.ByWeek[i].Start = data.From.AddDate(0, 0, 7*i)
	}
	data.ByTeam = []FunnelSegment{{Key: TeamDjango}, {Key: TeamNodeJS}}
	data.ByRegion = []FunnelSegment{{Key: RegionCanada}, {Key: RegionUSA}}
	for _, r := range rows {
		i := int(r.Week.Sub(data.From).Hours() / (24 * 7))
		if i < 0 || i >= len(data.ByWeek) {
			continue
		}
		data.ByWeek[i].add(r.Stage, r.N)
		data.Total.add(r.Stage, r.N)
		for _, seg := range []*FunnelSegment{segment(data.ByTeam, r.Team), segment(data.ByRegion, r.Region)} {
			if seg != nil {
				seg.add(r.Stage, r.N)
			}
		}
	}
}

func (c *FunnelCounts) add(stage string, n int64) {
	switch stage {
	case StageArticleViewed:
		c.Viewed += n
	case StageAssessmentStarted:
		c.Started += n
	case StageAssessmentCompleted:
		c.Completed += n
	case StageLeadCreated:
		c.Leads += n
	case StageBooked:
		c.Booked += n
	case stagePaid:
		c.Paid += n
	}
}

func (s *FunnelSegment) add(stage string, n int64) {
	switch stage {
	case StageAssessmentCompleted:
		s.Completed += n
	case StageLeadCreated:
		s.Leads += n
	case StageBooked:
		s.Booked += n
	case stagePaid:
		s.Paid += n
	}
}

func segment(segs []FunnelSegment, key string) *FunnelSegment {
	for i := range segs {
		if segs[i].Key == key {
			return &segs[i]
		}
	}
	return nil
}

// load counts each consultant's live bookings starting in the LoadAhead
// after now and the LoadBehind before it. Inactive consultants appear
// only while they still have bookings in that window.
func (d *Dashboard) load(ctx context.Context, now time.Time) ([]ConsultantLoad, error) {
	load := []ConsultantLoad{}
	err := d.db.SelectContext(ctx, &load, `
		WITH counts AS (
			SELECT consultant_id,
			       count(*) FILTER (WHERE starts_at >= $1) AS upcoming,
			       count(*) FILTER (WHERE starts_at < $1) AS past
			FROM bookings
			WHERE `+liveBookingSQL+` AND starts_at >= $2 AND starts_at < $3
			GROUP BY consultant_id
		)
		SELECT c.id, c.name, c.team, c.active, COALESCE(n.upcoming, 0) AS upcoming, COALESCE(n.past, 0) AS past
		FROM consultants c LEFT JOIN counts n ON n.consultant_id = c.id
		WHERE c.active OR n.consultant_id IS NOT NULL
		ORDER BY upcoming DESC, past DESC, c.name, c.id`, now, now.Add(-LoadBehind), now.Add(LoadAhead))
	if err != nil {
		return nil, fmt.Errorf("dashboard load: %w", err)
	}
	return load, nil
}
