package services

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Lead statuses. "booked" is set and cleared by bookings; staff move a lead
// along the others.
const (
	LeadNew       = "new"
	LeadContacted = "contacted"
	LeadQualified = "qualified"
	LeadBooked    = "booked"
	LeadWon       = "won"
	LeadLost      = "lost"
	LeadSpam      = "spam"
)

// LeadStatuses lists every lead status in workflow order.
var LeadStatuses = []string{LeadNew, LeadBooked, LeadContacted, LeadQualified, LeadWon, LeadLost, LeadSpam}

// Booking states of a lead, as the inbox shows and filters them.
const (
	BookingStateUpcoming = "upcoming"
	BookingStatePast     = "past"
	BookingStateNone     = "none"
)

// LeadFilter narrows and orders the inbox.
type LeadFilter struct {
	Statuses []string
	Team     string
	Region   string
	Booked   string // "yes", "no" or "" (either)
	From, To string // YYYY-MM-DD, created on or after / on or before
	Query    string // words in the name, email or company
	Sort     string // a key of leadSorts
	View     string // "follow-up": completed the assessment, not booked, still open
	Page     int    // from 1
	PerPage  int
}

// leadSorts are the inbox orders; the SQL comes from this map only.
var leadSorts = map[string]string{
	"recent":     "l.last_activity_at DESC, l.id DESC",
	"newest":     "l.created_at DESC, l.id DESC",
	"oldest":     "l.created_at ASC, l.id ASC",
	"waiting":    "(l.first_contacted_at IS NOT NULL), l.created_at ASC, l.id ASC",
	"confidence": "l.confidence DESC, l.last_activity_at DESC, l.id DESC",
	"name":       "lower(l.name) ASC, l.id ASC",
}

// maxInboxPage bounds page numbers, far beyond any real inbox, so an
// offset can never overflow.
const maxInboxPage = 100000

// LeadSortKeys lists the orders in the order the inbox offers them.
var LeadSortKeys = []string{"recent", "confidence", "waiting", "newest", "oldest", "name"}

// LeadRow is one line of the inbox.
type LeadRow struct {
	ID               string       `db:"id"`
	Name             string       `db:"name"`
	Email            string       `db:"email"`
	Company          string       `db:"company"`
	Team             string       `db:"team"`
	Confidence       float64      `db:"confidence"`
	Region           string       `db:"region"`
	Timezone         string       `db:"timezone"`
	Status           string       `db:"status"`
	CreatedAt        time.Time    `db:"created_at"`
	LastActivityAt   time.Time    `db:"last_activity_at"`
	FirstContactedAt sql.NullTime `db:"first_contacted_at"`
	Inquiries        int          `db:"inquiries"`
	NextStart        sql.NullTime `db:"next_start"`
	BookingState     string       `db:"booking_state"`
	Erased           bool         `db:"erased"`
}

// WaitingSince is when the lead started waiting for a first contact, if it
// still is: open leads nobody has contacted yet.
func (r LeadRow) WaitingSince() (time.Time, bool) {
	if r.FirstContactedAt.Valid || r.Erased || (r.Status != LeadNew && r.Status != LeadBooked) {
		return time.Time{}, false
	}
	return r.CreatedAt, true
}

// LeadList is one page of the inbox.
type LeadList struct {
	Rows    []LeadRow
	Total   int
	Page    int
	PerPage int
}

// Pages is how many pages the filtered inbox has.
func (l LeadList) Pages() int {
	if l.PerPage <= 0 {
		return 1
	}
	return max(1, (l.Total+l.PerPage-1)/l.PerPage)
}

// Inbox reads leads for sales staff.
type Inbox struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewInbox returns the inbox service.
func NewInbox(db *sqlx.DB, now func() time.Time) *Inbox { return &Inbox{db: db, now: now} }

