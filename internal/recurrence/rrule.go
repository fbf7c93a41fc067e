package recurrence

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// ruleParts lists the RRULE parts troth accepts, in the order of the
// normalized form (UNTIL is handled apart: see parseUntil).
var ruleParts = []string{"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"}

// Until forms: an instant in UTC, a local date-time, a local date.
const (
	untilUTC   = "20060102T150405Z"
	untilLocal = "20060102T150405"
	untilDate  = "20060102"
)

// parsedRRule is an RRULE that passed every check that needs no time zone.
type parsedRRule struct {
	text      string
	opt       rrule.ROption
	until     time.Time
	untilWall bool
}

// parseRRule validates and normalizes an RRULE. On failure it returns the
// error code and a message for the client.
func parseRRule(text string) (p parsedRRule, code, msg string) {
	const invalid = "invalid_rrule"
	if len(text) > maxRRuleLen {
		return p, invalid, fmt.Sprintf("rrule must be at most %d bytes", maxRRuleLen)
	}
	if strings.ContainsAny(text, "\r\n") {
		return p, invalid, "rrule must be a single RRULE line, without DTSTART, RDATE, EXDATE or EXRULE"
	}
	s := strings.ToUpper(strings.TrimSpace(text))
	s = strings.TrimPrefix(s, "RRULE:")
	if strings.TrimSpace(s) == "" {
		return p, invalid, "rrule is required, such as FREQ=WEEKLY;BYDAY=SU"
	}
	if strings.HasPrefix(s, "DTSTART") {
		return p, invalid, "DTSTART is not allowed: the first date comes from starts_on and the time from local_time"
	}
	if strings.Contains(s, ":") {
		return p, invalid, "rrule must be a single RRULE, without DTSTART, RDATE, EXDATE or EXRULE"
	}

	parts := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		key, value, ok := strings.Cut(part, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || value == "" {
			return p, invalid, fmt.Sprintf("rrule part %q must be KEY=VALUE", part)
		}
		switch {
		case key == "DTSTART":
			return p, invalid, "DTSTART is not allowed: the first date comes from starts_on and the time from local_time"
		case key == "BYHOUR" || key == "BYMINUTE" || key == "BYSECOND":
			return p, invalid, key + " is not allowed: the time of day comes from local_time"
		case !isRulePart(key):
			return p, invalid, fmt.Sprintf("unknown rrule part %q", key)
		}
		if _, dup := parts[key]; dup {
			return p, invalid, key + " must not appear more than once"
		}
		parts[key] = value
	}

	switch parts["FREQ"] {
	case "DAILY", "WEEKLY", "MONTHLY", "YEARLY":
	case "HOURLY", "MINUTELY", "SECONDLY":
		return p, "too_frequent", "FREQ=" + parts["FREQ"] + " is too frequent: a promise recurs at most daily, at local_time"
	case "":
		return p, invalid, "FREQ is required"
	default:
		return p, invalid, "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"
	}
	if u, ok := parts["UNTIL"]; ok {
		var err error
		if p.until, p.untilWall, err = parseUntil(u); err != nil {
			return p, invalid, "UNTIL must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS, with a trailing Z for UTC"
		}
	}

	// rrule-go parses the values; try each part alone first to name the bad one.
	var spec []string
	for _, key := range ruleParts {
		if value, ok := parts[key]; ok && key != "UNTIL" {
			if _, err := rrule.StrToROption("FREQ=DAILY;" + key + "=" + value); err != nil {
				return p, invalid, fmt.Sprintf("%s=%s is not valid", key, value)
			}
			spec = append(spec, key+"="+value)
		}
	}
	opt, err := rrule.StrToROption(strings.Join(spec, ";"))
	if err != nil {
		return p, invalid, "rrule is not a valid RFC 5545 RRULE"
	}
	if msg := checkParts(opt, parts); msg != "" {
		return p, invalid, msg
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return p, invalid, err.Error() // rrule-go's bound checks describe the input, e.g. "bymonthday must be between 1 and 31 or -1 and -31"
	}
	p.opt = *opt
	p.text = normalize(p.opt, parts["UNTIL"] != "", p.until, p.untilWall)
	return p, "", ""
}

func isRulePart(key string) bool {
	for _, k := range ruleParts {
		if k == key {
			return true
		}
	}
	return false
}

