package store

import (
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
)

// translate turns a driver or GORM error into a fault error, once, at the
// store's edge: no rows → not_found, a unique violation → conflict, anything
// else → internal (its text is logged, never shown). what names the
// resource for the client-facing message.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := fault.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return fault.NotFound(what)
	case isUnique(err):
		e := fault.Conflict("already_exists", what+" already exists")
		e.Err = err
		return e
	}
	return fault.Internal(err)
}

func isUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

var errBadCursor = page.BadCursor("cursor")
