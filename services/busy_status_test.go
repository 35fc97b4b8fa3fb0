package services_test

import (
	"testing"
	"time"

	"consultd/services"
)

func TestBusyStatusWords(t *testing.T) {
	now := fixtureNow
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, tt := range []struct {
		cal  services.BusyCalendar
		want services.BusyStatus
	}{
		{services.BusyCalendar{}, services.BusyStatus{Health: "waiting", Summary: "Not read yet.", Effect: "Its busy times block slots once it has been read."}},
		{services.BusyCalendar{LastSuccessAt: ago(30 * time.Second), BlockCount: 12}, services.BusyStatus{Health: "ok", Summary: "Last updated just now.", Effect: "12 busy times in the coming weeks."}},
		{services.BusyCalendar{LastSuccessAt: ago(7 * time.Minute)}, services.BusyStatus{Health: "ok", Summary: "Last updated 7 minutes ago.", Effect: "No busy times in the coming weeks."}},
		{services.BusyCalendar{LastSuccessAt: ago(50 * time.Minute), BlockCount: 3, Problems: "1 event could not be read and was left out"},
			services.BusyStatus{Health: "stale", Summary: "Last updated 50 minutes ago.", Effect: "The 3 busy times read then still block slots.", Notes: "1 event could not be read and was left out."}},
		{services.BusyCalendar{LastSuccessAt: ago(3*time.Hour + 5*time.Minute), BlockCount: 4, Failures: 4, LastError: "timed out after 15 seconds"},
			services.BusyStatus{Health: "failing", Summary: "Last updated 3 hours ago; the last 4 attempts failed: timed out after 15 seconds.", Effect: "The 4 busy times read then still block slots."}},
		{services.BusyCalendar{LastSuccessAt: ago(50 * time.Hour), Failures: 1, LastError: "the calendar is larger than 5 MB"},
			services.BusyStatus{Health: "failing", Summary: "Last updated 2 days ago; the last attempt failed: the calendar is larger than 5 MB.", Effect: "When last read it had no busy times in the coming weeks."}},
	} {
		if got := tt.cal.Status(now, 10*time.Minute); got != tt.want {
			t.Errorf("Status(%+v) =\n%+v\nwant\n%+v", tt.cal, got, tt.want)
		}
	}
}
