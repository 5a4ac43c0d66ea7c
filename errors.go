package cutbot

import (
	"errors"
	"fmt"
)

// Error codes. A user sees the message of a coded error; any other error is reported to
// users as an internal error and logged in full.
const (
	EINVALID      = "invalid"      // the request is malformed or not allowed in this state
	ENOTFOUND     = "not_found"    // the thing asked about does not exist
	EUNAUTHORIZED = "unauthorized" // the user may not do this
	ECONFLICT     = "conflict"     // the request clashes with existing state
	EUNAVAILABLE  = "unavailable"  // an outside system is down or busy; worth retrying
	EINTERNAL     = "internal"     // anything else
)

// Error is a coded error whose Message is safe and useful to show to a release manager.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns a coded error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first coded error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns what a user may be shown for err: the message of a coded error, or a
// generic line for anything else (whose details belong in the logs, not in Slack).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error; the details are in cutbot's logs."
}
