package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// groupCommit runs the write transactions of concurrent requests as
// batches, one at a time: one transaction (BEGIN IMMEDIATE on SQLite's one
// writer connection; on PostgreSQL one of the pool's, which first takes
// the write lock), each request's work inside a savepoint of its own, one
// COMMIT (one fsync) for all of them. A request whose work fails is rolled
// back to its savepoint and the batch goes on; a batch whose commit fails
// fails every request in it. A request is answered only after the commit
// that holds its work, so nothing acknowledged is lost. A request's work
// runs to its end even if its client goes away meanwhile (its context's
// cancellation is not passed on, uncancelledTx): a cancelled statement
// would end the PostgreSQL connection, and with it the batch.
//
// There is no goroutine of its own: the first request to find the writer
// idle leads a batch of everything queued, then hands the lead to the
// first request that queued meanwhile.
//
// On SQLite a batch runs on the writer's connection taken as a *sql.Conn,
// with BEGIN IMMEDIATE and COMMIT of its own, rather than as a *sql.Tx:
// database/sql starts a goroutine for every query in a *sql.Tx to watch
// the transaction's context (Rows.awaitDone; a transaction's context can
// always be cancelled), and a follow-through reads five times in the
// batch's serial path. A batch holding work that needs the *sql.Tx itself
// (River enqueues its jobs through one: doSQLTx) runs as one.
type groupCommit struct {
	w        *gorm.DB
	conns    *sql.DB // SQLite: the writer's pool, whose one connection runs a batch; nil: batches run as a *sql.Tx
	maxBatch int
	first    func(tx *gorm.DB) error // run first in every batch, if set

	mu    sync.Mutex
	queue []*txReq
	busy  bool // a leader is running a batch
}

type txReq struct {
	ctx      context.Context
	fn       func(tx *gorm.DB) error
	sqlTx    bool // fn needs the batch to be a *sql.Tx
	err      error
	panicked bool
	panicVal any
	lead     chan struct{} // this request is to lead the next batch
	done     chan struct{} // its batch is over
}

// newGroupCommit runs batches on w; on conns' one connection when conns is
// not nil (SQLite), else as a *sql.Tx of w.
func newGroupCommit(w *gorm.DB, conns *sql.DB, first func(tx *gorm.DB) error) *groupCommit {
	return &groupCommit{w: w, conns: conns, maxBatch: 64, first: first}
}

// do runs fn in a write transaction shared with the other requests of its
// batch, and returns once that transaction has committed or failed.
func (g *groupCommit) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return g.submit(&txReq{ctx: ctx, fn: fn})
}

// doSQLTx is do for work that needs the *sql.Tx behind tx (sqlTx): its
// batch runs as one.
func (g *groupCommit) doSQLTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return g.submit(&txReq{ctx: ctx, fn: fn, sqlTx: true})
}

func (g *groupCommit) submit(r *txReq) error {
	r.lead, r.done = make(chan struct{}, 1), make(chan struct{})
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if !g.busy {
		g.busy = true
		r.lead <- struct{}{}
	}
	g.mu.Unlock()
	select {
	case <-r.done:
	case <-r.lead:
		g.lead()
		<-r.done
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// lead runs a batch of what is queued (the leader's own request among
// them), then hands the lead to the oldest request still queued, even if
// the batch panicked.
func (g *groupCommit) lead() {
	g.mu.Lock()
	n := min(len(g.queue), g.maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.queue) > 0 {
			g.queue[0].lead <- struct{}{}
		} else {
			g.busy, g.queue = false, nil
		}
	}()
	g.run(batch)
}

// run runs one batch and closes every request's done.
func (g *groupCommit) run(batch []*txReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	// The transaction outlives any one request's context.
	b, err := g.begin(batch)
	if err != nil {
		fail(batch, err)
		return
	}
	if g.first != nil {
		if err := g.first(b.tx); err != nil {
			b.rollback()
			fail(batch, err)
			return
		}
	}
	// The savepoint statements are prepared once a batch: mattn runs a
	// statement without arguments through sqlite3_exec, which compiles it
	// again on every call.
	sp, err := prepareSavepoints(b.prep)
	if err != nil {
		b.rollback()
		fail(batch, err)
		return
	}
	defer sp.close()
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := sp.begin.Exec(); err != nil {
			b.rollback()
			fail(batch, err)
			return
		}
		r.call(uncancelledTx(r.ctx, b.tx))
		if r.err == nil && !r.panicked {
			// On PostgreSQL a statement that failed, even one whose error
			// the work handled, leaves the transaction refusing any other:
			// the release fails, and this request alone is undone.
			_, err := sp.release.Exec()
			if err == nil {
				continue
			}
			r.err = err
		}
		if _, err := sp.rollback.Exec(); err != nil {
			b.rollback()
			fail(batch, err)
			return
		}
		if _, err := sp.release.Exec(); err != nil {
			b.rollback()
			fail(batch, err)
			return
		}
	}
	sp.close() // while the connection is still the batch's
	if err := b.commit(); err != nil {
		fail(batch, err)
	}
}

