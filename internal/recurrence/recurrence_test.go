package recurrence

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/fault"
)

func mustParse(t testing.TB, rrule, zone, local, startsOn string) Rule {
	t.Helper()
	r, err := Parse(rrule, zone, local, startsOn)
	if err != nil {
		t.Fatalf("Parse(%q, %q, %q, %q): %v", rrule, zone, local, startsOn, err)
	}
	return r
}

func instants(t *testing.T, ss ...string) []time.Time {
	t.Helper()
	if len(ss) == 0 {
		return nil
	}
	out := make([]time.Time, len(ss))
	for i, s := range ss {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func TestBetween(t *testing.T) {
	cases := []struct {
		name                         string
		rrule, zone, local, startsOn string
		from, to                     string
		want                         []string
	}{
		{"Berlin into summer time: 19Z then 18Z from 2027-03-28", "FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-01-01",
			"2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z",
			[]string{"2027-03-07T19:00:00Z", "2027-03-14T19:00:00Z", "2027-03-21T19:00:00Z", "2027-03-28T18:00:00Z"}},
		{"Berlin back to winter time on 2027-10-31", "FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-01-01",
			"2027-10-01T00:00:00Z", "2027-11-10T00:00:00Z",
			[]string{"2027-10-03T18:00:00Z", "2027-10-10T18:00:00Z", "2027-10-17T18:00:00Z", "2027-10-24T18:00:00Z",
				"2027-10-31T19:00:00Z", "2027-11-07T19:00:00Z"}},
		{"New York into daylight time on 2027-03-14", "FREQ=WEEKLY;BYDAY=SU", "America/New_York", "09:00", "2027-01-01",
			"2027-03-01T00:00:00Z", "2027-03-22T00:00:00Z",
			[]string{"2027-03-07T14:00:00Z", "2027-03-14T13:00:00Z", "2027-03-21T13:00:00Z"}},
		{"New York back to standard time on 2027-11-07", "FREQ=WEEKLY;BYDAY=SU", "America/New_York", "09:00", "2027-01-01",
			"2027-10-30T00:00:00Z", "2027-11-15T00:00:00Z",
			[]string{"2027-10-31T13:00:00Z", "2027-11-07T14:00:00Z", "2027-11-14T14:00:00Z"}},
		{"Berlin gap: 02:30 read with the winter offset, 03:30 local", "FREQ=DAILY", "Europe/Berlin", "02:30", "2027-01-01",
			"2027-03-27T00:00:00Z", "2027-03-30T00:00:00Z",
			[]string{"2027-03-27T01:30:00Z", "2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"}},
		{"New York gap: 02:30 read with the standard offset, 03:30 local", "FREQ=DAILY", "America/New_York", "02:30", "2027-01-01",
			"2027-03-13T00:00:00Z", "2027-03-16T00:00:00Z",
			[]string{"2027-03-13T07:30:00Z", "2027-03-14T07:30:00Z", "2027-03-15T06:30:00Z"}},
		{"Berlin fall-back: the first 02:30 (summer time)", "FREQ=DAILY", "Europe/Berlin", "02:30", "2027-01-01",
			"2027-10-30T00:00:00Z", "2027-11-02T00:00:00Z",
			[]string{"2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"}},
		{"New York fall-back: the first 01:30 (daylight time)", "FREQ=DAILY", "America/New_York", "01:30", "2027-01-01",
			"2027-11-06T00:00:00Z", "2027-11-09T00:00:00Z",
			[]string{"2027-11-06T05:30:00Z", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"}},
		{"BYMONTHDAY=31 skips short months", "FREQ=MONTHLY;BYMONTHDAY=31", "UTC", "12:00", "2027-01-01",
			"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-31T12:00:00Z", "2027-03-31T12:00:00Z", "2027-05-31T12:00:00Z", "2027-07-31T12:00:00Z",
				"2027-08-31T12:00:00Z", "2027-10-31T12:00:00Z", "2027-12-31T12:00:00Z"}},
		{"COUNT", "FREQ=DAILY;COUNT=3", "UTC", "10:00", "2027-01-01",
			"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-01T10:00:00Z", "2027-01-02T10:00:00Z", "2027-01-03T10:00:00Z"}},
		{"COUNT counts from starts_on, not from the window", "FREQ=DAILY;COUNT=3", "UTC", "10:00", "2027-01-01",
			"2027-01-02T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-02T10:00:00Z", "2027-01-03T10:00:00Z"}},
		{"UNTIL in UTC is an inclusive instant", "FREQ=DAILY;UNTIL=20270103T190000Z", "Europe/Berlin", "20:00", "2027-01-01",
			"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-01T19:00:00Z", "2027-01-02T19:00:00Z", "2027-01-03T19:00:00Z"}},
		{"UNTIL as a local date-time", "FREQ=DAILY;UNTIL=20270103T195959", "Europe/Berlin", "20:00", "2027-01-01",
			"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-01T19:00:00Z", "2027-01-02T19:00:00Z"}},
		{"UNTIL as a date includes that local day", "FREQ=DAILY;UNTIL=20270103", "Europe/Berlin", "20:00", "2027-01-01",
			"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
			[]string{"2027-01-01T19:00:00Z", "2027-01-02T19:00:00Z", "2027-01-03T19:00:00Z"}},
		{"starts_on: nothing before it", "FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-03-20",
			"2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z",
			[]string{"2027-03-21T19:00:00Z", "2027-03-28T18:00:00Z"}},
		{"starts_on at local_time, in its zone", "FREQ=DAILY", "Pacific/Auckland", "08:00", "2027-06-01",
			"2027-05-30T00:00:00Z", "2027-06-01T12:00:00Z",
			[]string{"2027-05-31T20:00:00Z"}},
		{"window is half-open [from, to)", "FREQ=DAILY", "UTC", "10:00", "2027-01-01",
			"2027-01-02T10:00:00Z", "2027-01-04T10:00:00Z",
			[]string{"2027-01-02T10:00:00Z", "2027-01-03T10:00:00Z"}},
		{"empty window", "FREQ=DAILY", "UTC", "10:00", "2027-01-01",
			"2027-01-02T10:00:00Z", "2027-01-02T10:00:00Z", nil},
		{"reversed window", "FREQ=DAILY", "UTC", "10:00", "2027-01-01",
			"2027-01-05T00:00:00Z", "2027-01-02T00:00:00Z", nil},
		{"INTERVAL keeps its phase years later", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "UTC", "07:00", "2027-01-04",
			"2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z",
			[]string{"2030-01-14T07:00:00Z", "2030-01-28T07:00:00Z"}},
		{"last Friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", "Europe/Berlin", "18:00", "2027-01-01",
			"2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z",
			[]string{"2027-01-29T17:00:00Z", "2027-02-26T17:00:00Z", "2027-03-26T17:00:00Z"}},
		{"leap day only", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "UTC", "09:00", "2027-01-01",
			"2027-01-01T00:00:00Z", "2033-01-01T00:00:00Z",
			[]string{"2028-02-29T09:00:00Z", "2032-02-29T09:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, tc.rrule, tc.zone, tc.local, tc.startsOn)
			from, to := instants(t, tc.from, tc.to)[0], instants(t, tc.from, tc.to)[1]
			got := r.Between(from, to)
			if diff := cmp.Diff(instants(t, tc.want...), got, cmp.Comparer(func(a, b time.Time) bool {
				return a.Equal(b) && a.Location() == b.Location()
			})); diff != "" {
				t.Fatalf("Between (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	valid := []string{"FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-01-03"}
	pad := func(n int) string { // a valid rule of exactly n bytes
		prefix := "FREQ=MONTHLY;BYMONTHDAY="
		return prefix + strings.Repeat("0", n-len(prefix)-1) + "1"
	}
	cases := []struct {
		name      string
		field     int // index into valid of the argument replaced
		value     string
		wantField string
		wantCode  string
	}{
		{"bad syntax", 0, "FREQ=WEEKLY;BYDAY", "recurrence.rrule", "invalid_rrule"},
		{"bad weekday", 0, "FREQ=WEEKLY;BYDAY=XX", "recurrence.rrule", "invalid_rrule"},
		{"unknown part", 0, "FREQ=WEEKLY;BYEASTER=0", "recurrence.rrule", "invalid_rrule"},
		{"duplicate part", 0, "FREQ=WEEKLY;FREQ=DAILY", "recurrence.rrule", "invalid_rrule"},
		{"no FREQ", 0, "BYDAY=SU", "recurrence.rrule", "invalid_rrule"},
		{"unknown FREQ", 0, "FREQ=FORTNIGHTLY", "recurrence.rrule", "invalid_rrule"},
		{"empty", 0, "", "recurrence.rrule", "invalid_rrule"},
		{"prefix only", 0, "RRULE:", "recurrence.rrule", "invalid_rrule"},
		{"SECONDLY", 0, "FREQ=SECONDLY", "recurrence.rrule", "too_frequent"},
		{"MINUTELY", 0, "FREQ=MINUTELY", "recurrence.rrule", "too_frequent"},
		{"HOURLY", 0, "FREQ=HOURLY;INTERVAL=2", "recurrence.rrule", "too_frequent"},
		{"BYHOUR", 0, "FREQ=DAILY;BYHOUR=8,20", "recurrence.rrule", "invalid_rrule"},
		{"BYMINUTE", 0, "FREQ=DAILY;BYMINUTE=0,30", "recurrence.rrule", "invalid_rrule"},
		{"BYSECOND", 0, "FREQ=DAILY;BYSECOND=0", "recurrence.rrule", "invalid_rrule"},
		{"DTSTART line", 0, "DTSTART:20270101T000000Z\nRRULE:FREQ=DAILY", "recurrence.rrule", "invalid_rrule"},
		{"DTSTART part", 0, "FREQ=DAILY;DTSTART=20270101T000000Z", "recurrence.rrule", "invalid_rrule"},
		{"EXRULE line", 0, "RRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY", "recurrence.rrule", "invalid_rrule"},
		{"RDATE", 0, "RDATE:20270101T000000Z", "recurrence.rrule", "invalid_rrule"},
		{"501 bytes", 0, pad(501), "recurrence.rrule", "invalid_rrule"},
		{"COUNT too large", 0, "FREQ=DAILY;COUNT=10001", "recurrence.rrule", "invalid_rrule"},
		{"COUNT zero", 0, "FREQ=DAILY;COUNT=0", "recurrence.rrule", "invalid_rrule"},
		{"INTERVAL too large", 0, "FREQ=DAILY;INTERVAL=1001", "recurrence.rrule", "invalid_rrule"},
		{"INTERVAL zero", 0, "FREQ=DAILY;INTERVAL=0", "recurrence.rrule", "invalid_rrule"},
		{"COUNT with UNTIL", 0, "FREQ=DAILY;COUNT=2;UNTIL=20300101", "recurrence.rrule", "invalid_rrule"},
		{"bad UNTIL", 0, "FREQ=DAILY;UNTIL=2030-01-01", "recurrence.rrule", "invalid_rrule"},
		{"numbered BYDAY in WEEKLY", 0, "FREQ=WEEKLY;BYDAY=1MO", "recurrence.rrule", "invalid_rrule"},
		{"numbered and plain BYDAY", 0, "FREQ=MONTHLY;BYDAY=1MO,TU", "recurrence.rrule", "invalid_rrule"},
		{"BYMONTHDAY in WEEKLY", 0, "FREQ=WEEKLY;BYMONTHDAY=1", "recurrence.rrule", "invalid_rrule"},
		{"BYMONTHDAY out of range", 0, "FREQ=MONTHLY;BYMONTHDAY=32", "recurrence.rrule", "invalid_rrule"},
		{"BYSETPOS alone", 0, "FREQ=MONTHLY;BYSETPOS=1", "recurrence.rrule", "invalid_rrule"},
		{"no occurrences: February 30", 0, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "recurrence.rrule", "no_occurrences"},
		{"no occurrences: daily February 30", 0, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "recurrence.rrule", "no_occurrences"},
		{"no occurrences: UNTIL before starts_on", 0, "FREQ=DAILY;UNTIL=20260101", "recurrence.rrule", "no_occurrences"},
		{"Local zone", 1, "Local", "recurrence.time_zone", "invalid_time_zone"},
		{"empty zone", 1, "", "recurrence.time_zone", "invalid_time_zone"},
		{"unknown zone", 1, "Mars/Olympus_Mons", "recurrence.time_zone", "invalid_time_zone"},
		{"25:00", 2, "25:00", "recurrence.local_time", "invalid_local_time"},
		{"20:60", 2, "20:60", "recurrence.local_time", "invalid_local_time"},
		{"one-digit hour", 2, "9:00", "recurrence.local_time", "invalid_local_time"},
		{"seconds", 2, "20:00:00", "recurrence.local_time", "invalid_local_time"},
		{"empty time", 2, "", "recurrence.local_time", "invalid_local_time"},
		{"February 30", 3, "2027-02-30", "recurrence.starts_on", "invalid_date"},
		{"one-digit month", 3, "2027-1-03", "recurrence.starts_on", "invalid_date"},
		{"date-time", 3, "2027-01-03T00:00:00Z", "recurrence.starts_on", "invalid_date"},
		{"before 1970", 3, "1969-12-31", "recurrence.starts_on", "invalid_date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), valid...)
			args[tc.field] = tc.value
			_, err := Parse(args[0], args[1], args[2], args[3])
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindInvalid {
				t.Fatalf("error %v, want a validation error", err)
			}
			if len(fe.Fields) != 1 || fe.Fields[0].Field != tc.wantField || fe.Fields[0].Code != tc.wantCode || fe.Fields[0].Message == "" {
				t.Fatalf("fields %+v, want one %s %s", fe.Fields, tc.wantField, tc.wantCode)
			}
		})
	}

	t.Run("500 bytes is accepted", func(t *testing.T) {
		mustParse(t, pad(500), valid[1], valid[2], valid[3])
	})
	t.Run("every bad field is reported", func(t *testing.T) {
		_, err := Parse("FREQ=MINUTELY", "Local", "24:00", "2027-13-01")
		fe, _ := fault.As(err)
		if fe == nil || len(fe.Fields) != 4 {
			t.Fatalf("error %v, want four field errors", err)
		}
	})
}

func TestNormalizedForm(t *testing.T) {
	cases := []struct{ in, want string }{
		{"rrule:freq=weekly;byday=su", "FREQ=WEEKLY;BYDAY=SU"},
		{" BYDAY=SU;FREQ=WEEKLY;INTERVAL=1;WKST=MO ", "FREQ=WEEKLY;BYDAY=SU"},
		{"FREQ=MONTHLY;BYDAY=+1MO,-1FR;BYMONTHDAY=07,-01;INTERVAL=03", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=7,-1;BYDAY=+1MO,-1FR"},
		{"FREQ=WEEKLY;BYDAY=0TU,FR", "FREQ=WEEKLY;BYDAY=TU,FR"},
		{"FREQ=WEEKLY;WKST=su;BYDAY=SA,SU;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;WKST=SU"},
		{"FREQ=DAILY;until=20271231t230000z", "FREQ=DAILY;UNTIL=20271231T230000Z"},
		{"FREQ=DAILY;UNTIL=20271231", "FREQ=DAILY;UNTIL=20271231"},
		{"FREQ=DAILY;UNTIL=20271231T200000", "FREQ=DAILY;UNTIL=20271231T200000"},
		{"FREQ=YEARLY;BYSETPOS=-1;BYMONTH=1,7;BYDAY=MO;COUNT=5", "FREQ=YEARLY;COUNT=5;BYMONTH=1,7;BYDAY=MO;BYSETPOS=-1"},
	}
	for _, tc := range cases {
		r := mustParse(t, tc.in, "Europe/Berlin", "20:00", "2027-01-03")
		if r.RRULE() != tc.want {
			t.Errorf("RRULE() of %q = %q, want %q", tc.in, r.RRULE(), tc.want)
		}
		again := mustParse(t, r.RRULE(), "Europe/Berlin", "20:00", "2027-01-03")
		if again.RRULE() != r.RRULE() {
			t.Errorf("normalizing %q twice gives %q", r.RRULE(), again.RRULE())
		}
	}
}

func TestAccessors(t *testing.T) {
	r := mustParse(t, "FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin", "20:00", "2027-01-03")
	got := []string{r.TimeZone(), r.LocalTime(), r.StartsOn(),
		r.LocalDate(time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)), r.LocalDate(time.Date(2027, 3, 27, 22, 30, 0, 0, time.UTC))}
	want := []string{"Europe/Berlin", "20:00", "2027-01-03", "2027-03-28", "2027-03-27"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("accessors (-want +got):\n%s", diff)
	}
	var zero Rule
	if got := zero.Between(time.Time{}, time.Now()); got != nil {
		t.Fatalf("zero Rule: Between = %v", got)
	}
}

// rrule-go panics expanding some rules it parses; Parse refuses them.
func TestRuleThatPanicsRRuleGoIsRefused(t *testing.T) {
	_, err := Parse("FREQ=MONTHLY;BYDAY=10FR", "Australia/Lord_Howe", "00:00", "2000-01-01")
	fe, ok := fault.As(err)
	if !ok || len(fe.Fields) != 1 || fe.Fields[0].Field != "recurrence.rrule" || fe.Fields[0].Code != "invalid_rrule" {
		t.Fatalf("got %v, want invalid_rrule on recurrence.rrule", err)
	}
}
