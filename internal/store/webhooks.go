package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/webhook"
)

type endpointRow struct {
	ID                string `gorm:"primaryKey"`
	OwnerID           string
	URL               string `gorm:"column:url"`
	EventTypes        string
	Description       string
	Secret            string
	PreviousSecret    *string
	PreviousExpiresAt *int64
	DisabledAt        *int64
	DisabledReason    *string
	FailingSince      *int64
	FromSeq           int64
	CreatedAt         int64 `gorm:"autoCreateTime:false"`
	UpdatedAt         int64 `gorm:"autoUpdateTime:false"`
}

func (endpointRow) TableName() string { return "webhook_endpoints" }

type deliveryRow struct {
	ID            string `gorm:"primaryKey"`
	EndpointID    string
	OwnerID       string
	EventID       string
	EventType     string
	Status        string
	Attempt       int
	ResponseCode  *int
	ResponseBody  *string
	DurationMS    *int64 `gorm:"column:duration_ms"`
	Error         *string
	NextAttemptAt *int64
	CreatedAt     int64 `gorm:"autoCreateTime:false"`
	CompletedAt   *int64
}

func (deliveryRow) TableName() string { return "webhook_deliveries" }

func fromEndpoint(e webhook.Endpoint) endpointRow {
	return endpointRow{
		ID: e.ID, OwnerID: e.OwnerID, URL: e.URL, EventTypes: strings.Join(e.EventTypes, " "), Description: e.Description,
		Secret: e.Secret, PreviousSecret: nullable(e.PreviousSecret), PreviousExpiresAt: microsPtr(e.PreviousExpiresAt),
		DisabledAt: microsPtr(e.DisabledAt), DisabledReason: nullable(e.DisabledReason), FailingSince: microsPtr(e.FailingSince),
		CreatedAt: micros(e.CreatedAt), UpdatedAt: micros(e.UpdatedAt),
	}
}

func toEndpoint(r endpointRow) webhook.Endpoint {
	return webhook.Endpoint{
		ID: r.ID, OwnerID: r.OwnerID, URL: r.URL, EventTypes: strings.Fields(r.EventTypes), Description: r.Description,
		Secret: r.Secret, PreviousSecret: deref(r.PreviousSecret), PreviousExpiresAt: fromMicrosPtr(r.PreviousExpiresAt),
		DisabledAt: fromMicrosPtr(r.DisabledAt), DisabledReason: deref(r.DisabledReason), FailingSince: fromMicrosPtr(r.FailingSince),
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

func fromDelivery(d webhook.Delivery) deliveryRow {
	return deliveryRow{
		ID: d.ID, EndpointID: d.EndpointID, OwnerID: d.OwnerID, EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		Attempt: d.Attempt, ResponseCode: d.ResponseCode, ResponseBody: d.ResponseBody, DurationMS: d.DurationMS, Error: d.Error,
		NextAttemptAt: microsPtr(d.NextAttemptAt), CreatedAt: micros(d.CreatedAt), CompletedAt: microsPtr(d.CompletedAt),
	}
}

func toDelivery(r deliveryRow) webhook.Delivery {
	return webhook.Delivery{
		ID: r.ID, EndpointID: r.EndpointID, OwnerID: r.OwnerID, EventID: r.EventID, EventType: r.EventType, Status: r.Status,
		Attempt: r.Attempt, ResponseCode: r.ResponseCode, ResponseBody: r.ResponseBody, DurationMS: r.DurationMS, Error: r.Error,
		NextAttemptAt: fromMicrosPtr(r.NextAttemptAt), CreatedAt: fromMicros(r.CreatedAt), CompletedAt: fromMicrosPtr(r.CompletedAt),
	}
}

// sqlTx returns the *sql.Tx behind a GORM transaction, for River.
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	switch p := tx.Statement.ConnPool.(type) {
	case *sql.Tx:
		return p, nil
	case uncancelled:
		if t, ok := p.ConnPool.(*sql.Tx); ok {
			return t, nil
		}
	case *gorm.PreparedStmtTX:
		if t, ok := p.Tx.(*sql.Tx); ok {
			return t, nil
		}
	}
	return nil, fmt.Errorf("transaction pool is %T, not *sql.Tx", tx.Statement.ConnPool)
}

func enqueueIn(ctx context.Context, tx *gorm.DB, enqueue webhook.Enqueue, jobs []webhook.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	t, err := sqlTx(tx)
	if err != nil {
		return err
	}
	// River runs its inserts on the *sql.Tx itself: without the
	// cancellation, as every statement of a group commit's batch.
	if err := enqueue(context.WithoutCancel(ctx), t, jobs); err != nil {
		return fmt.Errorf("enqueue %d delivery jobs: %w", len(jobs), err)
	}
	return nil
}

// Webhooks keeps webhook endpoints and deliveries.
type Webhooks struct{ db *DB }

// Webhooks returns the webhook store.
func (db *DB) Webhooks() *Webhooks { return &Webhooks{db: db} }

var _ webhook.Store = (*Webhooks)(nil)

// CreateEndpoint stores a new endpoint, which receives the events
// committed after it.
func (s *Webhooks) CreateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	row := fromEndpoint(e)
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw("SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&row.FromSeq).Error; err != nil {
			return err
		}
		// With no endpoint, the dispatcher leaves its cursor where it is
		// (Dispatch). The first one moves it to where the endpoint
		// starts: nothing before could be delivered to anyone, and the
		// dispatcher need not walk the events in between.
		err := tx.Exec(`UPDATE webhook_dispatch SET last_seq = ? WHERE id = 1 AND last_seq < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_endpoints)`, row.FromSeq, row.FromSeq).Error
		if err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	return translate(err, "webhook")
}

