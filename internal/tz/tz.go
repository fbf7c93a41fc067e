// Package tz validates IANA time zone names. The binary embeds the time zone
// database, so zones resolve the same in a minimal container.
package tz

import (
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // embed the IANA database: minimal images have none
)

// loaded caches the zones found: time.LoadLocation reads and parses the
// zone's file on every call (tens of µs), and scores and timelines need
// their relationship's zone on every request. Only names that resolve are
// kept, so the cache is bounded by the IANA database.
var loaded sync.Map // name → *time.Location

// Load returns the location named by an IANA zone name. It refuses the empty
// name and "Local", which time.LoadLocation accepts but which mean the
// server's own zone, not the user's.
func Load(name string) (*time.Location, bool) {
	if loc, ok := loaded.Load(name); ok {
		return loc.(*time.Location), true
	}
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, " \\") {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	loaded.Store(name, loc)
	return loc, true
}

// Valid reports whether name is an IANA zone troth accepts.
func Valid(name string) bool {
	_, ok := Load(name)
	return ok
}
