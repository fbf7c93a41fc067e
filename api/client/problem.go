package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
)

// ErrNotModified is Check's answer to a 304 Not Modified: the copy whose
// ETag was sent in If-None-Match is still current, and the response has no
// body (its JSON200 is nil).
var ErrNotModified = errors.New("troth: 304 not modified")

// ProblemError is an error answer from troth: the RFC 9457 problem it sent,
// with its stable Code ("not_found", "validation_failed", …) and, for a
// validation failure, the field errors.
type ProblemError struct {
	Problem
}

// Error describes the problem in one line.
func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("troth: %d %s", e.Status, e.Code)
	if e.Detail != nil && *e.Detail != "" {
		msg += ": " + *e.Detail
	} else if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Errors != nil {
		for _, f := range *e.Errors {
			msg += fmt.Sprintf("; %s: %s", f.Field, f.Code)
		}
	}
	return msg
}

// Check returns nil for a successful (1xx–3xx) answer and a *ProblemError
// for any other, decoded from its application/problem+json body when it has
// one; a 304 (the answer to If-None-Match when nothing changed) is
// ErrNotModified, since it carries no body to read. Call it with a
// generated response's HTTPResponse and Body:
//
//	res, err := c.GetPromiseWithResponse(ctx, id, nil)
//	if err == nil {
//		err = client.Check(res.HTTPResponse, res.Body)
//	}
func Check(res *http.Response, body []byte) error {
	if res == nil {
		return fmt.Errorf("troth: no response")
	}
	if res.StatusCode == http.StatusNotModified {
		return ErrNotModified
	}
	if res.StatusCode < 400 {
		return nil
	}
	p := &ProblemError{}
	if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err == nil && mt == "application/problem+json" {
		if err := json.Unmarshal(body, &p.Problem); err != nil {
			return fmt.Errorf("troth: %d answer with a malformed problem: %w", res.StatusCode, err)
		}
	}
	// An answer from a proxy, say, or a problem without these members.
	if p.Status == 0 {
		p.Status = res.StatusCode
	}
	if p.Code == "" {
		p.Code = "http_" + fmt.Sprint(res.StatusCode)
	}
	if p.Title == "" {
		p.Title = http.StatusText(res.StatusCode)
	}
	return p
}
