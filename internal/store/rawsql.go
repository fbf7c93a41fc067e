package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// querier runs hand-written SQL (with ? placeholders) on what a GORM
// handle reads through (the reader pool, the writer, or a transaction's
// *sql.Tx) and hands back the rows to scan by hand. The hot paths
// (scores, timelines, the relationship and membership checks in front of
// them, rollup refreshes) use it instead of GORM's builder and reflective
// scanning, which cost more than the statements themselves: see
// docs/performance.md. Statements are prepared once per connection by the
// drivers' caches (store.go), not here.
type querier struct {
	conn    gorm.ConnPool
	dialect Dialect
}

// querierFor is the querier that runs on what conn runs on.
func (db *DB) querierFor(conn *gorm.DB) querier {
	return querier{conn: conn.Statement.ConnPool, dialect: db.dialect}
}

// query runs s. On SQLite the context's cancellation is dropped once the
// statement starts (its values are kept): given a context that can be
// cancelled, database/sql starts a goroutine a query to watch it
// (Rows.awaitDone). A timeline runs seven statements of a few microseconds
// each; at full load those goroutines, queued ahead of the connections the
// network had readied, kept requests waiting to be scheduled
// (docs/performance.md). What is given up: a request whose client has
// gone stops at its next statement rather than inside one, and waiting
// for a reader connection is no longer cut short. The hand-written reads
// are short and bounded, and API reads on SQLite wait first in the read
// queue (one per CPU at a time by default, internal/httpapi/gate.go),
// where a request that has ended leaves. PostgreSQL keeps the
// cancellation: its statements cross a network.
func (q querier) query(ctx context.Context, s string, args ...any) (*sql.Rows, error) {
	if q.dialect == SQLite {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ctx = context.WithoutCancel(ctx)
	}
	return q.conn.QueryContext(ctx, reboundSQL(q.dialect, s, args), args...)
}

// execSQL runs a hand-written statement on conn (a transaction, or the
// writer).
func (db *DB) execSQL(ctx context.Context, conn *gorm.DB, q string, args ...any) error {
	_, err := db.execResult(ctx, conn, q, args...)
	return err
}

// execResult is execSQL with the statement's result.
func (db *DB) execResult(ctx context.Context, conn *gorm.DB, q string, args ...any) (sql.Result, error) {
	return conn.Statement.ConnPool.ExecContext(ctx, reboundSQL(db.dialect, q, args), args...)
}

// rebind writes a query's ? placeholders for the engine: $1, $2, … on
// PostgreSQL; on SQLite a cast to the argument's type, as the GORM
// dialector does (see sqliteDialector), so that SQLite does not prepare
// the statement again on every execution.
func rebind(d Dialect, q string, args []any) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(q, '?')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		b.WriteString(q[:i])
		q = q[i+1:]
		switch {
		case d == Postgres:
			b.WriteString("$" + strconv.Itoa(n+1))
		case n < len(args) && castType(args[n]) != "":
			b.WriteString("CAST(? AS " + castType(args[n]) + ")")
		default:
			b.WriteByte('?')
		}
		n++
	}
}

// rebound caches rebind's text per engine and query: a query's argument
// types are the same on every call, so the text made once fits them all.
// A plain map under a read lock: looking a string up in it allocates
// nothing, where a sync.Map boxes the key on every call.
var rebound = map[Dialect]*reboundCache{SQLite: {m: map[string]string{}}, Postgres: {m: map[string]string{}}}

type reboundCache struct {
	mu sync.RWMutex
	m  map[string]string
}

func reboundSQL(d Dialect, q string, args []any) string {
	c := rebound[d]
	c.mu.RLock()
	t, ok := c.m[q]
	c.mu.RUnlock()
	if ok {
		return t
	}
	t = rebind(d, q, args)
	c.mu.Lock()
	c.m[q] = t
	c.mu.Unlock()
	return t
}

// queryRow runs q on what conn reads through and scans its first row into
// dest; sql.ErrNoRows when there is none.
func (db *DB) queryRow(ctx context.Context, conn *gorm.DB, q string, args []any, dest ...any) error {
	found := false
	err := scanAll(ctx, db.querierFor(conn), func(rows *sql.Rows) error {
		if found {
			return nil
		}
		found = true
		return rows.Scan(dest...)
	}, q, args...)
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	return err
}

// scanAll runs q and calls scan for each row.
func scanAll(ctx context.Context, qr querier, scan func(*sql.Rows) error, q string, args ...any) error {
	rows, err := qr.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
