package manychat

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

// Channel is the channel a subscriber is reachable on; it decides what
// sendContent's content.type must be.
type Channel string

// Channels. Instagram and Messenger contacts can only be seeded (Manychat
// creates them when the person writes); createSubscriber makes SMS, email
// and WhatsApp contacts.
const (
	ChannelInstagram Channel = "instagram"
	ChannelMessenger Channel = "messenger"
	ChannelWhatsApp  Channel = "whatsapp"
	ChannelTelegram  Channel = "telegram"
	ChannelSMS       Channel = "sms"
	ChannelEmail     Channel = "email"
)

// Page seeds the account's page info.
type Page struct {
	ID          int64
	Name        string
	Category    string
	AvatarLink  string
	Username    string
	About       string
	Description string
	IsPro       bool
	Timezone    string
}

// Subscriber seeds a contact. Zero values are rendered as null, as live
// Manychat does.
type Subscriber struct {
	ID            int64   // 0: assigned (above 2^53)
	Channel       Channel // default instagram
	FirstName     string
	LastName      string
	Gender        string
	ProfilePic    string
	Locale        string
	Language      string
	Timezone      string
	LastInputText string
	Email         string
	Phone         string
	WhatsAppPhone string
	OptinEmail    bool
	OptinPhone    bool
	OptinWhatsApp bool
	IGUsername    string
	IGID          int64
	Subscribed    time.Time // zero: now
	// LastInteraction decides the 24 h window for sendContent; zero means
	// now (inside the window).
	LastInteraction time.Time
	LastSeen        time.Time
	Tags            []string       // tag names, created in the account if missing
	Fields          map[string]any // custom field name → value; missing fields are created with a type guessed from the value
	UserRefs        []string
	OTNTopics       []string // topics the contact holds a one-time-notification token for
}

type tag struct {
	id   int64
	name string
}

type field struct {
	id          int64
	name        string
	typ         string
	description string
	value       any // bot fields only
}

type flow struct {
	ns       string
	name     string
	folderID int64
}

type folder struct {
	id       int64
	name     string
	parentID int64
}

type named struct {
	id          int64
	name        string
	kind        string // growth tool type
	description string // OTN topic description
}

type fieldValue struct {
	value any
	seq   int64 // update order, for findByCustomField
}

type subscriber struct {
	Subscriber
	tags      []int64
	values    map[int64]fieldValue
	otnTokens map[string]int
}

// Account is one token's isolated Manychat account. Its methods seed and
// inspect state; they are safe for concurrent use with requests.
type Account struct {
	s           *Server
	token       string
	page        Page
	tags        []*tag
	fields      []*field
	botFields   []*field
	flows       []flow
	folders     []folder
	growthTools []named
	otnTopics   []named
	subs        map[int64]*subscriber
	subOrder    []int64
	userRefs    map[string]int64 // 0: registered but not linked
	buckets     map[family]*ratelimit.Bucket
	flowQuota   *ratelimit.KeyedWindow
}

// AddAccount creates (or replaces) the account of token.
func (s *Server) AddAccount(token string, page Page) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &Account{s: s, token: token, page: page, subs: map[int64]*subscriber{}, userRefs: map[string]int64{},
		buckets: map[family]*ratelimit.Bucket{}, flowQuota: ratelimit.NewKeyedWindow(100, time.Hour)}
	s.accounts[token] = a
	return a
}

// AccountFor returns the account of token, or nil.
func (s *Server) AccountFor(token string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[token]
}

func (a *Account) bucket(f family) *ratelimit.Bucket {
	b := a.buckets[f]
	if b == nil {
		b = ratelimit.NewBucket(float64(f.qps()), f.qps(), a.s.clock)
		a.buckets[f] = b
	}
	return b
}

func (a *Account) newID() int64 {
	a.s.nextID++
	return a.s.nextID
}

// SetPage replaces the page info.
func (a *Account) SetPage(p Page) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.page = p
}

// AddTag creates a tag (or returns the id of the existing one).
func (a *Account) AddTag(name string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.ensureTag(name)
}

func (a *Account) ensureTag(name string) int64 {
	if t := a.tagByName(name); t != nil {
		return t.id
	}
	t := &tag{id: a.newID(), name: name}
	a.tags = append(a.tags, t)
	return t.id
}

// AddCustomField creates a custom field definition (text, number, boolean,
// date or datetime) and returns its id.
func (a *Account) AddCustomField(name, typ, description string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if f := findField(a.fields, name); f != nil {
		return f.id
	}
	f := &field{id: a.newID(), name: name, typ: typ, description: description}
	a.fields = append(a.fields, f)
	return f.id
}

// AddBotField creates a bot field with a value (nil for unset).
func (a *Account) AddBotField(name, typ string, value any) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	f := &field{id: a.newID(), name: name, typ: typ, value: normalize(value)}
	a.botFields = append(a.botFields, f)
	return f.id
}

// AddFolder creates a flow folder under parent (0 = root).
func (a *Account) AddFolder(name string, parent int64) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	id := a.newID()
	a.folders = append(a.folders, folder{id: id, name: name, parentID: parent})
	return id
}

// AddFlow adds a flow with namespace ns (what sendFlow takes).
func (a *Account) AddFlow(ns, name string, folderID int64) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.flows = append(a.flows, flow{ns: ns, name: name, folderID: folderID})
}

