package aichat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/qr"
	"github.com/pocketbase/pocketbase/core"
	openai "github.com/sashabaranov/go-openai"
)

// FunctionCall is what a function implementation gets: the workspace, the assistant's tool, the customer
// (nil in a dashboard chat without one), the checked arguments and the actor to record.
type FunctionCall struct {
	Workspace string
	Tool      *Tool
	Contact   *core.Record
	Args      map[string]any
	Actor     platform.Actor
}

// Function runs one model function with app and returns what the model is told; an error becomes a
// sentence for the model.
type Function func(app core.App, c FunctionCall) (any, error)

// SetFunction installs the implementation of a function for this app. The QR and contact functions are
// built in (QR, CRM); the booking domain installs check_availability and create_booking from its own route
// code (see routes/aichat_functions.go), so a model books with the same checks as POST /api/v1/bookings. A
// function without an implementation is not offered to the model, and a call to it is answered
// "unavailable".
func (s *Service) SetFunction(name string, fn Function) {
	s.fnMu.Lock()
	defer s.fnMu.Unlock()
	if fn == nil {
		delete(s.functions, name) // nil takes a function away
		return
	}
	s.functions[name] = fn
}

// Available reports whether this app can run function name.
func (s *Service) Available(name string) bool {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	_, ok := s.functions[name]
	return ok
}

func (s *Service) function(name string) (Function, bool) {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	fn, ok := s.functions[name]
	return fn, ok
}

func builtinFunctions(s *Service) map[string]Function {
	return map[string]Function{
		aichat.FnGenerateQR:    s.generateQR,
		aichat.FnLookupContact: lookupContact,
		aichat.FnAddTag:        addTag,
	}
}

// ErrNoContact: the function needs the customer, and the conversation has none (a dashboard test chat).
var ErrNoContact = errors.New("this conversation has no customer contact (a dashboard test chat), so this function cannot run")

// call runs one model tool call: only functions the tool allows and this build has, arguments checked first.
// Failures become a sentence for the model; nothing here can end the conversation.
func (s *Service) call(p *Prepared, tc openai.ToolCall, round int) (rec CallRecord) {
	start := time.Now()
	rec = CallRecord{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments, Round: round}
	if rec.ID == "" {
		rec.ID = fmt.Sprintf("call_r%d_%s", round, tc.Function.Name)
	}
	defer func() {
		if r := recover(); r != nil {
			rec.Result, rec.Error = nil, fmt.Sprintf("%s failed unexpectedly", tc.Function.Name)
			s.app.Logger().Error("AI function panicked", "function", tc.Function.Name, "panic", r)
		}
		rec.Ms = time.Since(start).Milliseconds()
	}()
	def, known := aichat.Functions[tc.Function.Name]
	run, available := s.function(tc.Function.Name)
	switch {
	case !known || !p.Tool.Allows(tc.Function.Name):
		rec.Error = fmt.Sprintf("function %q is not available to this assistant", tc.Function.Name)
		return rec
	case !available:
		rec.Error = fmt.Sprintf("function %q is unavailable on this server", tc.Function.Name)
		return rec
	}
	args, err := def.ParseArgs(tc.Function.Arguments)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	res, err := run(s.app, FunctionCall{Workspace: p.Tool.Workspace(), Tool: p.Tool, Contact: p.Contact, Args: args,
		Actor: platform.SystemActor("ai chat " + p.Tool.ID())})
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	rec.Result = res
	return rec
}

// Arg is a string argument ("" when absent).
func Arg(args map[string]any, k string) string { v, _ := args[k].(string); return v }

// generateQR issues a code from the workspace's first enabled qr tool to the customer, with the QR domain's
// own Generate (template, uniqueness, qr.created event) in one transaction, as POST /api/v1/qr/generate does.
func (s *Service) generateQR(app core.App, c FunctionCall) (any, error) {
	if c.Contact == nil {
		return nil, ErrNoContact
	}
	label := Arg(c.Args, "label")
	if len([]rune(label)) > 100 {
		return nil, errors.New("label must be at most 100 characters")
	}
	ws := c.Workspace
	toolRec, err := app.FindFirstRecordByFilter(collections.Tools, "workspace = {:ws} && type = 'qr' && enabled = true", map[string]any{"ws": ws})
	if err != nil {
		return nil, errors.New("the business has no QR code tool set up")
	}
	tool, err := qr.ToolFromRecord(toolRec)
	if err != nil {
		return nil, err
	}
	tz := time.UTC
	if w, err := app.FindRecordById(collections.Workspaces, ws); err == nil {
		if loc, err := time.LoadLocation(w.GetString("timezone")); err == nil {
			tz = loc
		}
	}
	var out map[string]any
	err = platform.WriteTx(app, func(tx core.App) error {
		rec, err := qr.Generate(tx, qr.GenerateInput{Tool: tool, Timezone: tz, Contact: c.Contact, Label: label, Actor: c.Actor}, time.Now())
		if err != nil {
			return err
		}
		links := qr.LinksFor(s.svc.Box, s.svc.PublicURL(), rec)
		out = map[string]any{"code": rec.GetString("code"), "image_url": links.Image, "label": label,
			"expires_at": qr.Summary(rec, links)["expires_at"], "max_uses": rec.GetInt("max_uses")}
		return nil
	})
	return out, err
}

// lookupContact tells the model what the CRM knows about the customer, in the CRM API's own contact shape
// (crm.ContactJSON) without the private notes and internal ids.
func lookupContact(app core.App, call FunctionCall) (any, error) {
	if call.Contact == nil {
		return nil, ErrNoContact
	}
	c, err := app.FindRecordById(collections.Contacts, call.Contact.Id)
	if err != nil {
		return nil, errors.New("the contact no longer exists")
	}
	out := crm.ContactJSON(c)
	for _, private := range []string{"id", "notes", "source", "subscriber_id", "created", "updated"} {
		delete(out, private)
	}
	if raw, err := json.Marshal(out); err == nil && len(raw) > 8000 {
		delete(out, "custom_fields")
	}
	return out, nil
}

// addTag tags the customer with the CRM's own action queue (crm.QueueActions, as POST /api/v1/contacts/actions
// does): the tag is added in Manychat by a retried job, then mirrored on the contact.
func addTag(app core.App, c FunctionCall) (any, error) {
	if c.Contact == nil {
		return nil, ErrNoContact
	}
	a := crm.Action{Type: crm.ActAddTag, Tag: strings.TrimSpace(Arg(c.Args, "tag"))}
	if field, msg := a.Validate(); field != "" {
		return nil, fmt.Errorf("%s %s", field, msg)
	}
	if len([]rune(a.Tag)) > 100 {
		return nil, errors.New("tag must be at most 100 characters")
	}
	err := platform.WriteTx(app, func(tx core.App) error {
		_, err := crm.QueueActions(tx, c.Workspace, []crm.Action{a}, crm.Targets{Contacts: []string{c.Contact.Id}}, c.Actor)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"tag": a.Tag, "status": "queued"}, nil
}
