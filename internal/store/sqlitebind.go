package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// sqliteDialector is GORM's SQLite dialector with one change: bound values
// of the plain scalar types are written as CAST(? AS type) rather than a
// bare ?.
//
// Why: when a statement has a bare parameter in an equality term and an
// ORDER BY or LIMIT, SQLite's planner peeks at the bound value and marks
// the statement to be prepared again whenever that parameter is bound
// anew (sqlite3VdbeReprepareOnBind). mattn/go-sqlite3 clears the bindings
// before every execution, so such a statement, though cached, is parsed
// and planned again on every query: 40-50 µs for a rollup lookup that
// costs 8 µs without it (internal/store/bench_test.go,
// BenchmarkReprepare). A cast hides the parameter from that peek and
// changes nothing else: the values are already of the type cast to, and
// the comparison affinity is the column's either way.
type sqliteDialector struct{ *sqlite.Dialector }

// newSQLiteDialector opens dsn, or uses conn when it is not nil.
func newSQLiteDialector(dsn string, conn *sql.DB) gorm.Dialector {
	d := &sqlite.Dialector{DSN: dsn}
	if conn != nil {
		d.Conn = conn
	}
	return sqliteDialector{Dialector: d}
}

// writerConnector opens the writer's connection as a writerConn, with
// temp_store = MEMORY: the group commit gives each request a SAVEPOINT,
// and SQLite keeps the pages a savepoint changes in a statement journal
// that spills into a temporary file past 64 KiB unless temporary storage
// is memory. A batch of writes passed that at once, and every page then
// cost a write system call (BenchmarkFollowThrough: 850-900k to 645-690k
// CPU ns per write).
type writerConnector struct {
	dsn   string
	watch *tableWatch
}

func (c writerConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc := conn.(*sqlite3.SQLiteConn)
	if _, err := sc.Exec("PRAGMA temp_store = MEMORY", nil); err != nil {
		sc.Close()
		return nil, err
	}
	c.watch.hook(sc)
	return writerConn{sc, c.watch}, nil
}

func (writerConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// readerConnector opens the readers' connections. A connection plans its
// statements with the statistics it read when it opened: ANALYZE on the
// writer (Optimize) changes what the writer plans with, but another
// connection reads sqlite_stat1 again only when the schema changes, and a
// reader (query_only) may not run the ANALYZE sqlite_schema that would
// make it. So a reader opened before the statistics last changed is closed
// when it is next put back in the pool (IsValid), and Optimize closes the
// idle ones; new ones take their places. (Not through
// driver.SessionResetter: an ErrBadConn from a pooled connection can reach
// a caller when the pool is full.)
type readerConnector struct {
	dsn   string
	stats *atomic.Int64 // generation of the statistics; DB.stats
}

func (c readerConnector) Connect(context.Context) (driver.Conn, error) {
	gen := c.stats.Load() // before the open: a change during it closes the connection at once
	conn, err := (&sqlite3.SQLiteDriver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &readerConn{conn.(*sqlite3.SQLiteConn), c.stats, gen}, nil
}

func (readerConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// readerConn is a reader's connection, valid while the statistics it read
// are the latest (driver.Validator).
type readerConn struct {
	*sqlite3.SQLiteConn
	stats *atomic.Int64
	gen   int64
}

func (c *readerConn) IsValid() bool { return c.gen == c.stats.Load() }

// writerConn is a mattn/go-sqlite3 connection whose statements ignore the
// cancellation of their context. Given a context that can be cancelled,
// mattn runs every Exec (BEGIN, SAVEPOINT, each INSERT and UPDATE) on a
// goroutine of its own and waits for it on a channel, to be able to
// interrupt it: two goroutine switches a statement, in the serial path of
// every write (the group commit runs a batch's statements one after the
// other on this one connection). Statements on the writer are short and a
// batch must not be cut short by one request's client going away (the
// group commit skips a request whose context has ended before its turn,
// and a transaction rolls back when its own context ends). Values of the context (the request id
// in logs) are kept.
//
// It also settles the tables readers keep copies of (tableWatch) after
// every call that may end a transaction, and when rows close: a write
// through QueryContext (RETURNING) ends only then.
type writerConn struct {
	*sqlite3.SQLiteConn
	watch *tableWatch
}

func (c writerConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.SQLiteConn.ExecContext(context.WithoutCancel(ctx), q, args)
	c.watch.settle(c.SQLiteConn)
	return res, err
}

func (c writerConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.watchRows(c.SQLiteConn.QueryContext(context.WithoutCancel(ctx), q, args))
}

func (c writerConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.SQLiteConn.PrepareContext(ctx, q)
	if s, ok := st.(*sqlite3.SQLiteStmt); ok && err == nil {
		return watchedStmt{s, c}, nil
	}
	return st, err
}

func (c writerConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.SQLiteConn.BeginTx(context.WithoutCancel(ctx), opts)
	if err != nil {
		return tx, err
	}
	return watchedTx{tx, c}, nil
}

// BindVarTo implements gorm.Dialector.
func (sqliteDialector) BindVarTo(w clause.Writer, _ *gorm.Statement, v any) {
	if t := castType(v); t != "" {
		w.WriteString("CAST(? AS " + t + ")")
		return
	}
	w.WriteByte('?')
}

// castType is the SQLite type a bound value is cast to, or "" to leave it
// bare (NULLs, pointers and anything else GORM binds).
func castType(v any) string {
	switch v.(type) {
	case string:
		return "TEXT"
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return "INTEGER"
	case float32, float64:
		return "REAL"
	case []byte:
		return "BLOB"
	}
	return ""
}
