package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

var subscriberIDPattern = regexp.MustCompile(`^[0-9]{1,32}$`)

// ErrContactNotFound is returned when a contact reference matches nothing in the workspace.
var ErrContactNotFound = errors.New("no such contact in this workspace")

// ContactRef is how callers name a contact: a Manychat subscriber id or a contact record id.
type ContactRef struct {
	SubscriberID string
	ContactID    string
}

// IsZero reports whether no contact was named.
func (r ContactRef) IsZero() bool { return r.SubscriberID == "" && r.ContactID == "" }

// Validate checks the reference's form; the error names the field.
func (r ContactRef) Validate() (field string, err error) {
	if r.SubscriberID != "" && !subscriberIDPattern.MatchString(r.SubscriberID) {
		return "subscriber_id", fmt.Errorf("must be a Manychat subscriber id (digits)")
	}
	return "", nil
}

// ResolveContact finds the contact a reference names in workspace. A subscriber id that is not known yet creates
// the contact (Manychat calls us before any sync has seen the subscriber), with app, so pass the caller's
// transaction. A contact id must exist in the workspace.
func ResolveContact(app core.App, workspace string, ref ContactRef, defaults map[string]any) (*core.Record, error) {
	if ref.ContactID != "" {
		c, err := app.FindRecordById(collections.Contacts, ref.ContactID)
		if err != nil || c.GetString("workspace") != workspace {
			return nil, ErrContactNotFound
		}
		return c, nil
	}
	if ref.SubscriberID == "" {
		return nil, ErrContactNotFound
	}
	coll, err := app.FindCachedCollectionByNameOrId(collections.Contacts)
	if err != nil {
		return nil, err
	}
	// The repeated "subscriber_id != ''" lets SQLite use the partial unique index on (workspace, subscriber_id).
	c := core.NewRecord(coll)
	err = app.RecordQuery(coll).AndWhere(dbx.NewExp("workspace = {:ws} AND subscriber_id = {:sid} AND subscriber_id != ''",
		dbx.Params{"ws": workspace, "sid": ref.SubscriberID})).Limit(1).One(c)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	c = core.NewRecord(coll)
	c.Set("workspace", workspace)
	c.Set("subscriber_id", ref.SubscriberID)
	c.Set("source", "manychat")
	for k, v := range defaults {
		if s, ok := v.(string); ok {
			v = strings.TrimSpace(s)
		}
		c.Set(k, v)
	}
	if err := app.Save(c); err != nil {
		return nil, err
	}
	return c, nil
}
