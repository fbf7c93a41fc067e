package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// An endpoint that never answers holds at most a few workers: another
// user's deliveries go out at once, not after its attempts time out.
func TestWebhookHangingEndpointDoesNotHoldOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts(), func(c *config.Config) { c.WebhookWorkers = 8 })
		ana, cleo := app.Register("Ana"), app.Register("Cleo")

		release := make(chan struct{})
		hanging := newReceiver(t, func(_ int, w http.ResponseWriter) { <-release })
		t.Cleanup(func() { close(release) }) // before the receiver closes
		healthy := newReceiver(t, nil)
		slow, _ := createHook(t, app, ana.AccessToken, map[string]any{"url": hanging.url()})
		fine, _ := createHook(t, app, cleo.AccessToken, map[string]any{"url": healthy.url()})
		startHooks(t, app)

		// Twice as many attempts for the hanging endpoint as there are workers.
		for range 16 {
			do(t, app, 202, "POST", "/v1/webhooks/"+slow+"/ping", ana.AccessToken, nil)
		}
		hanging.wait(t, 1)
		start := time.Now()
		for i := range 3 {
			ev := do(t, app, 202, "POST", "/v1/webhooks/"+fine+"/ping", cleo.AccessToken, nil)["event_id"].(string)
			deadline := time.Now().Add(3 * time.Second)
			for len(healthy.all()) <= i {
				if time.Now().After(deadline) {
					t.Fatalf("the healthy endpoint's ping %d not delivered in 3 s while another endpoint hangs (%d requests in flight there)", i, len(hanging.all()))
				}
				time.Sleep(5 * time.Millisecond)
			}
			if got := healthy.all()[i].id(); got != ev {
				t.Fatalf("healthy endpoint got %s, want %s", got, ev)
			}
		}
		t.Logf("%s: three pings delivered in %s beside a hanging endpoint", b.Name, time.Since(start))
		if n := len(hanging.all()); n > 4 {
			t.Errorf("%d attempts in flight at the hanging endpoint, want at most 4", n)
		}
	})
}
