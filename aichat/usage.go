package aichat

import (
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Totals are summed usage.
type Totals struct {
	Messages         int     `db:"messages" json:"messages"`
	PromptTokens     int     `db:"prompt_tokens" json:"prompt_tokens"`
	CachedTokens     int     `db:"cached_tokens" json:"cached_tokens"`
	CompletionTokens int     `db:"completion_tokens" json:"completion_tokens"`
	CostUSD          float64 `db:"cost_usd" json:"cost_usd"`
	// CostUnknown counts messages whose cost could not be known (an unpriced model or a cut stream).
	CostUnknown int `db:"cost_unknown" json:"cost_unknown_messages"`
}

// UsageRow is Totals for one group (a day, a tool or a conversation).
type UsageRow struct {
	Key string `db:"k" json:"-"`
	Totals
}

// UsageFilter narrows usage to a time range and optionally a tool or a conversation.
type UsageFilter struct {
	Workspace, Tool, Conversation string
	From, To                      time.Time
}

const usageColumns = `COUNT(*) AS messages, COALESCE(SUM(prompt_tokens),0) AS prompt_tokens, COALESCE(SUM(cached_tokens),0) AS cached_tokens,
	COALESCE(SUM(completion_tokens),0) AS completion_tokens, COALESCE(SUM(cost_usd),0) AS cost_usd, COALESCE(SUM(cost_unknown),0) AS cost_unknown`

// Usage sums tokens and cost of the workspace's messages in [From, To): in total and grouped by key, one of
// "" (total only), "day" (UTC), "tool" or "conversation". SQL does the sums on the (workspace, …, created)
// indexes.
func Usage(app core.App, f UsageFilter, group string) ([]UsageRow, error) {
	where := []string{"workspace = {:ws}", "created >= {:from}", "created < {:to}"}
	params := dbx.Params{"ws": f.Workspace, "from": dbtime.Format(f.From), "to": dbtime.Format(f.To)}
	if f.Tool != "" {
		where = append(where, "tool = {:tool}")
		params["tool"] = f.Tool
	}
	if f.Conversation != "" {
		where = append(where, "conversation = {:conv}")
		params["conv"] = f.Conversation
	}
	key, tail := "''", ""
	switch group {
	case "day":
		key, tail = "substr(created, 1, 10)", " GROUP BY k ORDER BY k"
	case "tool":
		key, tail = "tool", " GROUP BY k ORDER BY cost_usd DESC, k"
	case "conversation":
		key, tail = "conversation", " GROUP BY k ORDER BY cost_usd DESC, k LIMIT 100"
	}
	var rows []UsageRow
	err := app.DB().NewQuery("SELECT " + key + " AS k, " + usageColumns + " FROM " + collections.AIMessages +
		" WHERE " + strings.Join(where, " AND ") + tail).Bind(params).All(&rows)
	return rows, err
}

// Transcript returns a conversation's messages as transcript lines, oldest first.
func Transcript(app core.App, conversation string) ([]aichat.Line, error) {
	msgs, err := app.FindRecordsByFilter(collections.AIMessages, "conversation = {:c}", "created,id", 0, 0, dbx.Params{"c": conversation})
	if err != nil {
		return nil, err
	}
	lines := make([]aichat.Line, 0, len(msgs))
	for _, m := range msgs {
		l := aichat.Line{At: m.GetDateTime("created").Time(), Role: m.GetString("role"), Text: m.GetString("content"), Sentiment: m.GetString("sentiment")}
		var calls []CallRecord
		if m.UnmarshalJSONField("function_calls", &calls) == nil {
			for _, c := range calls {
				l.Functions = append(l.Functions, c.Name)
			}
		}
		lines = append(lines, l)
	}
	return lines, nil
}
