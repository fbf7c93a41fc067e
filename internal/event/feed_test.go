package event

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
)

// log is an event log in which the caller sees the events at mine.
type log struct {
	purged, end int64
	mine        []int64
}

func (l *log) Visible(_ context.Context, _ string, after int64, _ []string, limit int) ([]Event, error) {
	var out []Event
	for _, s := range l.mine {
		if s > after && s <= l.end && len(out) < limit {
			out = append(out, Event{Seq: s})
		}
	}
	return out, nil
}

func (l *log) Extent(context.Context) (int64, int64, error) { return l.purged, l.end, nil }

func position(t *testing.T, cursor string) int64 {
	t.Helper()
	key, err := page.ParseParam(cursor, 1, "after")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(key[0], 10, 64)
	return n
}

// While others write, an idle caller's cursor comes back unchanged until
// the log has moved a whole step on; it never lies before what retention
// purged, nor past an event the caller may see.
func TestFeedCursorPastOthersEvents(t *testing.T) {
	ctx := context.Background()
	l := &log{purged: 700, end: 900}
	f := NewFeed(l)
	p, err := f.List(ctx, "u", "", nil, 20)
	if err != nil || len(p.Events) != 0 || position(t, p.Next) != 700 {
		t.Fatalf("no events: %+v %v, want the cursor at what was purged (700)", p, err)
	}
	cursor := p.Next
	for _, end := range []int64{1000, 1023} {
		l.end = end
		if p, _ := f.List(ctx, "u", cursor, nil, 20); p.Next != cursor {
			t.Fatalf("end %d: cursor moved to %d", end, position(t, p.Next))
		}
	}
	l.end = 3000
	if p, _ := f.List(ctx, "u", cursor, nil, 20); position(t, p.Next) != 2048 {
		t.Fatalf("end 3000: cursor at %d, want 2048", position(t, p.Next))
	}
	l.mine = []int64{2500}
	p, _ = f.List(ctx, "u", page.Cursor("2048"), nil, 20)
	if len(p.Events) != 1 || position(t, p.Next) != 2500 {
		t.Fatalf("one event at 2500: %+v", p)
	}
	var fe *fault.Error
	if _, err := f.List(ctx, "u", page.Cursor("3001"), nil, 20); !errors.As(err, &fe) || fe.Code != "cursor_expired" {
		t.Fatalf("a cursor past the end: %v", err)
	}
}
