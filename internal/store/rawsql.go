package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// querier runs hand-written SQL (with ? placeholders) and hands back the
// rows to scan by hand. The hot read paths (scores, timelines, the
// relationship and membership checks in front of them) use it instead of
// GORM's builder and reflective scanning, which cost more than the
// queries themselves: see docs/performance.md.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// stmts is a querier over a connection pool that prepares each query once
// and keeps it: database/sql prepares it again on each connection that
// runs it, and closes it with the pool.
type stmts struct {
	db      *sql.DB
	dialect Dialect
	mu      sync.Mutex
	m       sync.Map // query text → *sql.Stmt
}

func newStmts(db *sql.DB, d Dialect) *stmts { return &stmts{db: db, dialect: d} }

func (s *stmts) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *stmts) stmt(ctx context.Context, q string, args []any) (*sql.Stmt, error) {
	if st, ok := s.m.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, rebind(s.dialect, q, args))
	if err != nil {
		return nil, err
	}
	s.m.Store(q, st)
	return st, nil
}

// rebind writes a query's ? placeholders for the engine: $1, $2, … on
// PostgreSQL; on SQLite a cast to the argument's type, as the GORM
// dialector does (see sqliteDialector), so that SQLite does not prepare
// the statement again on every execution. A query's argument types are
// the same on every call, so the text prepared once fits them all.
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

// gormQuerier runs hand-written SQL inside a GORM transaction.
type gormQuerier struct{ tx *gorm.DB }

func (g gormQuerier) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return g.tx.WithContext(ctx).Raw(q, args...).Rows()
}

// querierFor is the querier that reads what conn reads: the reader pool's
// prepared statements, or the transaction conn is.
func (db *DB) querierFor(conn *gorm.DB) querier {
	if conn == db.r && db.reads != nil {
		return db.reads
	}
	return gormQuerier{conn}
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
