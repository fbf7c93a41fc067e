package store

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
)

// tableWatch tells readers on SQLite, where this process is the one writer,
// whether tables may have changed since they last read them, so that a
// copy kept in memory can be reused: the relationships and their members
// (relCache), and a subject's latest rollup row with its open count
// (latestCache). Each group of tables has its own generation.
//
// The writer's connection reports every row it changes (SQLite's update
// hook, before the change commits): from then on the tables of that group
// are unsettled, and readers go to the database. Once the connection is
// outside any transaction again (the change committed or rolled back), the
// generation moves and the tables are settled: what was kept before is
// stale. A copy is stamped with the generation noted before its read, and
// is used only while the tables are settled at that generation.
type tableWatch struct {
	groups [nWatchGroups]watchGroup
	// openRows counts the writer's rows not yet closed: a write through
	// QueryContext (RETURNING) commits only when its rows close, though
	// SQLite reports the connection in autocommit mode meanwhile.
	openRows atomic.Int32
}

type watchGroup struct {
	gen       atomic.Uint64
	unsettled atomic.Bool
}

// The groups of watched tables.
const (
	watchRels   = iota // relationships, relationship_members: relCache
	watchScores        // score_days, occurrences: latestCache
	nWatchGroups
)

// watched names the group a table belongs to, if any.
func watched(table string) (int, bool) {
	switch table {
	case "relationships", "relationship_members":
		return watchRels, true
	case "score_days", "occurrences":
		return watchScores, true
	}
	return 0, false
}

func (w *tableWatch) hook(sc *sqlite3.SQLiteConn) {
	sc.RegisterUpdateHook(func(_ int, _, table string, _ int64) {
		if g, ok := watched(table); ok {
			w.groups[g].unsettled.Store(true)
		}
	})
}

// settle runs after each call on the writer's connection that may end a
// statement or a transaction: outside a transaction, with no rows open,
// whatever changed has committed or rolled back.
func (w *tableWatch) settle(sc *sqlite3.SQLiteConn) {
	for i := range w.groups {
		g := &w.groups[i]
		if g.unsettled.Load() && sc.AutoCommit() && w.openRows.Load() == 0 {
			g.gen.Add(1)
			g.unsettled.Store(false)
		}
	}
}

// snapshot is what a reader notes before reading: the generation, and
// whether the tables were settled (else nothing may be used or kept).
type snapshot struct {
	gen uint64
	ok  bool
}

func (w *tableWatch) snapshot(group int) snapshot {
	g := &w.groups[group]
	gen := g.gen.Load()
	return snapshot{gen: gen, ok: !g.unsettled.Load()}
}

// watchedTx settles after a transaction of the writer ends.
type watchedTx struct {
	driver.Tx
	c writerConn
}

func (t watchedTx) Commit() error {
	err := t.Tx.Commit()
	t.c.watch.settle(t.c.SQLiteConn)
	return err
}

func (t watchedTx) Rollback() error {
	err := t.Tx.Rollback()
	t.c.watch.settle(t.c.SQLiteConn)
	return err
}

// watchedStmt settles after each run of a statement prepared on the writer.
type watchedStmt struct {
	*sqlite3.SQLiteStmt
	c writerConn
}

func (s watchedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.SQLiteStmt.QueryContext(context.WithoutCancel(ctx), args)
	return s.c.watchRows(rows, err)
}

// watchedRows settles once the writer's rows close (the statement ends).
type watchedRows struct {
	*sqlite3.SQLiteRows
	c      writerConn
	closed bool
}

func (r *watchedRows) Close() error {
	err := r.SQLiteRows.Close()
	if !r.closed {
		r.closed = true
		r.c.watch.openRows.Add(-1)
		r.c.watch.settle(r.c.SQLiteConn)
	}
	return err
}

func (c writerConn) watchRows(rows driver.Rows, err error) (driver.Rows, error) {
	if sr, ok := rows.(*sqlite3.SQLiteRows); ok && err == nil {
		c.watch.openRows.Add(1)
		return &watchedRows{SQLiteRows: sr, c: c}, nil
	}
	return rows, err
}

func (s watchedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := s.SQLiteStmt.ExecContext(context.WithoutCancel(ctx), args)
	s.c.watch.settle(s.c.SQLiteConn)
	return res, err
}

// The in-memory copies (relCache, liveAccounts) see the writes of their own
// DB only. A process opens its database once; should it open the same
// SQLite file again while the first DB is open (some tests do), the copies
// of every DB on that file are turned off for good.
var (
	openFilesMu sync.Mutex
	openFiles   = map[string]*openFile{}
)

type openFile struct {
	n      int
	shared atomic.Bool // opened more than once: keep nothing in memory
}

// registerFile counts an open of the SQLite file at path and returns its
// state, and the function that counts the close.
func registerFile(path string) (*openFile, func()) {
	key := path
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
	}
	openFilesMu.Lock()
	defer openFilesMu.Unlock()
	f := openFiles[key]
	if f == nil {
		f = &openFile{}
		openFiles[key] = f
	}
	f.n++
	if f.n > 1 {
		f.shared.Store(true)
	}
	return f, func() {
		openFilesMu.Lock()
		defer openFilesMu.Unlock()
		if f.n--; f.n == 0 {
			delete(openFiles, key)
		}
	}
}
