package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// endpoint is what fan-out and delivery need of a webhook_endpoints record, parsed once and cached.
type endpoint struct {
	ID, Workspace, URL string
	Patterns           []string
	Filter             string
	Transform          webhook.Transform
	Headers            map[string]string
	Enabled            bool
	RateLimit          int // per second; 0 = unlimited
	MaxInFlight        int // 0 = Options.DefaultMaxInFlight
	// Secrets sign each request: the current one first, then the previous one while its grace period runs.
	Secrets       []whsig.Secret
	PreviousUntil time.Time
	FailingSince  time.Time
	LastSuccess   time.Time
	// broken explains why the endpoint cannot be delivered to (a secret that does not open), if so.
	broken string
}

func endpointFromRecord(box *secretbox.Box, r *core.Record, now time.Time) *endpoint {
	ep := &endpoint{
		ID:           r.Id,
		Workspace:    r.GetString("workspace"),
		URL:          r.GetString("url"),
		Filter:       strings.TrimSpace(r.GetString("filter")),
		Enabled:      r.GetBool("enabled"),
		RateLimit:    r.GetInt("rate_limit"),
		MaxInFlight:  r.GetInt("max_in_flight"),
		FailingSince: r.GetDateTime("failing_since").Time(),
		LastSuccess:  r.GetDateTime("last_success_at").Time(),
	}
	ep.Patterns, _ = stringList(r.Get("events"))
	if raw := jsonBytes(r.Get("transform")); raw != nil {
		ep.Transform, _ = webhook.ParseTransform(raw)
	}
	ep.Headers, _ = stringMap(r.Get("headers"))
	if s, err := openSecret(box, r.GetString("secret")); err == nil {
		ep.Secrets = append(ep.Secrets, s)
	} else {
		ep.broken = "the signing secret cannot be opened (" + err.Error() + "); rotate it"
	}
	if until := r.GetDateTime("previous_secret_expires_at").Time(); until.After(now) {
		if s, err := openSecret(box, r.GetString("previous_secret")); err == nil {
			ep.Secrets = append(ep.Secrets, s)
			ep.PreviousUntil = until
		}
	}
	return ep
}

func openSecret(box *secretbox.Box, sealed string) (whsig.Secret, error) {
	if box == nil {
		return whsig.Secret{}, errors.New("the secret key is not loaded")
	}
	if sealed == "" {
		return whsig.Secret{}, errors.New("no secret")
	}
	plain, err := box.Open(sealed)
	if err != nil {
		return whsig.Secret{}, err
	}
	return whsig.ParseSecret(plain)
}

// EndpointSecrets returns the secrets an endpoint currently signs with (current first), for the playground's
// signature check.
func EndpointSecrets(box *secretbox.Box, r *core.Record) (current whsig.Secret, previous *whsig.Secret, err error) {
	current, err = openSecret(box, r.GetString("secret"))
	if err != nil {
		return current, nil, err
	}
	if r.GetString("previous_secret") != "" {
		if p, err := openSecret(box, r.GetString("previous_secret")); err == nil {
			previous = &p
		}
	}
	return current, previous, nil
}

// SealNewSecret generates a signing secret, seals it into r's secret field and returns it in clear, to be shown
// once. With grace > 0 the current secret keeps signing, next to the new one, until then.
func SealNewSecret(box *secretbox.Box, r *core.Record, grace time.Duration, now time.Time) (string, error) {
	if box == nil {
		return "", errors.New("the secret key is not loaded")
	}
	plain := whsig.NewSecret()
	sealed, err := box.Seal(plain)
	if err != nil {
		return "", err
	}
	if old := r.GetString("secret"); old != "" && grace > 0 {
		r.Set("previous_secret", old)
		r.Set("previous_secret_expires_at", now.Add(grace))
	} else {
		r.Set("previous_secret", "")
		r.Set("previous_secret_expires_at", "")
	}
	r.Set("secret", sealed)
	return plain, nil
}

