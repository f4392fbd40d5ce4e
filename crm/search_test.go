package crm_test

import (
	"encoding/json"
	"testing"

	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/pocketbase/core"
)

// A search page reads plain rows; each contact must come out exactly as ContactJSON shows its record.
func TestSearchPageShowsContactsLikeTheirRecords(t *testing.T) {
	app, _ := testutil.NewApp(t)
	ws := testutil.Workspace(t, app, "Rows")
	coll, _ := app.FindCollectionByNameOrId("contacts")
	var saved []*core.Record
	for i, set := range []map[string]any{
		{"name": "Ana Row", "subscriber_id": "1", "tags": []any{"vip", map[string]any{"name": "lead"}}, "local_tags": []string{"x"},
			"custom_fields": map[string]any{"plan": "pro", "age": 31}, "last_interaction_at": "2026-01-02 03:04:05.000Z", "notes": "n", "engagement_score": 12.5},
		{"name": "Ana Bare"},
	} {
		c := core.NewRecord(coll)
		c.Set("workspace", ws.Id)
		for k, v := range set {
			c.Set(k, v)
		}
		if err := app.Save(c); err != nil {
			t.Fatal(i, err)
		}
		fresh, _ := app.FindRecordById("contacts", c.Id)
		saved = append(saved, fresh)
	}
	for _, q := range []crm.Query{{Q: "ana"}, {Q: "ana", Sort: "name"}} {
		res, err := crm.Search(app, ws.Id, q)
		if err != nil || len(res.Items) != 2 {
			t.Fatalf("%+v: %v %d", q, err, len(res.Items))
		}
		for _, item := range res.Items {
			got, _ := json.Marshal(crm.ContactJSON(item))
			var want []byte
			for _, r := range saved {
				if r.Id == item.GetString("id") {
					want, _ = json.Marshal(crm.ContactJSON(r))
				}
			}
			if string(got) != string(want) {
				t.Errorf("row  %s\nrecord %s", got, want)
			}
		}
	}
}