// AddGrowthTool adds a growth tool (also listed by getWidgets).
func (a *Account) AddGrowthTool(name, typ string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	id := a.newID()
	a.growthTools = append(a.growthTools, named{id: id, name: name, kind: typ})
	return id
}

// AddOTNTopic adds a one-time-notification topic.
func (a *Account) AddOTNTopic(name, description string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	id := a.newID()
	a.otnTopics = append(a.otnTopics, named{id: id, name: name, description: description})
	return id
}

// AddUnlinkedUserRef registers a user_ref that no subscriber is linked to
// (getInfoByUserRef answers code 2012).
func (a *Account) AddUnlinkedUserRef(ref string) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.userRefs[ref] = 0
}

// AddSubscriber seeds a contact and returns its id.
func (a *Account) AddSubscriber(sub Subscriber) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.addSubscriber(sub)
}

func (a *Account) addSubscriber(sub Subscriber) int64 {
	now := a.s.clock.Now()
	if sub.ID == 0 {
		sub.ID = a.s.nextSubID
		a.s.nextSubID++
	}
	if sub.Channel == "" {
		sub.Channel = ChannelInstagram
	}
	if sub.Subscribed.IsZero() {
		sub.Subscribed = now
	}
	if sub.LastInteraction.IsZero() {
		sub.LastInteraction = now
	}
	st := &subscriber{Subscriber: sub, values: map[int64]fieldValue{}, otnTokens: map[string]int{}}
	for _, name := range sub.Tags {
		st.addTag(a.ensureTag(name))
	}
	names := make([]string, 0, len(sub.Fields))
	for name := range sub.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := normalize(sub.Fields[name])
		f := findField(a.fields, name)
		if f == nil {
			f = &field{id: a.newID(), name: name, typ: guessType(v)}
			a.fields = append(a.fields, f)
		}
		a.s.seq++
		st.values[f.id] = fieldValue{value: v, seq: a.s.seq}
	}
	for _, ref := range sub.UserRefs {
		a.userRefs[ref] = sub.ID
	}
	for _, topic := range sub.OTNTopics {
		st.otnTokens[topic]++
	}
	if _, exists := a.subs[sub.ID]; !exists {
		a.subOrder = append(a.subOrder, sub.ID)
	}
	a.subs[sub.ID] = st
	return sub.ID
}

// State is a snapshot of a subscriber for assertions.
type State struct {
	Subscriber
	TagNames []string       // sorted
	Values   map[string]any // custom field name → value (json.Number for numbers)
}

// SubscriberState returns a snapshot of a subscriber.
func (a *Account) SubscriberState(id int64) (State, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	st := a.subs[id]
	if st == nil {
		return State{}, false
	}
	out := State{Subscriber: st.Subscriber, Values: map[string]any{}}
	for _, tid := range st.tags {
		if t := a.tagByID(tid); t != nil {
			out.TagNames = append(out.TagNames, t.name)
		}
	}
	sort.Strings(out.TagNames)
	for fid, v := range st.values {
		if f := fieldByID(a.fields, fid); f != nil {
			out.Values[f.name] = v.value
		}
	}
	return out, true
}

// TagNames lists the account's tags, sorted.
func (a *Account) TagNames() []string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	out := make([]string, 0, len(a.tags))
	for _, t := range a.tags {
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out
}

// BotFieldValue returns a bot field's value by name.
func (a *Account) BotFieldValue(name string) (any, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	f := findField(a.botFields, name)
	if f == nil {
		return nil, false
	}
	return f.value, true
}

// CustomFieldID returns a custom field's id by name (case-insensitive).
func (a *Account) CustomFieldID(name string) (int64, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if f := findField(a.fields, name); f != nil {
		return f.id, true
	}
	return 0, false
}

func (a *Account) tagByName(name string) *tag {
	for _, t := range a.tags {
		if strings.EqualFold(t.name, name) {
			return t
		}
	}
	return nil
}

func (a *Account) tagByID(id int64) *tag {
	for _, t := range a.tags {
		if t.id == id {
			return t
		}
	}
	return nil
}

func findField(fs []*field, name string) *field {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f
		}
	}
	return nil
}

func fieldByID(fs []*field, id int64) *field {
	for _, f := range fs {
		if f.id == id {
			return f
		}
	}
	return nil
}

func (st *subscriber) addTag(id int64) {
	for _, t := range st.tags {
		if t == id {
			return
		}
	}
	st.tags = append(st.tags, id)
}

func (st *subscriber) removeTag(id int64) {
	for i, t := range st.tags {
		if t == id {
			st.tags = append(st.tags[:i], st.tags[i+1:]...)
			return
		}
	}
}

// normalize stores Go seed values the way decoded JSON holds them.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return x
	case time.Time:
		return x.Format(datetimeLayout)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return json.Number(fmt.Sprint(x))
	default:
		return fmt.Sprint(x)
	}
}

func guessType(v any) string {
	switch x := v.(type) {
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		if _, err := time.Parse("2006-01-02", x); err == nil {
			return "date"
		}
		if _, err := time.Parse(time.RFC3339, x); err == nil {
			return "datetime"
		}
	}
	return "text"
}

const datetimeLayout = "2006-01-02T15:04:05-07:00"
