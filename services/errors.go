// Package services holds the business rules, the SQL and the talk with
// outside systems. It never sees an HTTP request.
package services

import (
	"errors"
)

// Error codes a caller can act on; anything else is an internal error.
const (
	CodeInvalid      = "invalid"
	CodeConflict     = "conflict"
	CodeNotFound     = "not_found"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
)

// ErrNotFound is returned when a requested record does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "Not found."}

// ErrForbidden is returned when the actor may not do or see something.
var ErrForbidden = &Error{Code: CodeForbidden, Message: "Your account may not do that."}

// Error is a failure whose Message is safe to show to the person who caused it.
// Fields carries one message per form field for validation failures.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is match on the code, so a wrapped ErrNotFound is found.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Message == e.Message
}

// Invalid returns a validation error with one message per field.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: CodeInvalid, Message: "Please correct the highlighted fields.", Fields: fields}
}

// Conflict returns a conflict error with a message safe to show.
func Conflict(msg string) *Error {
	return &Error{Code: CodeConflict, Message: msg}
}

// ErrorCode reports the code of err, or "" for an internal error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
