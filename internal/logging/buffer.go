package logging

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Buffered is a writer that gathers log lines and writes them out in
// batches: at most every interval, when its buffer fills, and at once
// after a record at Warn or above (see New). A server writes an access
// log line for every request, and a write system call each cost more than
// the line's encoding. Lines at Info and below written in the interval
// before a crash can be lost; warnings and errors are not held back.
type Buffered struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBuffered starts a Buffered writer onto w, flushed every interval.
func NewBuffered(w io.Writer, interval time.Duration) *Buffered {
	b := &Buffered{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write implements io.Writer.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the periodic flushes and flushes what is left.
func (b *Buffered) Close() error {
	close(b.stop)
	<-b.done
	return b.Flush()
}

// flusher is what New flushes after a record at Warn or above.
type flusher interface{ Flush() error }

func flushAfter(w io.Writer, level slog.Level) {
	if f, ok := w.(flusher); ok && level >= slog.LevelWarn {
		_ = f.Flush()
	}
}
