package scoring

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
)

// versionedStore is a ReadStore over a sorted slice of one member's rollup
// rows, replaced (never changed in place) by every write, which also moves
// the version; and over a list of open due times, which moves no version,
// as in the database.
type versionedStore struct {
	ReadStore // what a timeline does not call
	rel       relationship.Relationship
	days      []Day
	version   int64
	open      []time.Time
}

func (f *versionedStore) Relationship(context.Context, string) (relationship.Relationship, error) {
	return f.rel, nil
}

func (f *versionedStore) LatestBreach(context.Context, string, string, time.Time) (time.Time, string, bool, error) {
	return time.Time{}, "", false, nil
}

func (f *versionedStore) DueCount(context.Context, string, string, time.Time, time.Time) (int, error) {
	return 0, nil
}

func (f *versionedStore) between(from, to string) []Day {
	i := sort.Search(len(f.days), func(i int) bool { return f.days[i].Day >= from })
	j := sort.Search(len(f.days), func(i int) bool { return f.days[i].Day > to })
	return f.days[i:j:j]
}

func (f *versionedStore) before(day string) (Day, bool) {
	i := sort.Search(len(f.days), func(i int) bool { return f.days[i].Day >= day })
	if i == 0 {
		return Day{}, false
	}
	return f.days[i-1], true
}

func (f *versionedStore) DaysBetween(_ context.Context, _, _, from, to string) ([]Day, error) {
	return f.between(from, to), nil
}

func (f *versionedStore) DaysWithBefore(_ context.Context, _, _, from, to string) (DayRange, error) {
	b, has := f.before(from)
	return DayRange{Before: b, HasBefore: has, Rows: f.between(from, to), Version: f.version, Versioned: true}, nil
}

