package aichat

import (
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// maxIndexedKnowledge bounds the entries of one tool kept in memory; a bigger knowledge base is searched
// through its FTS5 table (ai_knowledge_fts, kept by triggers), which ranks the same way.
const maxIndexedKnowledge = 20_000

// SearchKnowledge returns the tool's knowledge entries (not disabled) that best match text, best first
// (bm25, title weighted twice). The tool's entries are indexed in memory on first use and dropped whenever
// one of them is saved or deleted (record hooks, after the commit).
func (s *Service) SearchKnowledge(workspace, tool, text string, limit int) ([]aichat.Entry, error) {
	ix, err := s.knowledge.Get(tool, !s.app.IsTransactional(), func() (*aichat.KnowledgeIndex, error) {
		return loadKnowledge(s.app, workspace, tool)
	})
	if err != nil {
		return nil, err
	}
	if ix == nil {
		return searchKnowledgeFTS(s.app, tool, text, limit)
	}
	return ix.Search(text, limit), nil
}

// loadKnowledge indexes a tool's enabled entries, or returns nil when it has more than maxIndexedKnowledge.
func loadKnowledge(app core.App, workspace, tool string) (*aichat.KnowledgeIndex, error) {
	var rows []knowledgeRow
	err := app.DB().NewQuery(`SELECT id, title, content FROM ai_knowledge
		WHERE workspace = {:ws} AND tool = {:tool} AND disabled = 0 ORDER BY created, id LIMIT {:n}`).
		Bind(dbx.Params{"ws": workspace, "tool": tool, "n": maxIndexedKnowledge + 1}).All(&rows)
	if err != nil || len(rows) > maxIndexedKnowledge {
		return nil, err
	}
	return aichat.NewKnowledgeIndex(entries(rows)), nil
}

type knowledgeRow struct {
	ID      string `db:"id"`
	Title   string `db:"title"`
	Content string `db:"content"`
}

func entries(rows []knowledgeRow) []aichat.Entry {
	out := make([]aichat.Entry, len(rows))
	for i, r := range rows {
		out[i] = aichat.Entry{ID: r.ID, Title: r.Title, Content: r.Content}
	}
	return out
}

// searchKnowledgeFTS is SearchKnowledge through the FTS5 table.
func searchKnowledgeFTS(app core.App, tool, text string, limit int) ([]aichat.Entry, error) {
	q := aichat.FTSQuery(text)
	if q == "" {
		return nil, nil
	}
	var rows []knowledgeRow
	// Rank first (bm25 over ids only), then read the texts of the few winners: selecting the texts in the
	// ranking query would read them for every match.
	err := app.DB().NewQuery(`SELECT f.kid AS id, f.title, f.content FROM (
			SELECT rowid AS r, bm25(ai_knowledge_fts, 0, 0, 2.0, 1.0) AS score FROM ai_knowledge_fts
			WHERE ai_knowledge_fts MATCH {:q} ORDER BY score LIMIT {:n}) best
		JOIN ai_knowledge_fts f ON f.rowid = best.r ORDER BY best.score`).
		Bind(dbx.Params{"q": `tool : "` + tool + `" AND (` + q + `)`, "n": limit}).All(&rows)
	if err != nil {
		return nil, err
	}
	return entries(rows), nil
}

// bindKnowledgeHooks drops a tool's in-memory index when one of its entries changes (or moves between
// tools).
func (s *Service) bindKnowledgeHooks(app core.App) {
	drop := func(e *core.ModelEvent) error {
		if r, ok := e.Model.(*core.Record); ok {
			s.knowledge.Invalidate(r.GetString("tool"))
			if o := r.Original(); o != nil {
				s.knowledge.Invalidate(o.GetString("tool"))
			}
		}
		return e.Next()
	}
	app.OnModelAfterCreateSuccess(collections.AIKnowledge).BindFunc(drop)
	app.OnModelAfterUpdateSuccess(collections.AIKnowledge).BindFunc(drop)
	app.OnModelAfterDeleteSuccess(collections.AIKnowledge).BindFunc(drop)
}
