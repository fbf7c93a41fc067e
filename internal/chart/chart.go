// Package chart draws troth's charts as self-contained SVG documents: no
// scripts, external fonts, images or links, every text escaped, so that apps
// can embed them as they are (an <img>, or inline).
package chart

import (
	"math"
	"strconv"
	"time"

	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/tz"
)

// Layout of the drawing, in SVG user units.
const (
	width   = 800.0
	plotL   = 48.0  // left of the plot: room for the score labels
	plotR   = 712.0 // right of the plot: room for the level labels
	plotT   = 58.0
	plotB   = 318.0
	fontCSS = `font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif`
)

// Colours.
const (
	ink       = "#1f2933"
	muted     = "#616e7c"
	lineColor = "#1c3d6e"
	feltColor = "#8e44ad"
	breachRed = "#c0392b"
)

// band is a level drawn as a horizontal band.
type band struct {
	name     string
	lo, hi   float64
	fill     string
	labelInk string
}

var bands = []band{
	{score.Broken, 0, 0.40, "#fbe4e4", "#a61b1b"},
	{score.Fragile, 0.40, 0.60, "#fdebd7", "#a35200"},
	{score.Rebuilding, 0.60, 0.75, "#fbf4d0", "#7a5f00"},
	{score.Steady, 0.75, 0.85, "#e2f3e4", "#23702f"},
	{score.Strong, 0.85, 1, "#ddebf7", "#1b5a94"},
}

// milestoneLabels are short names for the milestones of scoring.
var milestoneLabels = map[string]string{
	scoring.FirstKept:     "first promise kept",
	scoring.Streak7:       "7 kept in a row",
	scoring.Streak30:      "30 kept in a row",
	scoring.Kept25:        "25 kept",
	scoring.Kept100:       "100 kept",
	scoring.FirstRebuild:  "back to rebuilding",
	scoring.FirstSteady:   "first time steady",
	scoring.FirstStrong:   "first time strong",
	scoring.MissFree30:    "30 days without a miss",
	scoring.MissFree90:    "90 days without a miss",
	scoring.TargetReached: "target reached",
}

// reasons explain a missing projection.
var reasons = map[string]string{
	"no_cadence":             "no projection: nothing due lately or soon",
	"unreachable_at_cadence": "no projection: the target is out of reach at this pace",
	"reached":                "the target is reached",
}

// Timeline renders a patience timeline as an SVG document: the score over
// time on the level bands, felt trust from check-ins (0–10 drawn as 0–1),
// the latest breach, the milestones, the target and the projection. Dates are
// shown in the timeline's zone; now marks where the future begins. The
// output depends only on its arguments.
func Timeline(t scoring.Timeline, now time.Time) []byte { return NamedTimeline(t, "", now) }

