package services_test

import (
	"context"
	"testing"
	"time"

	"consultd/services"
)

// The fixture's clock is Monday 7 December 2026, 08:00 in Toronto, with a
// 30-day horizon: the last day a slot can start is 6 January 2027.
func TestSlotRequestBounds(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-sun 09:00-17:00")
	tests := []struct {
		name, from, days string
		field            string // the refused field, or "" when accepted
	}{
		{"defaults", "", "", ""},
		{"one day", "", "1", ""},
		{"31 days", "", "31", ""},
		{"zero days", "", "0", "days"},
		{"negative days", "", "-1", "days"},
		{"32 days", "", "32", "days"},
		{"days not a number", "", "week", "days"},
		{"yesterday", "2026-12-06", "", ""},
		{"two days ago", "2026-12-05", "", "from"},
		{"year zero", "0000-01-01", "", "from"},
		{"the last day", "2027-01-06", "", ""},
		{"after the horizon", "2027-01-07", "", "from"},
		{"not a date", "soon", "", "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.bookings.OpenSlots(context.Background(), services.SlotRequest{
				Team: "django", Region: "canada", Timezone: "America/Toronto", From: tt.from, Days: tt.days,
			})
			var fields map[string]string
			if e, ok := err.(*services.Error); ok {
				fields = e.Fields
			}
			if tt.field == "" && err != nil {
				t.Fatalf("refused: %v %v", err, fields)
			}
			if tt.field != "" && fields[tt.field] == "" {
				t.Fatalf("err = %v %v, want a message for %s", err, fields, tt.field)
			}
		})
	}
	slots, _, err := f.bookings.OpenSlots(context.Background(), services.SlotRequest{Team: "django", Region: "canada", Timezone: "America/Toronto"})
	if err != nil || len(slots) == 0 || slots[len(slots)-1].Start.After(time.Date(2026, 12, 14, 0, 0, 0, 0, f.toronto)) {
		t.Fatalf("default request: %d slots, %v; want a week from today", len(slots), err)
	}
	if got, want := f.bookings.LastSlotDay(f.toronto), time.Date(2027, 1, 6, 0, 0, 0, 0, f.toronto); !got.Equal(want) {
		t.Fatalf("LastSlotDay = %v, want %v", got, want)
	}
}