// endpointCache keeps parsed endpoints by id and by workspace. Any change to webhook_endpoints empties it
// (hooks call invalidate); fan-out also compares a cheap stamp of the table before each batch, so a change that
// slipped past the hooks is seen before the next event is matched.
type endpointCache struct {
	mu      sync.Mutex
	byID    map[string]*endpoint
	byWS    map[string][]*endpoint
	stamp   string
	checked time.Time
}

func newEndpointCache() *endpointCache {
	return &endpointCache{byID: map[string]*endpoint{}, byWS: map[string][]*endpoint{}}
}

func (c *endpointCache) invalidate() {
	c.mu.Lock()
	c.byID = map[string]*endpoint{}
	c.byWS = map[string][]*endpoint{}
	c.stamp = ""
	c.mu.Unlock()
}

// refresh empties the cache when the table changed since the last look; with force false it looks at most
// every 100 ms.
func (c *endpointCache) refresh(app core.App, force bool) error {
	c.mu.Lock()
	recent := time.Since(c.checked) < 100*time.Millisecond
	c.mu.Unlock()
	if !force && recent {
		return nil
	}
	var stamp string
	err := app.NonconcurrentDB().NewQuery("SELECT COUNT(*) || '/' || COALESCE(MAX(updated), '') FROM " + collections.WebhookEndpoints).Row(&stamp)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Now()
	if stamp != c.stamp {
		c.byID = map[string]*endpoint{}
		c.byWS = map[string][]*endpoint{}
		c.stamp = stamp
	}
	return nil
}

// workspace returns the endpoints of a workspace, enabled or not.
func (c *endpointCache) workspace(app core.App, box *secretbox.Box, ws string) ([]*endpoint, error) {
	c.mu.Lock()
	eps, ok := c.byWS[ws]
	c.mu.Unlock()
	if ok {
		return eps, nil
	}
	recs, err := app.FindRecordsByFilter(collections.WebhookEndpoints, "workspace = {:ws}", "created", 0, 0, dbx.Params{"ws": ws})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	eps = make([]*endpoint, 0, len(recs))
	for _, r := range recs {
		eps = append(eps, endpointFromRecord(box, r, now))
	}
	c.mu.Lock()
	c.byWS[ws] = eps
	for _, ep := range eps {
		c.byID[ep.ID] = ep
	}
	c.mu.Unlock()
	return eps, nil
}

// get returns one endpoint, or nil when it no longer exists.
func (c *endpointCache) get(app core.App, box *secretbox.Box, id string) (*endpoint, error) {
	c.mu.Lock()
	ep, ok := c.byID[id]
	c.mu.Unlock()
	if ok {
		return ep, nil
	}
	r, err := app.FindRecordById(collections.WebhookEndpoints, id)
	if err != nil {
		return nil, nil
	}
	ep = endpointFromRecord(box, r, time.Now())
	c.mu.Lock()
	c.byID[id] = ep
	c.mu.Unlock()
	return ep, nil
}

// Header rules: the names Playgram sets itself, and hop-by-hop or framing headers, cannot be overridden.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "transfer-encoding": true, "connection": true,
	"keep-alive": true, "te": true, "trailer": true, "upgrade": true, "expect": true, "proxy-authorization": true,
	"proxy-connection": true, whsig.HeaderID: true, whsig.HeaderTimestamp: true, whsig.HeaderSignature: true,
}

// MaxHeaders bounds an endpoint's custom headers.
const MaxHeaders = 20

