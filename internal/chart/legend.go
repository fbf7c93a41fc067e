package chart

import (
	"math"
	"strings"
)

// legendItem is one entry of the legend row.
type legendItem struct {
	symbol func(c *canvas, x, y float64) // draws in [x, x+22]
	text   string
	note   bool // text only, muted
}

const symbolW = 22.0

// legend draws the legend rows and the numbered milestones under the plot
// and returns the lowest y it used.
func (d *drawing) legend(c *canvas) float64 {
	items := []legendItem{{symbol: func(c *canvas, x, y float64) {
		c.line(x, y, x+symbolW, y, ` stroke="`+lineColor+`" stroke-width="2.2" stroke-linecap="round"`)
	}, text: "score"}}
	for _, p := range d.t.Points {
		if p.FeltTrust != nil {
			items = append(items, legendItem{symbol: func(c *canvas, x, y float64) {
				c.circle(x+symbolW/2, y, 3.2, ` fill="`+feltColor+`" fill-opacity="0.85"`)
			}, text: "felt trust (check-ins, 0–10)"})
			break
		}
	}
	if d.t.Projection.Target > 0 {
		items = append(items, legendItem{symbol: func(c *canvas, x, y float64) {
			c.line(x, y, x+symbolW, y, ` stroke="`+ink+`" stroke-width="1.2" stroke-dasharray="7 4"`)
		}, text: "target " + score2(d.t.Projection.Target)})
	}
	if pat := d.t.Patience; pat.Breach {
		items = append(items, legendItem{symbol: func(c *canvas, x, y float64) {
			c.line(x+symbolW/2, y-7, x+symbolW/2, y+7, ` stroke="`+breachRed+`" stroke-width="2"`)
		}, text: "latest breach " + d.date(pat.StartedAt)})
	}
	switch pr := d.t.Projection; {
	case !d.estimate.IsZero():
		text := "if every promise is kept: target on " + d.date(d.estimate)
		if d.beyond {
			text += " (beyond the chart)"
		}
		items = append(items, legendItem{symbol: func(c *canvas, x, y float64) {
			c.line(x, y, x+symbolW, y, ` stroke="`+lineColor+`" stroke-width="2" stroke-dasharray="5 4" stroke-opacity="0.8"`)
		}, text: text})
	case pr.EstimatedDate != nil:
		items = append(items, legendItem{text: "target expected " + clip(*pr.EstimatedDate, 20), note: true})
	case pr.Reason != "":
		text, ok := reasons[pr.Reason]
		if !ok {
			text = "no projection: " + clip(strings.ReplaceAll(pr.Reason, "_", " "), 40)
		}
		items = append(items, legendItem{text: text, note: true})
	}

	// Lay the items out left to right, wrapping.
	const font = 11.5
	x, yy := plotL, plotB+44
	for _, it := range items {
		w := textWidth(it.text, font)
		if it.symbol != nil {
			w += symbolW + 6
		}
		if x > plotL && x+w > width-16 {
			x, yy = plotL, yy+20
		}
		tx := x
		if it.symbol != nil {
			it.symbol(c, x, yy-4)
			tx += symbolW + 6
		}
		attrs := ` font-size="11.5" fill="` + ink + `"`
		if it.note {
			attrs = ` font-size="11.5" font-style="italic" fill="` + muted + `"`
		}
		c.text(tx, yy, attrs, it.text)
		x += w + 22
	}
	return d.milestoneLegend(c, yy+24)
}

// milestoneLegend lists the numbered milestones in columns from top and
// returns the lowest y it used.
func (d *drawing) milestoneLegend(c *canvas, top float64) float64 {
	ms := d.visibleMilestones()
	if len(ms) == 0 {
		return top - 20
	}
	const font = 11.0
	labels := make([]string, len(ms))
	colW := 0.0
	for i, m := range ms {
		name, ok := milestoneLabels[m.Name]
		if !ok {
			name = clip(strings.ReplaceAll(m.Name, "_", " "), 30)
		}
		labels[i] = name + " · " + d.date(m.ReachedAt)
		colW = math.Max(colW, 18+textWidth(labels[i], font)+20)
	}
	cols := max(1, int((width-16-plotL)/colW))
	rows := (len(ms) + cols - 1) / cols
	for i := range ms {
		// Column-major, so that the numbers read down each column.
		col, row := i/rows, i%rows
		x, yy := plotL+float64(col)*colW, top+float64(row)*17
		c.text(x+12, yy, ` font-size="11" font-weight="700" text-anchor="end" fill="`+ink+`"`, itoa(i+1))
		c.text(x+18, yy, ` font-size="11" fill="`+ink+`"`, labels[i])
	}
	return top + float64(rows-1)*17
}
