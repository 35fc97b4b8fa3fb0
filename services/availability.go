package services

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// BookingRules are the limits every offered slot respects.
type BookingRules struct {
	Buffer      time.Duration // free time kept after each meeting
	MinNotice   time.Duration // earliest start, from now
	HorizonDays int           // latest start, in days from now
}

// Availability computes free slots from consultants' hours, time off,
// bookings and external busy blocks.
type Availability struct {
	db    *sqlx.DB
	rules BookingRules
	now   func() time.Time
	cache *slotCache // nil: every request computes
}

// NewAvailability returns the availability service.
func NewAvailability(db *sqlx.DB, rules BookingRules, now func() time.Time) *Availability {
	return &Availability{db: db, rules: rules, now: now}
}

// EnableCache lets slot requests reuse what was computed for the same
// schedule version.
func (a *Availability) EnableCache() { a.cache = &slotCache{entries: map[slotKey][]time.Time{}} }

// Rules returns the booking rules in force.
func (a *Availability) Rules() BookingRules { return a.rules }

// Slot is a bookable half hour.
type Slot struct {
	Start time.Time
	End   time.Time
}

// SlotQuery asks for slots of a team in a region over whole days of the
// prospect's calendar.
type SlotQuery struct {
	Team    string
	Region  string
	From    time.Time // any instant of the first day; days are cut in Loc
	Days    int
	Loc     *time.Location
	exclude string // a booking to ignore (the one being moved)
}

// Slots returns the starts at which at least one active consultant of the
// team serving the region is free, in order, expressed in q.Loc.
func (a *Availability) Slots(ctx context.Context, q SlotQuery) ([]Slot, error) {
	set, err := a.slotSet(ctx, q)
	if err != nil {
		return nil, err
	}
	return set.Slots(), nil
}

// SlotSet is an answer to a slot query, kept as instants until asked for.
// Key names its exact content when it came through the cache: the same key
// is the same slots, so what was made from them can be reused.
type SlotSet struct {
	Key    string
	Loc    *time.Location
	starts []time.Time
}

// Slots lists the set in its zone.
func (s SlotSet) Slots() []Slot {
	out := make([]Slot, 0, len(s.starts))
	for _, t := range s.starts {
		out = append(out, Slot{Start: t.In(s.Loc), End: t.Add(SlotLength).In(s.Loc)})
	}
	return out
}

func (a *Availability) slotSet(ctx context.Context, q SlotQuery) (SlotSet, error) {
	from, to := a.dayWindow(q)
	starts, version, err := a.startsIn(ctx, q, from, to)
	if err != nil {
		return SlotSet{}, err
	}
	earliest, latest := a.bounds()
	lo := sort.Search(len(starts), func(i int) bool { return !starts[i].Before(earliest) })
	hi := sort.Search(len(starts), func(i int) bool { return starts[i].Add(SlotLength).After(latest) })
	if hi < lo {
		hi = lo
	}
	set := SlotSet{Loc: q.Loc, starts: starts[lo:hi]}
	if version > 0 {
		set.Key = fmt.Sprintf("%d/%s/%s/%d/%d/%d/%d/%s", version, q.Team, q.Region, from.Unix(), to.Unix(), lo, hi, q.Loc)
	}
	return set, nil
}

// startsIn lists free starts in [from, to), sorted, ignoring notice and
// horizon (they move with the clock; the cache must not), and the schedule
// version they were computed for (0 outside the cache). Queries without a
// booking to exclude share the cache.
func (a *Availability) startsIn(ctx context.Context, q SlotQuery, from, to time.Time) ([]time.Time, int64, error) {
	earliest, latest := a.bounds()
	if from.Before(earliest.Add(-24 * time.Hour)) {
		from = earliest.Add(-24 * time.Hour).Truncate(time.Hour)
	}
	if to.After(latest.Add(24 * time.Hour)) {
		to = latest.Add(24 * time.Hour).Truncate(time.Hour)
	}
	if !from.Before(to) {
		return nil, 0, nil
	}
	if q.exclude != "" || a.cache == nil {
		starts, err := a.computeStarts(ctx, q, from, to)
		return starts, 0, err
	}
	version, err := a.scheduleVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	key := slotKey{team: q.Team, region: q.Region, from: from.Unix(), to: to.Unix()}
	if starts, ok := a.cache.get(version, key); ok {
		return starts, version, nil
	}
	starts, err := a.cache.compute(ctx, version, key, func() ([]time.Time, error) {
		// Shared with other requests, so it must not end with the first
		// one's request.
		shared, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return a.computeStarts(shared, q, from, to)
	})
	return starts, version, err
}

