// Package store keeps troth's data in SQLite (the embedded default) or
// PostgreSQL, through GORM, and through hand-written prepared SQL on the
// hot read paths (rawsql.go). It owns the rows, their conversion to domain
// types, transactions, migrations and the translation of driver errors into
// fault errors. Nothing outside this package imports GORM.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune how a database is opened.
type Options struct {
	// SQLiteReaders is the size of the SQLite reader pool (default 8).
	SQLiteReaders int
	// SQLiteShared lets other processes open the SQLite database while this
	// one has it open. By default a process keeps the file to itself (the
	// "unix-excl" VFS): SQLite then coordinates its connections in memory
	// instead of taking file locks with a system call around every
	// statement, which costs more than most of our statements themselves
	// (docs/performance.md).
	SQLiteShared bool
	// PostgresMaxConns caps the PostgreSQL pool (default 20).
	PostgresMaxConns int
}

// DB is an open database: a writer and a reader handle. On SQLite the writer
// is one connection (SQLite has one writer at a time; queueing in Go is
// cheaper and fairer than busy-waiting in SQLite) and the readers a pool of
// read-only connections. On PostgreSQL both are the same pool.
type DB struct {
	dialect Dialect
	w, r    *gorm.DB
	sqlW    *sql.DB
	sqlR    *sql.DB
	batches *groupCommit // write transactions, committed in batches

	written    atomic.Pointer[chan struct{}] // wakes the webhook dispatcher (webhooks.go)
	successes  successBatch                  // PostgreSQL: webhook successes recorded together (webhooks.go)
	days       dayCache                      // rollup rows timelines read (daycache.go)
	live       liveAccounts                  // accounts found active (livecache.go)
	rels       *relCache                     // relationships as scores read them; nil but on SQLite held to itself (relcache.go)
	latest     *latestCache                  // the row and open count every score read starts from; likewise (latestcache.go)
	due        *dueCache                     // the projection's count of occurrences due; likewise (latestcache.go)
	stats      *atomic.Int64                 // SQLite: moves when Optimize changes the planner's statistics (readerConnector)
	unregister func()                        // SQLite: counts this close of the file (tablewatch.go)
}

// Open opens the database named by dsn: a postgres:// URL, or otherwise a
// SQLite file path (created if missing).
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.SQLiteReaders <= 0 {
		opt.SQLiteReaders = 8
	}
	if opt.PostgresMaxConns <= 0 {
		opt.PostgresMaxConns = 20
	}
	// Statements are cached by the drivers, per connection (mattn's
	// _stmt_cache_size, pgx's statement cache), not by GORM: GORM's
	// prepared statements, once prepared inside a transaction, belong to
	// it, and database/sql prepares them again in every later one; and
	// every write here runs in a transaction.
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		PrepareStmt:            false,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, cfg, opt)
	}
	return openSQLite(ctx, dsn, cfg, opt)
}

func openPostgres(ctx context.Context, dsn string, cfg *gorm.Config, opt Options) (*DB, error) {
	g, err := gorm.Open(postgres.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s, err := g.DB()
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(opt.PostgresMaxConns)
	s.SetMaxIdleConns(opt.PostgresMaxConns)
	s.SetConnMaxIdleTime(5 * time.Minute)
	if err := s.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	db := &DB{dialect: Postgres, w: g, r: g, sqlW: s, sqlR: s, days: newDayCache()}
	db.batches = newGroupCommit(g, nil, func(tx *gorm.DB) error { return db.serialize(context.Background(), tx, "transaction") })
	return db, nil
}

// sqliteDSN builds a mattn/go-sqlite3 DSN. busy_timeout comes first so that
// it applies while the other pragmas run. synchronous=FULL: in WAL mode an
// acknowledged commit then survives power loss, not only a process crash.
// Unless shared, the unix-excl VFS: the first connection takes an exclusive
// lock on the file for the life of the process, and the connections of the
// process share the WAL index in memory, without system locks.
func sqliteDSN(path string, readOnly, shared bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_stmt_cache_size", "256")
	q.Set("_synchronous", "FULL")
	if !shared {
		q.Set("vfs", "unix-excl")
	}
	if readOnly {
		q.Set("_query_only", "1")
		q.Set("_txlock", "deferred")
	} else {
		q.Set("_txlock", "immediate")
	}
	// url.Values.Encode sorts keys; _busy_timeout sorts first.
	base, extra, _ := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
	dsn := "file:" + base + "?" + q.Encode()
	if extra != "" {
		dsn += "&" + extra
	}
	return dsn
}

func openSQLite(ctx context.Context, path string, cfg *gorm.Config, opt Options) (*DB, error) {
	// The writer's statements do not watch their context (writerConn).
	watch := new(tableWatch)
	w, err := gorm.Open(newSQLiteDialector(sqliteDSN(path, false, opt.SQLiteShared),
		sql.OpenDB(writerConnector{dsn: sqliteDSN(path, false, opt.SQLiteShared), watch: watch})), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, lockedHint(err))
	}
	sw, err := w.DB()
	if err != nil {
		return nil, err
	}
	sw.SetMaxOpenConns(1)
	sw.SetMaxIdleConns(1)
	sw.SetConnMaxLifetime(0)
	sw.SetConnMaxIdleTime(0)
	// The writer creates the file and switches it to WAL before any reader opens it.
	if err := sw.PingContext(ctx); err != nil {
		sw.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, lockedHint(err))
	}
	stats := new(atomic.Int64)
	rdsn := sqliteDSN(path, true, opt.SQLiteShared)
	r, err := gorm.Open(newSQLiteDialector(rdsn, sql.OpenDB(readerConnector{dsn: rdsn, stats: stats})), cfg)
	if err != nil {
		sw.Close()
		return nil, fmt.Errorf("open sqlite readers %s: %w", path, err)
	}
	sr, err := r.DB()
	if err != nil {
		sw.Close()
		return nil, err
	}
	sr.SetMaxOpenConns(opt.SQLiteReaders)
	sr.SetMaxIdleConns(opt.SQLiteReaders)
	sr.SetConnMaxLifetime(0)
	db := &DB{dialect: SQLite, w: w, r: r, sqlW: sw, sqlR: sr, batches: newGroupCommit(w, sw, nil), days: newDayCache(), stats: stats}
	var file *openFile
	file, db.unregister = registerFile(path)
	db.live.on = !opt.SQLiteShared // held to itself: every deletion goes through this process
	db.live.file = file
	if !opt.SQLiteShared {
		db.rels = newRelCache(watch, file)
		db.latest = newLatestCache(watch, file)
		db.due = newDueCache(watch, file)
	}
	return db, nil
}

