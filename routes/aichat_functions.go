package routes

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/playgram/playgram/aichat"
	ai "github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

// installAIFunctions gives the assistant the booking functions, built on the booking routes' own code:
// freeSlots over jobs.LoadSchedule for check_availability, and bookingAPI.book (slot check, insert, events,
// notices, reminders in one transaction) for create_booking.
func installAIFunctions(app core.App, svc *platform.Services) {
	s := aichat.Of(app)
	if s == nil {
		return
	}
	b := &bookingAPI{svc: svc}
	s.SetFunction(ai.FnCheckAvailability, b.aiCheckAvailability)
	s.SetFunction(ai.FnCreateBooking, b.aiCreateBooking)
}

// aiBookingTool picks the booking tool a model names (id, slug or name), or the only enabled one.
func aiBookingTool(app core.App, ws, ref string) (jobs.Tool, error) {
	tools, err := jobs.LoadTools(app, ws)
	if err != nil {
		return jobs.Tool{}, err
	}
	var enabled []jobs.Tool
	for _, t := range tools {
		if !t.Enabled {
			continue
		}
		if ref != "" && (t.ID == ref || t.Slug == ref || strings.EqualFold(t.Name, ref)) {
			return t, nil
		}
		enabled = append(enabled, t)
	}
	switch {
	case len(enabled) == 0:
		return jobs.Tool{}, errors.New("the business takes no bookings")
	case len(enabled) == 1 && ref == "":
		return enabled[0], nil
	}
	names := make([]string, len(enabled))
	for i, t := range enabled {
		names[i] = t.Name
	}
	return jobs.Tool{}, fmt.Errorf("name the service: one of %s", strings.Join(names, ", "))
}

func (b *bookingAPI) aiCheckAvailability(app core.App, c aichat.FunctionCall) (any, error) {
	tool, err := aiBookingTool(app, c.Workspace, aichat.Arg(c.Args, "service"))
	if err != nil {
		return nil, err
	}
	loc := workspaceZone(app, c.Workspace)
	day, err := time.ParseInLocation("2006-01-02", aichat.Arg(c.Args, "date"), loc)
	if err != nil {
		return nil, errors.New("date must be a day as YYYY-MM-DD")
	}
	now := time.Now()
	from, to := day, day.AddDate(0, 0, 1)
	if from.Before(now) {
		from = now
	}
	if !to.After(from) {
		return map[string]any{"service": tool.Name, "date": day.Format("2006-01-02"), "slots": []string{}, "note": "that day is over"}, nil
	}
	sched, err := jobs.LoadSchedule(app, jobs.ScheduleQuery{Workspace: c.Workspace, From: from, To: to})
	if err != nil {
		return nil, err
	}
	list, err := freeSlots(sched, tool, nil, from, to, now)
	if err != nil {
		return nil, err
	}
	starts := make([]string, 0, min(len(list), 24))
	for i, s := range list {
		if i == 24 {
			break
		}
		starts = append(starts, s.Start.In(loc).Format(time.RFC3339))
	}
	return map[string]any{"service": tool.Name, "date": day.Format("2006-01-02"), "time_zone": loc.String(), "free_starts": starts}, nil
}

func (b *bookingAPI) aiCreateBooking(app core.App, c aichat.FunctionCall) (any, error) {
	if c.Contact == nil {
		return nil, aichat.ErrNoContact
	}
	tool, err := aiBookingTool(app, c.Workspace, aichat.Arg(c.Args, "service"))
	if err != nil {
		return nil, err
	}
	start, err := time.Parse(time.RFC3339, aichat.Arg(c.Args, "start"))
	if err != nil {
		return nil, errors.New("start must be an RFC 3339 time such as 2026-03-29T10:00:00+02:00, taken from check_availability")
	}
	name := strings.TrimSpace(aichat.Arg(c.Args, "name"))
	if name == "" {
		name = strings.TrimSpace(c.Contact.GetString("name"))
	}
	if name == "" {
		return nil, errors.New("ask the customer for their name first, then pass it as name")
	}
	problems := map[string]string{}
	checkPerson(problems, name, "", "", aichat.Arg(c.Args, "note"))
	for field, msg := range problems {
		return nil, fmt.Errorf("%s: %s", field, msg)
	}
	nb := newBooking{tool: tool, start: start, contact: platform.ContactRef{ContactID: c.Contact.Id}, name: name,
		notes: aichat.Arg(c.Args, "note"), source: "ai_chat", actor: c.Actor, contactDefaults: map[string]any{"name": name}}
	var rec *core.Record
	var token string
	err = platform.WriteTx(app, func(tx core.App) error {
		var err error
		rec, token, err = b.book(tx, c.Workspace, nb, time.Now())
		return err
	})
	var taken *slotTaken
	var refused *bookingError
	switch {
	case errors.As(err, &taken):
		alts := alternatives(app, c.Workspace, tool, nil, start, jobs.InputOptions{Contact: c.Contact.Id})
		loc := workspaceZone(app, c.Workspace)
		free := make([]string, len(alts))
		for i, s := range alts {
			free[i] = s.Start.In(loc).Format(time.RFC3339)
		}
		return nil, fmt.Errorf("%s Nearest free times: %s", taken.message(), strings.Join(free, ", "))
	case errors.As(err, &refused):
		return nil, errors.New(refused.msg)
	case err != nil:
		return nil, err
	}
	out := bookingJSON(rec, b.manageURL(rec, token))
	return map[string]any{"booking": rec.Id, "status": out["status"], "start": out["start"], "end": out["end"], "manage_url": out["manage_url"]}, nil
}
