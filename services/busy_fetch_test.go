package services_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"consultd/services"
)

func TestBusyCalendarIsFetchedOnceAcrossInstances(t *testing.T) {
	f := newBusyFixture(t, 0)
	var people []services.Consultant
	for _, name := range []string{"cal1", "cal2", "cal3", "cal4", "cal5", "cal6", "cal7"} {
		c := f.mustConsultant(t, name+"@consult.example.com", "nodejs", "America/Vancouver", "mon-fri 09:00-17:00")
		f.feed.set("/"+name+".ics", busyICS(tuesdayTen))
		if _, err := f.busy.SaveFor(context.Background(), c.ID, f.feed.URL+"/"+name+".ics"); err != nil {
			t.Fatal(err)
		}
		people = append(people, c)
	}
	f.feed.behave(0, 150*time.Millisecond) // long enough for the instances to overlap
	f.clock.Set(fixtureNow.Add(15 * time.Minute))
	instances := []*services.BusyCalendars{f.busy, f.newService(t, 0), f.newService(t, 0)}
	var wg sync.WaitGroup
	claimed := make(chan int, 100)
	for _, inst := range instances {
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := inst.FetchDue(context.Background())
					if err != nil {
						t.Error(err)
					}
					if n == 0 {
						return
					}
					claimed <- n
				}
			}()
		}
	}
	wg.Wait()
	close(claimed)
	total := 0
	for n := range claimed {
		total += n
	}
	if total != len(people) {
		t.Fatalf("%d claims for %d due calendars", total, len(people))
	}
	nexts := map[int64]bool{}
	for _, c := range people {
		if hits, _ := f.feed.seen("/" + strings.Split(c.Email, "@")[0] + ".ics"); hits != 2 {
			t.Errorf("%s read %d times, want once on saving and once when due", c.Email, hits)
		}
		cal, _ := f.busy.For(context.Background(), c.ID)
		next := cal.NextFetchAt.Sub(f.clock.Now())
		if next < 8*time.Minute || next > 12*time.Minute {
			t.Errorf("%s next read in %s, want 10 minutes ± 20%%", c.Email, next)
		}
		nexts[cal.NextFetchAt.UnixMilli()] = true
	}
	if len(nexts) < 2 {
		t.Error("every calendar is due at the same instant: no jitter")
	}
}

func TestBusyCalendarResultOfAReplacedAddressIsDropped(t *testing.T) {
	f := newBusyFixture(t, 0)
	f.feed.set("/old.ics", busyICS(tuesdayTen))
	f.feed.set("/new.ics", busyICS([]string{"UID:n", "DTSTART;TZID=America/Toronto:20261208T090000", "DTEND;TZID=America/Toronto:20261208T093000"}))
	if _, err := f.busy.Save(as(f.ana), f.feed.URL+"/old.ics"); err != nil {
		t.Fatal(err)
	}
	// The old calendar changes, and a slow download of it is under way when
	// a new address is saved, read and stored; the old result arrives last
	// and is dropped.
	f.feed.set("/old.ics", busyICS(tuesdayTen, []string{"UID:e", "DTSTART;TZID=America/Toronto:20261208T110000", "DURATION:PT1H"}))
	f.feed.mu.Lock()
	f.feed.pathDelay = map[string]time.Duration{"/old.ics": time.Second}
	f.feed.mu.Unlock()
	f.clock.Set(fixtureNow.Add(15 * time.Minute))
	done := make(chan error)
	go func() {
		_, err := f.busy.FetchDue(context.Background())
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if hits, _ := f.feed.seen("/old.ics"); hits == 2 {
			break // the old address is being read
		}
		if time.Now().After(deadline) {
			t.Fatal("the due calendar was not read")
		}
	}
	if _, err := f.newService(t, 0).Save(as(f.ana), f.feed.URL+"/new.ics"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := f.anasMorning(t), "09:30 10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("slots = %q, want the new calendar's busy time only", got)
	}
}