// checkParts applies the limits of troth and the RFC 5545 rules on which
// parts may go together, which rrule-go does not enforce.
func checkParts(opt *rrule.ROption, parts map[string]string) string {
	_, hasInterval := parts["INTERVAL"]
	_, hasCount := parts["COUNT"]
	_, hasUntil := parts["UNTIL"]
	numberedDay, plainDay := false, false
	for _, d := range opt.Byweekday {
		numberedDay = numberedDay || d.N() != 0
		plainDay = plainDay || d.N() == 0
	}
	switch {
	case hasInterval && (opt.Interval < 1 || opt.Interval > maxInterval):
		return fmt.Sprintf("INTERVAL must be between 1 and %d", maxInterval)
	case hasCount && (opt.Count < 1 || opt.Count > maxCount):
		return fmt.Sprintf("COUNT must be between 1 and %d", maxCount)
	case hasCount && hasUntil:
		return "COUNT and UNTIL must not both be given"
	case opt.Wkst.N() != 0:
		return "WKST must be a weekday such as MO"
	case numberedDay && opt.Freq != rrule.MONTHLY && opt.Freq != rrule.YEARLY:
		return "BYDAY may carry a number (such as 1MO or -1FR) only with FREQ=MONTHLY or YEARLY"
	case numberedDay && plainDay:
		// rrule-go would keep only the days matching both kinds, not either.
		return "BYDAY must not mix numbered weekdays (such as 1MO) with plain ones (such as TU)"
	case numberedDay && len(opt.Byweekno) > 0:
		return "BYDAY must not carry a number together with BYWEEKNO"
	case len(opt.Byweekno) > 0 && opt.Freq != rrule.YEARLY:
		return "BYWEEKNO is allowed only with FREQ=YEARLY"
	case len(opt.Byyearday) > 0 && opt.Freq != rrule.YEARLY:
		return "BYYEARDAY is allowed only with FREQ=YEARLY"
	case len(opt.Bymonthday) > 0 && opt.Freq == rrule.WEEKLY:
		return "BYMONTHDAY is not allowed with FREQ=WEEKLY"
	case len(opt.Bysetpos) > 0 && len(opt.Bymonth)+len(opt.Byweekno)+len(opt.Byyearday)+len(opt.Bymonthday)+len(opt.Byweekday) == 0:
		return "BYSETPOS needs another BYxxx part to select from"
	}
	return ""
}

// parseUntil reads UNTIL in one of its three forms. A local date-time or
// date is a wall-clock time in the rule's zone (held in UTC fields); a date
// includes its whole day.
func parseUntil(s string) (until time.Time, wall bool, err error) {
	switch len(s) {
	case len(untilUTC):
		until, err = time.Parse(untilUTC, s)
		return until, false, err
	case len(untilLocal):
		until, err = time.Parse(untilLocal, s)
		return until, true, err
	case len(untilDate):
		until, err = time.Parse(untilDate, s)
		return until.Add(24*time.Hour - time.Second), true, err
	}
	return time.Time{}, false, fmt.Errorf("until %q: unknown form", s)
}

// normalize writes the RRULE in a canonical form: upper case, parts in a
// fixed order, default values left out, numbers without leading zeros.
func normalize(opt rrule.ROption, hasUntil bool, until time.Time, untilWall bool) string {
	out := []string{"FREQ=" + opt.Freq.String()}
	if opt.Interval > 1 {
		out = append(out, "INTERVAL="+strconv.Itoa(opt.Interval))
	}
	if opt.Count > 0 {
		out = append(out, "COUNT="+strconv.Itoa(opt.Count))
	}
	if hasUntil {
		switch {
		case !untilWall:
			out = append(out, "UNTIL="+until.Format(untilUTC))
		case until.Second() == 59 && until.Hour() == 23 && until.Minute() == 59:
			out = append(out, "UNTIL="+until.Format(untilDate))
		default:
			out = append(out, "UNTIL="+until.Format(untilLocal))
		}
	}
	ints := func(key string, vs []int) {
		if len(vs) > 0 {
			s := make([]string, len(vs))
			for i, v := range vs {
				s[i] = strconv.Itoa(v)
			}
			out = append(out, key+"="+strings.Join(s, ","))
		}
	}
	ints("BYMONTH", opt.Bymonth)
	ints("BYWEEKNO", opt.Byweekno)
	ints("BYYEARDAY", opt.Byyearday)
	ints("BYMONTHDAY", opt.Bymonthday)
	if len(opt.Byweekday) > 0 {
		s := make([]string, len(opt.Byweekday))
		for i, d := range opt.Byweekday {
			s[i] = d.String()
		}
		out = append(out, "BYDAY="+strings.Join(s, ","))
	}
	ints("BYSETPOS", opt.Bysetpos)
	if opt.Wkst.Day() != rrule.MO.Day() {
		out = append(out, "WKST="+opt.Wkst.String())
	}
	return strings.Join(out, ";")
}