// NamedTimeline is Timeline with the member called name in its title (the
// member's id where name is empty).
func NamedTimeline(t scoring.Timeline, name string, now time.Time) []byte {
	loc, ok := tz.Load(t.TimeZone) // refuses "Local": the host's zone would make the output vary
	if !ok {
		loc = time.UTC
	}
	d := newDrawing(t, now, loc)
	d.name = name
	var body canvas
	d.plot(&body)
	bottom := d.legend(&body)

	height := math.Ceil(bottom + 14)
	var c canvas
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-labelledby="title" style="%s">`+"\n",
		f(width), f(height), f(width), f(height), fontCSS)
	c.WriteString(`<title id="title">`)
	c.escape(d.title())
	c.WriteString("</title>\n")
	c.rect(0, 0, width, height, ` fill="#ffffff"`)
	c.text(plotL, 24, ` font-size="15" font-weight="600" fill="`+ink+`"`, d.title())
	c.text(plotL, 42, ` font-size="11.5" fill="`+muted+`"`, d.subtitle())
	c.Write(body.Bytes())
	c.WriteString("</svg>\n")
	return c.Bytes()
}

// drawing is a timeline placed on the canvas.
type drawing struct {
	t        scoring.Timeline
	loc      *time.Location
	now      time.Time
	times    []time.Time // x of each point
	lo, hi   time.Time   // the x domain
	shownHi  time.Time   // the end of the data, before the projection
	projEnd  time.Time   // where the projection line ends; zero when none
	projY    float64     // its score there
	beyond   bool        // the estimate lies beyond the chart
	estimate time.Time
	name     string // the member's display name; empty: their id
}

func newDrawing(t scoring.Timeline, now time.Time, loc *time.Location) *drawing {
	d := &drawing{t: t, loc: loc, now: now}
	for _, p := range t.Points {
		d.times = append(d.times, d.pointTime(p))
	}
	d.lo, d.hi = t.From, t.To
	for _, pt := range d.times {
		if d.lo.IsZero() || pt.Before(d.lo) {
			d.lo = pt
		}
		if d.hi.IsZero() || pt.After(d.hi) {
			d.hi = pt
		}
	}
	switch {
	case d.lo.IsZero() && d.hi.IsZero():
		d.hi = now
		d.lo = now.AddDate(0, 0, -30)
	case d.lo.IsZero():
		d.lo = d.hi.AddDate(0, 0, -1)
	case d.hi.IsZero():
		d.hi = d.lo.AddDate(0, 0, 1)
	}
	if !d.hi.After(d.lo) {
		d.lo, d.hi = d.lo.Add(-12*time.Hour), d.hi.Add(12*time.Hour)
	}
	d.shownHi = d.hi

	// The projection: from the last point to the target at the estimated
	// date, widening the chart by at most its span (two weeks at least).
	// It runs from now: a range that ends before now leaves the estimate
	// to the legend, rather than draw it from a past point across what
	// happened since.
	pr := t.Projection
	if pr.EstimatedDate == nil || len(t.Points) == 0 || t.To.Before(now.Add(-time.Second)) {
		return d
	}
	est, err := time.ParseInLocation(time.DateOnly, *pr.EstimatedDate, loc)
	last := d.times[len(d.times)-1]
	if err != nil || !est.After(last) {
		return d
	}
	d.estimate = est
	limit := d.hi.Add(max(d.hi.Sub(d.lo), 14*24*time.Hour))
	start := unit(t.Points[len(t.Points)-1].Score)
	d.projEnd, d.projY = est, unit(pr.Target)
	if est.After(limit) {
		d.beyond = true
		frac := float64(limit.Sub(last)) / float64(est.Sub(last))
		d.projEnd, d.projY = limit, start+(d.projY-start)*frac
	}
	if d.projEnd.After(d.hi) {
		d.hi = d.projEnd
	}
	return d
}

// pointTime is where a point sits: the end of its bucket.
func (d *drawing) pointTime(p scoring.Point) time.Time {
	if !p.End.IsZero() {
		return p.End
	}
	if day, err := time.ParseInLocation(time.DateOnly, p.Date, d.loc); err == nil {
		return day.AddDate(0, 0, 1)
	}
	return d.t.From
}

// unit maps a score onto [0, 1]; what is not a number falls to 0.
func unit(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(1, math.Max(0, v))
}

func (d *drawing) x(t time.Time) float64 {
	span := float64(d.hi.Sub(d.lo))
	return plotL + float64(t.Sub(d.lo))/span*(plotR-plotL)
}

func y(s float64) float64 { return plotB - unit(s)*(plotB-plotT) }

func (d *drawing) date(t time.Time) string { return t.In(d.loc).Format(time.DateOnly) }

func (d *drawing) title() string {
	member := clip(d.name, 40)
	if member == "" {
		member = clip(d.t.MemberID, 40)
	}
	if member == "" {
		member = "member"
	}
	cur := d.t.Current
	switch {
	case cur.Level != "":
		return member + " · score " + score2(cur.Score) + " · " + cur.Level
	case len(d.t.Points) > 0:
		p := d.t.Points[len(d.t.Points)-1]
		return member + " · score " + score2(p.Score) + " · " + score.Level(p.Score)
	}
	return member + " · no score yet"
}

func (d *drawing) subtitle() string {
	bucket := "daily"
	if d.t.Bucket == "week" {
		bucket = "weekly"
	}
	zone := clip(d.t.TimeZone, 40)
	if zone == "" {
		zone = "UTC"
	}
	return "Patience timeline, " + d.date(d.lo) + " to " + d.date(d.shownHi) + " · " + bucket + " · dates in " + zone
}

// score2 formats a score with two decimals, as the levels are drawn.
func score2(v float64) string { return strconv.FormatFloat(unit(v), 'f', 2, 64) }

// plot draws the bands, axes, score, felt trust and markers.
func (d *drawing) plot(c *canvas) {
	for _, b := range bands {
		c.rect(plotL, y(b.hi), plotR-plotL, y(b.lo)-y(b.hi), ` fill="`+b.fill+`"`)
		c.text(plotR+8, (y(b.lo)+y(b.hi))/2+4, ` font-size="11.5" font-weight="600" fill="`+b.labelInk+`"`, b.name)
	}
	// The future, after now, is faded.
	if d.now.After(d.lo) && d.now.Before(d.hi) {
		x := d.x(d.now)
		c.rect(x, plotT, plotR-x, plotB-plotT, ` fill="#ffffff" fill-opacity="0.45"`)
		c.line(x, plotT, x, plotB, ` stroke="`+muted+`" stroke-width="1" stroke-dasharray="2 3"`)
		c.text(x+4, plotB-6, ` font-size="10.5" fill="`+muted+`"`, "now")
	}
	for _, tk := range ticks(d.lo, d.hi, d.loc) {
		x := d.x(tk)
		c.line(x, plotT, x, plotB, ` stroke="#ffffff" stroke-width="1"`)
		c.line(x, plotB, x, plotB+4, ` stroke="`+muted+`"`)
		c.text(x, plotB+17, ` font-size="11" text-anchor="middle" fill="`+ink+`"`, d.date(tk))
	}
	for _, g := range []float64{0, 0.40, 0.60, 0.75, 0.85, 1} {
		attrs := ` stroke="#9aa5b1" stroke-width="0.8"`
		if g == 0 {
			attrs = ` stroke="` + muted + `" stroke-width="1"`
		}
		c.line(plotL, y(g), plotR, y(g), attrs)
		c.text(plotL-6, y(g)+4, ` font-size="11" text-anchor="end" fill="`+ink+`"`, trimScore(g))
	}
	c.line(plotL, plotT, plotL, plotB, ` stroke="`+muted+`" stroke-width="1"`)

	halo := ` paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"`
	if pat := d.t.Patience; pat.Breach && !pat.StartedAt.Before(d.lo) && !pat.StartedAt.After(d.hi) {
		x := d.x(pat.StartedAt)
		c.line(x, plotT, x, plotB, ` stroke="`+breachRed+`" stroke-width="2"`)
		c.text(x+5, plotT+13, ` font-size="11" font-weight="600" fill="`+breachRed+`"`+halo, "breach")
	}
	if tg := d.t.Projection.Target; tg > 0 {
		c.line(plotL, y(tg), plotR, y(tg), ` stroke="`+ink+`" stroke-width="1.2" stroke-dasharray="7 4"`)
	}
	if !d.projEnd.IsZero() {
		last := len(d.t.Points) - 1
		x0, y0 := d.x(d.times[last]), y(d.t.Points[last].Score)
		x1, y1 := d.x(d.projEnd), y(d.projY)
		c.line(x0, y0, x1, y1, ` stroke="`+lineColor+`" stroke-width="2" stroke-dasharray="5 4" stroke-opacity="0.8"`)
		if !d.beyond {
			c.circle(x1, y1, 4, ` fill="#ffffff" stroke="`+lineColor+`" stroke-width="1.5"`)
		}
	}
	d.scoreLine(c)
	for i, p := range d.t.Points {
		if p.FeltTrust != nil && !math.IsNaN(*p.FeltTrust) {
			c.circle(d.x(d.times[i]), y(*p.FeltTrust/10), 3.2, ` fill="`+feltColor+`" fill-opacity="0.85" stroke="#ffffff" stroke-width="0.8"`)
		}
	}
	d.milestoneMarks(c, halo)
}

// trimScore formats an axis value without trailing zeros (0, 0.4, 0.75, 1).
func trimScore(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (d *drawing) scoreLine(c *canvas) {
	if len(d.t.Points) == 0 {
		c.text((plotL+plotR)/2, (plotT+plotB)/2, ` font-size="13" text-anchor="middle" fill="`+muted+`"`, "no points in this range")
		return
	}
	c.WriteString(`<polyline fill="none" stroke="` + lineColor + `" stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round" points="`)
	for i, p := range d.t.Points {
		if i > 0 {
			c.WriteByte(' ')
		}
		c.WriteString(f(d.x(d.times[i])) + "," + f(y(p.Score)))
	}
	c.WriteString(`"/>` + "\n")
	last := len(d.t.Points) - 1
	c.circle(d.x(d.times[last]), y(d.t.Points[last].Score), 3.5, ` fill="`+lineColor+`"`)
}
