package server_test

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

type apiKeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Secret     string     `json:"secret"`
}

type apiKeyPage struct {
	Data       []apiKeyBody `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

func createAPIKey(t *testing.T, app *servertest.App, token, name, scope string) apiKeyBody {
	t.Helper()
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/api-keys", Token: token, Body: map[string]any{"name": name, "scope": scope}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create %s key: %d %s", scope, res.Status, res.Body)
	}
	var k apiKeyBody
	res.JSON(t, &k)
	return k
}

func listAPIKeys(t *testing.T, app *servertest.App, token, query string) apiKeyPage {
	t.Helper()
	res := app.Do(servertest.Request{Method: "GET", Path: "/v1/api-keys" + query, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list keys: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), `"secret"`) {
		t.Fatalf("list shows secrets: %s", res.Body)
	}
	var p apiKeyPage
	res.JSON(t, &p)
	return p
}

// wantProblem checks a refusal's status and code.
func wantProblem(t *testing.T, res *servertest.Response, status int, code string) {
	t.Helper()
	if p := decodeProblem(t, res); res.Status != status || p.Code != code {
		t.Fatalf("got %d %s, want %d %s", res.Status, res.Body, status, code)
	}
}

func TestAPIKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)

		// Create: the secret is shown once and stored only as its hash.
		write := createAPIKey(t, app, ana.AccessToken, " Sync ", "write")
		read := createAPIKey(t, app, ana.AccessToken, "Dashboard", "read")
		if !strings.HasPrefix(write.ID, "key_") || write.Name != "Sync" || write.Scope != "write" || write.LastUsedAt != nil ||
			!strings.HasPrefix(write.Secret, "troth_sk_") || len(write.Secret) != len("troth_sk_")+43 ||
			!strings.HasPrefix(write.Secret, write.Prefix) || len(write.Prefix) >= len(write.Secret)/2 || write.Secret == read.Secret {
			t.Fatalf("created %+v", write)
		}
		w, _ := app.Server.DB.SQL()
		var stored int
		sum := sha256.Sum256([]byte(write.Secret))
		if err := w.QueryRow("SELECT count(*) FROM api_keys WHERE id = $1 AND secret_hash = $2", write.ID, sum[:]).Scan(&stored); err != nil || stored != 1 {
			t.Fatalf("stored hash: %d %v", stored, err)
		}

		// Listed oldest first, without secrets, a page at a time.
		if all := app.Do(servertest.Request{Method: "GET", Path: "/v1/api-keys", Token: ana.AccessToken}); strings.Contains(string(all.Body), write.Secret[len(write.Prefix):]) ||
			strings.Contains(string(all.Body), read.Secret[len(read.Prefix):]) {
			t.Fatalf("list shows a secret: %s", all.Body)
		}
		first := listAPIKeys(t, app, ana.AccessToken, "?limit=1")
		if len(first.Data) != 1 || first.Data[0].ID != write.ID || first.Data[0].Secret != "" || first.NextCursor == nil {
			t.Fatalf("first page %+v", first)
		}
		second := listAPIKeys(t, app, ana.AccessToken, "?limit=1&cursor="+*first.NextCursor)
		if len(second.Data) != 1 || second.Data[0].ID != read.ID || second.NextCursor != nil {
			t.Fatalf("second page %+v", second)
		}

		// A write key acts as its user, and its use is recorded.
		if me := do(t, app, 200, "GET", "/v1/me", write.Secret, nil); me["id"] != ana.ID {
			t.Fatalf("me with a key: %v", me)
		}
		used := app.Clock.Now().UTC().Truncate(time.Microsecond)
		r2 := do(t, app, 201, "POST", "/v1/relationships", write.Secret, map[string]any{"name": "Ana & Cleo", "time_zone": "UTC"})
		if r2["created_by"] != ana.ID {
			t.Fatalf("created by a key: %v", r2)
		}
		prm := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", write.Secret,
			map[string]any{"title": "Call mum", "due_at": ts(app.Clock.Now().Add(24 * time.Hour))})
		lastUsed := func(id string) *time.Time {
			t.Helper()
			for _, k := range listAPIKeys(t, app, ana.AccessToken, "").Data {
				if k.ID == id {
					return k.LastUsedAt
				}
			}
			t.Fatalf("key %s not listed", id)
			return nil
		}
		if got := lastUsed(write.ID); got == nil || !got.Equal(used) {
			t.Fatalf("last_used_at %v, want %v", got, used)
		}
		if got := lastUsed(read.ID); got != nil {
			t.Fatalf("unused key's last_used_at %v", got)
		}
		// Written at most once a minute.
		app.Clock.Advance(30 * time.Second)
		do(t, app, 200, "GET", "/v1/me", write.Secret, nil)
		if got := lastUsed(write.ID); !got.Equal(used) {
			t.Fatalf("last_used_at moved to %v within a minute", got)
		}
		app.Clock.Advance(31 * time.Second)
		do(t, app, 200, "GET", "/v1/me", write.Secret, nil)
		if got, want := lastUsed(write.ID), app.Clock.Now().UTC().Truncate(time.Microsecond); !got.Equal(want) {
			t.Fatalf("last_used_at %v after a minute, want %v", got, want)
		}

		// A read key reads, and changes nothing.
		prmPath := "/v1/promises/" + prm["id"].(string)
		if list := do(t, app, 200, "GET", "/v1/relationships", read.Secret, nil); len(list["data"].([]any)) != 2 {
			t.Fatalf("read key lists %v", list)
		}
		before := do(t, app, 200, "GET", prmPath, read.Secret, nil)
		wantProblem(t, app.Do(servertest.Request{Method: "PATCH", Path: prmPath, Token: read.Secret, Body: map[string]any{"title": "Nope"}}), 403, "insufficient_scope")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: prmPath, Token: read.Secret}), 403, "insufficient_scope")
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: read.Secret, Body: map[string]any{"name": "x", "time_zone": "UTC"}}), 403, "insufficient_scope")
		if after := do(t, app, 200, "GET", prmPath, ana.AccessToken, nil); after["title"] != before["title"] || after["status"] != before["status"] {
			t.Fatalf("a read key changed the promise: %v", after)
		}

		// API keys cannot manage API keys; a refused POST keeps no idempotency record.
		idem := map[string]string{"Idempotency-Key": "new-key-1"}
		body := map[string]any{"name": "Minted", "scope": "write"}
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/api-keys", Token: write.Secret, Header: idem, Body: body}), 403, "user_token_required")
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/api-keys", Token: read.Secret, Body: body}), 403, "insufficient_scope")
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/api-keys", Token: read.Secret}), 403, "user_token_required")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/api-keys/" + read.ID, Token: write.Secret}), 403, "user_token_required")
		if n := len(listAPIKeys(t, app, ana.AccessToken, "").Data); n != 2 {
			t.Fatalf("%d keys after refusals, want 2", n)
		}
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/api-keys", Token: ana.AccessToken, Header: idem, Body: body})
		if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("create after a refused attempt with the same Idempotency-Key: %d %s", res.Status, res.Body)
		}
		var minted apiKeyBody
		res.JSON(t, &minted)

		// Another user sees and revokes none of them.
		if other := listAPIKeys(t, app, ben.AccessToken, ""); len(other.Data) != 0 {
			t.Fatalf("Ben lists %+v", other)
		}
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/api-keys/" + write.ID, Token: ben.AccessToken}), 404, "not_found")
		do(t, app, 200, "GET", "/v1/me", write.Secret, nil)

		// Revoked: unusable at once, gone from the list, a second revoke is 404.
		do(t, app, 204, "DELETE", "/v1/api-keys/"+read.ID, ana.AccessToken, nil)
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: read.Secret}), 401, "invalid_token")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/api-keys/" + read.ID, Token: ana.AccessToken}), 404, "not_found")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/api-keys/key_nope", Token: ana.AccessToken}), 404, "not_found")
		if ks := listAPIKeys(t, app, ana.AccessToken, "").Data; len(ks) != 2 || ks[0].ID != write.ID || ks[1].ID != minted.ID {
			t.Fatalf("after revoke: %+v", ks)
		}
		for _, bogus := range []string{"troth_sk_", "troth_sk_" + strings.Repeat("A", 43), write.Secret + "x", write.Prefix} {
			wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: bogus}), 401, "invalid_token")
		}
	})
}

func TestAPIKeyBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana := app.Register("Ana")
		for _, tc := range []struct {
			name       string
			body       any
			wantStatus int
			wantCode   string
			wantField  string
		}{
			{"missing name", map[string]any{"scope": "read"}, 422, "validation_failed", "name"},
			{"blank name", map[string]any{"name": "  ", "scope": "read"}, 422, "validation_failed", "name"},
			{"long name", map[string]any{"name": strings.Repeat("n", 101), "scope": "read"}, 422, "validation_failed", "name"},
			{"missing scope", map[string]any{"name": "CI"}, 422, "validation_failed", "scope"},
			{"bad scope", map[string]any{"name": "CI", "scope": "admin"}, 422, "validation_failed", "scope"},
			{"unknown field", map[string]any{"name": "CI", "scope": "read", "expires_at": "2030-01-01T00:00:00Z"}, 400, "unknown_field", "expires_at"},
			{"wrong type", map[string]any{"name": 7, "scope": "read"}, 400, "invalid_type", "name"},
			{"not JSON", "{", 400, "malformed_json", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := app.Do(servertest.Request{Method: "POST", Path: "/v1/api-keys", Token: ana.AccessToken, Body: tc.body})
				p := decodeProblem(t, res)
				if res.Status != tc.wantStatus || p.Code != tc.wantCode {
					t.Fatalf("got %d %s, want %d %s", res.Status, res.Body, tc.wantStatus, tc.wantCode)
				}
				if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
					t.Fatalf("field errors %+v, want one for %s", p.Errors, tc.wantField)
				}
			})
		}
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/api-keys?limit=0", Token: ana.AccessToken}), 400, "invalid_limit")
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/api-keys?cursor=zz", Token: ana.AccessToken}), 400, "invalid_cursor")
		if ks := listAPIKeys(t, app, ana.AccessToken, ""); len(ks.Data) != 0 {
			t.Fatalf("bad input made keys: %+v", ks)
		}
	})
}
