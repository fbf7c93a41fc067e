package chart

import "time"

// maxTicks bounds the date labels of the x axis.
const maxTicks = 8

// ticks picks at most maxTicks round dates in [lo, hi], in loc: local
// midnights every 1, 2 or 3 days, Mondays every 1 or 2 weeks, or the first of
// every 1, 2, 3 or 6 months or of every 1, 2, 5, 10… years, the finest step
// that fits.
func ticks(lo, hi time.Time, loc *time.Location) []time.Time {
	if !hi.After(lo) {
		return nil
	}
	for _, d := range []int{1, 2, 3, 7, 14} {
		if hi.Sub(lo) > time.Duration(d*(maxTicks+1))*24*time.Hour {
			continue // too many, without walking them
		}
		if out := dayTicks(lo, hi, loc, d); len(out) <= maxTicks {
			return out
		}
	}
	for _, m := range []int{1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200} {
		if out := monthTicks(lo, hi, loc, m); len(out) <= maxTicks {
			return out
		}
	}
	return nil
}

func dayTicks(lo, hi time.Time, loc *time.Location, step int) []time.Time {
	l := lo.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	if step%7 == 0 {
		// Weeks start on Monday, as the timeline's week buckets do.
		t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	}
	for t.Before(lo) {
		t = t.AddDate(0, 0, step)
	}
	var out []time.Time
	for ; !t.After(hi) && len(out) <= maxTicks; t = t.AddDate(0, 0, step) {
		out = append(out, t)
	}
	return out
}

func monthTicks(lo, hi time.Time, loc *time.Location, step int) []time.Time {
	l := lo.In(loc)
	t := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	aligned := func(t time.Time) bool {
		if step < 12 {
			return (int(t.Month())-1)%step == 0
		}
		return t.Month() == time.January && t.Year()%(step/12) == 0
	}
	for t.Before(lo) || !aligned(t) {
		t = t.AddDate(0, 1, 0)
	}
	var out []time.Time
	for ; !t.After(hi) && len(out) <= maxTicks; t = t.AddDate(0, step, 0) {
		out = append(out, t)
	}
	return out
}
