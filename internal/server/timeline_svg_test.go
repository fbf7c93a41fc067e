package server_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

func TestTimelineSVG(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		_, ben, rel := rebuilding(t, app)
		path := "/v1/relationships/" + rel + "/timeline.svg"

		res := app.Do(servertest.Request{Method: http.MethodGet, Path: path, Token: ben.AccessToken})
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		for k, want := range map[string]string{
			"Content-Type":            "image/svg+xml; charset=utf-8",
			"Cache-Control":           "no-store", // personal data, like every API answer
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		// Well-formed, and the score line has the JSON timeline's 21 points.
		dec := xml.NewDecoder(bytes.NewReader(res.Body))
		points := -1
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v", err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
				for _, a := range se.Attr {
					if a.Name.Local == "points" {
						points = len(strings.Fields(a.Value))
					}
				}
			}
		}
		if points != 21 {
			t.Errorf("polyline of %d points, want 21", points)
		}
		// The title names the member as the app shows them.
		if !bytes.Contains(res.Body, []byte("<title id=\"title\">Ana · score")) {
			t.Errorf("title does not name Ana: %s", res.Body[:min(len(res.Body), 600)])
		}

		for _, tc := range []struct {
			name, path, token string
			want              int
		}{
			{"no token", path, "", http.StatusUnauthorized},
			{"bad time", path + "?from=yesterday", ben.AccessToken, http.StatusBadRequest},
			{"bad bucket", path + "?bucket=month", ben.AccessToken, http.StatusUnprocessableEntity},
			{"unknown relationship", "/v1/relationships/rel_nope/timeline.svg", ben.AccessToken, http.StatusNotFound},
			{"another user's", path, app.Register("Eve").AccessToken, http.StatusNotFound},
		} {
			res := app.Do(servertest.Request{Method: http.MethodGet, Path: tc.path, Token: tc.token})
			if res.Status != tc.want || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s, want %d as a problem", tc.name, res.Status, res.Header.Get("Content-Type"), tc.want)
			}
		}
	})
}
