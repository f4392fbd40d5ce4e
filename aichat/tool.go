// Package aichat is the AI chat domain on top of PocketBase: ai_chat tools answering Instagram DMs (through
// Manychat) and dashboard chats with any OpenAI-compatible model, with conversations, a searchable knowledge
// base, function calling into other domains, usage and cost, budgets, rate limits, sentiment jobs and
// transcripts. Routes and jobs call it; the maths lives in internal/aichat.
package aichat

import (
	"errors"
	"github.com/playgram/playgram/platform"
	"strings"

	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/pocketbase/pocketbase/core"
)

// Config is an ai_chat tool's config with defaults applied.
type Config struct {
	BaseURL          string                  `json:"base_url"`
	Model            string                  `json:"model"`
	SystemPrompt     string                  `json:"system_prompt"`
	Temperature      float64                 `json:"temperature"`
	MaxTokens        int                     `json:"max_tokens"`
	ContextTokens    int                     `json:"context_tokens"`
	Functions        []string                `json:"functions"`
	MonthlyBudgetUSD float64                 `json:"monthly_budget_usd"`
	FallbackText     string                  `json:"fallback_text"`
	Prices           map[string]aichat.Price `json:"prices"`
}

// Tool is a loaded ai_chat tool.
type Tool struct {
	Record *core.Record
	Config Config
}

// ID is the tool record's id.
func (t *Tool) ID() string { return t.Record.Id }

// Workspace is the tool's workspace id.
func (t *Tool) Workspace() string { return t.Record.GetString("workspace") }

// ErrToolNotFound means no enabled ai_chat tool with that id or slug exists in the workspace.
var ErrToolNotFound = errors.New("no enabled ai_chat tool with this id or slug in the workspace")

// LoadTool finds an enabled ai_chat tool of workspace by id or slug (kept in memory between requests once
// the app's AI chat service is registered; see toolCache).
func LoadTool(app core.App, workspace, ref string) (*Tool, error) {
	if s := Of(app); s != nil {
		return s.tools.load(app, workspace, ref)
	}
	return loadTool(app, workspace, ref)
}

func loadTool(app core.App, workspace, ref string) (*Tool, error) {
	rec, err := platform.FindEnabledTool(app, workspace, toolconfig.TypeAIChat, ref)
	if err != nil {
		return nil, ErrToolNotFound
	}
	return ToolFromRecord(rec)
}

// ToolFromRecord decodes a tool record's config.
func ToolFromRecord(rec *core.Record) (*Tool, error) {
	t := &Tool{Record: rec}
	if err := platform.DecodeToolConfig(rec, &t.Config); err != nil {
		return nil, err
	}
	t.Config.BaseURL = strings.TrimRight(t.Config.BaseURL, "/")
	return t, nil
}

// Allows reports whether the tool lets the model call fn.
func (t *Tool) Allows(fn string) bool {
	for _, f := range t.Config.Functions {
		if f == fn {
			return true
		}
	}
	return false
}

// Price is the price of the tool's model (ok false: unknown).
func (t *Tool) Price(model string) (aichat.Price, bool) {
	return aichat.PriceFor(t.Config.BaseURL, model, t.Config.Prices)
}
