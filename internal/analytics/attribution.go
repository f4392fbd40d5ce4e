package analytics

import (
	"fmt"
	"sort"
)

// Model picks which touch gets a purchase's credit.
type Model string

// Attribution models.
const (
	FirstTouch Model = "first"
	LastTouch  Model = "last"
)

// ParseModel accepts first and last.
func ParseModel(s string) (Model, error) {
	switch Model(s) {
	case FirstTouch, LastTouch:
		return Model(s), nil
	case "":
		return LastTouch, nil
	}
	return "", fmt.Errorf("must be first or last")
}

// Touch is a contact's contact with a campaign or channel: a QR scan, a Manychat flow, a booking's source, or
// any event carrying data.campaign / data.channel.
type Touch struct {
	Contact  string
	TS       int64
	Campaign string
	Channel  string
}

// Purchase is a purchase event.
type Purchase struct {
	Contact  string
	TS       int64
	Value    float64
	Currency string
}

// Credit is what one campaign (or channel) earned in one currency.
type Credit struct {
	Key       string  `json:"key"` // campaign or channel; "(none)" for purchases with no touch in the window
	Currency  string  `json:"currency"`
	Purchases int     `json:"purchases"`
	Contacts  int     `json:"contacts"`
	Revenue   float64 `json:"revenue"`
	Spend     float64 `json:"spend"`
	// ROI is (revenue - spend) / spend, nil without spend.
	ROI *float64 `json:"roi"`
}

// Unattributed is the key of purchases without a touch in their window.
const Unattributed = "(none)"

// Attribute credits each purchase to the first or last touch of its contact within window milliseconds before
// it (a touch at the purchase's own time counts). byChannel keys credits by channel instead of campaign;
// touches without that key are skipped. touches must be sorted by contact, then time. spend is keyed like the
// credits (campaign or channel) and is reported in every currency row of the key.
func Attribute(purchases []Purchase, touches []Touch, model Model, window int64, byChannel bool, spend map[string]float64) []Credit {
	byContact := map[string][]Touch{}
	for _, t := range touches {
		key := t.Campaign
		if byChannel {
			key = t.Channel
		}
		if key == "" {
			continue
		}
		byContact[t.Contact] = append(byContact[t.Contact], t)
	}
	type k struct{ key, cur string }
	credits := map[k]*Credit{}
	contacts := map[k]map[string]bool{}
	for _, p := range purchases {
		key := Unattributed
		ts := byContact[p.Contact]
		lo := sort.Search(len(ts), func(i int) bool { return ts[i].TS >= p.TS-window })
		hi := sort.Search(len(ts), func(i int) bool { return ts[i].TS > p.TS })
		if lo < hi {
			t := ts[lo]
			if model == LastTouch {
				t = ts[hi-1]
			}
			key = t.Campaign
			if byChannel {
				key = t.Channel
			}
		}
		id := k{key, p.Currency}
		c := credits[id]
		if c == nil {
			c = &Credit{Key: key, Currency: p.Currency}
			credits[id] = c
			contacts[id] = map[string]bool{}
		}
		c.Purchases++
		c.Revenue += p.Value
		contacts[id][p.Contact] = true
	}
	out := make([]Credit, 0, len(credits))
	for id, c := range credits {
		c.Contacts = len(contacts[id])
		c.Revenue = round4(c.Revenue)
		if s := spend[c.Key]; s > 0 {
			c.Spend = s
			roi := round4((c.Revenue - s) / s)
			c.ROI = &roi
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Revenue != out[j].Revenue {
			return out[i].Revenue > out[j].Revenue
		}
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Currency < out[j].Currency
	})
	return out
}
