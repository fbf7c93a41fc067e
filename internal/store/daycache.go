package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"unsafe"

	"github.com/troth-app/troth/internal/lru"
	"github.com/troth-app/troth/internal/scoring"
)

// A timeline reads a year of a subject's rollup rows (366 of them for a
// daily one), which costs more than the rest of the request together; the
// rows of a subject change only when a write refreshes them. So the rows
// read outside a transaction are kept in memory, with the subject's
// version from score_versions: a random number that every statement
// writing the subject's rows (PutDays, DeleteDay) replaces in the same
// transaction. A read first reads the version (one primary-key lookup)
// and uses the kept rows only while it is the same; that holds on
// PostgreSQL with several instances writing as well. The version is read
// before the rows, so rows kept under a version are never older than it.
// A subject without a version (rows written before migration 0012, until
// their next refresh) is read from the database every time.

// dayCacheBytes bounds the memory the kept rows take (about 140 kB for a
// year of daily rows).
const dayCacheBytes = 16 << 20

type dayKey struct{ rel, subject string }

type dayEntry struct {
	version  int64
	from, to string // the range the rows cover
	rows     []scoring.Day
	// before is the latest row before from (DayBefore's), when known.
	before                 scoring.Day
	hasBefore, knowsBefore bool
}

// dayCache is a least-recently-used map of dayEntry, bounded by size.
type dayCache struct{ *lru.Cache[dayKey, *dayEntry] }

func newDayCache() dayCache { return dayCache{lru.New[dayKey, *dayEntry](dayCacheBytes)} }

var daySize = int(unsafe.Sizeof(scoring.Day{}))

// get returns the kept entry of key, if it was kept under version and
// covers from ≤ day ≤ to, with the rows in that range. The entry and the
// slice are shared: read only.
func (c dayCache) get(key dayKey, version int64, from, to string) (*dayEntry, []scoring.Day, bool) {
	e, ok := c.Get(key)
	if !ok || e.version != version || from < e.from || to > e.to {
		return nil, nil, false
	}
	i := sort.Search(len(e.rows), func(i int) bool { return e.rows[i].Day >= from })
	j := sort.Search(len(e.rows), func(i int) bool { return e.rows[i].Day > to })
	return e, e.rows[i:j:j], true
}

// put keeps e (its rows from ≤ day ≤ to, in order), its rows counted whole.
func (c dayCache) put(key dayKey, e *dayEntry) {
	c.Put(key, e, 64+len(key.rel)+len(key.subject)+cap(e.rows)*(daySize+10))
}

// scoreVersion reads a subject's version; ok is false when it has none.
func (s *Scores) scoreVersion(ctx context.Context, relID, subject string) (v int64, ok bool, err error) {
	err = s.db.queryRow(ctx, s.r, `SELECT version FROM score_versions WHERE relationship_id = ? AND subject = ?`,
		[]any{relID, subject}, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

// bumpVersions gives each subject of days a new version, in the
// transaction that writes the rows.
func (s *Scores) bumpVersions(ctx context.Context, days []scoring.Day) error {
	keys := make([]dayKey, 0, 2)
	for _, d := range days {
		k := dayKey{d.RelationshipID, d.Subject}
		found := false
		for _, have := range keys {
			found = found || have == k
		}
		if !found {
			keys = append(keys, k)
		}
	}
	return s.bumpKeys(ctx, keys)
}

func (s *Scores) bumpKeys(ctx context.Context, keys []dayKey) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(keys))
	for _, k := range keys {
		args = append(args, k.rel, k.subject, rand.Int64()) //nolint:gosec // a version, not a secret
	}
	q := `INSERT INTO score_versions (relationship_id, subject, version) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(keys)), ", ") +
		` ON CONFLICT (relationship_id, subject) DO UPDATE SET version = excluded.version`
	return translate(s.db.execSQL(ctx, s.w, q, args...), "score version")
}