// computeStarts reads the schedules and lists the free starts in [from, to).
func (a *Availability) computeStarts(ctx context.Context, q SlotQuery, from, to time.Time) ([]time.Time, error) {
	schedules, err := a.schedules(ctx, q.Team, q.Region, from, to, q.exclude)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var starts []time.Time
	for _, s := range schedules {
		for _, t := range s.slotStarts(from, to, a.rules.Buffer) {
			if !seen[t.Unix()] {
				seen[t.Unix()] = true
				starts = append(starts, t)
			}
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	return starts, nil
}

// dayWindow is the query's days in the prospect's zone.
func (a *Availability) dayWindow(q SlotQuery) (time.Time, time.Time) {
	local := q.From.In(q.Loc)
	return time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, q.Loc),
		time.Date(local.Year(), local.Month(), local.Day()+q.Days, 0, 0, 0, 0, q.Loc)
}

// bounds are the earliest and latest instants a meeting may occupy.
func (a *Availability) bounds() (time.Time, time.Time) {
	now := a.now()
	return now.Add(a.rules.MinNotice), now.Add(time.Duration(a.rules.HorizonDays) * 24 * time.Hour)
}

// candidates splits the team's consultants for one start into those whose
// hours include it and, of those, the ones free then.
func (a *Availability) candidates(ctx context.Context, team, region string, start time.Time, exclude string) (working, free []string, err error) {
	earliest, latest := a.bounds()
	if start.Before(earliest) || start.Add(SlotLength).After(latest) {
		return nil, nil, nil
	}
	return a.atStart(ctx, team, region, start, exclude)
}

// atStart is candidates without the notice and horizon: staff moving a
// booking that is already made may do so at short notice.
func (a *Availability) atStart(ctx context.Context, team, region string, start time.Time, exclude string) (working, free []string, err error) {
	schedules, err := a.schedules(ctx, team, region, start.Add(-24*time.Hour), start.Add(24*time.Hour), exclude)
	if err != nil {
		return nil, nil, err
	}
	want := interval{start, start.Add(SlotLength + a.rules.Buffer)}
	for _, s := range schedules {
		if !s.worksAt(start) {
			continue
		}
		working = append(working, s.ConsultantID)
		if s.free(want) {
			free = append(free, s.ConsultantID)
		}
	}
	return working, free, nil
}

// schedules loads every active consultant of team serving region with what
// blocks them in [from, to), in one query: this runs for every booking and
// every slot computation, and each round trip to PostgreSQL costs more
// than the rows. Only rows touching the window are read, so the cost
// follows consultants and days, not the size of the booking history.
// Blocked time comes as Unix seconds, widened to whole seconds (a busy
// event ending at 10:00:00.5 still blocks 10:00).
func (a *Availability) schedules(ctx context.Context, team, region string, from, to time.Time, exclude string) ([]schedule, error) {
	var rows []struct {
		ID        string        `db:"id"`
		Timezone  string        `db:"timezone"`
		Hours     pq.Int64Array `db:"hours"`
		BusyStart pq.Int64Array `db:"busy_start"`
		BusyEnd   pq.Int64Array `db:"busy_end"`
	}
	pad := a.rules.Buffer
	err := selectPrepared(ctx, a.db, &rows, `
		SELECT c.id, c.timezone,
		       ARRAY(SELECT h.weekday * 100000000 + h.start_minute * 10000 + h.end_minute
		             FROM consultant_hours h WHERE h.consultant_id = c.id) AS hours,
		       COALESCE(busy.starts, '{}') AS busy_start, COALESCE(busy.ends, '{}') AS busy_end
		FROM consultants c
		LEFT JOIN LATERAL (
			SELECT array_agg(floor(extract(epoch FROM s))::bigint ORDER BY s, e) AS starts,
			       array_agg(ceil(extract(epoch FROM e))::bigint ORDER BY s, e) AS ends
			FROM (
				SELECT lower(blocked) AS s, upper(blocked) AS e FROM bookings
				WHERE consultant_id = c.id AND blocked && tstzrange($3, $4)
				  AND `+liveBookingSQL+` AND id::text <> $5
				UNION ALL
				SELECT lower(period), upper(period) FROM consultant_time_off
				WHERE consultant_id = c.id AND period && tstzrange($3, $4)
				UNION ALL
				SELECT lower(period), upper(period) + make_interval(secs => $6) FROM consultant_busy
				WHERE consultant_id = c.id AND period && tstzrange($3, $4)
			) blocks
		) busy ON true
		WHERE c.active AND c.team = $1 AND $2 = ANY (c.regions)
		ORDER BY c.email`,
		team, region, from.Add(-pad-SlotLength), to.Add(pad+SlotLength), exclude, pad.Seconds())
	if err != nil {
		return nil, fmt.Errorf("schedules for slots: %w", err)
	}
	out := make([]schedule, len(rows))
	for i, r := range rows {
		loc, err := LoadZone(r.Timezone)
		if err != nil {
			return nil, fmt.Errorf("consultant %s zone %q: %w", r.ID, r.Timezone, err)
		}
		out[i] = schedule{ConsultantID: r.ID, Loc: loc}
		for _, h := range r.Hours {
			out[i].Hours = append(out[i].Hours, HoursRange{
				Weekday: time.Weekday(h / 100000000), StartMinute: int(h / 10000 % 10000), EndMinute: int(h % 10000),
			})
		}
		if len(r.BusyStart) != len(r.BusyEnd) {
			return nil, fmt.Errorf("schedules for slots: %d busy starts, %d ends", len(r.BusyStart), len(r.BusyEnd))
		}
		for j := range r.BusyStart {
			out[i].Busy = append(out[i].Busy, interval{time.Unix(r.BusyStart[j], 0), time.Unix(r.BusyEnd[j], 0)})
		}
	}
	return out, nil
}
