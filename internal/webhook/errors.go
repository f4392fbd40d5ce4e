// Package webhook holds the pure decisions of Playgram's webhook fan-out:
// which endpoints an event goes to (MatchEventType), what the receiver's
// answer means (Classify), when to try again (Schedule), how a payload is
// reshaped for one endpoint (Transform) and the exact bytes that get signed
// and sent (BuildPayload). Nothing here does I/O; the PocketBase hooks and
// the delivery worker call these functions.
package webhook

import "strings"

// FieldError names the input field and what is wrong with it, so the HTTP
// layer can answer 400 with the field's name. Field uses the collection's
// JSON names with indexes, e.g. "event_types[2]" or "transform.fields[0].from".
type FieldError struct {
	Field   string
	Code    string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors lists every problem found in one input, not just the first,
// so a form can mark all bad fields at once.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// err returns es as an error, or a true nil when it is empty.
func (es FieldErrors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
