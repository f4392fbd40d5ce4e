package manychat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// family is a rate-limit family of the contract's §3.
type family int

const (
	famPageRead family = iota
	famSystemLookup
	famSendContent
	famSendFlow
	famDefault
)

func (f family) qps() int {
	return [...]int{100, 50, 25, 20, 10}[f]
}

type route struct {
	method  string
	family  family
	handler func(a *Account, in *request, now time.Time) result
}

var routes map[string]route

func init() {
	g, p := http.MethodGet, http.MethodPost
	routes = map[string]route{
		"/fb/page/getInfo":           {g, famPageRead, (*Account).pageInfo},
		"/fb/page/getTags":           {g, famPageRead, (*Account).getTags},
		"/fb/page/createTag":         {p, famDefault, (*Account).createTag},
		"/fb/page/removeTag":         {p, famDefault, (*Account).deleteTag},
		"/fb/page/removeTagByName":   {p, famDefault, (*Account).deleteTag},
		"/fb/page/getCustomFields":   {g, famPageRead, (*Account).getCustomFields},
		"/fb/page/createCustomField": {p, famDefault, (*Account).createCustomField},
		"/fb/page/getBotFields":      {g, famPageRead, (*Account).getBotFields},
		"/fb/page/createBotField":    {p, famDefault, (*Account).createBotField},
		"/fb/page/setBotField":       {p, famDefault, (*Account).setBotField},
		"/fb/page/setBotFieldByName": {p, famDefault, (*Account).setBotField},
		"/fb/page/setBotFields":      {p, famDefault, (*Account).setBotFields},
		"/fb/page/getFlows":          {g, famDefault, (*Account).getFlows},
		"/fb/page/getGrowthTools":    {g, famPageRead, (*Account).getGrowthTools},
		"/fb/page/getOtnTopics":      {g, famPageRead, (*Account).getOTNTopics},
		"/fb/page/getWidgets":        {g, famPageRead, (*Account).getGrowthTools},

		"/fb/subscriber/getInfo":               {g, famDefault, (*Account).subscriberInfo},
		"/fb/subscriber/findByName":            {g, famDefault, (*Account).findByName},
		"/fb/subscriber/findByCustomField":     {g, famDefault, (*Account).findByCustomField},
		"/fb/subscriber/findBySystemField":     {g, famSystemLookup, (*Account).findBySystemField},
		"/fb/subscriber/getInfoByUserRef":      {g, famDefault, (*Account).getInfoByUserRef},
		"/fb/subscriber/addTag":                {p, famDefault, tagHandler(true, false)},
		"/fb/subscriber/addTagByName":          {p, famDefault, tagHandler(true, true)},
		"/fb/subscriber/removeTag":             {p, famDefault, tagHandler(false, false)},
		"/fb/subscriber/removeTagByName":       {p, famDefault, tagHandler(false, true)},
		"/fb/subscriber/setCustomField":        {p, famDefault, (*Account).setCustomField},
		"/fb/subscriber/setCustomFieldByName":  {p, famDefault, (*Account).setCustomField},
		"/fb/subscriber/setCustomFields":       {p, famDefault, (*Account).setCustomFields},
		"/fb/subscriber/createSubscriber":      {p, famDefault, (*Account).createSubscriber},
		"/fb/subscriber/updateSubscriber":      {p, famDefault, (*Account).updateSubscriber},
		"/fb/subscriber/verifyBySignedRequest": {p, famDefault, (*Account).verifyBySignedRequest},

		"/fb/sending/sendContent":          {p, famSendContent, (*Account).sendContent},
		"/fb/sending/sendFlow":             {p, famSendFlow, (*Account).sendFlow},
		"/fb/sending/sendContentByUserRef": {p, famSendContent, (*Account).sendContentByUserRef},
	}
}

// request is a parsed call: query for GET, JSON body (numbers kept exact)
// for POST.
type request struct {
	q    url.Values
	body map[string]any
}

func (in *request) has(name string) bool {
	_, ok := in.body[name]
	return ok
}

// bodyString returns a string parameter; non-strings count as missing.
func (in *request) bodyString(name string) (string, bool) {
	s, ok := in.body[name].(string)
	return s, ok && strings.TrimSpace(s) != ""
}

// bodyInt requires a JSON integer, as the spec types ids in request bodies.
// A float (what a client that decoded an id through float64 would send) or
// a string is rejected.
func (in *request) bodyInt(a *Account, name string) (int64, *result) {
	v, ok := in.body[name]
	if !ok || v == nil {
		r := a.invalid(name, fmt.Sprintf("The %s field is required.", name))
		return 0, &r
	}
	n, isNum := v.(json.Number)
	id, err := strconv.ParseInt(string(n), 10, 64)
	if !isNum || err != nil {
		r := a.invalid(name, fmt.Sprintf("The %s must be an integer.", name))
		return 0, &r
	}
	return id, nil
}

func (in *request) queryInt(a *Account, name string) (int64, *result) {
	s := in.q.Get(name)
	if s == "" {
		r := a.invalid(name, fmt.Sprintf("The %s field is required.", name))
		return 0, &r
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r := a.invalid(name, fmt.Sprintf("The %s must be an integer.", name))
		return 0, &r
	}
	return id, nil
}

// subscriberFrom resolves body subscriber_id to a known subscriber.
func (a *Account) subscriberFrom(in *request) (*subscriber, *result) {
	id, bad := in.bodyInt(a, "subscriber_id")
	if bad != nil {
		return nil, bad
	}
	st := a.subs[id]
	if st == nil {
		r := a.invalid("subscriber_id", "Subscriber does not exist")
		return nil, &r
	}
	return st, nil
}

// checkValue validates and normalizes a field value for a field type.
func checkValue(typ string, v any) (any, string) {
	switch typ {
	case "text":
		if s, ok := v.(string); ok {
			return s, ""
		}
	case "number":
		if n, ok := v.(json.Number); ok {
			return n, ""
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b, ""
		}
	case "date":
		if s, ok := v.(string); ok {
			if _, err := time.Parse("2006-01-02", s); err == nil {
				return s, ""
			}
		}
		return nil, "expected a date as YYYY-MM-DD"
	case "datetime":
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err == nil {
				return s, ""
			}
		}
		return nil, "expected a datetime as YYYY-MM-DDTHH:MM:SS+HH:MM"
	}
	return nil, "expected a " + typ + " value"
}