// ValidateEndpoint checks every field of an endpoint record and reports each problem under its field name
// ("url", "events[2]", "filter", "transform.fields[0].to", "headers.X-Token", ...).
func ValidateEndpoint(app core.App, r *core.Record) error {
	errs := validation.Errors{}
	if err := outbound.ValidateURL(r.GetString("url")); err != nil {
		var ue *outbound.URLError
		msg := err.Error()
		if errors.As(err, &ue) {
			msg = ue.Message
		}
		errs["url"] = validation.NewError("validation_invalid_url", msg)
	}
	if patterns, err := stringList(r.Get("events")); err != nil {
		errs["events"] = validation.NewError("validation_invalid_type", "must be a list of event types such as [\"booking.*\"]")
	} else if err := webhook.ValidatePatterns(patterns); err != nil {
		addFieldErrors(errs, err, "event_types", "events")
	}
	if f := strings.TrimSpace(r.GetString("filter")); f != "" {
		if err := CheckFilter(app, f); err != nil {
			errs["filter"] = validation.NewError("validation_invalid_filter", err.Error())
		}
	}
	if raw := jsonBytes(r.Get("transform")); raw != nil {
		if _, err := webhook.ParseTransform(raw); err != nil {
			addFieldErrors(errs, err, "transform", "transform")
		}
	}
	headers, err := stringMap(r.Get("headers"))
	if err != nil {
		errs["headers"] = validation.NewError("validation_invalid_type", "must be an object of header names to string values")
	}
	if len(headers) > MaxHeaders {
		errs["headers"] = validation.NewError("validation_too_many", fmt.Sprintf("at most %d headers", MaxHeaders))
	}
	for name, value := range headers {
		if msg := checkHeader(name, value); msg != "" {
			errs["headers."+name] = validation.NewError("validation_invalid_header", msg)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func checkHeader(name, value string) string {
	if msg := checkHeaderName(name); msg != "" {
		return msg
	}
	if reservedHeaders[strings.ToLower(name)] {
		return fmt.Sprintf("%s is set by Playgram and cannot be overridden", name)
	}
	return checkHeaderValue(value)
}

func checkHeaderName(name string) string {
	if name == "" || len(name) > 64 {
		return "a header name has 1 to 64 characters"
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return fmt.Sprintf("%q is not a valid header name", name)
		}
	}
	return ""
}

func checkHeaderValue(value string) string {
	if len(value) > 1024 {
		return "a value has at most 1024 characters"
	}
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "a value cannot contain control characters or line breaks"
		}
	}
	return ""
}

// addFieldErrors copies webhook.FieldErrors into errs, renaming the field prefix from to to.
func addFieldErrors(errs validation.Errors, err error, from, to string) {
	var fes webhook.FieldErrors
	if !errors.As(err, &fes) {
		errs[to] = validation.NewError("validation_invalid_value", err.Error())
		return
	}
	for _, fe := range fes {
		name := to + strings.TrimPrefix(fe.Field, from)
		errs[name] = validation.NewError("validation_"+fe.Code, fe.Message)
	}
}

// stringList reads a JSON field holding a list of strings; an unset field is an empty list.
func stringList(v any) ([]string, error) {
	raw := jsonBytes(v)
	if raw == nil {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// stringMap reads a JSON field holding an object of strings; an unset field is an empty map.
func stringMap(v any) (map[string]string, error) {
	raw := jsonBytes(v)
	if raw == nil {
		return nil, nil
	}
	var out map[string]string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// jsonBytes returns a JSON field's raw value, nil when it is unset or null.
func jsonBytes(v any) []byte {
	var raw []byte
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		raw = x
	case string:
		raw = []byte(x)
	case json.RawMessage:
		raw = x
	case types.JSONRaw:
		raw = x
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return nil
		}
		raw = b
	}
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return nil
	}
	return []byte(s)
}

// EndpointView is how routes show an endpoint: never its secrets.
func EndpointView(r *core.Record) map[string]any {
	out := map[string]any{}
	for _, name := range []string{"id", "workspace", "url", "description", "events", "filter", "transform", "headers", "enabled",
		"rate_limit", "max_in_flight", "disabled_reason", "disabled_at", "last_success_at", "failing_since", "created", "updated"} {
		out[name] = r.Get(name)
	}
	if until := r.GetDateTime("previous_secret_expires_at"); !until.IsZero() && until.Time().After(time.Now()) {
		out["previous_secret_valid_until"] = until.Time().UTC().Format(time.RFC3339)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
