package recurrence

import (
	"time"

	"github.com/teambition/rrule-go"
)

// The Gregorian calendar repeats every 400 years, weekdays included.
const calendarCycle = 400

// Between returns the instants, in UTC and in increasing order, of the
// rule's instances that lie in [from, to). Each instance is at local_time on
// its local date in the rule's zone, so "20:00 Europe/Berlin" stays 20:00
// across clock changes (19:00Z in winter, 18:00Z in summer). Two clock
// changes need a choice (RFC 5545 §3.3.5):
//
//   - a local time skipped by a spring-forward change is read with the
//     offset in effect before the change: 02:30 on 2027-03-28 in
//     Europe/Berlin is 01:30Z, which is 03:30 local;
//   - a local time that happens twice at a fall-back change is the first
//     (earlier) of the two.
//
// Instances are expanded from starts_on, so the cost grows with the number
// of instances before to; the caller bounds the window. Instances after the
// year 9999 are not returned.
func (r Rule) Between(from, to time.Time) (out []time.Time) {
	if r.loc == nil || !from.Before(to) {
		return nil
	}
	// The wall-clock time of an instance and its instant differ by less than
	// two days, whatever the zone's offset.
	horizon := wallClock(to.In(r.loc)).Add(48 * time.Hour)
	// Parse refuses rules whose expansion panics in rrule-go; should one
	// still panic further out, the instances found so far are the answer,
	// rather than a crashed scheduler.
	defer func() { _ = recover() }()
	r.each(horizon, func(t time.Time) bool {
		if !t.Before(to) {
			return false
		}
		if !t.Before(from) {
			out = append(out, t.UTC())
		}
		return true
	})
	return out
}

// each calls yield with the instants of the rule's instances, strictly
// increasing, until yield returns false, the rule ends, or an instance's
// wall-clock time passes horizon (a wall-clock time held in UTC fields).
//
// rrule-go expands the rule over wall-clock times held in UTC, where days
// are always 24 hours long; each is then placed in the rule's zone. An rrule
// iterator that finds no further instance searches up to the year 9999, so
// the expansion is moved forward by whole 400-year cycles to end near that
// year: the search then stops at most 400 years past horizon.
func (r Rule) each(horizon time.Time, yield func(time.Time) bool) {
	shift := 0
	if y := horizon.Year(); y < rrule.MAXYEAR-1 {
		shift = (rrule.MAXYEAR - 1 - y) / calendarCycle * calendarCycle
	}
	r.expand(shift, horizon, yield)
}

// expand is each with the expansion moved forward by shift years.
func (r Rule) expand(shift int, horizon time.Time, yield func(time.Time) bool) {
	if r.loc == nil {
		return
	}
	opt := r.opt
	opt.Dtstart = r.start.AddDate(shift, 0, 0)
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return // cannot happen: Parse built the same rule
	}
	next := rr.Iterator()
	var last time.Time
	for {
		w, ok := next()
		if !ok {
			return
		}
		w = w.AddDate(-shift, 0, 0)
		if w.After(horizon) || r.untilWall && w.After(r.until) {
			return
		}
		t := instant(w, r.loc)
		if !r.untilWall && !r.until.IsZero() && t.After(r.until) {
			return
		}
		// A zone that skips a whole day (Pacific/Apia, 2011-12-30) maps two
		// wall-clock times to one instant: keep one occurrence.
		if !last.IsZero() && !t.After(last) {
			continue
		}
		last = t
		if !yield(t) {
			return
		}
	}
}

// instant returns the instant at which clocks in loc show the wall-clock
// time w (held in UTC fields). time.Date leaves both DST choices open, and
// Go's answer depends on the zone, so they are made here explicitly.
func instant(w time.Time, loc *time.Location) time.Time {
	want := w.Unix()
	y, mo, d := w.Date()
	t := time.Date(y, mo, d, w.Hour(), w.Minute(), w.Second(), 0, loc)
	got := wallClock(t).Unix()
	switch {
	case got == want:
		// The time exists. If it also existed just before the zone's last
		// change (a fall-back), take that earlier instant.
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			_, before := start.Add(-time.Second).Zone()
			if e := time.Unix(want-int64(before), 0).In(loc); e.Before(start) && wallClock(e).Unix() == want {
				return e
			}
		}
		return t
	case got > want:
		// Skipped, and t lies after the change: read w with the offset in
		// effect just before the change.
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			_, before := start.Add(-time.Second).Zone()
			return time.Unix(want-int64(before), 0).In(loc)
		}
		return t
	default:
		// Skipped, and t lies before the change: t's offset is the one before.
		_, before := t.Zone()
		return time.Unix(want-int64(before), 0).In(loc)
	}
}

// wallClock returns the wall-clock time of t, held in UTC fields.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}
