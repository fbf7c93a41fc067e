package webhook

import (
	"context"
	"testing"
	"time"
)

func TestInFlightCapsPerEndpoint(t *testing.T) {
	var f inFlight
	ctx := context.Background()
	var held []func()
	for i := range 4 {
		release, ok := f.acquire(ctx, "whk_a", 4, 0)
		if !ok {
			t.Fatalf("slot %d of 4 refused", i+1)
		}
		held = append(held, release)
	}
	if _, ok := f.acquire(ctx, "whk_a", 4, time.Millisecond); ok {
		t.Fatal("a fifth attempt at once was let through")
	}
	// Another endpoint is not held behind this one.
	other, ok := f.acquire(ctx, "whk_b", 4, 0)
	if !ok {
		t.Fatal("another endpoint refused")
	}
	other()
	// A slot given back while waiting is taken.
	freed := make(chan struct{})
	go func() { defer close(freed); time.Sleep(10 * time.Millisecond); held[0]() }()
	release, ok := f.acquire(ctx, "whk_a", 4, 5*time.Second)
	if !ok {
		t.Fatal("a freed slot was not taken")
	}
	release()
	<-freed
	for _, r := range held[1:] {
		r()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.eps) != 0 {
		t.Fatalf("%d endpoints still tracked with nothing in flight", len(f.eps))
	}
}

// The more attempts an endpoint turns away, the longer each waits, up to
// a minute; the count is forgotten with time, and per endpoint.
func TestSnoozeGrowsWithPressure(t *testing.T) {
	var f inFlight
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if d := f.snooze("whk_a", 4, now); d != busySnooze {
		t.Fatalf("first turned away: %v, want %v", d, busySnooze)
	}
	var d time.Duration
	for range 39 {
		d = f.snooze("whk_a", 4, now)
	}
	if d != 10*busySnooze {
		t.Fatalf("40 turned away at once, 4 at a time: %v, want %v", d, 10*busySnooze)
	}
	for range 1000 {
		d = f.snooze("whk_a", 4, now)
	}
	if d != maxBusySnooze {
		t.Fatalf("a thousand more: %v, want the cap %v", d, maxBusySnooze)
	}
	if d := f.snooze("whk_b", 4, now); d != busySnooze {
		t.Fatalf("another endpoint: %v", d)
	}
	if d := f.snooze("whk_a", 4, now.Add(5*time.Minute)); d != busySnooze {
		t.Fatalf("five minutes later: %v, want %v", d, busySnooze)
	}
	f.snooze("whk_c", 4, now.Add(time.Hour))
	if _, ok := f.pressure["whk_b"]; ok {
		t.Fatal("an endpoint's count kept long after it decayed")
	}
}
