package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
)

// etagOf is a strong entity tag over a representation's JSON bytes.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// writeTagged writes v as JSON with an ETag, answering 304 to a GET whose
// If-None-Match names the current tag.
func writeTagged(c echo.Context, status int, v any) error {
	var body []byte
	var err error
	if c.QueryParams().Has("pretty") { // indented, as Echo's c.JSON does; another representation, another tag
		body, err = json.MarshalIndent(v, "", "  ")
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		return fault.Internal(err)
	}
	tag := etagOf(body)
	c.Response().Header().Set("ETag", tag)
	req := c.Request()
	if (req.Method == http.MethodGet || req.Method == http.MethodHead) && matchesTag(req.Header.Get("If-None-Match"), tag, true) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.JSONBlob(status, body)
}

// checkIfMatch refuses a change when the client's If-Match names none of the
// current representation's tag; no header means no condition.
func checkIfMatch(ifMatch string, current any) error {
	if strings.TrimSpace(ifMatch) == "" {
		return nil
	}
	body, err := json.Marshal(current)
	if err != nil {
		return fault.Internal(err)
	}
	if matchesTag(ifMatch, etagOf(body), false) {
		return nil
	}
	return fault.New(fault.KindPreconditionFailed, "precondition_failed", "the resource has changed since the ETag in If-Match was issued")
}

// checkIfMatchUntagged is checkIfMatch for a resource that has no ETag
// (an invite, an API key, a membership): no tag a client sends can be its
// current one, so any If-Match but * refuses the change; no header means no
// condition.
func checkIfMatchUntagged(ifMatch string) error {
	if strings.TrimSpace(ifMatch) == "" {
		return nil
	}
	for _, t := range strings.Split(ifMatch, ",") {
		if strings.TrimSpace(t) == "*" {
			return nil
		}
	}
	return fault.New(fault.KindPreconditionFailed, "precondition_failed", "this resource has no ETag: no entity tag in If-Match can match it (send If-Match: * or none)")
}

// matchesTag implements the list and wildcard syntax of If-Match and
// If-None-Match. weak allows W/ tags to match (If-None-Match uses weak
// comparison, If-Match strong).
func matchesTag(header, tag string, weak bool) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if weak {
			t = strings.TrimPrefix(t, "W/")
		}
		if t == tag {
			return true
		}
	}
	return false
}
