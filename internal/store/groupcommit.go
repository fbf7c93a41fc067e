package store

import (
	"context"
	"database/sql"
	"fmt"
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
type groupCommit struct {
	w        *gorm.DB
	maxBatch int
	first    func(tx *gorm.DB) error // run first in every batch, if set

	mu    sync.Mutex
	queue []*txReq
	busy  bool // a leader is running a batch
}

type txReq struct {
	ctx      context.Context
	fn       func(tx *gorm.DB) error
	err      error
	panicked bool
	panicVal any
	lead     chan struct{} // this request is to lead the next batch
	done     chan struct{} // its batch is over
}

func newGroupCommit(w *gorm.DB, first func(tx *gorm.DB) error) *groupCommit {
	return &groupCommit{w: w, maxBatch: 64, first: first}
}

// do runs fn in a write transaction shared with the other requests of its
// batch, and returns once that transaction has committed or failed.
func (g *groupCommit) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	r := &txReq{ctx: ctx, fn: fn, lead: make(chan struct{}, 1), done: make(chan struct{})}
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
	tx := g.w.WithContext(context.Background()).Begin()
	if tx.Error != nil {
		fail(batch, tx.Error)
		return
	}
	if g.first != nil {
		if err := g.first(tx); err != nil {
			tx.Rollback()
			fail(batch, err)
			return
		}
	}
	// The savepoint statements are prepared once a batch: mattn runs a
	// statement without arguments through sqlite3_exec, which compiles it
	// again on every call.
	sp, err := g.savepoints(tx)
	if err != nil {
		tx.Rollback()
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
			tx.Rollback()
			fail(batch, err)
			return
		}
		r.call(uncancelledTx(r.ctx, tx))
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
			tx.Rollback()
			fail(batch, err)
			return
		}
		if _, err := sp.release.Exec(); err != nil {
			tx.Rollback()
			fail(batch, err)
			return
		}
	}
	if err := tx.Commit().Error; err != nil {
		fail(batch, err)
	}
}

// uncancelledTx is the batch's transaction as one request's work sees it:
// with the request's context (its values: the request id in logs), whose
// cancellation no statement passes on, whatever context the store method
// hands the statement. pgx ends the connection when a statement's context
// is cancelled, and with it the batch: every other request in it would
// fail (on SQLite, writerConn already ignores cancellation).
func uncancelledTx(ctx context.Context, tx *gorm.DB) *gorm.DB {
	rtx := tx.WithContext(context.WithoutCancel(ctx)) // a Statement of its own
	if sqlTx, ok := rtx.Statement.ConnPool.(*sql.Tx); ok {
		rtx.Statement.ConnPool = uncancelled{sqlTx}
	}
	return rtx
}

// uncancelled is a *sql.Tx whose statements ignore their context's
// cancellation (see uncancelledTx).
type uncancelled struct{ *sql.Tx }

func (u uncancelled) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return u.Tx.PrepareContext(context.WithoutCancel(ctx), q)
}

func (u uncancelled) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return u.Tx.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return u.Tx.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return u.Tx.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// savepointStmts are a batch's prepared SAVEPOINT, ROLLBACK TO and RELEASE.
type savepointStmts struct{ begin, rollback, release *sql.Stmt }

func (g *groupCommit) savepoints(tx *gorm.DB) (*savepointStmts, error) {
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("group commit: transaction is a %T", tx.Statement.ConnPool)
	}
	var sp savepointStmts
	for _, x := range []struct {
		stmt **sql.Stmt
		q    string
	}{{&sp.begin, "SAVEPOINT request"}, {&sp.rollback, "ROLLBACK TO SAVEPOINT request"}, {&sp.release, "RELEASE SAVEPOINT request"}} {
		st, err := sqlTx.Prepare(x.q)
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