func (f *versionedStore) OpenDue(_ context.Context, _, _ string, from, to time.Time) ([]time.Time, error) {
	var out []time.Time
	for _, t := range f.open {
		if !t.Before(from) && !t.After(to) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *versionedStore) Latest(_ context.Context, _, _, day string, _ time.Time) (Day, bool, int, error) {
	b, has := f.before(day + "\x00") // the latest row on or before day
	return b, has, 0, nil
}

// put writes a row for the local day holding at, as a refresh would: a new
// slice and a new version.
func (f *versionedStore) put(r *rand.Rand, at time.Time, loc *time.Location) {
	name, _, end := Bounds(at, loc)
	d := Day{RelationshipID: f.rel.ID, Subject: "usr_a", Day: name, End: end,
		Own:     score.Summary{Ref: end, Counts: score.Counts{Kept: r.IntN(3), KeptLate: r.IntN(2), Partial: r.IntN(2), Missed: r.IntN(2), Disputed: r.IntN(2)}},
		FeltSum: r.IntN(20), FeltN: r.IntN(3),
		Cum: score.Summary{Ref: end, Sums: score.Sums{A: r.Float64() * 5, B: 5 + r.Float64()*5}}}
	days := slices.Clone(f.days)
	i, found := slices.BinarySearchFunc(days, name, func(d Day, name string) int {
		switch {
		case d.Day < name:
			return -1
		case d.Day > name:
			return 1
		}
		return 0
	})
	if found {
		days[i] = d
	} else {
		days = slices.Insert(days, i, d)
	}
	f.days, f.version = days, f.version+1
}

// referencePoints is a timeline's points as they were built before any were
// kept: every bucket walked from the start of the one holding `from`, the
// last one scored by current.
func referencePoints(tl Timeline, loc *time.Location, rows []Day, prev Day, hasPrev bool, open []time.Time, h float64) []Point {
	ends := bucketEnds(tl.From, tl.To, loc, tl.Bucket)
	var out []Point
	i, j := 0, 0
	cum, hasCum := prev.Cum, hasPrev
	for k, b := range ends {
		p := Point{Date: b.date, End: b.end}
		var feltSum, feltN int
		for i < len(rows) && rows[i].Day <= b.lastDay {
			c := rows[i].Own.Counts
			p.Kept, p.Late, p.Partial, p.Missed = p.Kept+c.Kept, p.Late+c.KeptLate, p.Partial+c.Partial, p.Missed+c.Missed+c.Disputed
			feltSum, feltN = feltSum+rows[i].FeltSum, feltN+rows[i].FeltN
			cum, hasCum = rows[i].Cum, true
			i++
		}
		for j < len(open) && open[j].Before(b.start) {
			j++
		}
		for ; j < len(open) && open[j].Before(b.end); j++ {
			p.Open++
		}
		if feltN > 0 {
			avg := math.Round(float64(feltSum)/float64(feltN)*100) / 100
			p.FeltTrust = &avg
		}
		switch {
		case k == len(ends)-1:
			p.Score = tl.Current.Score
		case hasCum:
			p.Score = cum.At(b.end, h).Score()
		default:
			p.Score = score.Mu
		}
		p.Level = score.Level(p.Score)
		p.Score = score.Round4(p.Score)
		out = append(out, p)
	}
	return out
}

// A service that keeps finished points gives, after any sequence of writes,
// changes to the open occurrences, moves of the clock and queries, the
// points of a walk from scratch: in zones whose clocks skip or repeat
// midnight too, with past `to`s, mid-day `from`s and weekly buckets.
func TestKeptPointsMatchAWalkFromScratch(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	zones := []struct {
		name  string
		start time.Time
		// tricky are `to`s next to a clock change, asked for once the
		// clock has passed them.
		tricky []time.Time
	}{
		{"UTC", utc("2026-03-01T10:00:00Z"), nil},
		{"Europe/Berlin", utc("2026-03-01T10:00:00Z"), []time.Time{utc("2026-03-29T00:30:00Z"), utc("2026-03-29T01:30:00Z")}},
		// Clocks went back across midnight: 23:01-00:01 came twice, the
		// second time filed under 2010-11-07.
		{"America/St_Johns", utc("2010-10-20T10:00:00Z"), []time.Time{utc("2010-11-07T02:45:00Z"), utc("2010-11-07T03:00:00Z"), utc("2010-11-07T03:20:00Z")}},
		// 2011-12-30 was skipped whole.
		{"Pacific/Apia", utc("2011-12-10T10:00:00Z"), []time.Time{utc("2011-12-30T09:30:00Z"), utc("2011-12-30T10:00:00Z"), utc("2011-12-30T10:30:00Z")}},
		{"Australia/Lord_Howe", utc("2026-03-20T10:00:00Z"), []time.Time{utc("2026-04-04T14:45:00Z"), utc("2026-04-04T15:15:00Z")}},
		// 23:00-24:00 of 2026-04-04 came twice.
		{"America/Santiago", utc("2026-03-25T10:00:00Z"), []time.Time{utc("2026-04-05T03:15:00Z"), utc("2026-04-05T03:45:00Z")}},
	}
	for _, z := range zones {
		t.Run(z.name, func(t *testing.T) {
			loc, err := time.LoadLocation(z.name)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, uint64(len(z.name))))
			now := z.start
			rel := relationship.Relationship{ID: id.New(id.Relationship), TimeZone: z.name,
				Settings:  relationship.Settings{HalfLifeDays: 30, TargetScore: 0.8, PatienceDays: 90},
				CreatedAt: z.start.AddDate(0, 0, -200), Members: []relationship.Member{{UserID: "usr_a"}}}
			st := &versionedStore{rel: rel}
			svc := NewService(st, func() time.Time { return now })
			reused, built := 0, 0
			last := map[TimelineQuery]*Finished{}
			for range 600 {
				past := func(days int) time.Time {
					return now.Add(-time.Duration(r.Int64N(int64(days) * int64(24*time.Hour))))
				}
				switch r.IntN(8) {
				case 0, 1:
					st.put(r, past(60), loc)
				case 2:
					st.put(r, past(3), loc)
				case 3:
					st.open = append(st.open, past(40))
				case 4:
					if len(st.open) > 0 { // moved: as many as before, another time
						st.open[r.IntN(len(st.open))] = past(40)
					}
				case 5:
					now = now.Add(time.Duration(r.Int64N(int64(30 * time.Hour))))
				}
				slices.SortFunc(st.open, time.Time.Compare)
				var q TimelineQuery
				q.MemberID = "usr_a"
				if r.IntN(2) == 0 {
					q.Bucket = "week"
				}
				switch r.IntN(3) {
				case 0:
					from := now.AddDate(0, 0, -50).Truncate(time.Hour).Add(-5 * time.Hour)
					q.From = &from
				case 1:
					from := z.start.AddDate(0, 0, -120)
					q.From = &from
				}
				switch r.IntN(4) {
				case 0:
					to := now.Add(-time.Duration(r.Int64N(int64(72 * time.Hour)))).Truncate(time.Minute)
					q.To = &to
				case 1:
					if len(z.tricky) > 0 {
						if to := z.tricky[r.IntN(len(z.tricky))]; !to.After(now) && (q.From == nil || q.From.Before(to)) {
							q.To = &to
						}
					}
				}
				parts, err := svc.TimelineParts(context.Background(), "usr_a", rel.ID, q)
				if err != nil {
					t.Fatal(err)
				}
				key := TimelineQuery{MemberID: q.MemberID, Bucket: q.Bucket} // by kind of query
				if parts.Finished == last[key] {
					reused++
				} else {
					built++
				}
				last[key] = parts.Finished
				tl := parts.Whole()
				// The first bucket counts all of itself, from its start.
				head := bucketEnds(tl.From, tl.To, loc, tl.Bucket)[0].start
				firstDay, _, _ := Bounds(head, loc)
				lastDay, _, _ := Bounds(tl.To, loc)
				prev, hasPrev := st.before(firstDay)
				open, _ := st.OpenDue(context.Background(), "", "", head, tl.To)
				want := referencePoints(tl, loc, st.between(firstDay, lastDay), prev, hasPrev, open, 30)
				if !reflect.DeepEqual(tl.Points, want) {
					t.Fatalf("%v from %v to %v by %s:\nkept %+v\nwant %+v", now, tl.From, tl.To, tl.Bucket, tl.Points, want)
				}
			}
			if reused == 0 {
				t.Fatalf("no kept points were used again in %d reads", reused+built)
			}
		})
	}
}
