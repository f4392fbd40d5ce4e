package manychat

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxFound is where Manychat's finders stop.
const maxFound = 100

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(datetimeLayout)
}

// subscriberJSON renders a subscriber as the Page API does: ids as
// strings, ig_id as a number, nulls for everything unset, and every custom
// field of the account with its value or null.
func (a *Account) subscriberJSON(st *subscriber) map[string]any {
	s := st.Subscriber
	id := strconv.FormatInt(s.ID, 10)
	pageID := strconv.FormatInt(a.page.ID, 10)
	refs := make([]map[string]any, 0, len(s.UserRefs))
	for _, r := range s.UserRefs {
		refs = append(refs, map[string]any{"user_ref": r, "opted_in": s.Subscribed.Format(datetimeLayout)})
	}
	var igID any
	if s.IGID != 0 {
		igID = s.IGID
	}
	fields := make([]map[string]any, 0, len(a.fields))
	for _, f := range a.fields {
		m := fieldJSON(f, false)
		m["value"] = nil
		if v, ok := st.values[f.id]; ok {
			m["value"] = v.value
		}
		fields = append(fields, m)
	}
	tags := make([]map[string]any, 0, len(st.tags))
	for _, tid := range st.tags {
		if t := a.tagByID(tid); t != nil {
			tags = append(tags, tagJSON(t))
		}
	}
	var igLast, igSeen any
	if s.Channel == ChannelInstagram {
		igLast, igSeen = nullTime(s.LastInteraction), nullTime(s.LastSeen)
	}
	return map[string]any{
		"id": id, "page_id": pageID, "user_refs": refs,
		"first_name": nullable(s.FirstName), "last_name": nullable(s.LastName),
		"name":   nullable(strings.TrimSpace(s.FirstName + " " + s.LastName)),
		"gender": nullable(s.Gender), "profile_pic": nullable(s.ProfilePic),
		"locale": nullable(s.Locale), "language": nullable(s.Language), "timezone": nullable(s.Timezone),
		"live_chat_url":   fmt.Sprintf("https://app.manychat.com/fb%s/chat/%s", pageID, id),
		"last_input_text": nullable(s.LastInputText),
		"optin_phone":     s.OptinPhone, "phone": nullable(s.Phone),
		"optin_email": s.OptinEmail, "email": nullable(s.Email),
		"subscribed": nullTime(s.Subscribed), "last_interaction": nullTime(s.LastInteraction),
		"last_seen": nullTime(s.LastSeen), "is_followup_enabled": true,
		"ig_username": nullable(s.IGUsername), "ig_id": igID,
		"ig_last_interaction": igLast, "ig_last_seen": igSeen,
		"whatsapp_phone": nullable(s.WhatsAppPhone), "optin_whatsapp": s.OptinWhatsApp,
		"whatsapp_bsuid": nil, "whatsapp_username": nil,
		"custom_fields": fields, "tags": tags,
	}
}

func (a *Account) subscriberInfo(in *request, _ time.Time) result {
	id, bad := in.queryInt(a, "subscriber_id")
	if bad != nil {
		return *bad
	}
	st := a.subs[id]
	if st == nil {
		return a.invalid("subscriber_id", "Subscriber does not exist")
	}
	return success(a.subscriberJSON(st))
}

// list renders subscribers in seeding order, capped at maxFound.
func (a *Account) list(match func(*subscriber) bool) []map[string]any {
	out := []map[string]any{}
	for _, id := range a.subOrder {
		if st := a.subs[id]; st != nil && match(st) {
			out = append(out, a.subscriberJSON(st))
			if len(out) == maxFound {
				break
			}
		}
	}
	return out
}

func (a *Account) findByName(in *request, _ time.Time) result {
	name := strings.TrimSpace(in.q.Get("name"))
	if name == "" {
		return a.invalid("name", "The name field is required.")
	}
	return success(a.list(func(st *subscriber) bool {
		return strings.EqualFold(strings.TrimSpace(st.FirstName+" "+st.LastName), name)
	}))
}

