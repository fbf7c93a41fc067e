package logging

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the flusher writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Info lines wait for a flush; a warning goes out at once with what was
// buffered before it; Close writes out the rest.
func TestBufferedHoldsInfoAndFlushesWarnings(t *testing.T) {
	var out syncBuffer
	buf := NewBuffered(&out, time.Hour)
	log := New(buf, nil)
	ctx := WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "first")
	if got := out.String(); got != "" {
		t.Fatalf("an info line went out before any flush: %q", got)
	}
	log.WarnContext(ctx, "careful")
	got := out.String()
	if !strings.Contains(got, `"msg":"first"`) || !strings.Contains(got, `"msg":"careful"`) || !strings.Contains(got, `"request_id":"req-1"`) {
		t.Fatalf("after a warning the output is %q", got)
	}
	log.With("k", "v").Info("last")
	if strings.Contains(out.String(), "last") {
		t.Fatal("an info line went out before any flush")
	}
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"msg":"last","k":"v"`) {
		t.Fatalf("Close left a line behind: %q", out.String())
	}
}

// The periodic flush writes lines out without a warning or Close.
func TestBufferedFlushesPeriodically(t *testing.T) {
	var out syncBuffer
	buf := NewBuffered(&out, 10*time.Millisecond)
	defer buf.Close()
	New(buf, nil).Info("tick")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "tick") {
		if time.Now().After(deadline) {
			t.Fatal("the line never went out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
