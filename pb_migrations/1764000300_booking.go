package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Booking: helpers (whose time is booked), weekly availability, date exceptions, bookings and the waitlist.
// Bookings and waitlist entries are written only by Playgram's routes and jobs, where the availability check
// and the write share one transaction; members read them (and receive them over realtime).
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		tools, err := app.FindCollectionByNameOrId(collections.Tools)
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}
		const clock = `^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`
		const date = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`

		helpers := core.NewBaseCollection(collections.Helpers)
		helpers.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.EmailField{Name: "email"},
			&core.TextField{Name: "phone", Max: 16, Pattern: `^\+[1-9][0-9]{6,14}$`},
			&core.TextField{Name: "timezone", Required: true, Max: 64},
			&core.BoolField{Name: "active"},
			&core.RelationField{Name: "tools", CollectionId: tools.Id, MaxSelect: 100},
			// SHA-256 of the calendar feed token; the token itself is shown once, when it is rotated.
			&core.TextField{Name: "calendar_token_hash", Hidden: true, Max: 64},
		)
		withTimestamps(helpers)
		helpers.AddIndex("idx_helpers_workspace_active", false, "workspace, active", "")
		withRules(helpers, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(helpers); err != nil {
			return err
		}

		rules := core.NewBaseCollection(collections.Availability)
		rules.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "helper", CollectionId: helpers.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.NumberField{Name: "weekday", Required: true, OnlyInt: true, Min: ptrFloat(1), Max: ptrFloat(7)},
			&core.TextField{Name: "start", Required: true, Pattern: clock},
			&core.TextField{Name: "end", Required: true, Pattern: clock},
			&core.JSONField{Name: "breaks", MaxSize: 8 << 10},
			&core.TextField{Name: "valid_from", Pattern: date},
			&core.TextField{Name: "valid_until", Pattern: date},
		)
		withTimestamps(rules)
		rules.AddIndex("idx_availability_helper_weekday", false, "helper, weekday", "")
		withRules(rules, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(rules); err != nil {
			return err
		}

		exceptions := core.NewBaseCollection(collections.AvailabilityExceptions)
		exceptions.Fields.Add(
			workspaceField(workspaces.Id),
			// Empty helper: the exception applies to every helper of the workspace (a holiday).
			&core.RelationField{Name: "helper", CollectionId: helpers.Id, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "date", Required: true, Pattern: date},
			&core.BoolField{Name: "closed"},
			&core.TextField{Name: "start", Pattern: clock},
			&core.TextField{Name: "end", Pattern: clock},
			&core.JSONField{Name: "breaks", MaxSize: 8 << 10},
			&core.TextField{Name: "note", Max: 200},
		)
		withTimestamps(exceptions)
		exceptions.AddIndex("idx_availability_exceptions_workspace_date", false, "workspace, date", "")
		exceptions.AddIndex("idx_availability_exceptions_helper_date", false, "helper, date", "")
		withRules(exceptions, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(exceptions); err != nil {
			return err
		}

		bookings := core.NewBaseCollection(collections.Bookings)
		bookings.Fields.Add(
			workspaceField(workspaces.Id),
			// Tools and helpers with bookings cannot be deleted (deactivate them instead): bookings are history.
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1},
			&core.RelationField{Name: "helper", CollectionId: helpers.Id, Required: true, MaxSelect: 1},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.DateField{Name: "start", Required: true},
			&core.DateField{Name: "end", Required: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: collections.BookingStatuses},
			&core.NumberField{Name: "seats", OnlyInt: true, Min: ptrFloat(1)},
			&core.TextField{Name: "name", Max: 200, Presentable: true},
			&core.TextField{Name: "email", Max: 255},
			&core.TextField{Name: "phone", Max: 32},
			&core.TextField{Name: "notes", Max: 2000},
			&core.TextField{Name: "tz", Max: 64},
			&core.TextField{Name: "source", Max: 32},
			// SEQUENCE of the booking's iCalendar event: it grows with every change sent to the customer.
			&core.NumberField{Name: "ics_sequence", OnlyInt: true, Min: ptrFloat(0)},
			// SHA-256 of the customer's manage token (links in the answer and the emails).
			&core.TextField{Name: "manage_token_hash", Hidden: true, Max: 64},
			// helper/start/seat while the booking holds its slot, "" once it does not: the unique index
			// below makes a double booking impossible even for a writer that skips the availability check.
			&core.TextField{Name: "slot_key", Hidden: true, Max: 100},
			&core.DateField{Name: "confirmed_at"},
			&core.DateField{Name: "cancelled_at"},
			&core.TextField{Name: "cancelled_by", Max: 200},
			&core.TextField{Name: "cancel_reason", Max: 500},
		)
		withTimestamps(bookings)
		bookings.AddIndex("idx_bookings_slot_key", true, "slot_key", "slot_key != ''")
		bookings.AddIndex("idx_bookings_helper_start", false, "`helper`, `start`", "")
		bookings.AddIndex("idx_bookings_workspace_start", false, "`workspace`, `start`", "")
		bookings.AddIndex("idx_bookings_contact", false, "contact", "contact != ''")
		withRules(bookings, collections.MemberReadOnly())
		if err := app.Save(bookings); err != nil {
			return err
		}

		waitlist := core.NewBaseCollection(collections.Waitlist)
		waitlist.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "helper", CollectionId: helpers.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "date", Required: true, Pattern: date},
			// seq orders the queue of one tool and date: entries are offered slots in the order they joined.
			&core.NumberField{Name: "seq", OnlyInt: true, Min: ptrFloat(0)},
			&core.TextField{Name: "name", Max: 200, Presentable: true},
			&core.TextField{Name: "email", Max: 255},
			&core.TextField{Name: "phone", Max: 32},
			&core.TextField{Name: "tz", Max: 64},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: collections.WaitlistStatuses},
			&core.DateField{Name: "offer_start"},
			&core.RelationField{Name: "offer_helper", CollectionId: helpers.Id, MaxSelect: 1},
			&core.DateField{Name: "hold_until"},
			&core.NumberField{Name: "offers", OnlyInt: true, Min: ptrFloat(0)},
			&core.RelationField{Name: "booking", CollectionId: bookings.Id, MaxSelect: 1},
		)
		withTimestamps(waitlist)
		waitlist.AddIndex("idx_waitlist_queue", false, "tool, date, status, seq", "")
		waitlist.AddIndex("idx_waitlist_offers", false, "offer_helper, status, hold_until", "status = 'offered'")
		waitlist.AddIndex("idx_waitlist_contact", false, "contact", "")
		withRules(waitlist, collections.MemberReadOnly())
		return app.Save(waitlist)
	}, func(app core.App) error {
		for _, name := range []string{collections.Waitlist, collections.Bookings, collections.AvailabilityExceptions, collections.Availability, collections.Helpers} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		return nil
	})
}
