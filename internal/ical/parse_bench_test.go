package ical

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// bigOutlookCalendar is about 5 MB, the largest calendar read by default:
// 3,300 events with Outlook's long HTML descriptions, one in ten a weekly
// series begun years ago in a Windows zone, with exceptions.
func bigOutlookCalendar() string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:Microsoft Exchange Server 2010\r\n" + busyOutlookEastern + "\r\n")
	html := "X-ALT-DESC;FMTTYPE=text/html:<html><body>" + strings.Repeat("<p>Agenda item, notes and a dial-in number.</p>", 22) + "</body></html>"
	start := time.Date(2022, 1, 3, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 3300; i++ {
		day := start.AddDate(0, 0, i%1500).Add(time.Duration(i%8) * time.Hour)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d@example.com\r\nSUMMARY:Meeting %d\r\nDESCRIPTION:%s\r\n%s\r\n", i, i, strings.Repeat("Notes. ", 40), html)
		fmt.Fprintf(&b, "DTSTART;TZID=Eastern Standard Time:%s\r\nDTEND;TZID=Eastern Standard Time:%s\r\n", day.Format("20060102T150405"), day.Add(time.Hour).Format("20060102T150405"))
		if i%10 == 0 {
			fmt.Fprintf(&b, "RRULE:FREQ=WEEKLY;BYDAY=%s\r\nEXDATE;TZID=Eastern Standard Time:%s\r\n", strings.ToUpper(day.Weekday().String()[:2]), day.AddDate(0, 0, 7).Format("20060102T150405"))
		}
		b.WriteString("END:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

func BenchmarkParseBusy5MB(b *testing.B) {
	ics := bigOutlookCalendar()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(ics)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := ParseBusy(strings.NewReader(ics), ParseOptions{From: from, To: from.AddDate(0, 0, 32), Loc: time.UTC})
		if err != nil || len(res.Blocks) == 0 {
			b.Fatalf("%d blocks, %v", len(res.Blocks), err)
		}
	}
}
