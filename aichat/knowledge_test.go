package aichat_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	ai "github.com/playgram/playgram/internal/aichat"
	"github.com/pocketbase/pocketbase/core"
)

func (env *historyEnv) knowledge(title, content string) *core.Record {
	env.t.Helper()
	kb, err := env.app.FindCollectionByNameOrId(collections.AIKnowledge)
	if err != nil {
		env.t.Fatal(err)
	}
	r := core.NewRecord(kb)
	r.Set("workspace", env.tool.Workspace())
	r.Set("tool", env.tool.ID())
	r.Set("title", title)
	r.Set("content", content)
	if err := env.app.Save(r); err != nil {
		env.t.Fatal(err)
	}
	return r
}

func (env *historyEnv) search(text string, limit int) []string {
	env.t.Helper()
	found, err := env.svc.SearchKnowledge(env.tool.Workspace(), env.tool.ID(), text, limit)
	if err != nil {
		env.t.Fatal(err)
	}
	return entryTitles(found)
}

func entryTitles(es []ai.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Title)
	}
	return out
}

func TestKnowledgeIndexFindsWhatFTS5Finds(t *testing.T) {
	env := newHistoryEnv(t)
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"Opening", "hours", "parking", "Café", "crème", "brûlée", "returns", "gift-cards", "délivery",
		"payment", "allergies", "vouchers", "booking", "prices", "naïve", "straße", "2026", "9am", "über"}
	text := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(ws, " ")
	}
	for i := range 150 {
		env.knowledge(fmt.Sprintf("%s %d", text(2), i), text(5+rng.IntN(30)))
	}
	queries := []string{"opening hours?", "CAFE creme brulee", "deliv", "gift cards", "strasse", "straße", "uber", "2026",
		"9am parking", "what about the price of vouchers", "nothing matches this", "a", "Ünder naive"}
	for _, q := range queries {
		mem := env.search(q, 1000)
		fts, err := aichat.SearchKnowledgeFTS(env.app, env.tool.ID(), q, 1000)
		if err != nil {
			t.Fatal(err)
		}
		// The ranking formula is checked against a brute-force bm25 in internal/aichat; here the question is
		// whether both find the same entries (tokens, prefixes, diacritics).
		ftsTitles := entryTitles(fts)
		slices.Sort(mem)
		slices.Sort(ftsTitles)
		if !slices.Equal(mem, ftsTitles) {
			t.Errorf("%q: memory found %d entries, FTS5 %d\nmemory %v\nFTS5   %v", q, len(mem), len(ftsTitles), mem, ftsTitles)
		}
	}
}

func TestKnowledgeIndexFollowsChanges(t *testing.T) {
	env := newHistoryEnv(t)
	env.knowledge("Opening hours", "Nine to six on weekdays.")
	if got := env.search("gift card", 5); len(got) != 0 {
		t.Fatalf("before: %v", got)
	}
	gift := env.knowledge("Gift cards", "Sold at the counter.")
	if got := env.search("gift card", 5); !slices.Equal(got, []string{"Gift cards"}) {
		t.Fatalf("after a new entry: %v", got)
	}
	gift.Set("title", "Vouchers")
	if err := env.app.Save(gift); err != nil {
		t.Fatal(err)
	}
	if got := env.search("voucher", 5); !slices.Equal(got, []string{"Vouchers"}) {
		t.Fatalf("after an edit: %v", got)
	}
	gift.Set("disabled", true)
	if err := env.app.Save(gift); err != nil {
		t.Fatal(err)
	}
	if got := env.search("voucher", 5); len(got) != 0 {
		t.Fatalf("a disabled entry was found: %v", got)
	}
	rollback := errors.New("rolled back")
	err := env.app.RunInTransaction(func(tx core.App) error {
		kb, _ := tx.FindCollectionByNameOrId(collections.AIKnowledge)
		r := core.NewRecord(kb)
		r.Set("workspace", env.tool.Workspace())
		r.Set("tool", env.tool.ID())
		r.Set("title", "Parking")
		r.Set("content", "Behind the shop.")
		if err := tx.Save(r); err != nil {
			return err
		}
		if got := env.search("parking", 5); len(got) != 0 { // outside the transaction: not committed yet
			t.Errorf("an uncommitted entry was found: %v", got)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if got := env.search("parking", 5); len(got) != 0 {
		t.Fatalf("a rolled-back entry was found: %v", got)
	}
	hours, err := env.app.FindFirstRecordByData(collections.AIKnowledge, "title", "Opening hours")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.app.Delete(hours); err != nil {
		t.Fatal(err)
	}
	if got := env.search("opening hours", 5); len(got) != 0 {
		t.Fatalf("a deleted entry was found: %v", got)
	}
}
