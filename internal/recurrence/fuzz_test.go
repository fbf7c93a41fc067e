package recurrence

import (
	"slices"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics and that an accepted rule expands
// over its first year into increasing instants at least an hour apart, each
// at local_time in the rule's zone, the same as from its normalized form and
// without the 400-year shift.
func FuzzParse(f *testing.F) {
	seeds := [][4]string{
		{"FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-01-03"},
		{"RRULE:FREQ=DAILY", "Europe/Berlin", "02:30", "2027-03-27"},
		{"FREQ=DAILY", "America/New_York", "01:30", "2027-11-01"},
		{"freq=monthly;bymonthday=31", "Asia/Kolkata", "12:00", "2027-01-01"},
		{"FREQ=MONTHLY;BYDAY=-1FR;COUNT=5", "Australia/Lord_Howe", "02:15", "2027-09-01"},
		{"FREQ=DAILY;UNTIL=20270103T190000Z", "Pacific/Apia", "20:00", "2011-12-25"},
		{"FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH", "UTC", "00:00", "2026-01-01"},
		{"FREQ=YEARLY;BYSETPOS=-1;BYMONTH=1,7;BYDAY=MO", "America/Santiago", "23:59", "1970-01-01"},
		{"FREQ=WEEKLY;INTERVAL=1000;WKST=SU;BYDAY=SA,SU", "Antarctica/Troll", "01:00", "9990-12-31"},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "Europe/Berlin", "20:00", "2027-01-03"},
		{"FREQ=HOURLY;BYMINUTE=0,30", "Local", "25:00", "2027-02-30"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, rrule, zone, local, startsOn string) {
		r, err := Parse(rrule, zone, local, startsOn)
		if err != nil {
			return
		}
		first := instant(r.start, r.loc)
		from, to := first.Add(-24*time.Hour), first.AddDate(1, 0, 0)
		got := r.Between(from, to)
		for i, v := range got {
			if v.Before(from) || !v.Before(to) || v.Before(first) || v.Location() != time.UTC {
				t.Fatalf("instance %v outside [%v, %v) or before starts_on", v, from, to)
			}
			if i > 0 && v.Sub(got[i-1]) < time.Hour {
				t.Fatalf("instances %v and %v less than an hour apart", got[i-1], v)
			}
			if !atLocalTime(r, v) {
				t.Fatalf("instance %v is %v in %s, not at %s", v, v.In(r.loc), r.TimeZone(), r.LocalTime())
			}
		}

		again, err := Parse(r.RRULE(), r.TimeZone(), r.LocalTime(), r.StartsOn())
		if err != nil || again.RRULE() != r.RRULE() {
			t.Fatalf("normalized form %q: %v, %q", r.RRULE(), err, again.RRULE())
		}
		if !slices.EqualFunc(got, again.Between(from, to), time.Time.Equal) {
			t.Fatalf("normalized form %q expands differently", r.RRULE())
		}

		var unshifted []time.Time
		r.expand(0, wallClock(to.In(r.loc)).Add(48*time.Hour), func(v time.Time) bool {
			if v.Before(to) && !v.Before(from) {
				unshifted = append(unshifted, v.UTC())
			}
			return v.Before(to)
		})
		if !slices.EqualFunc(got, unshifted, time.Time.Equal) {
			t.Fatalf("shifted expansion %v, unshifted %v", got, unshifted)
		}
	})
}

// atLocalTime reports whether t is at the rule's local time in its zone, or
// else whether that local time did not exist that day or the day before (a
// spring-forward gap, read with the offset before it).
func atLocalTime(r Rule, t time.Time) bool {
	lt := t.In(r.loc)
	if lt.Format("15:04:05") == r.LocalTime()+":00" {
		return true
	}
	h, m := r.start.Hour(), r.start.Minute()
	for _, d := range []time.Time{lt, lt.AddDate(0, 0, -1)} {
		want := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, time.UTC)
		if !wallClock(time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, r.loc)).Equal(want) {
			return true
		}
	}
	return false
}
