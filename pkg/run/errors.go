package run

import "errors"

// badInput marks an error caused by the input (a configuration that cannot
// give a result, a file that is not what it should be) rather than by the
// run: front ends report it in one line and exit with status 2.
type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// BadInput marks err as an input error (nil stays nil).
func BadInput(err error) error {
	if err == nil || IsBadInput(err) {
		return err
	}
	return badInput{err}
}

// IsBadInput reports whether err (or an error it wraps) is an input error.
func IsBadInput(err error) bool {
	var b badInput
	return errors.As(err, &b)
}
