package aichat

import (
	"container/list"
	"slices"
	"sync"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The history of a conversation (its newest messages that may go into a context) is read from SQLite once
// and then kept in memory, so a turn neither re-reads nor re-counts 200 messages.
//
// Consistency rests on the conversation's message_count, which every message Playgram stores bumps in the
// storing transaction: a cached history remembers the count it reflects, a message stored by Prepare or
// Finish is appended only if it is exactly the next one (otherwise the entry is dropped and read again), and
// a read from SQLite takes the rows and the count in one statement (one snapshot). Messages written any other
// way (the admin UI, the collection API) are caught by record hooks: a create drops the conversation's
// entry, an update refreshes or drops it, a delete removes the message.

// historyKeep is how many qualifying messages an entry holds: the context's limit, the message being
// answered (excluded from its own history) and a margin so that a few deletions need no re-read.
const historyKeep = historyLimit + 32

// historyCacheBytes bounds the text the cache holds over all conversations (least recently used go first).
const historyCacheBytes = 32 << 20

type convHistory struct {
	id       string
	count    int          // the conversation's message_count the entry reflects
	msgs     []aichat.Msg // qualifying messages, oldest first, the newest historyKeep at most
	complete bool         // msgs are all the conversation's qualifying messages
	bytes    int
	elem     *list.Element
}

type historyCache struct {
	mu     sync.Mutex
	byConv map[string]*convHistory
	lru    list.List // front: most recently used
	bytes  int
	// own holds the ids of messages Prepare and Finish are storing, which they append themselves.
	own sync.Map
}

func newHistoryCache() *historyCache {
	return &historyCache{byConv: map[string]*convHistory{}}
}

// qualifies is the rule for a message to be part of a context (as loadHistory's WHERE).
func qualifies(role, status, content string) bool {
	return content != "" && (role == "user" || status == collections.AIStatusOK)
}

func msgBytes(m aichat.Msg) int { return len(m.Content) + len(m.ID) + 48 }

// get returns the newest historyLimit qualifying messages except exclude, oldest first, if the entry
// reflects at least the count'th message; ok false means read from SQLite.
func (c *historyCache) get(conv, exclude string, count int) ([]aichat.Msg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byConv[conv]
	if e == nil || e.count < count {
		return nil, false
	}
	out := newest(e.msgs, exclude)
	if len(out) < historyLimit && !e.complete {
		return nil, false // deletions ate the margin: older messages may be missing
	}
	c.lru.MoveToFront(e.elem)
	return out, true
}

// put stores what one snapshot read: the conversation's count and its newest qualifying messages (oldest
// first, at most historyKeep; complete when fewer were found). A newer entry is kept.
func (c *historyCache) put(conv string, count int, msgs []aichat.Msg, complete bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byConv[conv]; old != nil {
		if old.count >= count {
			return
		}
		c.remove(old)
	}
	e := &convHistory{id: conv, count: count, msgs: msgs, complete: complete}
	for _, m := range msgs {
		e.bytes += msgBytes(m)
	}
	e.elem = c.lru.PushFront(e)
	c.byConv[conv] = e
	c.bytes += e.bytes
	for c.bytes > historyCacheBytes && c.lru.Len() > 1 {
		c.remove(c.lru.Back().Value.(*convHistory))
	}
}

// appendMsg records the count'th message of conv (stored by Prepare or Finish and committed).
func (c *historyCache) appendMsg(conv string, count int, m aichat.Msg, qualifying bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byConv[conv]
	if e == nil {
		return
	}
	switch {
	case e.count >= count:
		return // read from SQLite after the commit: already there
	case e.count < count-1:
		c.remove(e) // a message in between is unknown here (concurrent turns): read again
		return
	}
	e.count = count
	if !qualifying {
		return
	}
	e.msgs = append(e.msgs, m)
	e.bytes += msgBytes(m)
	c.bytes += msgBytes(m)
	if len(e.msgs) > historyKeep {
		drop := len(e.msgs) - historyKeep
		for _, d := range e.msgs[:drop] {
			e.bytes -= msgBytes(d)
			c.bytes -= msgBytes(d)
		}
		e.msgs = append([]aichat.Msg(nil), e.msgs[drop:]...)
		e.complete = false
	}
}

// drop forgets a conversation.
func (c *historyCache) drop(conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byConv[conv]; e != nil {
		c.remove(e)
	}
}

// changed applies an update or a delete of a message made through the record pipeline.
func (c *historyCache) changed(r *core.Record, deleted bool) {
	conv := r.GetString("conversation")
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byConv[conv]
	if e == nil {
		return
	}
	i := 0
	for i < len(e.msgs) && e.msgs[i].ID != r.Id {
		i++
	}
	if i == len(e.msgs) {
		if !deleted && qualifies(r.GetString("role"), r.GetString("status"), r.GetString("content")) {
			c.remove(e) // newly qualifying (or older than the entry): read again
		}
		return
	}
	old := e.msgs[i]
	e.bytes -= msgBytes(old)
	c.bytes -= msgBytes(old)
	if deleted || !qualifies(r.GetString("role"), r.GetString("status"), r.GetString("content")) {
		e.msgs = append(e.msgs[:i:i], e.msgs[i+1:]...)
		return
	}
	m := aichat.Msg{ID: r.Id, Role: r.GetString("role"), Content: r.GetString("content"), Tokens: r.GetInt("tokens")}
	e.msgs[i] = m
	e.bytes += msgBytes(m)
	c.bytes += msgBytes(m)
}

func (c *historyCache) remove(e *convHistory) {
	c.lru.Remove(e.elem)
	delete(c.byConv, e.id)
	c.bytes -= e.bytes
}

// bindHistoryHooks keeps the cache right when messages are written other than by Prepare and Finish.
func (s *Service) bindHistoryHooks(app core.App) {
	app.OnModelAfterCreateSuccess(collections.AIMessages).BindFunc(func(e *core.ModelEvent) error {
		if _, ours := s.history.own.LoadAndDelete(e.Model.PK()); !ours {
			if r, ok := e.Model.(*core.Record); ok {
				s.history.drop(r.GetString("conversation"))
			}
		}
		return e.Next()
	})
	app.OnModelAfterUpdateSuccess(collections.AIMessages).BindFunc(func(e *core.ModelEvent) error {
		if r, ok := e.Model.(*core.Record); ok {
			s.history.changed(r, false)
		}
		return e.Next()
	})
	app.OnModelAfterDeleteSuccess(collections.AIMessages).BindFunc(func(e *core.ModelEvent) error {
		if r, ok := e.Model.(*core.Record); ok {
			s.history.changed(r, true)
		}
		return e.Next()
	})
	app.OnModelAfterDeleteSuccess(collections.AIConversations).BindFunc(func(e *core.ModelEvent) error {
		if id, ok := e.Model.PK().(string); ok {
			s.history.drop(id)
		}
		return e.Next()
	})
}

// loadHistory returns the conversation's newest messages that may go into a context (user messages, and
// replies that succeeded), oldest first, at most historyLimit, without exclude (the message being
// answered), which is the count'th message of the conversation.
func (s *Service) loadHistory(conversation, exclude string, count int) ([]aichat.Msg, error) {
	if h, ok := s.history.get(conversation, exclude, count); ok {
		return h, nil
	}
	var rows []struct {
		Count   int    `db:"n"`
		ID      string `db:"id"`
		Role    string `db:"role"`
		Content string `db:"content"`
		Tokens  int    `db:"tokens"`
	}
	// One statement is one snapshot: the rows and the count they reflect agree.
	err := s.app.DB().NewQuery(`SELECT (SELECT message_count FROM ai_conversations WHERE id = {:c}) AS n, id, role, content, tokens
		FROM ai_messages WHERE conversation = {:c} AND content != '' AND (role = 'user' OR status = 'ok')
		ORDER BY created DESC LIMIT {:n}`). // walks idx_ai_messages_conversation backwards, no sort
		Bind(dbx.Params{"c": conversation, "n": historyKeep}).All(&rows)
	if err != nil {
		return nil, err
	}
	all := make([]aichat.Msg, len(rows))
	for i, r := range rows {
		all[len(rows)-1-i] = aichat.Msg{ID: r.ID, Role: r.Role, Content: r.Content, Tokens: r.Tokens}
	}
	if len(rows) > 0 {
		s.history.put(conversation, rows[0].Count, all, len(rows) < historyKeep)
	}
	return newest(all, exclude), nil
}

// newest returns the newest historyLimit of msgs (oldest first) without exclude, in a new slice.
func newest(msgs []aichat.Msg, exclude string) []aichat.Msg {
	out := make([]aichat.Msg, 0, min(len(msgs), historyLimit))
	for i := len(msgs) - 1; i >= 0 && len(out) < historyLimit; i-- {
		if msgs[i].ID != exclude {
			out = append(out, msgs[i])
		}
	}
	slices.Reverse(out)
	return out
}