func (a *Account) findByCustomField(in *request, _ time.Time) result {
	fid, bad := in.queryInt(a, "field_id")
	if bad != nil {
		return *bad
	}
	f := fieldByID(a.fields, fid)
	if f == nil {
		return a.invalid("field_id", "Field not found")
	}
	if f.typ != "text" && f.typ != "number" {
		return a.invalid("field_id", "Search is available only for Text and Number fields")
	}
	want := in.q.Get("field_value")
	type hit struct {
		st  *subscriber
		seq int64
	}
	var hits []hit
	for _, st := range a.subs {
		v, ok := st.values[fid]
		if ok && valueEquals(f.typ, v.value, want) {
			hits = append(hits, hit{st, v.seq})
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].seq > hits[j].seq }) // most recently updated first
	out := []map[string]any{}
	for _, h := range hits {
		if len(out) == maxFound {
			break
		}
		out = append(out, a.subscriberJSON(h.st))
	}
	return success(out)
}

func valueEquals(typ string, v any, want string) bool {
	if typ == "number" {
		n, ok := v.(json.Number)
		a, err1 := strconv.ParseFloat(string(n), 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return ok && err1 == nil && err2 == nil && a == b
	}
	s, ok := v.(string)
	return ok && s == want
}

func (a *Account) findBySystemField(in *request, _ time.Time) result {
	email, phone := strings.TrimSpace(in.q.Get("email")), strings.TrimSpace(in.q.Get("phone"))
	if (email == "") == (phone == "") {
		return a.invalid("email", "Exactly one of email or phone is required.")
	}
	for _, id := range a.subOrder {
		st := a.subs[id]
		if st == nil {
			continue
		}
		if (email != "" && strings.EqualFold(st.Email, email)) || (phone != "" && st.Phone == phone) {
			return success(a.subscriberJSON(st))
		}
	}
	return success([]any{}) // a miss is a success with an empty list
}

func (a *Account) getInfoByUserRef(in *request, _ time.Time) result {
	ref := strings.TrimSpace(in.q.Get("user_ref"))
	if ref == "" {
		return a.invalid("user_ref", "The user_ref field is required.")
	}
	id, known := a.userRefs[ref]
	if !known {
		return withCode("User ref is not registered", 2011)
	}
	st := a.subs[id]
	if st == nil {
		return withCode("User ref is not linked to a subscriber", 2012)
	}
	return success(a.subscriberJSON(st))
}

func tagHandler(add, byName bool) func(*Account, *request, time.Time) result {
	return func(a *Account, in *request, _ time.Time) result {
		st, bad := a.subscriberFrom(in)
		if bad != nil {
			return *bad
		}
		var t *tag
		if byName {
			name, ok := in.bodyString("tag_name")
			if !ok {
				return a.invalid("tag_name", "The tag_name field is required.")
			}
			t = a.tagByName(name)
		} else {
			id, bad := in.bodyInt(a, "tag_id")
			if bad != nil {
				return *bad
			}
			t = a.tagByID(id)
		}
		if t == nil {
			return a.invalid("tag", "Tag not found")
		}
		if add {
			st.addTag(t.id)
		} else {
			st.removeTag(t.id)
		}
		return successEmpty()
	}
}

func (a *Account) setValue(st *subscriber, f *field, v any) {
	a.s.seq++
	st.values[f.id] = fieldValue{value: v, seq: a.s.seq}
}

func (a *Account) setCustomField(in *request, _ time.Time) result {
	st, bad := a.subscriberFrom(in)
	if bad != nil {
		return *bad
	}
	f, v, bad := a.fieldRef(a.fields, in.body, "", false)
	if bad != nil {
		return *bad
	}
	a.setValue(st, f, v)
	return successEmpty()
}

func (a *Account) setCustomFields(in *request, _ time.Time) result {
	st, bad := a.subscriberFrom(in)
	if bad != nil {
		return *bad
	}
	items, bad := a.fieldItems(in)
	if bad != nil {
		return *bad
	}
	fs := make([]*field, len(items))
	vs := make([]any, len(items))
	for i, it := range items {
		f, v, bad := a.fieldRef(a.fields, it, fmt.Sprintf("fields.%d.", i), true)
		if bad != nil {
			return *bad
		}
		fs[i], vs[i] = f, v
	}
	for i := range fs {
		a.setValue(st, fs[i], vs[i])
	}
	return successEmpty()
}

func optBool(in *request, name string) (val, given bool) {
	v, ok := in.body[name]
	if !ok || v == nil {
		return false, false
	}
	b, isBool := v.(bool)
	return b && isBool, true
}

func (a *Account) createSubscriber(in *request, now time.Time) result {
	phone, _ := in.bodyString("phone")
	wa, _ := in.bodyString("whatsapp_phone")
	email, _ := in.bodyString("email")
	if phone == "" && wa == "" && email == "" {
		return a.invalid("phone", "One of phone, whatsapp_phone or email is required.")
	}
	sms, smsGiven := optBool(in, "has_opt_in_sms")
	if phone != "" && !smsGiven {
		return a.invalid("has_opt_in_sms", "The has_opt_in_sms field is required when phone is present.")
	}
	optEmail, emailGiven := optBool(in, "has_opt_in_email")
	if email != "" && !emailGiven {
		return a.invalid("has_opt_in_email", "The has_opt_in_email field is required when email is present.")
	}
	if consent, _ := in.bodyString("consent_phrase"); sms && consent == "" {
		return a.invalid("consent_phrase", "The consent_phrase field is required when has_opt_in_sms is true.")
	}
	if wa != "" {
		waID := strings.TrimPrefix(wa, "+")
		for _, st := range a.subs {
			if strings.TrimPrefix(st.WhatsAppPhone, "+") == waID {
				return a.invalidKeyed("wa_id", "This WhatsApp ID already exists: "+waID)
			}
		}
	}
	sub := Subscriber{Email: email, OptinEmail: optEmail, Phone: phone, OptinPhone: sms, Subscribed: now, LastInteraction: now}
	switch {
	case wa != "":
		// a contact made from whatsapp_phone has no phone: findBySystemField?phone= misses it
		sub.Channel, sub.WhatsAppPhone, sub.OptinWhatsApp, sub.Phone = ChannelWhatsApp, wa, true, ""
	case phone != "":
		sub.Channel = ChannelSMS
	default:
		sub.Channel = ChannelEmail
	}
	sub.FirstName, _ = in.body["first_name"].(string)
	sub.LastName, _ = in.body["last_name"].(string)
	sub.Gender, _ = in.body["gender"].(string)
	id := a.addSubscriber(sub)
	return success(a.subscriberJSON(a.subs[id]))
}

// invalidKeyed is the live keyed-details form Manychat uses for some
// validation errors whatever SetKeyedDetails says.
func (a *Account) invalidKeyed(param, msg string) result {
	r := a.invalid(param, msg)
	if !a.s.keyedDetails {
		r.body = envelope{Status: "error", Message: msg, Details: keyedDetails(param, msg)}
	}
	return r
}

func (a *Account) updateSubscriber(in *request, _ time.Time) result {
	st, bad := a.subscriberFrom(in)
	if bad != nil {
		return *bad
	}
	if sms, given := optBool(in, "has_opt_in_sms"); given && sms {
		if c, _ := in.bodyString("consent_phrase"); c == "" {
			return a.invalid("consent_phrase", "The consent_phrase field is required when has_opt_in_sms is true.")
		}
	}
	for name, dst := range map[string]*string{"first_name": &st.FirstName, "last_name": &st.LastName,
		"phone": &st.Phone, "email": &st.Email, "gender": &st.Gender} {
		if v, ok := in.body[name].(string); ok {
			*dst = v
		}
	}
	if v, given := optBool(in, "has_opt_in_sms"); given {
		st.OptinPhone = v
	}
	if v, given := optBool(in, "has_opt_in_email"); given {
		st.OptinEmail = v
	}
	return success(a.subscriberJSON(st))
}

// verifyBySignedRequest accepts any "<signature>.<payload>" string: the fake
// has no app secret to check it against.
func (a *Account) verifyBySignedRequest(in *request, _ time.Time) result {
	if _, bad := a.subscriberFrom(in); bad != nil {
		return *bad
	}
	sr, ok := in.bodyString("signed_request")
	if !ok {
		return a.invalid("signed_request", "The signed_request field is required.")
	}
	if parts := strings.Split(sr, "."); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return a.invalid("signed_request", "Invalid signed request")
	}
	return successEmpty()
}
