package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

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
		users, err := app.FindCollectionByNameOrId(collections.Users)
		if err != nil {
			return err
		}
		usage := func() []core.Field {
			return []core.Field{
				&core.NumberField{Name: "prompt_tokens", OnlyInt: true, Min: ptrFloat(0)},
				&core.NumberField{Name: "cached_tokens", OnlyInt: true, Min: ptrFloat(0)},
				&core.NumberField{Name: "completion_tokens", OnlyInt: true, Min: ptrFloat(0)},
				&core.NumberField{Name: "cost_usd", Min: ptrFloat(0)},
			}
		}

		convs := core.NewBaseCollection(collections.AIConversations)
		convs.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "user", CollectionId: users.Id, MaxSelect: 1},
			&core.SelectField{Name: "channel", Required: true, MaxSelect: 1, Values: []string{"manychat", "dashboard"}},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"open", "closed"}},
			&core.TextField{Name: "title", Max: 200, Presentable: true},
			&core.NumberField{Name: "message_count", OnlyInt: true, Min: ptrFloat(0)},
			&core.DateField{Name: "last_message_at"},
		)
		convs.Fields.Add(usage()...)
		convs.Fields.Add(&core.BoolField{Name: "cost_unknown"})
		withTimestamps(convs)
		convs.AddIndex("idx_ai_conversations_current", false, "tool, contact, status, created", "")
		convs.AddIndex("idx_ai_conversations_workspace_last", false, "workspace, last_message_at", "")
		convs.AddIndex("idx_ai_conversations_workspace_tool", false, "workspace, tool, created", "")
		withRules(convs, collections.MemberReadOnly())
		if err := app.Save(convs); err != nil {
			return err
		}

		msgs := core.NewBaseCollection(collections.AIMessages)
		msgs.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "conversation", CollectionId: convs.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.SelectField{Name: "role", Required: true, MaxSelect: 1, Values: []string{"user", "assistant"}},
			&core.TextField{Name: "content", Max: 100_000},
			&core.TextField{Name: "reply_to", Max: 15}, // an assistant message: the customer message it answers
			&core.NumberField{Name: "tokens", OnlyInt: true, Min: ptrFloat(0)},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{
				collections.AIStatusOK, collections.AIStatusPending, collections.AIStatusFallback, collections.AIStatusBudget, collections.AIStatusRateLimited}},
			&core.TextField{Name: "error", Max: 2000},
			&core.TextField{Name: "error_kind", Max: 32},
			&core.JSONField{Name: "function_calls", MaxSize: 256 << 10},
			&core.TextField{Name: "model", Max: 128},
			&core.NumberField{Name: "latency_ms", OnlyInt: true},
			&core.NumberField{Name: "model_ms", OnlyInt: true},
			&core.NumberField{Name: "rounds", OnlyInt: true},
			&core.BoolField{Name: "cost_unknown"},
			&core.SelectField{Name: "delivery", MaxSelect: 1, Values: []string{"inline", "stream", "held", "sent", "failed"}},
			&core.SelectField{Name: "sentiment", MaxSelect: 1, Values: []string{"positive", "neutral", "negative"}},
			&core.NumberField{Name: "sentiment_score", Min: ptrFloat(-1), Max: ptrFloat(1)},
			&core.JSONField{Name: "sentiment_topics", MaxSize: 4 << 10},
			&core.BoolField{Name: "toxic"},
			&core.TextField{Name: "sentiment_error", Max: 500},
		)
		msgs.Fields.Add(usage()...)
		withTimestamps(msgs)
		msgs.AddIndex("idx_ai_messages_conversation", false, "conversation, created", "")
		msgs.AddIndex("idx_ai_messages_workspace_tool_created", false, "workspace, tool, created", "")
		msgs.AddIndex("idx_ai_messages_workspace_created", false, "workspace, created", "")
		msgs.AddIndex("idx_ai_messages_workspace_sentiment", false, "workspace, sentiment, created", "sentiment != ''")
		msgs.AddIndex("idx_ai_messages_contact", false, "contact, created", "contact != ''")
		msgs.AddIndex("idx_ai_messages_reply_to", false, "reply_to", "reply_to != ''")
		withRules(msgs, collections.MemberReadOnly())
		if err := app.Save(msgs); err != nil {
			return err
		}

		kb := core.NewBaseCollection(collections.AIKnowledge)
		kb.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "title", Max: 200, Presentable: true},
			&core.TextField{Name: "content", Required: true, Max: 20_000},
			&core.BoolField{Name: "disabled"}, // entries are searched unless disabled
		)
		withTimestamps(kb)
		kb.AddIndex("idx_ai_knowledge_workspace_tool", false, "workspace, tool, created", "")
		withRules(kb, collections.KnowledgeRules())
		if err := app.Save(kb); err != nil {
			return err
		}
		// Full-text index of entries not disabled, kept in step by triggers in the writing transaction. It holds the
		// entry id (unindexed) and the tool id (indexed, so a search intersects with the tool's entries before
		// ranking) and needs no join.
		_, err = app.DB().NewQuery(`
			CREATE VIRTUAL TABLE ai_knowledge_fts USING fts5(kid UNINDEXED, tool, title, content, tokenize = 'unicode61 remove_diacritics 2');
			CREATE TRIGGER ai_knowledge_fts_insert AFTER INSERT ON ai_knowledge BEGIN
				INSERT INTO ai_knowledge_fts (kid, tool, title, content) SELECT new.id, new.tool, new.title, new.content WHERE new.disabled = 0;
			END;
			CREATE TRIGGER ai_knowledge_fts_update AFTER UPDATE ON ai_knowledge BEGIN
				DELETE FROM ai_knowledge_fts WHERE kid = old.id;
				INSERT INTO ai_knowledge_fts (kid, tool, title, content) SELECT new.id, new.tool, new.title, new.content WHERE new.disabled = 0;
			END;
			CREATE TRIGGER ai_knowledge_fts_delete AFTER DELETE ON ai_knowledge BEGIN
				DELETE FROM ai_knowledge_fts WHERE kid = old.id;
			END;`).Execute()
		return err
	}, func(app core.App) error {
		if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS ai_knowledge_fts").Execute(); err != nil {
			return err
		}
		for _, name := range []string{collections.AIKnowledge, collections.AIMessages, collections.AIConversations} {
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
