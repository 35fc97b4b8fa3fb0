package handlers

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Charts are inline SVG drawn by templates/partials/chart.html from the
// geometry computed here out of plain numbers; the template escapes every
// label, so names typed by people are safe in them.

// chartSeries is one set of values across a chart's categories, such as
// leads per week. Class gives its colour (static/css/site.css).
type chartSeries struct {
	Name   string
	Class  string
	Values []int64
}

// barChart is what a chart shows: a value per category and series.
type barChart struct {
	Label      string   // the svg's aria-label
	Categories []string // weeks, stages or consultants
	Series     []chartSeries
}

// chartSVG is the drawing: a viewBox of Width x Height user units, drawn
// at that many pixels where there is room. A Wide one scrolls on phones
// rather than shrink its labels past reading.
type chartSVG struct {
	Width, Height int
	Wide          bool
	Label         string
	Grid          []chartLine
	Bars          []chartBar
	Texts         []chartText
}

type chartLine struct{ X1, Y1, X2, Y2 float64 }

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Title      string // shown on hover
}

type chartText struct {
	X, Y   float64
	Text   string
	Title  string // the full text when Text is shortened
	Anchor string // start, middle or end
	Class  string
}

const (
	chartWidth     = 360 // row charts, and column charts of a few categories
	wideChartWidth = 480 // column charts of many categories, such as weeks
	wideFrom       = 5   // categories
	chartFontWidth = 7   // average width of a 12-unit character, for fitting labels
	maxColumnWidth = 36
	columnHeight   = 240
	columnTop      = 12
	columnBottom   = 28
	chartLeft      = 44
	chartRight     = 8
	rowBarHeight   = 12
	rowGap         = 10
	rowLabelWidth  = 150
	rowValueWidth  = 36
	rowAxisHeight  = 24
	columnTicks    = 4 // gridline steps, about
	rowTicks       = 2 // fewer: the axis is narrow and its labels wide
)

// columnChart draws vertical bars, the series side by side per category,
// with value gridlines and category labels below, thinned out when they
// would not fit. The values are on the left, or on the right of a wide
// chart: phones show its right end, the latest weeks, first.
func columnChart(c barChart) chartSVG {
	width, left, right := chartWidth, chartLeft, chartRight
	tickX, tickAnchor := float64(left-6), "end"
	if len(c.Categories) >= wideFrom {
		width, left, right = wideChartWidth, chartRight, chartLeft
		tickX, tickAnchor = float64(wideChartWidth-right+6), "start"
	}
	svg := chartSVG{Width: width, Height: columnHeight, Wide: width > chartWidth, Label: c.Label}
	plotW := float64(width - left - right)
	plotH := float64(columnHeight - columnTop - columnBottom)
	base := float64(columnHeight - columnBottom)
	top, step := chartScale(c.maxValue(), columnTicks)
	for v := int64(0); v <= top; v += step {
		y := round1(base - plotH*float64(v)/float64(top))
		svg.Grid = append(svg.Grid, chartLine{float64(left), y, float64(width - right), y})
		svg.Texts = append(svg.Texts, chartText{X: tickX, Y: y + 4, Text: formatCount(v), Anchor: tickAnchor, Class: "chart-tick"})
	}
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		return svg
	}
	group := plotW / float64(len(c.Categories))
	bar := min(group*0.8/float64(len(c.Series)), maxColumnWidth)
	inset := (group - bar*float64(len(c.Series))) / 2 // centres the bars in their slot
	every := labelEvery(len(c.Categories), group, c.Categories)
	for i, cat := range c.Categories {
		x0 := float64(left) + group*float64(i) + inset
		for j, s := range c.Series {
			h := plotH * float64(s.value(i)) / float64(top)
			svg.Bars = append(svg.Bars, chartBar{
				X: round1(x0 + bar*float64(j)), Y: round1(base - h), W: round1(bar), H: round1(h),
				Class: s.Class, Title: cat + ": " + s.Name + " " + formatCount(s.value(i)),
			})
		}
		if i%every == 0 {
			svg.Texts = append(svg.Texts, chartText{X: round1(float64(left) + group*(float64(i)+0.5)), Y: base + 18, Text: cat, Anchor: "middle", Class: "chart-label"})
		}
	}
	return svg
}