// batchTx is a batch's transaction: a *sql.Tx, or SQLite's writer
// connection between a BEGIN IMMEDIATE and a COMMIT or ROLLBACK.
type batchTx struct {
	tx       *gorm.DB // the transaction as the requests' work sees it
	prep     preparer
	commit   func() error
	rollback func()
}

type preparer interface {
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

// begin starts a batch's transaction.
func (g *groupCommit) begin(batch []*txReq) (*batchTx, error) {
	if g.conns == nil || slices.ContainsFunc(batch, func(r *txReq) bool { return r.sqlTx }) {
		tx := g.w.WithContext(context.Background()).Begin()
		if tx.Error != nil {
			return nil, tx.Error
		}
		sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			tx.Rollback()
			return nil, fmt.Errorf("group commit: transaction is a %T", tx.Statement.ConnPool)
		}
		return &batchTx{tx: tx, prep: sqlTx, commit: func() error { return tx.Commit().Error }, rollback: func() { tx.Rollback() }}, nil
	}
	bg := context.Background()
	conn, err := g.conns.Conn(bg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		conn.Close()
		return nil, err
	}
	tx := g.w.WithContext(bg) // a Statement of its own
	tx.Statement.ConnPool = conn
	return &batchTx{
		tx:   tx,
		prep: conn,
		commit: func() error {
			defer conn.Close()
			if _, err := conn.ExecContext(bg, "COMMIT"); err != nil {
				// SQLite may leave the transaction open when a COMMIT
				// fails; none of it is to stay.
				_, _ = conn.ExecContext(bg, "ROLLBACK")
				return err
			}
			return nil
		},
		rollback: func() {
			_, _ = conn.ExecContext(bg, "ROLLBACK")
			conn.Close()
		},
	}, nil
}

// uncancelledTx is the batch's transaction as one request's work sees it:
// with the request's context (its values: the request id in logs), whose
// cancellation no statement passes on, whatever context the store method
// hands the statement. pgx ends the connection when a statement's context
// is cancelled, and with it the batch: every other request in it would
// fail (on SQLite, writerConn already ignores cancellation).
func uncancelledTx(ctx context.Context, tx *gorm.DB) *gorm.DB {
	rtx := tx.WithContext(context.WithoutCancel(ctx)) // a Statement of its own
	rtx.Statement.ConnPool = uncancelled{rtx.Statement.ConnPool}
	return rtx
}

// uncancelled is a batch's transaction (a *sql.Tx or a *sql.Conn) whose
// statements ignore their context's cancellation (see uncancelledTx). It
// offers the four methods of gorm.ConnPool alone: no Commit or Rollback,
// so that GORM cannot end the batch.
type uncancelled struct{ gorm.ConnPool }

func (u uncancelled) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return u.ConnPool.PrepareContext(context.WithoutCancel(ctx), q)
}

func (u uncancelled) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return u.ConnPool.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return u.ConnPool.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return u.ConnPool.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// savepointStmts are a batch's prepared SAVEPOINT, ROLLBACK TO and RELEASE.
type savepointStmts struct{ begin, rollback, release *sql.Stmt }

func prepareSavepoints(p preparer) (*savepointStmts, error) {
	var sp savepointStmts
	for _, x := range []struct {
		stmt **sql.Stmt
		q    string
	}{{&sp.begin, "SAVEPOINT request"}, {&sp.rollback, "ROLLBACK TO SAVEPOINT request"}, {&sp.release, "RELEASE SAVEPOINT request"}} {
		st, err := p.PrepareContext(context.Background(), x.q)
		if err != nil {
			sp.close()
			return nil, err
		}
		*x.stmt = st
	}
	return &sp, nil
}

func (sp *savepointStmts) close() {
	for _, st := range []*sql.Stmt{sp.begin, sp.rollback, sp.release} {
		if st != nil {
			st.Close()
		}
	}
}

// call runs the request's work, turning a panic into a value the request
// panics with again in its own goroutine.
func (r *txReq) call(tx *gorm.DB) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked, r.panicVal = true, v
		}
	}()
	r.err = r.fn(tx)
}

// fail gives err to every request of a batch that has not failed already:
// none of its work was committed.
func fail(batch []*txReq, err error) {
	for _, r := range batch {
		if r.err == nil && !r.panicked {
			r.err = fmt.Errorf("commit: %w", err)
		}
	}
}
