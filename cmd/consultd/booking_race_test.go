package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// raceFixture is a database with two consultants of one team who work
// around the clock, so the race test does not depend on when it runs.
type raceFixture struct {
	db   *sqlx.DB
	url  string
	team string
}

func newRaceFixture(t *testing.T, team string) raceFixture {
	t.Helper()
	db, url := pgtest.NewDBWithURL(t)
	consultants := services.NewConsultants(db)
	hours, _ := services.ParseWeeklyHours([]string{"mon-sun 00:00-24:00"})
	for _, email := range []string{"first@consult.example.com", "second@consult.example.com"} {
		_, _, err := consultants.Upsert(context.Background(), services.NewConsultant{
			Name: email, Email: email, Team: team, Regions: []string{"canada"}, Timezone: "America/Toronto", Hours: hours,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return raceFixture{db: db, url: url, team: team}
}

func newLeadVia(t *testing.T, app *testApp, answers map[string]any, email string) (id, team string) {
	t.Helper()
	resp, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assessment = %d %v", resp.StatusCode, a)
	}
	resp, lead := postJSON(t, app.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": "Racer", "email": email, "company": "Acme",
		"region": "canada", "timezone": "America/Toronto", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d %v", resp.StatusCode, lead)
	}
	return lead["id"].(string), lead["team"].(string)
}

// raceForOneStart sends one booking per lead for the same start, all at
// once, spread over the given apps, and returns the status counts.
func raceForOneStart(t *testing.T, apps []*testApp, leads []string, start string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i, lead := range leads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"lead_id": lead, "start": start})
			<-ready
			resp, err := http.Post(apps[i%len(apps)].URL+"/api/v1/bookings", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusConflict && !bytes.Contains(raw, []byte(`"slot_taken"`)) {
				t.Errorf("409 without slot_taken: %s", raw)
			}
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(ready)
	wg.Wait()
	return counts
}

func assertNoOverlap(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var overlaps int
	err := db.Get(&overlaps, `
		SELECT count(*) FROM bookings a JOIN bookings b ON a.consultant_id = b.consultant_id AND a.id < b.id
		WHERE a.status IN ('held', 'pending_payment', 'confirmed') AND b.status IN ('held', 'pending_payment', 'confirmed')
		  AND a.blocked && b.blocked`)
	if err != nil {
		t.Fatal(err)
	}
	if overlaps != 0 {
		t.Fatalf("%d overlapping live bookings", overlaps)
	}
}

func testRace(t *testing.T, instances int) {
	probe := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	answers := firstAnswers(t, probe)
	_, team := newLeadVia(t, probe, answers, "probe@acme.example.com")

	fx := newRaceFixture(t, team)
	var apps []*testApp
	for range instances {
		apps = append(apps, startApp(t, map[string]string{"DATABASE_URL": fx.url, "RATE_LIMITS": "off"}))
	}
	const racers = 40
	leads := make([]string, racers)
	for i := range leads {
		leads[i], _ = newLeadVia(t, apps[i%instances], answers, fmt.Sprintf("racer%d@acme.example.com", i))
	}
	resp, slots := get(t, apps[0].URL+"/api/v1/slots?lead_id="+leads[0]+"&days=3", nil)
	var parsed struct {
		Slots []struct{ Start string } `json:"slots"`
	}
	if err := json.Unmarshal([]byte(slots), &parsed); err != nil || resp.StatusCode != http.StatusOK || len(parsed.Slots) == 0 {
		t.Fatalf("slots = %d %s", resp.StatusCode, slots)
	}
	counts := raceForOneStart(t, apps, leads, parsed.Slots[0].Start)
	if counts[http.StatusCreated] != 2 || counts[http.StatusConflict] != racers-2 {
		t.Fatalf("statuses = %v, want 2 created (one per consultant) and %d conflicts", counts, racers-2)
	}
	for status := range counts {
		if status >= 500 {
			t.Fatalf("statuses = %v include a server error", counts)
		}
	}
	assertNoOverlap(t, fx.db)
	var live int
	fx.db.Get(&live, `SELECT count(*) FROM bookings WHERE status = 'confirmed'`)
	if live != 2 {
		t.Fatalf("%d confirmed bookings, want 2", live)
	}
}

func TestConcurrentBookingsOneInstance(t *testing.T)  { testRace(t, 1) }
func TestConcurrentBookingsTwoInstances(t *testing.T) { testRace(t, 2) }
