package config

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns matches one of them, or
// one of package store's (ErrConflict when conflicting writers never let an
// update through, ErrCorrupt, ErrClosed, ErrUnavailable, ErrFailed), with
// errors.Is.
var (
	// ErrInvalid: a value, a change, a JSON document, a template or a
	// schema definition is wrong. Every *FieldError matches it. Nothing
	// changed.
	ErrInvalid = errors.New("config: invalid")
	// ErrNotFound: a key without a value, a key the schema does not
	// declare, or a version that history no longer keeps.
	ErrNotFound = errors.New("config: not found")
	// ErrClosed: the Config was closed.
	ErrClosed = errors.New("config: closed")
)

// FieldError says which field is wrong and why. Field is the dotted key
// ("db.pool.size"); it is empty for a schema-level check that did not name
// a field. Err, when not nil, is the error a validator returned. A
// FieldError matches ErrInvalid and Err with errors.Is.
type FieldError struct {
	Field  string
	Reason string
	Err    error
}

// Error returns, for example, `config: field "db.pool.size": must be at least 1`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "config: " + e.Reason
	}
	return fmt.Sprintf("config: field %q: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalid and Err.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}

// fieldErr is a *FieldError for field with a formatted reason.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// joinFieldErrors is nil, the single error, or all of errs joined.
func joinFieldErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