// leadRowSelect reads inbox columns from the leads named by its %s (the
// table, or a page of it); $1 is now. The booking state looks at live
// bookings: one not yet ended is upcoming, one ended is past.
const leadRowSelect = `
	SELECT l.id, l.name, l.email, l.company, l.team, l.confidence::float8 AS confidence, l.region, l.timezone, l.status,
	       l.created_at, l.last_activity_at, l.first_contacted_at, l.erased_at IS NOT NULL AS erased,
	       (SELECT count(*) FROM inquiries i WHERE i.lead_id = l.id) AS inquiries,
	       nb.starts_at AS next_start,
	       CASE WHEN nb.starts_at IS NOT NULL THEN 'upcoming'
	            WHEN EXISTS (SELECT 1 FROM bookings b WHERE b.lead_id = l.id AND b.status IN ('confirmed', 'no_show')) THEN 'past'
	            ELSE 'none' END AS booking_state
	FROM %s l
	LEFT JOIN LATERAL (
		SELECT b.starts_at FROM bookings b
		WHERE b.lead_id = l.id AND b.status IN ('held', 'pending_payment', 'confirmed') AND b.ends_at > $1
		ORDER BY b.starts_at LIMIT 1
	) nb ON true`

// normalize checks a filter and fills its defaults.
func (f *LeadFilter) normalize() error {
	fields := map[string]string{}
	for _, s := range f.Statuses {
		if !slices.Contains(LeadStatuses, s) {
			fields["status"] = "Choose statuses from the list."
		}
	}
	if f.Team != "" && !ValidTeam(f.Team) {
		fields["team"] = "Choose Django or Node.js."
	}
	if f.Region != "" && !ValidRegion(f.Region) {
		fields["region"] = "Choose Canada or the USA."
	}
	if f.Booked != "" && f.Booked != "yes" && f.Booked != "no" {
		fields["booked"] = "Choose booked or not booked."
	}
	for key, day := range map[string]string{"from": f.From, "to": f.To} {
		if d, err := time.Parse(time.DateOnly, day); day != "" && (err != nil || d.Year() < 2000 || d.Year() > 2999) {
			fields[key] = "Use a date such as 2026-12-01."
		}
	}
	if f.Page > maxInboxPage {
		fields["page"] = "That page does not exist."
	}
	if f.View != "" && f.View != "follow-up" {
		fields["view"] = "Unknown view."
	}
	if len(fields) > 0 {
		return Invalid(fields)
	}
	if _, ok := leadSorts[f.Sort]; !ok {
		f.Sort = "recent"
	}
	f.Query = strings.ToLower(strings.Join(strings.Fields(cleanLine(f.Query)), " "))
	f.Page = max(f.Page, 1)
	if f.PerPage <= 0 || f.PerPage > 200 {
		f.PerPage = 50
	}
	return nil
}

