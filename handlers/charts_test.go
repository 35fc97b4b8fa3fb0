package handlers

import (
	"bytes"
	"html/template"
	"os"
	"strings"
	"testing"
)

func TestChartScale(t *testing.T) {
	for peak, want := range map[int64][2]int64{
		0: {4, 1}, 1: {1, 1}, 3: {3, 1}, 7: {8, 2}, 12: {15, 5}, 40: {40, 10}, 41: {60, 20}, 999: {1000, 500}, 123456: {150000, 50000},
	} {
		if top, step := chartScale(peak, 4); top != want[0] || step != want[1] {
			t.Errorf("chartScale(%d, 4) = %d, %d; want %d, %d", peak, top, step, want[0], want[1])
		}
	}
	if top, step := chartScale(32198, 2); top != 40000 || step != 20000 {
		t.Errorf("chartScale(32198, 2) = %d, %d; want 40000, 20000", top, step)
	}
}

func TestColumnChartGeometry(t *testing.T) {
	svg := columnChart(barChart{
		Label:      "x",
		Categories: []string{"2 Mar", "9 Mar"},
		Series:     []chartSeries{{Name: "Leads", Class: "a", Values: []int64{10, 5}}, {Name: "Booked", Class: "b", Values: []int64{0, 20}}},
	})
	if len(svg.Bars) != 4 {
		t.Fatalf("%d bars, want 4", len(svg.Bars))
	}
	base := float64(columnHeight - columnBottom)
	full := base - columnTop // the axis tops out at 20
	for i, want := range []float64{full / 2, 0, full / 4, full} {
		b := svg.Bars[i]
		if b.H != round1(want) || b.Y+b.H != base {
			t.Errorf("bar %d: y %v height %v, want height %v standing on %v", i, b.Y, b.H, round1(want), base)
		}
	}
	if svg.Bars[1].X <= svg.Bars[0].X || svg.Bars[2].X <= svg.Bars[1].X+svg.Bars[1].W {
		t.Error("bars overlap or are out of order")
	}
	if svg.Bars[3].Title != "9 Mar: Booked 20" {
		t.Errorf("title = %q", svg.Bars[3].Title)
	}
	empty := columnChart(barChart{Label: "none"})
	if len(empty.Bars) != 0 || len(empty.Grid) == 0 {
		t.Error("an empty chart should draw its axis and no bars")
	}
}

func TestCrowdedLabelsAreThinnedAndLongNamesShortened(t *testing.T) {
	var cats []string
	for range 26 {
		cats = append(cats, "30 Nov")
	}
	svg := columnChart(barChart{Categories: cats, Series: []chartSeries{{Values: make([]int64, 26)}}})
	labels := 0
	for _, tx := range svg.Texts {
		if tx.Class == "chart-label" {
			labels++
		}
	}
	if labels == 0 || labels >= 26 {
		t.Errorf("%d of 26 week labels drawn; want fewer, so they do not overlap", labels)
	}
	long := "Maximilian Alexander Featherstonehaugh-Smythe"
	rows := rowChart(barChart{Categories: []string{long}, Series: []chartSeries{{Name: "next", Values: []int64{3}}}})
	label := rows.Texts[len(rows.Texts)-2]
	if !strings.HasSuffix(label.Text, "…") || len([]rune(label.Text)) > (rowLabelWidth-10)/chartFontWidth || label.Title != long {
		t.Errorf("row label %q (title %q)", label.Text, label.Title)
	}
}

// The chart template escapes what it draws: names are data.
func TestChartTemplateEscapesLabels(t *testing.T) {
	src, err := os.ReadFile("../templates/partials/chart.html")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("x").Parse(string(src)))
	svg := rowChart(barChart{
		Label:      `Load "<all>"`,
		Categories: []string{`<img src=x onerror=alert(1)>`},
		Series:     []chartSeries{{Name: "<b>next</b>", Class: "bar-ahead", Values: []int64{2}}},
	})
	var out bytes.Buffer
	if err := tmpl.ExecuteTemplate(&out, "chart", svg); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "<img") || strings.Contains(got, "<b>") || strings.Contains(got, `"<all>"`) {
		t.Fatalf("unescaped label in:\n%s", got)
	}
	for _, want := range []string{`aria-label="Load &#34;&lt;all&gt;&#34;"`, `&lt;img src=x onerror=alert(1)&gt;`, `role="img"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the svg lacks %s:\n%s", want, got)
		}
	}
}

func TestFormatCountAndPercent(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	if percent(1, 3) != "33%" || percent(2, 3) != "67%" || percent(5, 0) != "—" {
		t.Error("percent rounds to the nearest whole number and shows a dash for nothing")
	}
}
