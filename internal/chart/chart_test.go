package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr[T any](v T) *T { return &v }

// recovering is a realistic timeline: 60 days recovering from 0.35 to 0.7
// after a breach, felt trust every sixth day, four milestones and a
// projection 40 days ahead.
func recovering() scoring.Timeline {
	loc, _ := time.LoadLocation("Europe/Paris")
	breach := time.Date(2025, 3, 3, 21, 40, 0, 0, loc)
	now := breach.AddDate(0, 0, 59).Add(3 * time.Hour)
	t := scoring.Timeline{RelationshipID: "rel_01", MemberID: "usr_7f3a9c2e", TimeZone: "Europe/Paris", Bucket: "day",
		From: breach.UTC(), To: now.UTC()}
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, loc)
	for i := range 60 {
		end := day.AddDate(0, 0, 1)
		if i == 59 {
			end = now
		}
		s := score.Round4(0.35 + 0.35*float64(i)/59)
		p := scoring.Point{Date: day.Format(time.DateOnly), End: end.UTC(), Score: s, Level: score.Level(s), Kept: 1}
		if i%6 == 2 {
			p.FeltTrust = ptr(3 + float64(i)/12)
		}
		t.Points = append(t.Points, p)
		day = day.AddDate(0, 0, 1)
	}
	t.Milestones = []scoring.Milestone{
		{Name: scoring.FirstKept, ReachedAt: breach.Add(14 * time.Hour).UTC()},
		{Name: scoring.Streak7, ReachedAt: breach.AddDate(0, 0, 8).UTC()},
		{Name: scoring.FirstRebuild, ReachedAt: breach.AddDate(0, 0, 9).UTC()},
		{Name: scoring.MissFree30, ReachedAt: breach.AddDate(0, 0, 30).UTC()},
	}
	t.Patience = scoring.Patience{StartedAt: breach.UTC(), EndsAt: breach.AddDate(0, 0, 90).UTC(), ElapsedDays: 59, RemainingDays: 31, Breach: true}
	t.Projection = scoring.Projection{Cadence: 1, EstimatedDate: ptr(now.AddDate(0, 0, 40).Format(time.DateOnly)), Target: 0.75}
	t.Breaches = []time.Time{breach.UTC()}
	t.Current.Score, t.Current.Level = 0.7, score.Rebuilding
	return t
}

// node is any XML element, for structural checks.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) walk(fn func(node)) {
	fn(n)
	for _, c := range n.Nodes {
		c.walk(fn)
	}
}

// all lists the elements called name.
func (n node) all(name string) []node {
	var out []node
	n.walk(func(m node) {
		if m.XMLName.Local == name {
			out = append(out, m)
		}
	})
	return out
}

func (n node) texts() []string {
	var out []string
	for _, t := range n.all("text") {
		out = append(out, t.Text)
	}
	return out
}

// parse checks that doc is one well-formed SVG element, token by token, and
// returns its tree.
func parse(t *testing.T, doc []byte) node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tk.Name.Local != "svg" || tk.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root element %v, want svg in the SVG namespace", tk.Name)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.ProcInst, xml.Directive:
			t.Fatalf("unexpected %T in the document", tk)
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at the end", roots, depth)
	}
	for _, bad := range []string{"NaN", "Inf", "<script", "href", "url(", "@import", "<image", "<foreignObject"} {
		if bytes.Contains(doc, []byte(bad)) {
			t.Errorf("output contains %q", bad)
		}
	}
	var root node
	if err := xml.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	if root.attr("viewBox") == "" {
		t.Error("no viewBox")
	}
	return root
}

