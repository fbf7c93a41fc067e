package main

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"time"
)

// The server writes a log line for every request with the time it spent
// on it, from the access-log middleware's start to the response written
// (internal/httpapi/middleware.go). Read after a run, those lines give
// the server's own latencies for each operation, next to vegeta's: what
// the load generator adds (the kernel's socket buffers, its own share of
// the cores) is the difference.

// serverTimes reads the request lines of the log at path and gives each
// row the durations of the requests that ended while it was driven.
func serverTimes(path string, rows []row) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Time     time.Time `json:"time"`
			Msg      string    `json:"msg"`
			Duration int64     `json:"duration"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "request" {
			continue
		}
		for i := range rows {
			r := &rows[i]
			if !r.op.control && !l.Time.Before(r.start) && !l.Time.After(r.end) {
				r.server = append(r.server, time.Duration(l.Duration))
			}
		}
	}
	for i := range rows {
		slices.Sort(rows[i].server)
	}
	return sc.Err()
}

// serverQuantile is the q-quantile of the server's durations, or 0.
func (r row) serverQuantile(q float64) time.Duration {
	if len(r.server) == 0 {
		return 0
	}
	return r.server[min(len(r.server)-1, int(q*float64(len(r.server))))]
}