// rowChart draws horizontal bars, one row of series per category, with the
// category names on the left and each value other than 0 at the end of its
// bar (a row of zeros reads better empty).
func rowChart(c barChart) chartSVG {
	rowH := float64(rowBarHeight*len(c.Series) + rowGap)
	height := int(rowH*float64(len(c.Categories))) + rowAxisHeight + 4
	svg := chartSVG{Width: chartWidth, Height: height, Label: c.Label}
	plotW := float64(chartWidth - rowLabelWidth - rowValueWidth)
	axis := float64(height - rowAxisHeight)
	top, step := chartScale(c.maxValue(), rowTicks)
	for v := int64(0); v <= top; v += step {
		x := round1(rowLabelWidth + plotW*float64(v)/float64(top))
		svg.Grid = append(svg.Grid, chartLine{x, 0, x, axis})
		svg.Texts = append(svg.Texts, chartText{X: x, Y: axis + 16, Text: formatCount(v), Anchor: "middle", Class: "chart-tick"})
	}
	maxChars := (rowLabelWidth - 10) / chartFontWidth
	for i, cat := range c.Categories {
		y0 := rowH*float64(i) + rowGap/2
		label := shorten(cat, maxChars)
		title := ""
		if label != cat {
			title = cat
		}
		mid := y0 + float64(rowBarHeight*len(c.Series))/2
		svg.Texts = append(svg.Texts, chartText{X: rowLabelWidth - 8, Y: round1(mid + 4), Text: label, Title: title, Anchor: "end", Class: "chart-label"})
		for j, s := range c.Series {
			w := plotW * float64(s.value(i)) / float64(top)
			y := round1(y0 + float64(rowBarHeight*j))
			svg.Bars = append(svg.Bars, chartBar{
				X: rowLabelWidth, Y: y, W: round1(w), H: rowBarHeight - 2,
				Class: s.Class, Title: cat + ": " + s.Name + " " + formatCount(s.value(i)),
			})
			if s.value(i) > 0 {
				svg.Texts = append(svg.Texts, chartText{X: round1(rowLabelWidth + w + 4), Y: y + 9, Text: formatCount(s.value(i)), Anchor: "start", Class: "chart-value"})
			}
		}
	}
	return svg
}

func (c barChart) maxValue() int64 {
	var m int64
	for _, s := range c.Series {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	return m
}

func (s chartSeries) value(i int) int64 {
	if i < len(s.Values) {
		return max(s.Values[i], 0)
	}
	return 0
}

// chartScale picks the axis top and a gridline step of 1, 2 or 5 times a
// power of ten, so that about steps steps reach peak.
func chartScale(peak int64, steps int) (top, step int64) {
	if peak <= 0 {
		return int64(steps), 1
	}
	raw := float64(peak) / float64(steps)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step = int64(pow)
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			step = int64(m * pow)
			break
		}
	}
	step = int64(math.Max(1, float64(step)))
	top = (peak + step - 1) / step * step
	return top, step
}

// labelEvery is how many categories apart the labels must be so that the
// widest fits in the room it has.
func labelEvery(n int, room float64, labels []string) int {
	widest := 0
	for _, l := range labels {
		widest = max(widest, utf8.RuneCountInString(l))
	}
	need := float64(widest*chartFontWidth + 6)
	every := int(math.Ceil(need / room))
	return max(1, min(every, n))
}

// shorten cuts s to n characters, ending with an ellipsis when cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// formatCount writes n with commas between thousands: 12,345.
func formatCount(n int64) string {
	if n < 0 {
		return "-" + formatCount(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
