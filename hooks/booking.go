package hooks

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/slots"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/internal/twilio"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// registerBooking binds the booking job kinds (with the platform services they need) and the rules every
// helper, availability rule and exception must satisfy on every save path, using the availability engine's
// own validators so that what can be saved is exactly what the engine understands.
func registerBooking(app core.App, svc *platform.Services) {
	twilioBase := strings.TrimRight(os.Getenv("TWILIO_BASE_URL"), "/")
	if twilioBase == "" {
		twilioBase = twilio.DefaultBaseURL
	}
	jobs.RegisterBookingKinds(svc.Jobs, jobs.BookingDeps{
		Emit: func(app core.App, workspace, typ, coll, id, contact string, data any) error {
			_, err := platform.Emit(app, platform.Event{Workspace: workspace, Type: typ, SubjectCollection: coll, SubjectID: id, Contact: contact, Data: data})
			return err
		},
		Box:       func() *secretbox.Box { return svc.Box },
		PublicURL: svc.PublicURL,
		Secret: func(ws *core.Record, name string) (string, error) {
			return platform.Secret(svc.Box, ws, name)
		},
		TwilioBaseURL: twilioBase,
		HTTP:          &http.Client{Timeout: 15 * time.Second},
	})

	// A helper created without saying otherwise is active.
	app.OnRecordCreateRequest(collections.Helpers).BindFunc(func(e *core.RecordRequestEvent) error {
		if info, err := e.RequestInfo(); err == nil {
			if _, set := info.Body["active"]; !set {
				e.Record.Set("active", true)
			}
		}
		return e.Next()
	})

	app.OnRecordValidate(collections.Helpers).BindFunc(func(e *core.RecordEvent) error {
		errs := validation.Errors{}
		if _, err := slots.LoadLocation("timezone", e.Record.GetString("timezone")); err != nil {
			errs["timezone"] = fieldErrs(err)["timezone"]
		}
		for _, id := range e.Record.GetStringSlice("tools") {
			tool, err := e.App.FindRecordById(collections.Tools, id)
			if err != nil || tool.GetString("workspace") != e.Record.GetString("workspace") || tool.GetString("type") != toolconfig.TypeBooking {
				errs["tools"] = validation.NewError("validation_invalid_tool", "Tool "+id+" is not a booking tool of this workspace.")
				break
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return e.Next()
	})

	app.OnRecordValidate(collections.Availability).BindFunc(func(e *core.RecordEvent) error {
		if err := sameWorkspaceHelper(e, true); err != nil {
			return err
		}
		breaks, err := breaksOf(e.Record)
		if err != nil {
			return err
		}
		_, err = slots.ParseRule(slots.RuleSpec{
			Weekday: e.Record.GetInt("weekday"), Start: e.Record.GetString("start"), End: e.Record.GetString("end"), Breaks: breaks,
			ValidFrom: e.Record.GetString("valid_from"), ValidUntil: e.Record.GetString("valid_until"),
		})
		if err != nil {
			return fieldErrs(err)
		}
		return e.Next()
	})

	app.OnRecordValidate(collections.AvailabilityExceptions).BindFunc(func(e *core.RecordEvent) error {
		if err := sameWorkspaceHelper(e, false); err != nil {
			return err
		}
		breaks, err := breaksOf(e.Record)
		if err != nil {
			return err
		}
		_, err = slots.ParseException(slots.ExceptionSpec{
			Date: e.Record.GetString("date"), Helper: e.Record.GetString("helper"), Closed: e.Record.GetBool("closed"),
			Start: e.Record.GetString("start"), End: e.Record.GetString("end"), Breaks: breaks,
		})
		if err != nil {
			return fieldErrs(err)
		}
		return e.Next()
	})
}

// sameWorkspaceHelper refuses a helper of another workspace (the API rules check only the workspace field).
func sameWorkspaceHelper(e *core.RecordEvent, required bool) error {
	id := e.Record.GetString("helper")
	if id == "" {
		if required {
			return validation.Errors{"helper": validation.NewError("validation_required", "Cannot be blank.")}
		}
		return nil
	}
	h, err := e.App.FindRecordById(collections.Helpers, id)
	if err != nil || h.GetString("workspace") != e.Record.GetString("workspace") {
		return validation.Errors{"helper": validation.NewError("validation_invalid_helper", "No helper "+id+" in this workspace.")}
	}
	return nil
}

// breaksOf reads the breaks JSON: a list of {"start":"HH:MM","end":"HH:MM"}.
func breaksOf(r *core.Record) ([]slots.BreakSpec, error) {
	raw, _ := json.Marshal(r.Get("breaks"))
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return nil, nil
	}
	var out []slots.BreakSpec
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, validation.Errors{"breaks": validation.NewError("validation_invalid_breaks", `Must be a list like [{"start":"12:00","end":"13:00"}].`)}
	}
	return out, nil
}

// fieldErrs turns the engine's dotted field errors ("breaks.1.end") into PocketBase's nested error data.
func fieldErrs(err error) validation.Errors {
	out := validation.Errors{}
	var list slots.FieldErrors
	var one *slots.FieldError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = slots.FieldErrors{one}
	default:
		out["data"] = validation.NewError("validation_invalid_value", err.Error())
		return out
	}
	for _, fe := range list {
		parts := strings.Split(fe.Field, ".")
		node := out
		for _, p := range parts[:len(parts)-1] {
			child, ok := node[p].(validation.Errors)
			if !ok {
				child = validation.Errors{}
				node[p] = child
			}
			node = child
		}
		if _, taken := node[parts[len(parts)-1]]; !taken {
			node[parts[len(parts)-1]] = validation.NewError(fe.Code, fe.Message)
		}
	}
	return out
}
