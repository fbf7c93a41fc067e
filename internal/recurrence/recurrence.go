// Package recurrence computes when the occurrences of a recurring promise fall
// due. A recurrence is an RFC 5545 RRULE (without DTSTART), an IANA time zone,
// a local time of day and the first local date an instance may fall on, as in
// "every Sunday at 20:00 Europe/Berlin from 2027-01-03". The functions are
// pure: they keep no clock and take every time they need.
package recurrence

import (
	"time"

	"github.com/teambition/rrule-go"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/tz"
)

// Field names of the validation errors Parse returns.
const (
	fieldRRule     = "recurrence.rrule"
	fieldTimeZone  = "recurrence.time_zone"
	fieldLocalTime = "recurrence.local_time"
	fieldStartsOn  = "recurrence.starts_on"
)

// Limits that keep a rule cheap to expand and meaningful for a promise.
const (
	maxRRuleLen     = 500
	maxCount        = 10000
	maxInterval     = 1000
	minGap          = time.Hour
	gapCheckYears   = 2    // the gap check looks at the first two years…
	gapCheckMax     = 2000 // …or the first 2000 instances, whichever ends first
	occurrenceYears = 10   // a rule must have an instance within ten years
	minStartYear    = 1970
)

// Rule is a validated recurrence. The zero Rule has no instances. A Rule is
// an immutable value, safe for concurrent use.
type Rule struct {
	rrule     string        // normalized, without the "RRULE:" prefix
	opt       rrule.ROption // parsed RRULE, without DTSTART and UNTIL
	until     time.Time     // last allowed instance (inclusive); zero when none
	untilWall bool          // until is a wall-clock time in loc, held in UTC fields
	loc       *time.Location
	start     time.Time // starts_on at local_time, a wall-clock time held in UTC fields
}

// Parse validates a recurrence given as an RRULE (with or without the
// "RRULE:" prefix, keys in any case), an IANA time zone, a local time "HH:MM"
// and a first local date "YYYY-MM-DD". Invalid input gives a *fault.Error
// whose field errors name each bad field (recurrence.rrule, .time_zone,
// .local_time, .starts_on) with a stable code: invalid_rrule, too_frequent,
// invalid_time_zone, invalid_local_time, invalid_date or no_occurrences.
//
// The time of day comes from localTime alone: BYHOUR, BYMINUTE and BYSECOND
// are refused, and FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY. UNTIL may
// be a UTC date-time ("20271231T190000Z", an instant), a local date-time
// ("20271231T200000", a wall-clock time in the rule's zone) or a date
// ("20271231", the whole local day included).
func Parse(rruleText, timeZone, localTime, startsOn string) (Rule, error) {
	var v fault.Validation
	p, code, msg := parseRRule(rruleText)
	if code != "" {
		v.Add(fieldRRule, code, msg)
	}
	loc, zoneOK := tz.Load(timeZone)
	if !zoneOK {
		v.Add(fieldTimeZone, "invalid_time_zone", "time_zone must be an IANA time zone name such as Europe/Berlin")
	}
	hour, minute, timeOK := parseClock(localTime)
	if !timeOK {
		v.Add(fieldLocalTime, "invalid_local_time", `local_time must be "HH:MM" between 00:00 and 23:59`)
	}
	day, dateOK := parseDate(startsOn)
	if !dateOK {
		v.Add(fieldStartsOn, "invalid_date", "starts_on must be a date YYYY-MM-DD from 1970-01-01")
	}
	if err := v.Err(); err != nil {
		return Rule{}, err
	}
	r := Rule{
		rrule:     p.text,
		opt:       p.opt,
		until:     p.until,
		untilWall: p.untilWall,
		loc:       loc,
		start:     day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute),
	}
	if code, msg := r.check(); code != "" {
		v.Add(fieldRRule, code, msg)
		return Rule{}, v.Err()
	}
	return r, nil
}

// check expands the start of the rule: it must have an instance within ten
// years, and its instances must lie at least an hour apart.
func (r Rule) check() (code, msg string) {
	// rrule-go panics on some rules it accepts, such as the tenth Friday of
	// a month (FREQ=MONTHLY;BYDAY=10FR): refuse such a rule here, where it
	// is first expanded, rather than crash the request.
	defer func() {
		if recover() != nil {
			code, msg = "invalid_rrule", "the rule cannot be expanded (e.g. BYDAY=10FR asks for a tenth weekday in a month)"
		}
	}()
	gapEnd := instant(r.start.AddDate(gapCheckYears, 0, 0), r.loc)
	n, tooClose := 0, false
	var prev time.Time
	r.each(r.start.AddDate(occurrenceYears, 0, 0), func(t time.Time) bool {
		if n > 0 && t.Sub(prev) < minGap {
			tooClose = true
			return false
		}
		n++
		prev = t
		return n < gapCheckMax && t.Before(gapEnd)
	})
	switch {
	case tooClose:
		return "too_frequent", "instances must be at least one hour apart"
	case n == 0:
		return "no_occurrences", "the rule has no instance within ten years of starts_on"
	}
	return "", ""
}

// parseClock parses "HH:MM", two digits each, 00:00 to 23:59.
func parseClock(s string) (hour, minute int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	hour = int(s[0]-'0')*10 + int(s[1]-'0')
	minute = int(s[3]-'0')*10 + int(s[4]-'0')
	return hour, minute, hour < 24 && minute < 60
}

// parseDate parses a calendar date "YYYY-MM-DD" into midnight UTC.
func parseDate(s string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) || d.Year() < minStartYear {
		return time.Time{}, false
	}
	return d, true
}

// RRULE returns the normalized RRULE, without the "RRULE:" prefix, for storage.
func (r Rule) RRULE() string { return r.rrule }

// TimeZone returns the IANA name of the rule's time zone.
func (r Rule) TimeZone() string { return r.location().String() }

// LocalTime returns the local time of day of the instances, "HH:MM".
func (r Rule) LocalTime() string { return r.start.Format("15:04") }

// StartsOn returns the first local date an instance may fall on, "YYYY-MM-DD".
func (r Rule) StartsOn() string { return r.start.Format(time.DateOnly) }

// LocalDate returns the date "YYYY-MM-DD" of t in the rule's time zone, the
// day a pause is compared with.
func (r Rule) LocalDate(t time.Time) string { return t.In(r.location()).Format(time.DateOnly) }

func (r Rule) location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}