// Endpoint returns one of the owner's endpoints.
func (s *Webhooks) Endpoint(ctx context.Context, ownerID, id string) (webhook.Endpoint, error) {
	var row endpointRow
	err := s.db.r.WithContext(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Take(&row).Error
	if err != nil {
		return webhook.Endpoint{}, translate(err, "webhook")
	}
	return toEndpoint(row), nil
}

// Endpoints lists the owner's endpoints by id after p.After.
func (s *Webhooks) Endpoints(ctx context.Context, ownerID string, p page.Request) ([]webhook.Endpoint, error) {
	q := s.db.r.WithContext(ctx).Where("owner_id = ?", ownerID)
	if len(p.After) == 1 {
		q = q.Where("id > ?", p.After[0])
	}
	var rows []endpointRow
	if err := q.Order("id").Limit(p.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "webhook")
	}
	out := make([]webhook.Endpoint, len(rows))
	for i, r := range rows {
		out[i] = toEndpoint(r)
	}
	return out, nil
}

// UpdateEndpoint writes every mutable field of an endpoint if it is still
// as the caller read it (was): the same updated_at, and the same
// failing_since, which deliveries set and clear without touching
// updated_at.
func (s *Webhooks) UpdateEndpoint(ctx context.Context, e, was webhook.Endpoint) (bool, error) {
	r := fromEndpoint(e)
	q := s.db.w.WithContext(ctx).Model(&endpointRow{}).Where("id = ? AND owner_id = ? AND updated_at = ?", e.ID, e.OwnerID, micros(was.UpdatedAt))
	if was.FailingSince == nil {
		q = q.Where("failing_since IS NULL")
	} else {
		q = q.Where("failing_since = ?", micros(*was.FailingSince))
	}
	res := q.Updates(map[string]any{
		"url": r.URL, "event_types": r.EventTypes, "description": r.Description, "secret": r.Secret,
		"previous_secret": r.PreviousSecret, "previous_expires_at": r.PreviousExpiresAt, "disabled_at": r.DisabledAt,
		"disabled_reason": r.DisabledReason, "failing_since": r.FailingSince, "updated_at": r.UpdatedAt,
	})
	if res.Error != nil {
		return false, translate(res.Error, "webhook")
	}
	return res.RowsAffected > 0, nil
}

