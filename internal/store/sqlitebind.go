package store

import (
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

func newSQLiteDialector(dsn string) gorm.Dialector {
	return sqliteDialector{Dialector: &sqlite.Dialector{DSN: dsn}}
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
