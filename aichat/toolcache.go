package aichat

import (
	"sync"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	openai "github.com/sashabaranov/go-openai"
)

// toolCache keeps loaded ai_chat tools (config decoded) and their model clients (API key unsealed) between
// requests. Any saved or deleted tool or workspace empties it (record hooks, after the commit), and a tool
// read from SQLite is kept only if nothing was saved meanwhile, so a cached tool is never older than the
// last committed change. Cached tools are shared: read-only.
type toolCache struct {
	mu     sync.Mutex
	gen    uint64
	byRef  map[string]*toolEntry // workspace + "/" + id or slug
	byTool map[*Tool]*toolEntry
}

type toolEntry struct {
	tool   *Tool
	client *openai.Client
}

// maxCachedTools bounds the cache; past it, tools are read per request until the next change empties it.
const maxCachedTools = 4096

func newToolCache() *toolCache {
	return &toolCache{byRef: map[string]*toolEntry{}, byTool: map[*Tool]*toolEntry{}}
}

func (c *toolCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.byRef)
	clear(c.byTool)
}

func (c *toolCache) load(app core.App, workspace, ref string) (*Tool, error) {
	key := workspace + "/" + ref
	c.mu.Lock()
	e, gen := c.byRef[key], c.gen
	c.mu.Unlock()
	if e != nil {
		return e.tool, nil
	}
	t, err := loadTool(app, workspace, ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && len(c.byRef) < maxCachedTools {
		e := &toolEntry{tool: t}
		c.byRef[key] = e
		c.byTool[t] = e
	}
	return t, nil
}

// client returns the cached client of a cached tool, or builds one (kept when the tool is cached).
func (c *toolCache) client(t *Tool, build func() (*openai.Client, error)) (*openai.Client, error) {
	c.mu.Lock()
	e, gen := c.byTool[t], c.gen
	var cl *openai.Client
	if e != nil {
		cl = e.client
	}
	c.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	cl, err := build()
	if err != nil || e == nil {
		return cl, err
	}
	c.mu.Lock()
	if c.gen == gen {
		e.client = cl
	}
	c.mu.Unlock()
	return cl, nil
}

// bindToolCacheHooks empties the cache whenever a tool or a workspace (its openai_api_key) changes.
func (s *Service) bindToolCacheHooks(app core.App) {
	reset := func(e *core.ModelEvent) error {
		s.tools.reset()
		return e.Next()
	}
	for _, name := range []string{collections.Tools, collections.Workspaces} {
		app.OnModelAfterCreateSuccess(name).BindFunc(reset)
		app.OnModelAfterUpdateSuccess(name).BindFunc(reset)
		app.OnModelAfterDeleteSuccess(name).BindFunc(reset)
	}
}
