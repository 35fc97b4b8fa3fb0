package services_test

import (
	"testing"
	"time"

	"consultd/internal/pgtest"
	"consultd/services"
)

// BenchmarkInbox lists the inbox over 50,000 leads: the default page, a
// filtered one and a search, each with its total count.
func BenchmarkInbox(b *testing.B) {
	db := pgtest.NewDB(b)
	_, err := db.Exec(`
		INSERT INTO leads (name, email, company, region, timezone, team, confidence, status, created_at, last_activity_at)
		SELECT 'Person ' || g, 'p' || g || '@company' || (g % 997) || '.example', 'Company ' || (g % 997),
		       CASE WHEN g % 3 = 0 THEN 'usa' ELSE 'canada' END, 'America/Toronto',
		       CASE WHEN g % 2 = 0 THEN 'django' ELSE 'nodejs' END, (g % 100) / 100.0,
		       (ARRAY['new', 'contacted', 'qualified', 'won', 'lost', 'spam'])[1 + g % 6],
		       now() - g * interval '5 minutes', now() - g * interval '4 minutes'
		FROM generate_series(1, 50000) g`)
	if err != nil {
		b.Fatal(err)
	}
	db.Exec(`ANALYZE leads`)
	inbox := services.NewInbox(db, time.Now)
	ctx := staffCtx(services.RoleSales)
	for _, tc := range []struct {
		name string
		f    services.LeadFilter
	}{
		{"default", services.LeadFilter{}},
		{"filtered", services.LeadFilter{Statuses: []string{"new", "contacted"}, Team: "nodejs", Region: "canada", Booked: "no", Sort: "waiting"}},
		{"search", services.LeadFilter{Query: "company42", Sort: "confidence"}},
		{"deep page", services.LeadFilter{Page: 500}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				list, err := inbox.List(ctx, tc.f)
				if err != nil || list.Total == 0 {
					b.Fatalf("list: %d rows, %v", list.Total, err)
				}
			}
		})
	}
}
