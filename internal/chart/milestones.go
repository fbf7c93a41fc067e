package chart

import (
	"sort"
	"strconv"
	"time"

	"github.com/troth-app/troth/internal/scoring"
)

// visibleMilestones are the milestones that fall on the shown data, in time
// order.
func (d *drawing) visibleMilestones() []scoring.Milestone {
	if len(d.t.Points) == 0 {
		return nil
	}
	var out []scoring.Milestone
	for _, m := range d.t.Milestones {
		if !m.ReachedAt.Before(d.lo) && !m.ReachedAt.After(d.shownHi) {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReachedAt.Before(out[j].ReachedAt) })
	return out
}

// scoreAt interpolates the score line at t.
func (d *drawing) scoreAt(t time.Time) float64 {
	n := len(d.times)
	i := sort.Search(n, func(i int) bool { return !d.times[i].Before(t) })
	switch {
	case i == 0:
		return d.t.Points[0].Score
	case i == n:
		return d.t.Points[n-1].Score
	}
	a, b := d.times[i-1], d.times[i]
	sa, sb := d.t.Points[i-1].Score, d.t.Points[i].Score
	if !b.After(a) {
		return sb
	}
	return sa + (sb-sa)*float64(t.Sub(a))/float64(b.Sub(a))
}

// milestoneMarks puts a marker on the line for each milestone, and its
// number above it. Milestones a few pixels apart share one label ("1–3");
// labels that would still touch are stacked.
func (d *drawing) milestoneMarks(c *canvas, halo string) {
	ms := d.visibleMilestones()
	type group struct {
		first, last int
		x, y        float64
	}
	var groups []group
	for i, m := range ms {
		x, yy := d.x(m.ReachedAt), y(d.scoreAt(m.ReachedAt))
		c.circle(x, yy, 4, ` fill="#ffffff" stroke="`+ink+`" stroke-width="1.6"`)
		if n := len(groups); n > 0 && x-groups[n-1].x < 8 {
			groups[n-1].last = i
			continue
		}
		groups = append(groups, group{first: i, last: i, x: x, y: yy})
	}
	var taken []box
	for _, g := range groups {
		label := itoa(g.first + 1)
		switch {
		case g.last == g.first+1:
			label += "," + itoa(g.last+1)
		case g.last > g.first:
			label += "–" + itoa(g.last+1)
		}
		b := place(g.x, g.y, textWidth(label, 11)/2+2, taken)
		taken = append(taken, b)
		c.text(g.x, b.y1-2, ` font-size="11" font-weight="700" text-anchor="middle" fill="`+ink+`"`+halo, label)
	}
}

// box is the space a label takes.
type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// place finds room for a label of half width half about a marker at (x, y):
// just above it, else higher, else below, else at the first try.
func place(x, y, half float64, taken []box) box {
	const h = 12.0
	var first box
	for i, off := range []float64{-7, -20, -33, -46, 19, 32, 45} {
		b := box{x - half, y + off - h, x + half, y + off}
		if off > 0 {
			b = box{x - half, y + off - h + 2, x + half, y + off + 2}
		}
		if b.y0 < plotT-8 || b.y1 > plotB {
			continue
		}
		if i == 0 || first == (box{}) {
			first = b
		}
		free := true
		for _, t := range taken {
			if b.overlaps(t) {
				free = false
				break
			}
		}
		if free {
			return b
		}
	}
	if first == (box{}) {
		first = box{x - half, y - 7 - h, x + half, y - 7}
	}
	return first
}

func itoa(n int) string { return strconv.Itoa(n) }