// DeleteEndpoint deletes an endpoint and, by cascade, its deliveries.
func (s *Webhooks) DeleteEndpoint(ctx context.Context, ownerID, id string) error {
	res := s.db.w.WithContext(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Delete(&endpointRow{})
	if res.Error != nil {
		return translate(res.Error, "webhook")
	}
	if res.RowsAffected == 0 {
		return fault.NotFound("webhook")
	}
	return nil
}

// Ping records the ping event, its delivery and its job in one transaction.
func (s *Webhooks) Ping(ctx context.Context, ev event.Event, data any, d webhook.Delivery, enqueue webhook.Enqueue) error {
	err := s.db.inSQLTx(ctx, func(tx *gorm.DB) error {
		row := fromDelivery(d)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := enqueueIn(ctx, tx, enqueue, []webhook.Job{{DeliveryID: d.ID, Attempt: 1}}); err != nil {
			return err
		}
		return s.db.emit(ctx, tx, ev, data)
	})
	return translate(err, "webhook delivery")
}

// Redeliver records a new delivery of an event still retained, and its job.
func (s *Webhooks) Redeliver(ctx context.Context, d webhook.Delivery, enqueue webhook.Enqueue) error {
	err := s.db.inSQLTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&eventRow{}).Where("id = ?", d.EventID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.KindGone, "event_expired", "the event is past retention and cannot be delivered again")
		}
		row := fromDelivery(d)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return enqueueIn(ctx, tx, enqueue, []webhook.Job{{DeliveryID: d.ID, Attempt: 1}})
	})
	return translate(err, "webhook delivery")
}

// Visible reports whether the user may see the event now: it belongs to
// no relationship, or they are a current member of its relationship. An
// event past retention counts as visible.
func (s *Webhooks) Visible(ctx context.Context, userID, eventID string) (bool, error) {
	r := s.db.r.WithContext(ctx)
	var rel *string
	err := s.db.queryRow(ctx, r, `SELECT relationship_id FROM events WHERE id = ?`, []any{eventID}, &rel)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && rel == nil) {
		return true, nil
	}
	if err != nil {
		return false, translate(err, "event")
	}
	return s.member(ctx, r, *rel, userID)
}

// member reports whether the user is a current member of the relationship
// (Relationships.Membership).
func (s *Webhooks) member(ctx context.Context, r *gorm.DB, relID, userID string) (bool, error) {
	_, err := (&Relationships{db: s.db, w: r, r: r}).Membership(ctx, relID, userID)
	if fault.Is(err, "not_found") {
		return false, nil
	}
	return err == nil, err
}

// Deliveries lists an endpoint's deliveries, newest first, before p.After.
func (s *Webhooks) Deliveries(ctx context.Context, endpointID string, p page.Request) ([]webhook.Delivery, error) {
	q := s.db.r.WithContext(ctx).Where("endpoint_id = ?", endpointID)
	if len(p.After) == 1 {
		q = q.Where("id < ?", p.After[0])
	}
	var rows []deliveryRow
	if err := q.Order("id DESC").Limit(p.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "webhook delivery")
	}
	out := make([]webhook.Delivery, len(rows))
	for i, r := range rows {
		out[i] = toDelivery(r)
	}
	return out, nil
}

// Delivery returns one delivery of an endpoint.
func (s *Webhooks) Delivery(ctx context.Context, endpointID, id string) (webhook.Delivery, error) {
	var row deliveryRow
	if err := s.db.r.WithContext(ctx).Where("id = ? AND endpoint_id = ?", id, endpointID).Take(&row).Error; err != nil {
		return webhook.Delivery{}, translate(err, "webhook delivery")
	}
	return toDelivery(row), nil
}

