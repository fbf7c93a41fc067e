package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/store/storetest"
)

// Two `troth serve` processes on one PostgreSQL database: every scheduled
// transition happens once, and every event reaches a webhook once.
func TestTwoProcessesShareOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip(storetest.EnvPostgres + " is not set: several instances need PostgreSQL")
	}
	bin := buildTroth(t)
	dsn := storetest.Postgres(t)
	env := []string{"TROTH_SCHEDULER_EVERY=1s", "TROTH_WEBHOOK_ALLOW_PRIVATE=true"}
	p1 := startTroth(t, bin, dsn, env...)
	defer p1.kill()
	p2 := startTroth(t, bin, dsn, env...)
	defer p2.kill()
	c := &http.Client{Timeout: 10 * time.Second}

	var mu sync.Mutex
	got := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rc.Close()

	users := crashSetup(t, c, p1.base, 2)
	ana := users[0]
	var hook struct{ ID string }
	crashCall(t, c, p2.base, "POST", "/v1/webhooks", ana.token, map[string]any{"url": rc.URL + "/hook"}, &hook)
	type page struct {
		Data []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
		NextCursor string `json:"next_cursor"`
		HasMore    bool   `json:"has_more"`
	}
	var before page
	crashCall(t, c, p1.base, "GET", "/v1/events?limit=100", ana.token, nil, &before)

	// Twenty promises already overdue past their grace: either scheduler
	// may score each missed, but only one may.
	const n = 20
	due := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	for i := range n {
		base := p1.base
		if i%2 == 1 {
			base = p2.base
		}
		crashCall(t, c, base, "POST", "/v1/relationships/"+ana.rel+"/promises", ana.token,
			map[string]any{"title": fmt.Sprint("late ", i), "due_at": due}, nil)
	}
	type occ struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	var occs struct{ Data []occ }
	deadline := time.Now().Add(45 * time.Second)
	for {
		crashCall(t, c, p2.base, "GET", "/v1/relationships/"+ana.rel+"/occurrences?limit=100", ana.token, nil, &occs)
		open := 0
		for _, o := range occs.Data {
			if o.Status == "open" {
				open++
			}
		}
		if len(occs.Data) == n && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d occurrences still open", open, len(occs.Data))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, o := range occs.Data {
		var fts struct {
			Data []struct {
				RecordedBy string `json:"recorded_by"`
			}
		}
		crashCall(t, c, p1.base, "GET", "/v1/occurrences/"+o.ID+"/follow-throughs", ana.token, nil, &fts)
		if len(fts.Data) != 1 || fts.Data[0].RecordedBy != "system" {
			t.Fatalf("occurrence %s has %d follow-throughs %+v, want one system miss", o.ID, len(fts.Data), fts.Data)
		}
	}

	// Every event after the endpoint was made reaches it exactly once.
	var want []string
	cursor := before.NextCursor
	for {
		var p page
		crashCall(t, c, p1.base, "GET", "/v1/events?limit=100&after="+cursor, ana.token, nil, &p)
		for _, e := range p.Data {
			want = append(want, e.ID)
		}
		cursor = p.NextCursor
		if !p.HasMore {
			break
		}
	}
	if len(want) < 2*n {
		t.Fatalf("only %d events after the endpoint was made", len(want))
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for _, id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never reached the webhook", missing, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, k := range got {
		if k != 1 {
			t.Errorf("event %s delivered %d times by two instances", id, k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("webhook got %d distinct events, the feed has %d", len(got), len(want))
	}
	b, _ := json.Marshal(map[string]int{"events": len(want), "misses": n})
	t.Logf("two processes: %s, each scored and delivered once", b)
}
