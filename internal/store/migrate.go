package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/idempotency"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one versioned SQL file for one dialect.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations of a dialect in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := range ms {
		if ms[i].Version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d is missing or repeated", d, i+1)
		}
	}
	return ms, nil
}

// Migrate applies every migration not yet recorded in schema_migrations,
// each in its own transaction, and returns the versions it applied. Several
// instances may call it at once: on PostgreSQL an advisory lock serializes
// them, on SQLite the immediate write transaction does.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	ms, err := Migrations(db.dialect)
	if err != nil {
		return nil, err
	}
	if err := db.createMigrationsTable(ctx); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range ms {
		done, err := db.apply(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// createMigrationsTable creates the bookkeeping table. CREATE TABLE IF NOT
// EXISTS races on PostgreSQL (two creators collide in pg_type), so it runs
// under the migration lock.
func (db *DB) createMigrationsTable(ctx context.Context) error {
	tx, err := db.sqlW.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := db.lockMigrations(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

// lockMigrations serializes migrating instances on PostgreSQL until the
// transaction ends; on SQLite the immediate write transaction already does.
func (db *DB) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if db.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(727368)`)
	return err
}

func (db *DB) apply(ctx context.Context, m Migration) (bool, error) {
	tx, err := db.sqlW.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := db.lockMigrations(ctx, tx); err != nil {
		return false, err
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = `+db.placeholder(1), m.Version).Scan(&one)
	switch {
	case err == nil:
		return false, nil
	case err != sql.ErrNoRows:
		return false, err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if step := migrationSteps[m.Name]; step != nil {
		if err := step(ctx, db, tx); err != nil {
			return false, err
		}
	}
	// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (`+
		db.placeholder(1)+`, `+db.placeholder(2)+`, `+db.placeholder(3)+`)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// SchemaVersion returns the highest applied migration, 0 for none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.sqlR.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

func (db *DB) placeholder(n int) string {
	if db.dialect == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// migrationSteps are work in Go that a migration does after its SQL, in
// the same transaction (so that it is recorded done only once done), by
// the migration's name.
var migrationSteps = map[string]func(ctx context.Context, db *DB, tx *sql.Tx) error{
	// Invites made before had no id: each gets one, in the order they were
	// made (ids are time-ordered, and those made from now on come later).
	// On PostgreSQL the column then refuses NULL; SQLite cannot add that to
	// an existing column, and troth never writes an invite without an id.
	"invite_ids": func(ctx context.Context, db *DB, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT code_hash FROM invites WHERE id IS NULL ORDER BY created_at, code_hash`)
		if err != nil {
			return err
		}
		var hashes [][]byte
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hashes = append(hashes, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, h := range hashes {
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			if _, err := tx.ExecContext(ctx, `UPDATE invites SET id = `+db.placeholder(1)+` WHERE code_hash = `+db.placeholder(2),
				id.New(id.Invite), h); err != nil {
				return err
			}
		}
		if db.dialect == Postgres {
			_, err = tx.ExecContext(ctx, `ALTER TABLE invites ALTER COLUMN id SET NOT NULL`)
		}
		return err
	},
	// Rollup days were split where time.Date put a local midnight; where a
	// clock change skips or repeats midnight that could be the day before,
	// and two days' items shared a row. Every rollup is built again with
	// the days scoring.Bounds names now.
	"rebuild_rollups": func(ctx context.Context, db *DB, tx *sql.Tx) error {
		return db.rebuildRollups(ctx, tx)
	},
	// A period of membership that a rejoin closed over was lost before
	// past_memberships kept it; a member.left event still kept (its data
	// is the member, with the joined_at of the period it ends) gives it
	// back, unless it ends the period relationship_members holds now.
	"membership_periods": func(ctx context.Context, db *DB, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT relationship_id, data, created_at FROM events
			WHERE type = 'member.left' AND relationship_id IS NOT NULL ORDER BY seq`)
		if err != nil {
			return err
		}
		type period struct {
			relID, userID    string
			joinedAt, leftAt int64
		}
		var found []period
		for rows.Next() {
			var p period
			var data string
			if err := rows.Scan(&p.relID, &data, &p.leftAt); err != nil {
				rows.Close()
				return err
			}
			var m struct {
				UserID   string    `json:"user_id"`
				JoinedAt time.Time `json:"joined_at"`
			}
			if json.Unmarshal([]byte(data), &m) != nil || m.UserID == "" || m.JoinedAt.IsZero() {
				continue // not a member's snapshot: nothing to recover
			}
			p.userID, p.joinedAt = m.UserID, m.JoinedAt.UnixMicro()
			found = append(found, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ph := db.placeholder
		for _, p := range found {
			var current int64
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			err := tx.QueryRowContext(ctx, `SELECT joined_at FROM relationship_members WHERE relationship_id = `+ph(1)+` AND user_id = `+ph(2),
				p.relID, p.userID).Scan(&current)
			if err == sql.ErrNoRows || (err == nil && p.joinedAt >= current) {
				continue
			}
			if err != nil {
				return err
			}
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			if _, err := tx.ExecContext(ctx, `INSERT INTO past_memberships (relationship_id, user_id, joined_at, left_at) VALUES (`+
				ph(1)+`, `+ph(2)+`, `+ph(3)+`, `+ph(4)+`) ON CONFLICT DO NOTHING`, p.relID, p.userID, p.joinedAt, p.leftAt); err != nil {
				return err
			}
		}
		return nil
	},
	// Keys were the address in lower case: an ä written as a and a
	// combining umlaut, or a domain in punycode, made another key for the
	// same mailbox. Each key is written as account.EmailKey makes it now,
	// unless another account holds that key already (two accounts made
	// before for one mailbox): the one whose key would change keeps its
	// old key, by which login still finds it (account.Service.Login tries
	// the key as it was made before when the new one does not match).
	// Idempotency-Key records held the key and the answer as they came;
	// they are now kept as the key's digest and the answer sealed with the
	// key. A key that is a digest already (64 hex digits, written by a
	// build between the two) is left alone.
	"idempotency_sealed": func(ctx context.Context, db *DB, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_id, idem_key, response_body FROM idempotency_keys`)
		if err != nil {
			return err
		}
		type rec struct {
			user, key string
			body      []byte
		}
		var todo []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.user, &r.key, &r.body); err != nil {
				rows.Close()
				return err
			}
			if !isDigest(r.key) {
				todo = append(todo, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range todo {
			var sealed []byte
			if r.body != nil {
				var err error
				if sealed, err = idempotency.Seal(r.user, r.key, r.body); err != nil {
					return err
				}
			}
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET idem_key = `+db.placeholder(1)+`, response_body = `+db.placeholder(2)+
				` WHERE user_id = `+db.placeholder(3)+` AND idem_key = `+db.placeholder(4), idempotency.Digest(r.key), sealed, r.user, r.key); err != nil {
				return err
			}
		}
		return nil
	},
	"email_keys_normalized": func(ctx context.Context, db *DB, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, email, email_key FROM users WHERE deleted_at IS NULL ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		type rekey struct{ id, key string }
		var todo []rekey
		for rows.Next() {
			var id, email, key string
			if err := rows.Scan(&id, &email, &key); err != nil {
				rows.Close()
				return err
			}
			if k := account.EmailKey(email); k != key {
				todo = append(todo, rekey{id, k})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range todo {
			var taken int
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email_key = `+db.placeholder(1), r.key).Scan(&taken)
			if err != nil {
				return err
			}
			if taken > 0 {
				continue
			}
			// #nosec G202 -- only the dialect's placeholder syntax is concatenated; values are bound.
			if _, err := tx.ExecContext(ctx, `UPDATE users SET email_key = `+db.placeholder(1)+` WHERE id = `+db.placeholder(2), r.key, r.id); err != nil {
				return err
			}
		}
		return nil
	},
}

// RebuildRollups builds every relationship's score rollups again from the
// items, in one transaction (migration 0013 does it once).
func (db *DB) RebuildRollups(ctx context.Context) error {
	tx, err := db.sqlW.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := db.rebuildRollups(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// rebuildRollups builds every relationship's score rollups again, in tx.
func (db *DB) rebuildRollups(ctx context.Context, tx *sql.Tx) error {
	gtx := db.w.Session(&gorm.Session{NewDB: true, Context: ctx}) // a Statement of its own
	gtx.Statement.ConnPool = tx
	if err := db.serialize(ctx, gtx, "relationship"); err != nil { // no write runs meanwhile
		return err
	}
	var ids []string
	if err := gtx.Model(&relationshipRow{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return translate(err, "relationship")
	}
	rels := &Relationships{db: db, w: gtx, r: gtx}
	for _, id := range ids {
		if err := rels.RescoreAll(ctx, id); err != nil {
			return fmt.Errorf("rebuild the rollups of %s: %w", id, err)
		}
	}
	return nil
}

// isDigest reports whether an Idempotency-Key record's key is a digest
// (idempotency.Digest: 64 lower-case hex digits).
func isDigest(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