// where builds the filter's WHERE clause; every value is a placeholder.
func (f LeadFilter) where(args []any) (string, []any) {
	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if len(f.Statuses) > 0 {
		add("l.status = ANY (?)", pq.StringArray(f.Statuses))
	}
	if f.Team != "" {
		add("l.team = ?", f.Team)
	}
	if f.Region != "" {
		add("l.region = ?", f.Region)
	}
	if f.From != "" {
		add("l.created_at >= ?::date", f.From)
	}
	if f.To != "" {
		add("l.created_at < ?::date + 1", f.To)
	}
	for _, word := range strings.Fields(f.Query) {
		add("lower(l.name || ' ' || l.email || ' ' || l.company) LIKE ?", "%"+escapeLike(word)+"%")
	}
	hasBooking := "EXISTS (SELECT 1 FROM bookings b WHERE b.lead_id = l.id AND b.status IN ('held', 'pending_payment', 'confirmed', 'no_show'))"
	switch {
	case f.View == "follow-up":
		conds = append(conds, "l.status IN ('new', 'contacted', 'qualified')", "NOT "+hasBooking, "l.erased_at IS NULL")
	case f.Booked == "yes":
		conds = append(conds, hasBooking)
	case f.Booked == "no":
		conds = append(conds, "NOT "+hasBooking)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// List returns one page of leads matching the filter.
func (s *Inbox) List(ctx context.Context, f LeadFilter) (LeadList, error) {
	if !ActorFrom(ctx).Staff() {
		return LeadList{}, ErrForbidden
	}
	if err := f.normalize(); err != nil {
		return LeadList{}, err
	}
	out := LeadList{Page: f.Page, PerPage: f.PerPage, Rows: []LeadRow{}}
	countWhere, countArgs := f.where(nil)
	if err := s.db.GetContext(ctx, &out.Total, `SELECT count(*) FROM leads l`+countWhere, countArgs...); err != nil {
		return out, fmt.Errorf("count leads: %w", err)
	}
	where, args := f.where([]any{s.now()})
	args = append(args, f.PerPage, (f.Page-1)*f.PerPage)
	order := " ORDER BY " + leadSorts[f.Sort]
	// The page is cut from leads alone, so the per-row work below runs for
	// its 50 rows, not for every row an offset skips.
	page := fmt.Sprintf("(SELECT * FROM leads l%s%s LIMIT $%d OFFSET $%d)", where, order, len(args)-1, len(args))
	if err := s.db.SelectContext(ctx, &out.Rows, fmt.Sprintf(leadRowSelect, page)+order, args...); err != nil {
		return out, fmt.Errorf("list leads: %w", err)
	}
	return out, nil
}

// csvHeader names the columns of the inbox export.
var csvHeader = []string{"id", "created_at", "name", "email", "company", "team", "confidence", "region", "status",
	"booking", "next_start", "first_contacted_at", "last_activity_at", "submissions"}

// ExportCSV streams every lead matching the filter (all pages) as CSV to w,
// row by row, and returns how many it wrote. Cells that a spreadsheet would
// run as a formula are neutralised.
func (s *Inbox) ExportCSV(ctx context.Context, f LeadFilter, w io.Writer) (int, error) {
	if !ActorFrom(ctx).Staff() {
		return 0, ErrForbidden
	}
	if err := f.normalize(); err != nil {
		return 0, err
	}
	where, args := f.where([]any{s.now()})
	rows, err := s.db.QueryxContext(ctx, fmt.Sprintf(leadRowSelect, "leads")+where+" ORDER BY "+leadSorts[f.Sort], args...)
	if err != nil {
		return 0, fmt.Errorf("export leads: %w", err)
	}
	defer rows.Close()
	out := csv.NewWriter(w)
	if err := out.Write(csvHeader); err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var r LeadRow
		if err := rows.StructScan(&r); err != nil {
			return n, fmt.Errorf("export leads: %w", err)
		}
		if err := out.Write(csvRecord(r)); err != nil {
			return n, err
		}
		if n++; n%500 == 0 {
			out.Flush()
		}
	}
	out.Flush()
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export leads: %w", err)
	}
	if err := out.Error(); err != nil {
		return n, err
	}
	return n, audit(ctx, s.db, "leads_exported", "leads", "", map[string]string{"rows": fmt.Sprint(n), "filter": f.describe()})
}

func csvRecord(r LeadRow) []string {
	stamp := func(t sql.NullTime) string {
		if !t.Valid {
			return ""
		}
		return t.Time.UTC().Format(time.RFC3339)
	}
	cells := []string{r.ID, r.CreatedAt.UTC().Format(time.RFC3339), r.Name, r.Email, r.Company, r.Team,
		fmt.Sprintf("%.2f", r.Confidence), r.Region, r.Status, r.BookingState, stamp(r.NextStart),
		stamp(r.FirstContactedAt), r.LastActivityAt.UTC().Format(time.RFC3339), fmt.Sprint(r.Inquiries)}
	for i, c := range cells {
		cells[i] = SafeSpreadsheetCell(c)
	}
	return cells
}

// SafeSpreadsheetCell keeps a cell from being read as a formula: one that
// starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text (OWASP's advice).
func SafeSpreadsheetCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// describe is the filter in words, for the audit log.
func (f LeadFilter) describe() string {
	parts := []string{"sort=" + f.Sort}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("status", strings.Join(f.Statuses, "|"))
	add("team", f.Team)
	add("region", f.Region)
	add("booked", f.Booked)
	add("from", f.From)
	add("to", f.To)
	if f.Query != "" {
		add("q", "(search)") // search words may be a person's name or email
	}
	add("view", f.View)
	return strings.Join(parts, " ")
}