// The columns an attempt reads, for hand-written SQL.
const (
	deliveryColumns = `d.id, d.endpoint_id, d.owner_id, d.event_id, d.event_type, d.status, d.attempt, d.response_code,
	d.response_body, d.duration_ms, d.error, d.next_attempt_at, d.created_at, d.completed_at`
	endpointColumns = `w.id, w.owner_id, w.url, w.event_types, w.description, w.secret, w.previous_secret,
	w.previous_expires_at, w.disabled_at, w.disabled_reason, w.failing_since, w.from_seq, w.created_at, w.updated_at`
	eventColumns = `e.seq, e.id, e.type, e.relationship_id, e.user_id, e.actor_id, e.data, e.created_at`
)

// workPostgres reads a delivery, its endpoint and its event (absent once
// retention has removed it) in one statement: one round trip. SQLite reads
// them one table at a time: a round trip costs it nothing, and its planner,
// with statistics gathered when the tables were small (PRAGMA optimize at
// start), scans a table of a join where a lookup by key alone uses the
// index (events scanned for every attempt: deliveries fell from 1,400/s to
// 290/s in the harness).
const workPostgres = `SELECT ` + deliveryColumns + `, ` + endpointColumns + `, ` + eventColumns + `,
	(e.relationship_id IS NULL OR EXISTS (SELECT 1 FROM relationship_members m
		WHERE m.relationship_id = e.relationship_id AND m.user_id = w.owner_id AND m.left_at IS NULL))
FROM webhook_deliveries d
JOIN webhook_endpoints w ON w.id = d.endpoint_id
LEFT JOIN events e ON e.id = d.event_id
WHERE d.id = ?`

// workEvent holds an event's columns, all NULL when the event is gone.
type workEvent struct {
	Seq, CreatedAt                                  *int64
	ID, Type, ActorID, Data, RelationshipID, UserID *string
}

func (ev *workEvent) dest() []any {
	return []any{&ev.Seq, &ev.ID, &ev.Type, &ev.RelationshipID, &ev.UserID, &ev.ActorID, &ev.Data, &ev.CreatedAt}
}

