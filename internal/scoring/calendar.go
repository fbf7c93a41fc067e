package scoring

import (
	"sync"
	"sync/atomic"
	"time"
)

// A zone's day starts depend only on its rules, so they are worked out a
// year at a time and kept: a timeline of a year of days asks for 366 of
// them, and each costs a zone lookup and a clock-change check otherwise.

// yearStarts holds the first instant (Unix seconds) of each date of a year
// in one zone, by day of the year from 0.
type yearStarts [366]int64

type zoneYear struct {
	loc  *time.Location
	year int
}

var (
	years     sync.Map // zoneYear → *yearStarts
	yearsKept atomic.Int32
)

// maxYearsKept bounds the memory years take (3 KB each): past it, day
// starts are worked out each time. Zones come from a fixed list and a
// deployment sees few of them, so this is not reached in practice.
const maxYearsKept = 2048

// calendarOf returns the day starts of a year in a zone, worked out on
// first use.
func calendarOf(loc *time.Location, y int) *yearStarts {
	k := zoneYear{loc, y}
	if c, ok := years.Load(k); ok {
		return c.(*yearStarts)
	}
	c := new(yearStarts)
	n := daysInYear(y)
	for i := range n {
		yy, mm, dd := time.Date(y, time.January, 1+i, 12, 0, 0, 0, time.UTC).Date()
		c[i] = dayStart(yy, mm, dd, loc).Unix()
	}
	if yearsKept.Load() < maxYearsKept {
		if _, loaded := years.LoadOrStore(k, c); !loaded {
			yearsKept.Add(1)
		}
	}
	return c
}

// dayWalk reads day starts (and the dates' names) through one year's
// calendar at a time, for walks over consecutive dates.
type dayWalk struct {
	loc   *time.Location
	year  int
	cal   *yearStarts
	nyear int
	names *yearNames
}

// yearNames holds the YYYY-MM-DD names of a year's dates, by day of the
// year from 0: the same in every zone.
type yearNames [366]string

var names sync.Map // year → *yearNames

// name is civilDate(y, m, d), from a table kept a year at a time.
func (w *dayWalk) name(y int, m time.Month, d int) string {
	if m < time.January || m > time.December || d < 1 || d > 31 || y < 0 || y > 9999 {
		return civilDate(y, m, d)
	}
	i := dayOfYear(y, m, d)
	if i >= daysInYear(y) {
		return civilDate(y, m, d)
	}
	if w.names == nil || w.nyear != y {
		w.nyear, w.names = y, namesOf(y)
	}
	return w.names[i]
}

func namesOf(y int) *yearNames {
	if n, ok := names.Load(y); ok {
		return n.(*yearNames)
	}
	n := new(yearNames)
	for i := range daysInYear(y) {
		n[i] = civilDate(time.Date(y, time.January, 1+i, 12, 0, 0, 0, time.UTC).Date())
	}
	if yearsKept.Load() < maxYearsKept {
		if _, loaded := names.LoadOrStore(y, n); !loaded {
			yearsKept.Add(1)
		}
	}
	return n
}

// start is DayStart(y, m, d, loc).
func (w *dayWalk) start(y int, m time.Month, d int) time.Time {
	if m < time.January || m > time.December || d < 1 || d > 31 {
		return dayStart(y, m, d, w.loc)
	}
	i := dayOfYear(y, m, d)
	if i >= daysInYear(y) {
		return dayStart(y, m, d, w.loc)
	}
	if w.cal == nil || w.year != y {
		w.year, w.cal = y, calendarOf(w.loc, y)
	}
	return time.Unix(w.cal[i], 0).In(w.loc)
}

var daysBefore = [...]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// dayOfYear counts from 0 for January 1.
func dayOfYear(y int, m time.Month, d int) int {
	n := daysBefore[m-1] + d - 1
	if m > time.February && isLeap(y) {
		n++
	}
	return n
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInYear(y int) int {
	if isLeap(y) {
		return 366
	}
	return 365
}
