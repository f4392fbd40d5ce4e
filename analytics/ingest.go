package analytics

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ValidType reports whether t is an event type: dot-separated lowercase words, at most 64 characters.
func ValidType(t string) bool { return len(t) <= 64 && typePattern.MatchString(t) }

// MaxBatch is the most events one ingest request may carry.
const MaxBatch = 1000

// FutureSkew is how far in the future an event's time may be (clock differences); later is refused.
const FutureSkew = 5 * time.Minute

// maxData caps an ingested event's data.
const maxData = 16 << 10

// Incoming is one event sent from outside.
type Incoming struct {
	Type         string          `json:"type"`
	SubscriberID string          `json:"subscriber_id"`
	Contact      string          `json:"contact"`
	At           string          `json:"at"`
	Data         json.RawMessage `json:"data"`
}

// Rejection is why one event of a batch was refused.
type Rejection struct {
	Index  int               `json:"index"`
	Errors map[string]string `json:"errors"`
}

// Accepted is a stored event.
type Accepted struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Contact string `json:"contact"`
	TS      int64  `json:"ts"`
}

// checked is an event that passed validation.
type checked struct {
	index int
	typ   string
	ref   platform.ContactRef
	ts    int64
	data  string
}

// Validate checks one event without touching the database.
func (in Incoming) validate(index int, now time.Time) (checked, map[string]string) {
	errs := map[string]string{}
	typ := strings.TrimSpace(in.Type)
	if typ == "purchase" {
		typ = PurchaseType
	}
	if !ValidType(typ) {
		errs["type"] = "must be lowercase words joined by dots, such as purchase.completed (at most 64 characters)"
	}
	ref := platform.ContactRef{SubscriberID: strings.TrimSpace(in.SubscriberID), ContactID: strings.TrimSpace(in.Contact)}
	if ref.IsZero() {
		errs["subscriber_id"] = "name the contact with subscriber_id or contact"
	} else if ref.SubscriberID != "" && ref.ContactID != "" {
		errs["contact"] = "send subscriber_id or contact, not both"
	} else if f, err := ref.Validate(); err != nil {
		errs[f] = err.Error()
	}
	ts := now
	if in.At != "" {
		t, err := time.Parse(time.RFC3339Nano, in.At)
		switch {
		case err != nil:
			errs["at"] = "must be an RFC 3339 time such as 2026-03-01T12:00:00Z"
		case t.After(now.Add(FutureSkew)):
			errs["at"] = "must not be in the future"
		case t.Year() < 2000:
			errs["at"] = "must be after 2000"
		default:
			ts = t
		}
	}
	data := "{}"
	if raw := strings.TrimSpace(string(in.Data)); raw != "" && raw != "null" {
		if !strings.HasPrefix(raw, "{") || !json.Valid([]byte(raw)) {
			errs["data"] = "must be a JSON object"
		} else if len(raw) > maxData {
			errs["data"] = fmt.Sprintf("must be at most %d bytes", maxData)
		} else {
			data = raw
		}
	}
	if len(errs) > 0 {
		return checked{}, errs
	}
	return checked{index: index, typ: typ, ref: ref, ts: ts.UnixMilli(), data: data}, nil
}

// Ingest stores the valid events of batch in workspace with tx (the caller's transaction) and reports the
// refused ones. Contacts named by subscriber id are resolved (or created) in the same transaction; rows are
// written with one prepared INSERT, since the log has no per-record hooks to run.
func Ingest(tx core.App, workspace, actor string, batch []Incoming, now time.Time) ([]Accepted, []Rejection, error) {
	var ok []checked
	var refused []Rejection
	for i, in := range batch {
		c, errs := in.validate(i, now)
		if errs != nil {
			refused = append(refused, Rejection{Index: i, Errors: errs})
			continue
		}
		ok = append(ok, c)
	}
	contacts, err := knownSubscribers(tx, workspace, ok)
	if err != nil {
		return nil, nil, err
	}
	var good []checked
	ids := []string{}
	for _, c := range ok {
		id, seen := contacts[c.ref]
		if !seen {
			rec, err := platform.ResolveContact(tx, workspace, c.ref, nil)
			if err != nil && err != platform.ErrContactNotFound {
				return nil, nil, err
			}
			if rec != nil {
				id = rec.Id
			}
			contacts[c.ref] = id
		}
		if id == "" {
			refused = append(refused, Rejection{Index: c.index, Errors: map[string]string{"contact": "no such contact in this workspace"}})
			continue
		}
		good = append(good, c)
		ids = append(ids, id)
	}
	if len(good) == 0 {
		return []Accepted{}, sortRejections(refused), nil
	}
	stamp := now.UTC().Format("2006-01-02 15:04:05.000Z")
	accepted := make([]Accepted, 0, len(good))
	rows := make([][]any, len(good))
	for i, c := range good {
		id := security.RandomStringWithAlphabet(core.DefaultIdLength, core.DefaultIdAlphabet)
		rows[i] = []any{id, workspace, c.typ, ids[i], actor, c.data, c.ts, stamp, stamp}
		accepted = append(accepted, Accepted{Index: c.index, ID: id, Contact: ids[i], TS: c.ts})
	}
	if err := insertEvents(tx, rows); err != nil {
		return nil, nil, err
	}
	return accepted, sortRejections(refused), nil
}

func sortRejections(r []Rejection) []Rejection {
	if r == nil {
		return []Rejection{}
	}
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].Index < r[j-1].Index; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
	return r
}

// knownSubscribers resolves the batch's subscriber ids that name existing contacts with one query (the
// others go through platform.ResolveContact, which creates them).
func knownSubscribers(tx core.App, workspace string, batch []checked) (map[platform.ContactRef]string, error) {
	out := map[platform.ContactRef]string{}
	seen := map[string]bool{}
	var ids []string
	for _, c := range batch {
		if sid := c.ref.SubscriberID; sid != "" && !seen[sid] {
			seen[sid] = true
			ids = append(ids, sid)
		}
	}
	for start := 0; start < len(ids); start += 500 {
		params := dbx.Params{"ws": workspace}
		in := inList("s", ids[start:min(start+500, len(ids))], params)
		var sid, id string
		// The repeated "subscriber_id != ''" lets SQLite use the partial index on (workspace, subscriber_id).
		err := each(tx, "SELECT subscriber_id, id FROM "+collections.Contacts+" WHERE workspace = {:ws} AND subscriber_id IN ("+in+") AND subscriber_id != ''",
			params, []any{&sid, &id}, func() error {
				out[platform.ContactRef{SubscriberID: sid}] = id
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertHead starts the events INSERT. OR FAIL: a failing row stops the statement without undoing its earlier
// rows, which spares SQLite a statement journal for every multi-row statement; any error rolls the whole
// transaction back anyway.
const insertHead = "INSERT OR FAIL INTO events (id, workspace, type, subject_collection, subject_id, contact, actor, data, ts, created, updated) VALUES "

// insertEvents writes rows (id, workspace, type, contact, actor, data, ts, created, updated) with multi-row
// INSERTs prepared once on the transaction's own connection: fewer statement runs per event than one INSERT
// each.
func insertEvents(tx core.App, rows [][]any) error {
	return execRows(tx, insertHead, "(?, ?, ?, '', '', ?, ?, ?, ?, ?, ?)", "", rows)
}