// Work loads a delivery with its endpoint and event; the event is zero
// when retention has removed it.
func (s *Webhooks) Work(ctx context.Context, deliveryID string) (webhook.Work, error) {
	var (
		d  deliveryRow
		e  endpointRow
		ev workEvent
	)
	dd := []any{&d.ID, &d.EndpointID, &d.OwnerID, &d.EventID, &d.EventType, &d.Status, &d.Attempt, &d.ResponseCode,
		&d.ResponseBody, &d.DurationMS, &d.Error, &d.NextAttemptAt, &d.CreatedAt, &d.CompletedAt}
	ed := []any{&e.ID, &e.OwnerID, &e.URL, &e.EventTypes, &e.Description, &e.Secret, &e.PreviousSecret, &e.PreviousExpiresAt,
		&e.DisabledAt, &e.DisabledReason, &e.FailingSince, &e.FromSeq, &e.CreatedAt, &e.UpdatedAt}
	r := s.db.r.WithContext(ctx)
	visible := true
	if s.db.dialect == Postgres {
		dest := append(append(append(dd, ed...), ev.dest()...), &visible)
		if err := s.db.queryRow(ctx, r, workPostgres, []any{deliveryID}, dest...); err != nil {
			return webhook.Work{}, translate(err, "webhook delivery")
		}
	} else {
		err := s.db.queryRow(ctx, r, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.id = ?`, []any{deliveryID}, dd...)
		if err != nil {
			return webhook.Work{}, translate(err, "webhook delivery")
		}
		err = s.db.queryRow(ctx, r, `SELECT `+endpointColumns+` FROM webhook_endpoints w WHERE w.id = ?`, []any{d.EndpointID}, ed...)
		if err != nil {
			return webhook.Work{}, translate(err, "webhook")
		}
		err = s.db.queryRow(ctx, r, `SELECT `+eventColumns+` FROM events e WHERE e.id = ?`, []any{d.EventID}, ev.dest()...)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return webhook.Work{}, translate(err, "event")
		}
		if ev.RelationshipID != nil {
			if visible, err = s.member(ctx, r, *ev.RelationshipID, e.OwnerID); err != nil {
				return webhook.Work{}, err
			}
		}
	}
	w := webhook.Work{Delivery: toDelivery(d), Endpoint: toEndpoint(e), Visible: visible}
	if ev.Seq != nil {
		w.Event = toEvent(eventRow{Seq: *ev.Seq, ID: *ev.ID, Type: *ev.Type, RelationshipID: ev.RelationshipID,
			UserID: ev.UserID, ActorID: *ev.ActorID, Data: *ev.Data, CreatedAt: *ev.CreatedAt})
	}
	return w, nil
}

// recordSQL writes an attempt's result on the delivery if it is still
// waiting for this attempt, and returns its endpoint and owner.
const recordSQL = `UPDATE webhook_deliveries SET status = ?, attempt = ?, response_code = ?,
	response_body = ?, duration_ms = ?, error = ?, next_attempt_at = ?, completed_at = ?
	WHERE id = ? AND attempt = ? AND status IN (?, ?)
	RETURNING endpoint_id, owner_id`

// recordSucceededPostgres records the successes of a batch of attempts on
// PostgreSQL in one statement, run as its own transaction: each delivery
// still waiting for its attempt gets its result, and the endpoints of
// those recorded lose their failure record (only where it is set, so that
// most successes neither lock nor write an endpoint's row). It returns the
// deliveries it recorded.
const recordSucceededPostgres = `WITH v AS (
	SELECT * FROM unnest(?::text[], ?::int[], ?::int[], ?::text[], ?::bigint[], ?::bigint[])
		AS v(id, attempt, code, body, duration_ms, at)),
d AS (UPDATE webhook_deliveries w SET status = 'succeeded', attempt = v.attempt, response_code = v.code,
		response_body = v.body, duration_ms = v.duration_ms, error = NULL, next_attempt_at = NULL, completed_at = v.at
	FROM v WHERE w.id = v.id AND w.attempt = v.attempt - 1 AND w.status IN ('pending', 'retrying')
	RETURNING w.id, w.endpoint_id),
e AS (UPDATE webhook_endpoints SET failing_since = NULL
	WHERE id IN (SELECT endpoint_id FROM d) AND failing_since IS NOT NULL)
SELECT id FROM d`

// clampInt32 is n as an int4 array element (attempts and status codes are
// small; nothing real reaches the bounds).
func clampInt32(n int) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return int32(n)
}

// successBatch batches the successes recorded at the same time on a
// PostgreSQL database (DB.successes): the first to find no batch running
// records everything queued in one statement, then hands the lead to the
// oldest success queued meanwhile. Each is answered after the commit that
// holds it.
type successBatch struct {
	mu    sync.Mutex
	queue []*successReq
	busy  bool
}

type successReq struct {
	r    webhook.Result
	done bool
	err  error
	lead chan struct{}
	fin  chan struct{}
}

// maxSuccessBatch bounds a batch's statement.
const maxSuccessBatch = 128

func (s *Webhooks) recordSuccess(ctx context.Context, r webhook.Result) (bool, error) {
	b := &s.db.successes
	q := &successReq{r: r, lead: make(chan struct{}, 1), fin: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, q)
	if !b.busy {
		b.busy = true
		q.lead <- struct{}{}
	}
	b.mu.Unlock()
	select {
	case <-q.fin:
	case <-q.lead:
		s.leadSuccesses(b)
		<-q.fin
	}
	return q.done, q.err
}

func (s *Webhooks) leadSuccesses(b *successBatch) {
	b.mu.Lock()
	n := min(len(b.queue), maxSuccessBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.queue) > 0 {
			b.queue[0].lead <- struct{}{}
		} else {
			b.busy, b.queue = false, nil
		}
	}()
	defer func() {
		for _, q := range batch {
			close(q.fin)
		}
	}()
	var (
		ids, bodies     []string
		attempts, codes []int32
		durations, ats  []int64
		first           = map[string]*successReq{}
	)
	for _, q := range batch {
		r := q.r
		if first[r.DeliveryID] != nil {
			continue // the same attempt twice: recorded once, by the first
		}
		first[r.DeliveryID] = q
		ids, attempts, ats = append(ids, r.DeliveryID), append(attempts, clampInt32(r.Attempt)), append(ats, micros(r.At))
		codes, bodies, durations = append(codes, clampInt32(deref32(r.Code))), append(bodies, deref(r.Body)), append(durations, deref64(r.DurationMS))
	}
	// The statement outlives any one attempt's context (Worker.record
	// gives each a bounded one).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := scanAll(ctx, s.db.querierFor(s.db.w), func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if q := first[id]; q != nil {
			q.done = true
		}
		return nil
	}, recordSucceededPostgres, ids, attempts, codes, bodies, durations, ats)
	if err != nil {
		for _, q := range batch {
			q.done, q.err = false, err
		}
	}
}

func deref32(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Record stores an attempt's result, keeps the endpoint's failure record,
// disables it when the result says so (telling the owner with a
// webhook.disabled event) and enqueues the next attempt, all in one
// transaction. It does nothing when the delivery is no longer waiting for
// this attempt.
func (s *Webhooks) Record(ctx context.Context, r webhook.Result, enqueue webhook.Enqueue) (bool, error) {
	at := micros(r.At)
	var completed *int64
	if r.Status == webhook.StatusSucceeded || r.Status == webhook.StatusFailed {
		completed = &at
	}
	args := []any{r.Status, r.Attempt, r.Code, r.Body, r.DurationMS, r.Error, microsPtr(r.NextAt), completed,
		r.DeliveryID, r.Attempt - 1, webhook.StatusPending, webhook.StatusRetrying}
	var d deliveryRow
	if s.db.dialect == Postgres && r.Status == webhook.StatusSucceeded && r.Next == nil && r.Code != nil {
		// Every delivery that works ends here: the successes of the
		// moment share one statement and one commit. (On SQLite group
		// commit already shares a commit among the writes of the moment.)
		done, err := s.recordSuccess(ctx, r)
		return done, translate(err, "webhook delivery")
	}
	done := false
	err := s.db.inSQLTx(ctx, func(tx *gorm.DB) error {
		err := s.db.queryRow(ctx, tx, recordSQL, args, &d.EndpointID, &d.OwnerID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		if err := s.recordEndpoint(ctx, tx, d, r); err != nil {
			return err
		}
		if r.Next != nil {
			return enqueueIn(ctx, tx, enqueue, []webhook.Job{*r.Next})
		}
		return nil
	})
	return done, translate(err, "webhook delivery")
}

func (s *Webhooks) recordEndpoint(ctx context.Context, tx *gorm.DB, d deliveryRow, r webhook.Result) error {
	at := micros(r.At)
	switch {
	case r.Skipped:
		return nil
	case r.Status == webhook.StatusSucceeded:
		// Most endpoints are not failing: the condition leaves their row
		// alone, unlocked and unwritten, instead of making every success
		// of an endpoint wait for the commit of the one before.
		return s.db.execSQL(ctx, tx, "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL",
			d.EndpointID)
	}
	if err := tx.Exec("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?", at, d.EndpointID).Error; err != nil {
		return err
	}
	disable := func(reason string, extra string, args ...any) (bool, error) {
		q := tx.Model(&endpointRow{}).Where("id = ? AND disabled_at IS NULL", d.EndpointID)
		if extra != "" {
			q = q.Where(extra, args...)
		}
		res := q.Updates(map[string]any{"disabled_at": at, "disabled_reason": reason, "updated_at": at})
		return res.RowsAffected == 1, res.Error
	}
	reason := ""
	switch {
	case r.Disable != "":
		if ok, err := disable(r.Disable, ""); err != nil {
			return err
		} else if ok {
			reason = r.Disable
		}
	case !r.FailingBefore.IsZero():
		if ok, err := disable(webhook.DisabledFailing, "failing_since <= ?", micros(r.FailingBefore)); err != nil {
			return err
		} else if ok {
			reason = webhook.DisabledFailing
		}
	}
	if reason == "" || r.DisabledEvent == nil {
		return nil
	}
	ev := event.Event{Type: event.WebhookDisabled, UserID: d.OwnerID, ActorID: "system", CreatedAt: r.At}
	return s.db.emit(ctx, tx, ev, r.DisabledEvent(reason))
}

var errDispatchRaced = errors.New("another dispatcher moved the cursor")

type dispatchMatch struct {
	Seq        int64
	EventID    string
	EventType  string
	EndpointID string
	OwnerID    string
	EventTypes string
}

// dispatchSQL pairs the events of a seq range with the enabled endpoints
// that may see them: those of the event's addressee, and those of the
// current members of its relationship (the feed's rule). Pings are
// delivered directly, and endpoints get no events from before they existed.
const dispatchSQL = `
SELECT e.seq, e.id AS event_id, e.type AS event_type, w.id AS endpoint_id, w.owner_id, w.event_types
FROM events e JOIN webhook_endpoints w ON w.owner_id = e.user_id
WHERE e.seq > ? AND e.seq <= ? AND w.disabled_at IS NULL AND e.type <> ? AND e.seq > w.from_seq
UNION
SELECT e.seq, e.id AS event_id, e.type AS event_type, w.id AS endpoint_id, w.owner_id, w.event_types
FROM events e
JOIN relationship_members m ON m.relationship_id = e.relationship_id AND m.left_at IS NULL
JOIN webhook_endpoints w ON w.owner_id = m.user_id
WHERE e.seq > ? AND e.seq <= ? AND w.disabled_at IS NULL AND e.type <> ? AND e.seq > w.from_seq
ORDER BY seq, endpoint_id`

// eventWritten tells the database's dispatcher, if one listens
// (DB.written, set by Written), that an event was written; signals
// coalesce and never block the writer.
func (db *DB) eventWritten() {
	if c := db.written.Load(); c != nil {
		select {
		case *c <- struct{}{}:
		default:
		}
	}
}

// Written returns a channel that receives a value (signals coalesce) after
// this process writes an event, before the event's transaction commits,
// and a function that stops the signals. One listener per database.
func (s *Webhooks) Written() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	p := &c
	s.db.written.Store(p)
	return c, func() { s.db.written.CompareAndSwap(p, nil) }
}

// Dispatch turns the next events after the shared cursor into deliveries
// and jobs and moves the cursor past them with a compare-and-set, in one
// transaction: when two instances race, one commits and the other rolls
// back and finds nothing left. afterWrite says an event was just written
// in this process (Written fired), its transaction perhaps not yet
// committed: Dispatch then first waits for it.
func (s *Webhooks) Dispatch(ctx context.Context, limit int, now time.Time, enqueue webhook.Enqueue, afterWrite bool) (int, error) {
	// With no endpoint at all there is nothing to deliver, and a dispatch
	// would be one more write transaction per poll and per wake (on SQLite,
	// run by the writer between the requests' batches). The cursor stays
	// until the first endpoint moves it to where that endpoint starts
	// (CreateEndpoint).
	var any int
	if err := s.db.queryRow(ctx, s.db.r, "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_endpoints LIMIT 1) e", nil, &any); err != nil {
		return 0, translate(err, "webhook dispatch")
	}
	if any == 0 {
		return 0, nil
	}
	switch {
	case afterWrite && s.db.dialect == SQLite:
		// Straight to the writer: the transaction that wrote the event
		// holds it (group commit queues this one behind its batch), so
		// the dispatch sees the event once it has committed, or not at all.
	case afterWrite:
		// A transaction that writes an event holds the write lock
		// (serialize) until it ends: taking the lock shared, alone in its own
		// transaction, waits for every such transaction of the moment
		// and blocks none that comes later.
		if err := s.db.execSQL(ctx, s.db.w.WithContext(ctx), "SELECT pg_advisory_xact_lock_shared("+writeLock+")"); err != nil {
			return 0, translate(err, "webhook dispatch")
		}
		fallthrough
	default:
		// A cheap look on a reader first: most polls find nothing new, and
		// on SQLite the writer is precious.
		var last, newest int64
		r := s.db.r.WithContext(ctx)
		if err := r.Raw("SELECT last_seq FROM webhook_dispatch WHERE id = 1").Scan(&last).Error; err != nil {
			return 0, translate(err, "webhook dispatch")
		}
		if err := r.Raw("SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&newest).Error; err != nil {
			return 0, translate(err, "webhook dispatch")
		}
		if newest <= last {
			return 0, nil
		}
	}
	n := 0
	err := s.db.inSQLTx(ctx, func(tx *gorm.DB) error {
		var cur int64
		if err := tx.Raw("SELECT last_seq FROM webhook_dispatch WHERE id = 1").Scan(&cur).Error; err != nil {
			return err
		}
		var seqs []int64
		if err := tx.Model(&eventRow{}).Where("seq > ?", cur).Order("seq").Limit(limit).Pluck("seq", &seqs).Error; err != nil {
			return err
		}
		if len(seqs) == 0 {
			return nil
		}
		upto := seqs[len(seqs)-1]
		var ms []dispatchMatch
		if err := tx.Raw(dispatchSQL, cur, upto, event.WebhookPing, cur, upto, event.WebhookPing).Scan(&ms).Error; err != nil {
			return err
		}
		var rows []deliveryRow
		var jobs []webhook.Job
		for _, m := range ms {
			ep := webhook.Endpoint{ID: m.EndpointID, OwnerID: m.OwnerID, EventTypes: strings.Fields(m.EventTypes)}
			if !ep.Wants(m.EventType) {
				continue
			}
			d := webhook.NewDelivery(ep, m.EventID, m.EventType, now)
			rows = append(rows, fromDelivery(d))
			jobs = append(jobs, webhook.Job{DeliveryID: d.ID, Attempt: 1})
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 100).Error; err != nil {
				return err
			}
		}
		if err := enqueueIn(ctx, tx, enqueue, jobs); err != nil {
			return err
		}
		res := tx.Exec("UPDATE webhook_dispatch SET last_seq = ? WHERE id = 1 AND last_seq = ?", upto, cur)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errDispatchRaced
		}
		n = len(seqs)
		return nil
	})
	if errors.Is(err, errDispatchRaced) {
		return 0, nil
	}
	return n, translate(err, "webhook dispatch")
}

// OldestDue returns the due time of the oldest delivery waiting for an
// attempt that is due by now.
func (s *Webhooks) OldestDue(ctx context.Context, now time.Time) (*time.Time, error) {
	var oldest *int64
	err := s.db.r.WithContext(ctx).Model(&deliveryRow{}).
		Where("status IN ? AND next_attempt_at <= ?", []string{webhook.StatusPending, webhook.StatusRetrying}, micros(now)).
		Select("MIN(next_attempt_at)").Scan(&oldest).Error
	if err != nil {
		return nil, translate(err, "webhook delivery")
	}
	return fromMicrosPtr(oldest), nil
}