// lockedHint explains a SQLite "database is locked" on opening: most
// likely a running server holds the file to itself.
func lockedHint(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrBusy {
		return fmt.Errorf("%w: another process holds the database; a running troth serve keeps its SQLite "+
			"database to itself unless started with TROTH_SQLITE_SHARED=true: stop it, or restart it with that setting", err)
	}
	return err
}

// Dialect tells which engine this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sqlW.PingContext(ctx); err != nil {
		return err
	}
	return db.sqlR.PingContext(ctx)
}

// SQL returns the underlying writer and reader pools (the same on
// PostgreSQL), for metrics.
func (db *DB) SQL() (writer, reader *sql.DB) { return db.sqlW, db.sqlR }

// Close closes all connections.
func (db *DB) Close() error {
	if db.unregister != nil {
		db.unregister()
		db.unregister = nil
	}
	err := db.sqlW.Close()
	if db.sqlR != db.sqlW {
		err = errors.Join(err, db.sqlR.Close())
	}
	return err
}

// inTx runs fn in a write transaction, in a savepoint of a transaction
// shared with the writes queued at the same time (groupCommit). Write
// transactions run one at a time: on SQLite there is one writer; on
// PostgreSQL each batch first takes the write lock (serialize), which
// orders batches across instances too. A write reads what it changes and
// decides from it (a status, a member list, settings, the rows a rollup
// refresh adds to); under READ COMMITTED two such transactions at once
// would each decide from a state the other is about to change.
func (db *DB) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.batches.do(ctx, fn)
}

// inSQLTx is inTx for work that hands the transaction to River, which
// takes it as a *sql.Tx (sqlTx).
func (db *DB) inSQLTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.batches.doSQLTx(ctx, fn)
}

// inTxOr runs fn in conn when conn is already a transaction, otherwise in a
// new write transaction.
func (db *DB) inTxOr(ctx context.Context, conn *gorm.DB, fn func(tx *gorm.DB) error) error {
	if conn != db.w && conn != db.r {
		return fn(conn.WithContext(ctx))
	}
	return db.inTx(ctx, fn)
}

// Optimize refreshes the query planner's statistics where the engine does
// not do it by itself: SQLite's PRAGMA optimize (PostgreSQL's autovacuum
// analyzes on its own). Without statistics SQLite can pick an index that
// walks a member's whole history.
//
// SQLite analyzes a table again once its size has changed manyfold since
// the last time (0x10000: every table, not only those this connection
// used). The writer plans with the new statistics at once; the readers
// are opened again (readerConnector).
func (db *DB) Optimize(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	// 0x1 lists what the pragma would do, without doing it.
	var todo []string
	err := scanAll(ctx, querier{conn: db.sqlW, dialect: SQLite}, func(rows *sql.Rows) error {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		todo = append(todo, s)
		return nil
	}, "PRAGMA optimize=0x10003")
	if err != nil || len(todo) == 0 {
		return err
	}
	if _, err := db.sqlW.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		return err
	}
	db.statisticsChanged()
	return nil
}

// statisticsChanged retires the readers opened before the planner's
// statistics changed: the idle ones close now, the ones in use as they
// come back (readerConn.IsValid).
func (db *DB) statisticsChanged() {
	db.stats.Add(1)
	n := db.sqlR.Stats().MaxOpenConnections
	db.sqlR.SetMaxIdleConns(0)
	db.sqlR.SetMaxIdleConns(n)
}
