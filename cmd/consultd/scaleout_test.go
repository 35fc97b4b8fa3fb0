package main

import (
	"net/http"
	"testing"

	"consultd/internal/pgtest"
)

// Two instances on one database keep one rate limit and one funnel.
func TestInstancesShareRateLimitsAndFunnel(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "RATE_LIMIT_LEADS": "2/1h"}
	a, b := startApp(t, env), startApp(t, env)
	answers := firstAnswers(t, a)
	statuses := []int{}
	for i, app := range []*testApp{a, b, a, b} {
		_, as := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
		resp, _ := postJSON(t, app.URL+"/api/v1/leads", map[string]any{
			"assessment_id": as["id"], "name": "Pat", "email": "pat" + string(rune('a'+i)) + "@acme.example.com", "company": "Acme",
			"region": "canada", "timezone": "America/Toronto", "consent": true,
		})
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != http.StatusCreated || statuses[1] != http.StatusCreated || statuses[2] != http.StatusTooManyRequests || statuses[3] != http.StatusTooManyRequests {
		t.Fatalf("lead submissions over two instances = %v, want two allowed in all", statuses)
	}
	// Stages are written with the change they count: no flush needed.
	assertFunnelRow(t, db, "lead_created", 2)
	assertFunnelRow(t, db, "assessment_completed", 4)
	for _, app := range []*testApp{a, a, b} {
		get(t, app.URL+"/", nil)
	}
	a.stop(t)
	b.stop(t)
	assertFunnelRow(t, db, "article_viewed", 3)
}
