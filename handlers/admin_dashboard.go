package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// dashboardPage is the sales home: the funnel over a range of weeks, split
// by team and region, and each consultant's booking load. Every chart has
// a table beside it with the same numbers.
type dashboardPage struct {
	Page
	Data       services.DashboardData
	Ranges     []int
	Stages     []stageRow
	Summary    chartSVG
	Reading    chartSVG
	Converting chartSVG
	Weeks      []weekRow
	Team       chartSVG
	Region     chartSVG
	Load       chartSVG
	Loads      []loadRow
}

// stageRow is one funnel stage over the whole range.
type stageRow struct {
	Name       string
	Count      int64
	Conversion string // share of the stage before it
}

type weekRow struct {
	services.FunnelWeek
	Current bool // the week is not over yet
}

type loadRow struct {
	services.ConsultantLoad
	Label     string
	TeamLabel string
}

// adminDashboard shows the dashboard for ?weeks= (4, 12 or 26; others fall
// back to 12).
func (h *Handler) adminDashboard(c *gin.Context) {
	weeks, _ := strconv.Atoi(c.Query("weeks"))
	data, err := h.dashboard.Load(c.Request.Context(), weeks)
	if err != nil {
		h.fail(c, err)
		return
	}
	p := h.page(c, "Dashboard", "")
	p.NoIndex = true
	c.HTML(http.StatusOK, "admin_dashboard", newDashboardPage(p, data))
}

func newDashboardPage(p Page, d services.DashboardData) dashboardPage {
	page := dashboardPage{Page: p, Data: d, Ranges: services.DashboardRanges}
	t := d.Total
	counts := []int64{t.Viewed, t.Started, t.Completed, t.Leads, t.Booked}
	for i, name := range stageNames {
		row := stageRow{Name: name, Count: counts[i], Conversion: "—"}
		if i > 0 {
			row.Conversion = percent(counts[i], counts[i-1])
		}
		page.Stages = append(page.Stages, row)
	}
	page.Summary = rowChart(barChart{
		Label:      "Funnel over the " + strconv.Itoa(d.Weeks) + " weeks: " + stageSummary(page.Stages),
		Categories: stageNames,
		Series:     []chartSeries{{Name: "prospects", Class: "bar-stage", Values: counts}},
	})
	page.weekCharts(d)
	page.segmentCharts(d)
	page.loadChart(d)
	return page
}

var stageNames = []string{"Article viewed", "Assessment started", "Assessment completed", "Lead", "Booked"}

func (page *dashboardPage) weekCharts(d services.DashboardData) {
	var labels []string
	series := make([]chartSeries, 5)
	for i, class := range []string{"bar-viewed", "bar-started", "bar-completed", "bar-lead", "bar-booked"} {
		series[i] = chartSeries{Name: stageNames[i], Class: class}
	}
	for _, w := range d.ByWeek {
		labels = append(labels, w.Start.Format("2 Jan"))
		for i, v := range []int64{w.Viewed, w.Started, w.Completed, w.Leads, w.Booked} {
			series[i].Values = append(series[i].Values, v)
		}
		page.Weeks = append(page.Weeks, weekRow{FunnelWeek: w, Current: !w.Start.AddDate(0, 0, 7).Before(d.Until)})
	}
	page.Reading = columnChart(barChart{
		Label:      "Articles viewed and assessments started per week; the numbers are in the table Funnel by week.",
		Categories: labels, Series: series[:2],
	})
	page.Converting = columnChart(barChart{
		Label:      "Assessments completed, leads and bookings per week; the numbers are in the table Funnel by week.",
		Categories: labels, Series: series[2:],
	})
}

func (page *dashboardPage) segmentCharts(d services.DashboardData) {
	team := []chartSeries{{Name: "Django", Class: "bar-django"}, {Name: "Node.js", Class: "bar-nodejs"}}
	for i, s := range d.ByTeam {
		team[i].Values = []int64{s.Completed, s.Leads, s.Booked}
	}
	page.Team = columnChart(barChart{
		Label:      "Assessments completed, leads and bookings by team; the numbers are in the table beside it.",
		Categories: []string{"Completed", "Leads", "Booked"}, Series: team,
	})
	region := []chartSeries{{Name: "Canada", Class: "bar-canada"}, {Name: "USA", Class: "bar-usa"}}
	for i, s := range d.ByRegion {
		region[i].Values = []int64{s.Leads, s.Booked}
	}
	page.Region = columnChart(barChart{
		Label:      "Leads and bookings by region; the numbers are in the table beside it.",
		Categories: []string{"Leads", "Booked"}, Series: region,
	})
}

func (page *dashboardPage) loadChart(d services.DashboardData) {
	ahead := chartSeries{Name: "next 14 days", Class: "bar-ahead"}
	behind := chartSeries{Name: "last 30 days", Class: "bar-behind"}
	var names []string
	for _, l := range d.Load {
		label := l.Name
		if !l.Active {
			label += " (inactive)"
		}
		names = append(names, label)
		ahead.Values = append(ahead.Values, l.Upcoming)
		behind.Values = append(behind.Values, l.Past)
		page.Loads = append(page.Loads, loadRow{ConsultantLoad: l, Label: label, TeamLabel: teamLabel(l.Team)})
	}
	page.Load = rowChart(barChart{
		Label:      "Live bookings per consultant in the next 14 days and the last 30 days; the numbers are in the table beside it.",
		Categories: names, Series: []chartSeries{ahead, behind},
	})
}

// percent is n as a whole-number share of of, or a dash when of is 0.
func percent(n, of int64) string {
	if of == 0 {
		return "—"
	}
	return strconv.FormatInt((n*100+of/2)/of, 10) + "%"
}

func stageSummary(rows []stageRow) string {
	s := ""
	for i, r := range rows {
		if i > 0 {
			s += ", "
		}
		s += r.Name + " " + formatCount(r.Count)
	}
	return s
}
