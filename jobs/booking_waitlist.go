package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/slots"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// KindWaitlistExpire ends a waitlist offer whose hold ran out and offers the slot to the next entry.
const KindWaitlistExpire = "booking.waitlist_expire"

type expirePayload struct {
	Entry     string `json:"entry"`
	HoldUntil string `json:"hold_until"`
}

func registerBookingWaitlist(r *Runner) {
	r.Handle(KindWaitlistExpire, func(ctx context.Context, app core.App, job *Job) error {
		var p expirePayload
		if err := job.Decode(&p); err != nil {
			return err
		}
		return app.RunInTransaction(func(tx core.App) error {
			entry, err := tx.FindRecordById(collections.Waitlist, p.Entry)
			if err != nil {
				job.Result = map[string]any{"skipped": "entry deleted"}
				return nil
			}
			if entry.GetString("status") != collections.WaitlistOffered || entry.GetDateTime("hold_until").String() != p.HoldUntil {
				job.Result = map[string]any{"skipped": "the offer was taken or replaced"}
				return nil
			}
			now := time.Now()
			if until := entry.GetDateTime("hold_until").Time(); until.After(now.Add(time.Second)) {
				return fmt.Errorf("hold of %s runs until %s", entry.Id, until.Format(time.RFC3339))
			}
			entry.Set("status", collections.WaitlistExpired)
			if err := tx.Save(entry); err != nil {
				return err
			}
			next, err := OfferFreedSlot(tx, entry.GetString("workspace"), entry.GetString("tool"), entry.GetString("offer_helper"), entry.GetDateTime("offer_start").Time(), now)
			if err != nil {
				return err
			}
			job.Result = map[string]any{"expired": entry.Id, "offered_to": recordID(next)}
			return nil
		})
	})
}

func recordID(r *core.Record) string {
	if r == nil {
		return ""
	}
	return r.Id
}

// OfferFreedSlot offers a slot that just became free (a cancellation, a move, an expired hold) to the first
// entry, in order of joining, waiting for that tool on the slot's local date (in the helper's zone) with that
// helper or any. The slot is held for the entry for the tool's hold_minutes: nobody else can book it until
// then, the entry is told by email/SMS with a link that books it, and when the hold runs out the next entry
// gets it. Call with the transaction that freed the slot. It returns the entry offered, or nil.
func OfferFreedSlot(app core.App, workspace, toolID, helperID string, start, now time.Time) (*core.Record, error) {
	sched, err := LoadSchedule(app, ScheduleQuery{Workspace: workspace, Helpers: []string{helperID}, From: start, To: start.Add(time.Second)})
	if err != nil {
		return nil, err
	}
	tool, okTool := sched.Tools[toolID]
	helper, okHelper := sched.Helpers[helperID]
	if !okTool || !okHelper || !tool.Enabled || !helper.Serves(toolID) {
		return nil, nil
	}
	date := start.In(helper.Location).Format(time.DateOnly)
	entries, err := app.FindRecordsByFilter(collections.Waitlist,
		"tool = {:tool} && date = {:date} && status = 'waiting' && (helper = {:helper} || helper = '')", "seq", 1, 0,
		dbx.Params{"tool": toolID, "date": date, "helper": helperID})
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	entry := entries[0]
	if ok, _ := slots.IsBookable(sched.Input(helperID, tool, now, InputOptions{Contact: entry.GetString("contact")}), start); !ok {
		return nil, nil // e.g. inside the minimum notice by now: nothing to offer
	}
	holdUntil := now.Add(time.Duration(tool.Config.HoldMinutes) * time.Minute).Truncate(time.Second)
	entry.Set("status", collections.WaitlistOffered)
	entry.Set("offer_start", start)
	entry.Set("offer_helper", helperID)
	entry.Set("hold_until", holdUntil)
	entry.Set("offers", entry.GetInt("offers")+1)
	if err := app.Save(entry); err != nil {
		return nil, err
	}
	deps := Deps(app)
	if deps.Box == nil || deps.Box() == nil {
		return nil, errors.New("booking: the secret box is not open")
	}
	token, err := SealOffer(deps.Box(), SlotOffer{
		Workspace: workspace, Tool: toolID, Helper: helperID, Start: start.Unix(), Contact: entry.GetString("contact"),
		Name: entry.GetString("name"), TZ: entry.GetString("tz"), Entry: entry.Id, Source: "waitlist", Expires: holdUntil.Unix(),
	})
	if err != nil {
		return nil, err
	}
	hold := entry.GetDateTime("hold_until").String()
	offerURL := deps.PublicURL() + "/api/v1/booking-offers/" + token
	if err := enqueueChannels(app, workspace, entry.GetString("email"), entry.GetString("phone"),
		noticePayload{Notice: NoticeWaitlist, Entry: entry.Id, OfferURL: offerURL, HoldUntil: hold}); err != nil {
		return nil, err
	}
	if _, err := Enqueue(app, New{Kind: KindWaitlistExpire, Workspace: workspace, RunAt: holdUntil, Payload: expirePayload{Entry: entry.Id, HoldUntil: hold}}); err != nil {
		return nil, err
	}
	return entry, deps.Emit(app, workspace, "waitlist.offered", collections.Waitlist, entry.Id, entry.GetString("contact"), map[string]any{
		"entry": entry.Id, "tool": toolID, "helper": helperID, "start": start.UTC().Format(time.RFC3339),
		"hold_until": holdUntil.UTC().Format(time.RFC3339), "offer_url": offerURL,
	})
}