// polylinePoints parses the score line.
func polylinePoints(t *testing.T, root node) [][2]float64 {
	t.Helper()
	lines := root.all("polyline")
	if len(lines) != 1 {
		t.Fatalf("%d polylines, want 1", len(lines))
	}
	var out [][2]float64
	for _, pair := range strings.Fields(lines[0].attr("points")) {
		xs, ys, ok := strings.Cut(pair, ",")
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad polyline point %q", pair)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestTimelineEdgeCases(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	flat := recovering()
	for i := range flat.Points {
		flat.Points[i].Score = 0.5
	}
	single := recovering()
	single.Points = single.Points[59:]
	single.From = single.To.Add(-5 * time.Hour)
	long := scoring.Timeline{MemberID: "u", TimeZone: "UTC", Bucket: "week"}
	start := time.Date(2006, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range scoring.MaxPoints {
		s := 0.5 + 0.4*math.Sin(float64(i)/9)
		long.Points = append(long.Points, scoring.Point{Date: start.AddDate(0, 0, 7*i).Format(time.DateOnly), End: start.AddDate(0, 0, 7*i+7), Score: s})
	}
	long.From, long.To = start, long.Points[len(long.Points)-1].End
	weird := recovering()
	weird.Points[3].Score = math.NaN()
	weird.Points[4].Score = math.Inf(1)
	weird.Points[5].FeltTrust = ptr(math.NaN())
	weird.Projection.Target = math.NaN()
	weird.TimeZone = "Local"
	noEnd := recovering()
	for i := range noEnd.Points {
		noEnd.Points[i].End = time.Time{}
	}
	noEnd.From, noEnd.To = time.Time{}, time.Time{}

	for name, tc := range map[string]struct {
		tl     scoring.Timeline
		points int
	}{
		"empty":       {scoring.Timeline{}, 0},
		"empty range": {scoring.Timeline{From: now.Add(-48 * time.Hour), To: now, Projection: scoring.Projection{Reason: "no_cadence", Target: 0.75}}, 0},
		"realistic":   {recovering(), 60},
		"single":      {single, 1},
		"flat":        {flat, 60},
		"1000 points": {long, scoring.MaxPoints},
		"not numbers": {weird, 60},
		"no end":      {noEnd, 60},
	} {
		t.Run(name, func(t *testing.T) {
			out := Timeline(tc.tl, now)
			root := parse(t, out)
			if tc.points == 0 {
				if n := len(root.all("polyline")); n != 0 {
					t.Errorf("%d polylines without points", n)
				}
				if !contains(root.texts(), "no points in this range") {
					t.Error("no note for an empty timeline")
				}
				return
			}
			pts := polylinePoints(t, root)
			if len(pts) != tc.points {
				t.Fatalf("polyline has %d points, want %d", len(pts), tc.points)
			}
			for i, p := range pts {
				if p[0] < plotL || p[0] > plotR || p[1] < plotT || p[1] > plotB {
					t.Errorf("point %d at %v lies outside the plot", i, p)
				}
				if i > 0 && p[0] < pts[i-1][0] {
					t.Errorf("point %d goes back in time", i)
				}
			}
			if !bytes.Equal(out, Timeline(tc.tl, now)) {
				t.Error("two renderings differ")
			}
		})
	}
}

func TestTimelineEscapes(t *testing.T) {
	tl := recovering()
	tl.MemberID = `<script>alert("x")</script>&'`
	tl.TimeZone = `Mars/<Olympus>&"`
	tl.Milestones = append(tl.Milestones, scoring.Milestone{Name: "odd_<b>", ReachedAt: tl.To.Add(-time.Hour)})
	tl.Projection = scoring.Projection{Reason: `<img src=x onerror=alert(1)>`, Target: 0.75}
	out := Timeline(tl, tl.To)
	root := parse(t, out)
	for _, want := range []string{tl.MemberID, "Mars/<Olympus>&\"", "odd <b>", "<img src=x onerror=alert(1)>"} {
		found := false
		for _, s := range root.texts() {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no text carries %q", want)
		}
	}
	if bytes.Contains(out, []byte("<img")) || bytes.Contains(out, []byte("<b>")) {
		t.Error("markup from the data reached the output")
	}
}

func TestTimelineBandsAndAxes(t *testing.T) {
	root := parse(t, Timeline(recovering(), recovering().To))
	texts := root.texts()
	fills := map[string]bool{}
	for _, r := range root.all("rect") {
		fills[r.attr("fill")] = true
	}
	for _, b := range bands {
		if !contains(texts, b.name) {
			t.Errorf("no label for the %s band", b.name)
		}
		if !fills[b.fill] {
			t.Errorf("no rect for the %s band", b.name)
		}
	}
	for _, g := range []string{"0", "0.4", "0.6", "0.75", "0.85", "1"} {
		if !contains(texts, g) {
			t.Errorf("no gridline label %s", g)
		}
	}
	var dates int
	for _, s := range texts {
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			dates++
		}
	}
	if dates < 3 || dates > maxTicks {
		t.Errorf("%d date ticks, want 3..%d", dates, maxTicks)
	}
	for _, want := range []string{"usr_7f3a9c2e · score 0.70 · rebuilding", "latest breach 2025-03-03", "felt trust (check-ins, 0–10)", "target 0.75"} {
		if !contains(texts, want) {
			t.Errorf("no text %q in %q", want, texts)
		}
	}
	// Felt trust: one dot per check-in average.
	var dots int
	for _, c := range root.all("circle") {
		if c.attr("fill") == feltColor && c.attr("stroke") != "" {
			dots++
		}
	}
	if dots != 10 {
		t.Errorf("%d felt-trust dots, want 10", dots)
	}
}

func TestTimelineProjection(t *testing.T) {
	projLine := func(root node) []node {
		var out []node
		for _, l := range root.all("line") {
			if l.attr("stroke-dasharray") == "5 4" && l.attr("stroke-width") == "2" && l.attr("x1") != l.attr("x2") && l.attr("y1") != "" {
				out = append(out, l)
			}
		}
		return out
	}
	tl := recovering()
	root := parse(t, Timeline(tl, tl.To))
	lines := projLine(root)
	if len(lines) != 2 { // the line and its legend sample
		t.Fatalf("%d projection lines, want 2", len(lines))
	}
	pts := polylinePoints(t, root)
	last := pts[len(pts)-1]
	l := lines[0]
	if l.attr("x1") != f(last[0]) || l.attr("y1") != f(last[1]) || l.attr("x2") != f(plotR) || l.attr("y2") != f(y(0.75)) {
		t.Errorf("projection from (%s,%s) to (%s,%s), want from the last point %v to the right edge at the target",
			l.attr("x1"), l.attr("y1"), l.attr("x2"), l.attr("y2"), last)
	}
	if !contains(root.texts(), "if every promise is kept: target on "+*tl.Projection.EstimatedDate) {
		t.Error("no projection legend")
	}
	// The shown data keeps at least half the width.
	if last[0] < (plotL+plotR)/2 {
		t.Errorf("the data ends at x=%v: the projection took more than the shown range", last[0])
	}

	// A range that ended two days ago: the projection runs from now, not
	// from its last point, and is left to the legend.
	past := recovering()
	root = parse(t, Timeline(past, past.To.Add(48*time.Hour)))
	if n := len(projLine(root)); n != 0 {
		t.Errorf("a past range draws %d projection lines", n)
	}
	if !contains(root.texts(), "target expected "+*past.Projection.EstimatedDate) {
		t.Error("a past range does not give the estimate in the legend")
	}

	far := recovering()
	far.Projection.EstimatedDate = ptr("2040-01-01")
	root = parse(t, Timeline(far, far.To))
	if !contains(root.texts(), "if every promise is kept: target on 2040-01-01 (beyond the chart)") {
		t.Error("a far estimate is not noted as beyond the chart")
	}

	for reason, want := range map[string]string{
		"no_cadence":             "no projection: nothing due lately or soon",
		"unreachable_at_cadence": "no projection: the target is out of reach at this pace",
		"reached":                "the target is reached",
		"something_new":          "no projection: something new",
	} {
		none := recovering()
		none.Projection = scoring.Projection{Reason: reason, Target: 0.75}
		root := parse(t, Timeline(none, none.To))
		if n := len(projLine(root)); n != 0 {
			t.Errorf("%s: %d projection lines", reason, n)
		}
		if !contains(root.texts(), want) {
			t.Errorf("%s: no note %q", reason, want)
		}
	}
}

func TestTimelineMilestones(t *testing.T) {
	tl := recovering()
	// Five milestones at the same instant must not print five numbers on top
	// of each other.
	at := tl.Points[20].End
	for _, n := range []string{scoring.Kept25, scoring.FirstSteady, scoring.FirstStrong, scoring.TargetReached, "custom_one"} {
		tl.Milestones = append(tl.Milestones, scoring.Milestone{Name: n, ReachedAt: at})
	}
	root := parse(t, Timeline(tl, tl.To))
	texts := root.texts()
	// Sorted by time: 1, 2 and 3 as before, the five at once, then the one
	// that came fourth.
	for _, want := range []string{"1", "2,3", "4–8", "9", "first promise kept · 2025-03-04", "custom one · 2025-03-24", "30 days without a miss · 2025-04-02"} {
		if !contains(texts, want) {
			t.Errorf("no text %q in %q", want, texts)
		}
	}
}

func TestTicks(t *testing.T) {
	base := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, span := range []time.Duration{time.Hour, 30 * time.Hour, 5 * 24 * time.Hour, 30 * 24 * time.Hour, 100 * 24 * time.Hour,
		400 * 24 * time.Hour, 7000 * 24 * time.Hour, 40 * 365 * 24 * time.Hour} {
		for _, loc := range []*time.Location{time.UTC, paris} {
			ts := ticks(base, base.Add(span), loc)
			if len(ts) > maxTicks || (span >= 48*time.Hour && len(ts) < 2) {
				t.Errorf("span %v in %v: %d ticks", span, loc, len(ts))
			}
			for _, tk := range ts {
				l := tk.In(loc)
				if l.Hour() != 0 || l.Minute() != 0 || tk.Before(base) || tk.After(base.Add(span)) {
					t.Errorf("span %v: tick %v is not a local midnight in range", span, l)
				}
			}
		}
	}
}

func TestTimelineGolden(t *testing.T) {
	tl := recovering()
	got := Timeline(tl, tl.To)
	path := filepath.Join("testdata", "recovering.svg")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/chart -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (review with a browser, then run with -update)", path)
	}
}
