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

// sqlConn is what hand-written SQL runs on inside a GORM transaction:
// its *sql.Tx.
type sqlConn interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// rebound caches rebind's text per engine and query: the argument types
// of a query are the same on every call.
var rebound sync.Map // Dialect + query → text

func reboundSQL(d Dialect, q string, args []any) string {
	key := string(d) + "\x00" + q
	if t, ok := rebound.Load(key); ok {
		return t.(string)
	}
	t := rebind(d, q, args)
	rebound.Store(key, t)
	return t
}

// gormQuerier runs hand-written SQL inside a GORM transaction, on the
// transaction's own *sql.Tx: GORM's statement building would cost more
// than the statements (it binds, and casts, every value anew).
type gormQuerier struct {
	tx      *gorm.DB
	dialect Dialect
}

func (g gormQuerier) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if c, ok := g.tx.Statement.ConnPool.(sqlConn); ok {
		return c.QueryContext(ctx, reboundSQL(g.dialect, q, args), args...)
	}
	return g.tx.WithContext(ctx).Raw(q, args...).Rows()
}

// execSQL runs a hand-written statement on conn (a transaction, or the
// writer), as gormQuerier runs queries.
func (db *DB) execSQL(ctx context.Context, conn *gorm.DB, q string, args ...any) error {
	if c, ok := conn.Statement.ConnPool.(sqlConn); ok {
		_, err := c.ExecContext(ctx, reboundSQL(db.dialect, q, args), args...)
		return err
	}
	return conn.WithContext(ctx).Exec(q, args...).Error
}

// querierFor is the querier that reads what conn reads: the reader pool's
// prepared statements, or the transaction conn is.
func (db *DB) querierFor(conn *gorm.DB) querier {
	if conn == db.r && db.reads != nil {
		return db.reads
	}
	return gormQuerier{tx: conn, dialect: db.dialect}
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
